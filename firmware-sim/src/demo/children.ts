/**
 * The demo's child processes (`triadkit-station`, `triadkit-sim`), each in its own process group so that stopping
 * one stops whatever it started, and every one of them is stopped when the demo ends, however it ends.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TriadkitError } from "@triadkit/protocol";

export const REPO_ROOT = fileURLToPath(new URL("../../..", import.meta.url));
export const STATION_BIN = join(REPO_ROOT, "provisioning-station/bin/triadkit-station.js");
export const SIM_BIN = join(REPO_ROOT, "firmware-sim/bin/triadkit-sim.js");

/** A step of the demo failed: `demo.step_failed`, with the child's own code as `cause` when it printed one. */
export function stepFailed(step: string, message: string, cause?: string): TriadkitError {
  return new TriadkitError("demo.step_failed", `${step}: ${message}`, {
    step,
    ...(cause === undefined ? {} : { cause }),
  });
}

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exit: Promise<number | null>;
}

export interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Owns every child started through it; {@link stopAll} ends their process groups. */
export class Children {
  private readonly running = new Set<Child>();
  private readonly all: Child[] = [];

  constructor(private readonly cwd: string) {}

  start(name: string, script: string, args: readonly string[]): Child {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: this.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group: a stop reaches the grandchildren too
    });
    let out = "";
    let err = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const exit = new Promise<number | null>((resolve) => {
      child.once("error", () => resolve(127));
      child.once("close", (code) => resolve(code));
    });
    const handle: Child = { name, process: child, stdout: () => out, stderr: () => err, exit };
    this.running.add(handle);
    this.all.push(handle);
    void exit.then(() => this.running.delete(handle));
    return handle;
  }

  /** Runs `script args` to its end; a non-zero exit is `demo.step_failed` with the child's code as cause. */
  async run(step: string, script: string, args: readonly string[]): Promise<Finished> {
    const child = this.start(step, script, args);
    const code = await child.exit;
    const result = { code, stdout: child.stdout(), stderr: child.stderr() };
    if (code !== 0) throw stepFailed(step, `exited ${code}: ${lastLines(result.stderr)}`, codeIn(result));
    return result;
  }

  /** Stops one child (SIGTERM to its group, SIGKILL after `graceMs`) and waits for its exit. */
  async stop(child: Child, graceMs = 3_000): Promise<number | null> {
    if (child.process.exitCode !== null || child.process.signalCode !== null) return child.exit;
    signalGroup(child, "SIGTERM");
    const timer = setTimeout(() => signalGroup(child, "SIGKILL"), graceMs);
    try {
      return await child.exit;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Everything every child started here printed so far, one entry per child and stream. */
  outputs(): string[] {
    return this.all.flatMap((c) => [c.stdout(), c.stderr()]);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running].map((c) => this.stop(c)));
  }

  /** Last resort on a synchronous exit: SIGKILL every group still running. */
  killAllNow(): void {
    for (const c of this.running) signalGroup(c, "SIGKILL");
  }
}

function signalGroup(child: Child, signal: NodeJS.Signals): void {
  const pid = child.process.pid;
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** The first stdout line of `child` starting with `prefix`; `demo.step_failed` if it exits or `timeoutMs` passes. */
export async function lineStarting(child: Child, prefix: string, timeoutMs: number, from = 0): Promise<string> {
  return until(
    child.name,
    `no "${prefix}" line`,
    timeoutMs,
    () =>
      child
        .stdout()
        .split("\n")
        .slice(from)
        .find((l) => l.startsWith(prefix)),
    () => (child.process.exitCode !== null ? `exited ${child.process.exitCode}: ${lastLines(child.stderr())}` : ""),
  );
}

/** Polls `check` until it returns a value; `demo.step_failed` after `timeoutMs` or as soon as `dead()` says why. */
export async function until<T>(
  step: string,
  what: string,
  timeoutMs: number,
  check: () => T | undefined,
  dead: () => string = () => "",
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    const why = dead();
    if (why !== "") throw stepFailed(step, `${what}: ${why}`);
    if (Date.now() > end) throw stepFailed(step, `${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The last few stderr lines, for a failure message (the CLIs never print a secret). */
export function lastLines(text: string, count = 4): string {
  return text.trim().split("\n").slice(-count).join(" | ");
}

/** The `error.code` of a `--json` failure on stdout, or a `(code)` at the end of a stderr line. */
function codeIn(result: Finished): string | undefined {
  for (const line of result.stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const j = JSON.parse(line) as { error?: { code?: string }; code?: string };
      const code = j.error?.code ?? j.code;
      if (typeof code === "string") return code;
    } catch {
      // not JSON
    }
  }
  return /\(([a-z]+\.[a-z_]+)\)\s*$/m.exec(result.stderr)?.[1];
}
