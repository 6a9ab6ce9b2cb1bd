/** Spawns `triadkit-sim` as a user runs it (`node firmware-sim/bin/triadkit-sim.js`, no build) and reads its lines. */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

export const root = fileURLToPath(new URL("../..", import.meta.url));
export const simBin = join(root, "firmware-sim/bin/triadkit-sim.js");

export interface Run {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exit: Promise<number | null>;
}

export function startSim(args: readonly string[]): Run {
  return startNode(simBin, args);
}

/** Runs a Node script (`node <script> <args>`) and collects its output, as {@link startSim} does. */
export function startNode(script: string, args: readonly string[], cwd = root): Run {
  const child = spawn(process.execPath, [script, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

export async function readyLines(run: Run, count: number): Promise<string[]> {
  await expect
    .poll(
      () =>
        run
          .stdout()
          .split("\n")
          .filter((l) => l.startsWith("READY ")).length,
      { timeout: 15_000 },
    )
    .toBe(count);
  return run.stdout().trim().split("\n");
}

/** The first stdout line starting with `prefix` (e.g. `"PTY "`), once the command has printed it. */
export async function firstLine(run: Run, prefix: string, timeoutMs = 15_000): Promise<string> {
  const find = () =>
    run
      .stdout()
      .split("\n")
      .find((l) => l.startsWith(prefix));
  await expect.poll(find, { timeout: timeoutMs }).toBeDefined();
  return find() as string;
}
