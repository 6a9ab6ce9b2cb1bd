/**
 * A TCP fault proxy (node:net) between fleet devices and the broker: every connection is forwarded byte for byte
 * unless a fault rule matches its client's source address. Faults: `pause` (hold the bytes both ways, deliver them
 * when the rule is lifted), `drop` (discard them: a silent partition), `delay` (each chunk late by `delayMs` ±
 * `jitterMs`, order kept), `reset` (close the connections now and refuse new ones: a broker outage). The upstream
 * socket binds the client's own source address, so address spreading holds on both legs. TCP runs on real time: the
 * delays are real milliseconds even when the fleet runs on a virtual clock.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { TriadkitError } from "@triadkit/protocol";
import type { SeededRandom } from "@triadkit/sdk";

export type FaultMode = "pass" | "pause" | "drop" | "delay" | "reset";

export interface FaultRule {
  readonly mode: FaultMode;
  /** `delay`: milliseconds added to every chunk. */
  readonly delayMs?: number;
  /** `delay`: each chunk's delay is drawn uniformly in delayMs ± jitterMs. */
  readonly jitterMs?: number;
}

interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
  readonly address: string;
  readonly held: { to: Socket; chunk: Buffer }[];
  lastDueMs: number;
}

interface Installed {
  readonly rule: FaultRule;
  /** Client source addresses it applies to; undefined: every connection. */
  readonly addresses: ReadonlySet<string> | undefined;
}

export interface FaultProxyStats {
  readonly connections: number;
  readonly resets: number;
  readonly droppedBytes: number;
}

export class FaultProxy {
  private readonly links = new Set<Link>();
  private readonly rules = new Map<string, Installed>();
  private stats = { resets: 0, droppedBytes: 0 };

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
    private readonly random: SeededRandom,
  ) {
    server.on("connection", (client) => this.accept(client));
  }

  /** Listens on `host` (default 127.0.0.1), a free port, forwarding to `target`. */
  static async start(options: {
    target: { host: string; port: number };
    random: SeededRandom;
    host?: string;
  }): Promise<FaultProxy> {
    const server = createServer({ noDelay: true });
    const proxy = new FaultProxy(server, options.target, options.random);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, options.host ?? "127.0.0.1", () => resolve());
    });
    return proxy;
  }

  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === "string")
      throw new TriadkitError("internal.unexpected", "not listening");
    return address.port;
  }

  /** `mqtt://127.0.0.1:<port>`. */
  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /**
   * Installs (or replaces) the rule named `name`, for the given client addresses or for all. The newest rule that
   * matches a connection decides; removing every matching rule lets held bytes through.
   */
  setRule(name: string, rule: FaultRule, addresses?: Iterable<string>): void {
    this.rules.delete(name);
    this.rules.set(name, { rule, addresses: addresses === undefined ? undefined : new Set(addresses) });
    this.reapply();
  }

  removeRule(name: string): void {
    this.rules.delete(name);
    this.reapply();
  }

  /** Takes `address` out of every rule that names it (the other addresses keep their rules). */
  healAddress(address: string): void {
    for (const [name, installed] of this.rules) {
      if (installed.addresses === undefined || !installed.addresses.has(address)) continue;
      const rest = new Set(installed.addresses);
      rest.delete(address);
      if (rest.size === 0) this.rules.delete(name);
      else this.rules.set(name, { rule: installed.rule, addresses: rest });
    }
    this.reapply();
  }

  clearRules(): void {
    this.rules.clear();
    this.reapply();
  }

  figures(): FaultProxyStats {
    return { connections: this.links.size, ...this.stats };
  }

  async close(): Promise<void> {
    for (const link of this.links) this.destroy(link);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private ruleFor(address: string): FaultRule {
    let found: FaultRule = { mode: "pass" };
    for (const { rule, addresses } of this.rules.values()) {
      if (addresses === undefined || addresses.has(address)) found = rule;
    }
    return found;
  }

  private accept(client: Socket): void {
    const address = (client.remoteAddress ?? "").replace(/^::ffff:/, "");
    if (this.ruleFor(address).mode === "reset") {
      this.stats.resets++;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({
      host: this.target.host,
      port: this.target.port,
      noDelay: true,
      ...(address.startsWith("127.") ? { localAddress: address } : {}),
    });
    const link: Link = { client, upstream, address, held: [], lastDueMs: 0 };
    this.links.add(link);
    client.on("data", (chunk: Buffer) => this.forward(link, upstream, chunk));
    upstream.on("data", (chunk: Buffer) => this.forward(link, client, chunk));
    const end = () => this.destroy(link);
    for (const s of [client, upstream]) {
      s.on("error", end);
      s.on("close", end);
    }
  }

  private forward(link: Link, to: Socket, chunk: Buffer): void {
    const rule = this.ruleFor(link.address);
    switch (rule.mode) {
      case "pass":
        if (link.held.length > 0) link.held.push({ to, chunk });
        else to.write(chunk);
        return;
      case "pause":
        link.held.push({ to, chunk });
        return;
      case "drop":
        this.stats.droppedBytes += chunk.length;
        return;
      case "delay": {
        const jitter = rule.jitterMs ?? 0;
        const spread = jitter === 0 ? 0 : (this.random.nextU32() / 0x1_0000_0000) * 2 * jitter - jitter;
        const due = Math.max(link.lastDueMs, performance.now() + Math.max(0, (rule.delayMs ?? 0) + spread));
        link.lastDueMs = due;
        setTimeout(() => to.destroyed || to.write(chunk), due - performance.now());
        return;
      }
      case "reset":
        this.stats.resets++;
        this.destroy(link, true);
    }
  }

  private reapply(): void {
    for (const link of this.links) {
      const mode = this.ruleFor(link.address).mode;
      if (mode === "reset") {
        this.stats.resets++;
        this.destroy(link, true);
      } else if (mode !== "pause" && link.held.length > 0) {
        const held = link.held.splice(0);
        if (mode === "drop") for (const h of held) this.stats.droppedBytes += h.chunk.length;
        else for (const h of held) h.to.destroyed || h.to.write(h.chunk);
      }
    }
  }

  private destroy(link: Link, reset = false): void {
    if (!this.links.delete(link)) return;
    if (reset) {
      link.client.resetAndDestroy();
      link.upstream.resetAndDestroy();
    } else {
      link.client.destroy();
      link.upstream.destroy();
    }
  }
}
