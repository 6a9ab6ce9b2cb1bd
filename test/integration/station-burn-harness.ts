/**
 * Shared by the station burn tests: `triadkit-station` and `triadkit-sim device --factory-pty` as factory staff run
 * them (no build), a triad sheet with known secrets, and every line any of them printed (to prove no secret is
 * among them).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { type Run, root, startNode, startSim } from "../helpers/sim-cli.js";

export const stationBin = join(root, "provisioning-station/bin/triadkit-station.js");
export const hasSocat = spawnSync("socat", ["-V"]).status === 0;
export const PRODUCT = "a1Bn7StAt1n";
export const MODEL = "TK-PLUG-2";

export function needSocat(ctx: { skip: () => void }): void {
  if (hasSocat) return;
  if (process.env["TRIADKIT_REQUIRE_SERVICES"] === "1") throw new Error("socat is missing");
  ctx.skip();
}

export interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export class StationFloor {
  /** Everything printed by every process started here. */
  readonly outputs: string[] = [];
  readonly secrets: string[] = [];
  private readonly sims: Run[] = [];

  constructor(
    readonly dir: string,
    readonly db: string,
  ) {}

  /** `triadkit-station <args> --db <db> --operator line-4-bo`, to completion. */
  run(args: readonly string[], options: { db?: string } = {}): Result {
    const r = spawnSync(
      process.execPath,
      [stationBin, ...args, "--db", options.db ?? this.db, "--operator", "line-4-bo"],
      {
        cwd: this.dir,
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    this.outputs.push(r.stdout, r.stderr);
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** Starts `triadkit-station <args>`; its output is kept when it exits. */
  start(args: readonly string[]): Run {
    const run = startNode(stationBin, [...args, "--db", this.db, "--operator", "line-4-bo"], this.dir);
    void run.exit.then(() => this.outputs.push(run.stdout(), run.stderr()));
    return run;
  }

  /** A work order and a sheet of `count` Alibaba triads with fresh random secrets (kept to search outputs). */
  order(id: string, count: number, options: { from?: number; db?: string } = {}): void {
    const from = options.from ?? 0;
    const db = options.db === undefined ? {} : { db: options.db };
    const rows = ["ProductKey,DeviceName,DeviceSecret"];
    for (let i = from; i < from + count; i++) {
      const secret = randomBytes(24).toString("base64").replace(/[+/=]/g, "x").slice(0, 32);
      this.secrets.push(secret);
      rows.push(`${PRODUCT},st_${id}_${String(i).padStart(4, "0")},${secret}`);
    }
    const sheet = join(this.dir, `${id}.csv`);
    writeFileSync(sheet, `${rows.join("\n")}\n`);
    const add = this.run(["orders", "add", id, "--product", PRODUCT, "--model", MODEL, "--min-firmware", "1.2.0"], db);
    expect(add.code, add.stderr).toBe(0);
    const imp = this.run(["import", sheet, "--work-order", id], db);
    expect(imp.code, imp.stderr).toBe(0);
  }

  /** A simulated blank board on a PTY. */
  async device(name: string, model = MODEL, firmware = "1.3.0"): Promise<SimBoard> {
    const stateDir = join(this.dir, name);
    const run = startSim([
      "device",
      "--state-dir",
      stateDir,
      "--factory-pty",
      "--model",
      model,
      "--firmware",
      firmware,
    ]);
    this.sims.push(run);
    const pty = (await lineStarting(run, "PTY factory ", 60_000)).slice("PTY factory ".length).trim();
    const board: SimBoard = {
      name,
      stateDir,
      pty,
      run,
      show: () => this.show(stateDir),
      lastState: () => [...run.stderr().matchAll(/factory state (\w+)/g)].at(-1)?.[1],
      stop: async () => {
        if (run.child.exitCode === null) run.child.kill("SIGTERM");
        await run.exit;
        this.outputs.push(run.stdout(), run.stderr());
      },
    };
    board.chipId = (await board.show()).chipId as string;
    return board;
  }

  /** `triadkit-sim device --state-dir <dir> --show` (asynchronous: several boards can be asked at once). */
  async show(stateDir: string): Promise<Record<string, unknown>> {
    const run = startSim(["device", "--state-dir", stateDir, "--show"]);
    const code = await run.exit;
    this.outputs.push(run.stdout(), run.stderr());
    expect(code, run.stderr()).toBe(0);
    return JSON.parse(run.stdout().trim().split("\n").at(-1) as string) as Record<string, unknown>;
  }

  async close(): Promise<void> {
    for (const s of this.sims) if (s.child.exitCode === null) s.child.kill("SIGTERM");
    await Promise.all(this.sims.map((s) => s.exit));
    for (const s of this.sims) this.outputs.push(s.stdout(), s.stderr());
  }

  /** No imported secret (and none of `more`) in anything printed, in either case. */
  expectNoSecrets(more: readonly string[] = []): void {
    const all = this.outputs.join("\n").toLowerCase();
    for (const s of [...this.secrets, ...more])
      expect(all.includes(s.toLowerCase()), "a secret was printed").toBe(false);
  }
}

export interface SimBoard {
  readonly name: string;
  readonly stateDir: string;
  readonly pty: string;
  readonly run: Run;
  chipId?: string;
  show(): Promise<Record<string, unknown>>;
  /** What the running board last logged about its factory state (no process started). */
  lastState(): string | undefined;
  stop(): Promise<void>;
}

/** The JSON lines of a `--json` burn. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The first stdout line of `run` starting with `prefix` (usable in hooks, unlike expect.poll). */
export async function lineStarting(run: Run, prefix: string, timeoutMs: number): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const line = run
      .stdout()
      .split("\n")
      .find((l) => l.startsWith(prefix));
    if (line !== undefined) return line;
    if (Date.now() > end || run.child.exitCode !== null) {
      throw new Error(`no "${prefix}" line: ${run.stderr().slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
