/**
 * A TCP fault proxy (node:net) between fleet devices and the broker: every connection is forwarded byte for byte
 * unless a fault rule matches its client's source address. Faults: `pause` (hold the bytes both ways, deliver them
 * when the rule is lifted), `drop` (discard them: a silent partition), `delay` (each chunk late by `delayMs` ±
 * `jitterMs`, order kept), `reset` (close the connections now and refuse new ones: a broker outage). The upstream
 * socket binds the client's own source address, so address spreading holds on both legs. TCP runs on real time: the
 * delays are real milliseconds even when the fleet runs on a virtual clock.
 *
 * The broker's keepalive, on the fleet's clock: MQTT brokers drop a session after 1.5× its keepalive without a
 * packet from the client. Behind a `drop` or `pause` rule nothing reaches the broker, but its own keepalive timer runs
 * on real time, so on a virtual clock it would never fire. With a `clock` the proxy plays that timer: it reads the
 * keepalive from each connection's CONNECT, and once a link held or dropped everything the client sent for 1.5×
 * keepalive of clock time it closes the broker's leg (the broker sees the connection go: the device is offline there).
 * The device's leg stays open, as a partition leaves it: the device finds out through its own keepalive, and should
 * the rule be lifted first, its connection is reset (the broker no longer knows it).
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { TriadkitError } from "@triadkit/protocol";
import type { Clock, SeededRandom, TimerHandle } from "@triadkit/sdk";

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
  /** The first bytes from the client, until the CONNECT's keepalive is read. */
  head: Buffer | undefined;
  /** Keepalive from the CONNECT, ms (0: not read yet; -1: none). */
  keepaliveMs: number;
  /** Clock time (monotonic ms) the broker last received something from the client. */
  lastUpMs: number;
  /** The broker-side keepalive timer, armed while the link holds or drops. */
  expiry: TimerHandle | undefined;
  /** The broker dropped the session (keepalive): its leg is closed, the client's is not. */
  expired: boolean;
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
  /** Sessions the broker side dropped after 1.5× keepalive without traffic (with a clock). */
  readonly keepaliveExpired: number;
}

export class FaultProxy {
  private readonly links = new Set<Link>();
  private readonly rules = new Map<string, Installed>();
  private stats = { resets: 0, droppedBytes: 0, keepaliveExpired: 0 };

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
    private readonly random: SeededRandom,
    private readonly clock: Clock | undefined,
  ) {
    server.on("connection", (client) => this.accept(client));
  }

  /**
   * Listens on `host` (default 127.0.0.1), a free port, forwarding to `target`. With `clock`, plays the broker's
   * keepalive on that clock for links a rule holds or drops (see above).
   */
  static async start(options: {
    target: { host: string; port: number };
    random: SeededRandom;
    host?: string;
    clock?: Clock;
  }): Promise<FaultProxy> {
    const server = createServer({ noDelay: true });
    const proxy = new FaultProxy(server, options.target, options.random, options.clock);
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
    const link: Link = {
      client,
      upstream,
      address,
      held: [],
      lastDueMs: 0,
      head: undefined,
      keepaliveMs: 0,
      lastUpMs: this.clock?.monotonicMs() ?? 0,
      expiry: undefined,
      expired: false,
    };
    this.links.add(link);
    client.on("data", (chunk: Buffer) => this.forward(link, upstream, chunk));
    upstream.on("data", (chunk: Buffer) => this.forward(link, client, chunk));
    const end = () => this.destroy(link);
    client.on("error", end);
    client.on("close", end);
    // Once the broker dropped the session its leg is gone, but the partitioned device does not know yet.
    const upstreamEnd = () => link.expired || this.destroy(link);
    upstream.on("error", upstreamEnd);
    upstream.on("close", upstreamEnd);
  }

  private forward(link: Link, to: Socket, chunk: Buffer): void {
    const rule = this.ruleFor(link.address);
    if (to === link.upstream && this.clock !== undefined) {
      if (link.keepaliveMs === 0) this.readKeepalive(link, chunk);
      if (rule.mode === "pass" || rule.mode === "delay") link.lastUpMs = this.clock.monotonicMs();
      else this.armExpiry(link);
    }
    if (link.expired) {
      // The broker has no session for this connection any more: once the network lets it through, it is reset.
      if (rule.mode === "drop" || rule.mode === "pause") this.stats.droppedBytes += chunk.length;
      else this.destroy(link, true);
      return;
    }
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
      if (mode === "drop" || mode === "pause") this.armExpiry(link);
      else if (link.expired && mode !== "reset") {
        this.destroy(link, true);
        continue;
      } else {
        link.expiry?.cancel();
        link.expiry = undefined;
      }
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

  /** Reads the keepalive from the client's CONNECT (MQTT 3.1.1 and 5: after the protocol name, level and flags). */
  private readKeepalive(link: Link, chunk: Buffer): void {
    const head = link.head === undefined ? chunk : Buffer.concat([link.head, chunk]);
    const parsed = connectKeepaliveSec(head);
    if (parsed === undefined && head.length < 64) {
      link.head = head;
      return;
    }
    link.head = undefined;
    link.keepaliveMs = (parsed ?? 0) * 1000;
    // Not a CONNECT with a keepalive: nothing to time.
    if (link.keepaliveMs === 0) link.keepaliveMs = -1;
  }

  /** Arms the broker's keepalive timer: 1.5× keepalive after the broker last heard from the client. */
  private armExpiry(link: Link): void {
    const clock = this.clock;
    if (clock === undefined || link.expiry !== undefined || link.expired || link.keepaliveMs <= 0) return;
    const deadline = link.lastUpMs + link.keepaliveMs * 1.5;
    link.expiry = clock.setTimeout(() => {
      link.expiry = undefined;
      const mode = this.ruleFor(link.address).mode;
      if (!this.links.has(link) || (mode !== "drop" && mode !== "pause")) return;
      if (clock.monotonicMs() < link.lastUpMs + link.keepaliveMs * 1.5) return this.armExpiry(link);
      link.expired = true;
      this.stats.keepaliveExpired++;
      for (const h of link.held.splice(0)) if (h.to === link.client) link.held.push(h);
      link.upstream.destroy();
    }, deadline - clock.monotonicMs());
  }

  private destroy(link: Link, reset = false): void {
    if (!this.links.delete(link)) return;
    link.expiry?.cancel();
    if (reset) {
      link.client.resetAndDestroy();
      link.upstream.resetAndDestroy();
    } else {
      link.client.destroy();
      link.upstream.destroy();
    }
  }
}

/** The keepalive (seconds) of an MQTT CONNECT at the start of `bytes`; undefined if not (yet) readable. */
export function connectKeepaliveSec(bytes: Buffer): number | undefined {
  if (bytes.length < 2 || bytes[0] !== 0x10) return undefined;
  let offset = 1;
  for (let i = 0; i < 4; i++, offset++) {
    const b = bytes[offset];
    if (b === undefined) return undefined;
    if ((b & 0x80) === 0) break;
  }
  offset++; // past the last byte of the remaining length
  if (bytes.length < offset + 2) return undefined;
  const nameLength = bytes.readUInt16BE(offset);
  const at = offset + 2 + nameLength + 2; // protocol name, level, flags
  if (bytes.length < at + 2) return undefined;
  return bytes.readUInt16BE(at);
}
