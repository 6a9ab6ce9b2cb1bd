/** Starting fleet-child.ts processes and reading their JSON lines; triads for a broker's directory. */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createVirtualIdentity } from "@triadkit/firmware-sim";
import type { AlibabaTriad } from "@triadkit/protocol";
import { CryptoRandom } from "@triadkit/sdk";
import type { FleetKind } from "./fleet-child.js";

const childScript = fileURLToPath(new URL("./fleet-child.ts", import.meta.url));

export function fleetTriads(productKey: string, prefix: string, count: number): AlibabaTriad[] {
  const random = new CryptoRandom();
  return Array.from(
    { length: count },
    (_, i) => createVirtualIdentity(random, { productKey, deviceName: `${prefix}-${i}` }).triad,
  );
}

export interface FleetLine {
  readonly event: "loaded" | "online";
  readonly rss: number;
  readonly heapUsed: number;
  readonly count?: number;
}

export class FleetProcess {
  private readonly lines: FleetLine[] = [];
  private waiters: (() => void)[] = [];
  private stderr = "";
  private exited: number | null | undefined;

  private constructor(private readonly child: ChildProcess) {
    let buffer = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.startsWith("{")) this.lines.push(JSON.parse(line) as FleetLine);
        this.wake();
      }
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    child.on("exit", (code) => {
      this.exited = code;
      this.wake();
    });
  }

  /** Starts `count` devices of `kind` in a child process (the triads go through a file, never argv). */
  static start(kind: FleetKind, url: string, triads: readonly AlibabaTriad[], dir: string): FleetProcess {
    const file = join(dir, `${kind}-${triads[0]?.deviceName ?? "none"}.json`);
    writeFileSync(file, JSON.stringify(triads), { mode: 0o600 });
    const child = spawn(
      process.execPath,
      ["--expose-gc", "--conditions=source", "--import", "tsx", childScript, kind, url, file],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    return new FleetProcess(child);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** The child's line for `event`; rejects if the child exits first or after `timeoutMs`. */
  async line(event: FleetLine["event"], timeoutMs: number): Promise<FleetLine> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find((l) => l.event === event);
      if (found !== undefined) return found;
      if (this.exited !== undefined) throw new Error(`fleet child exited ${this.exited}: ${this.stderr.trim()}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`fleet child: no "${event}" within ${timeoutMs} ms: ${this.stderr.trim()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Ends the child (its stdin closes; SIGKILL after 5 s). */
  async stop(): Promise<void> {
    if (this.exited !== undefined) return;
    const exit = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await exit;
    clearTimeout(timer);
  }
}
