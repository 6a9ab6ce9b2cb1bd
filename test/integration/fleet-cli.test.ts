/**
 * `triadkit-sim fleet` as a user runs it: READY line, JSON lines, the report file, worker processes, the sheets for
 * an external emulator, a scenario with its JUnit file; `--help` → 0, usage errors → 2, a failed assertion → 1.
 * No device secret on stdout or stderr.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSim } from "../helpers/sim-cli.js";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "triadkit-fleet-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function sim(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = startSim(args);
  const code = await run.exit;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

describe("triadkit-sim fleet", () => {
  it("--help exits 0 and lists the options", async () => {
    const r = await sim(["fleet", "--help"]);
    expect(r.code).toBe(0);
    for (const o of [
      "--devices",
      "--cloud",
      "--triads",
      "--heartbeat-sec",
      "--scenario",
      "--seed",
      "--report",
      "--junit",
      "--workers",
    ]) {
      expect(r.stdout).toContain(o);
    }
  }, 30_000);

  it("exits 2 on usage errors", async () => {
    expect((await sim(["fleet", "--devices", "0"])).code).toBe(2);
    const bad = join(dir, "bad.yaml");
    await writeFile(bad, "name: x\ndevices: 2\ntimeline:\n  - at: soon\n    do: explode\n");
    const r = await sim(["fleet", "--scenario", bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("invalid scenario");
  }, 60_000);

  it("runs a fleet: READY, JSON lines, the report file; the sheets it writes log the same devices in", async () => {
    const report = join(dir, "report.json");
    const r = await sim(["fleet", "--devices", "8", "--seed", "3", "--json", "--report", report]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^READY fleet 8\/8 online mqtt:\/\/127\.0\.0\.1:\d+$/m);
    const last = JSON.parse(r.stdout.trim().split("\n").at(-1) as string);
    expect(last).toMatchObject({ event: "report", seed: 3, devices: 8, online: 8, heartbeats: { lost: 0 } });
    expect(JSON.parse(await readFile(report, "utf8"))).toMatchObject({ seed: 3, devices: 8 });

    const prefix = join(dir, "lab-");
    const w = await sim(["fleet", "--devices", "8", "--seed", "3", "--write-sheets", prefix]);
    expect(w.code).toBe(0);
    const sheet = await readFile(`${prefix}triads.csv`, "utf8");
    expect(sheet.split("\n")[0]).toBe("productKey,deviceName,deviceSecret");
    expect((await stat(`${prefix}triads.csv`)).mode & 0o777).toBe(0o600);
    const secret = (sheet.split("\n")[1] as string).split(",")[2] as string;
    for (const out of [r.stdout, r.stderr, w.stdout, w.stderr]) expect(out).not.toContain(secret);
  }, 90_000);

  it("shards over worker processes and merges their reports", async () => {
    const r = await sim(["fleet", "--devices", "10", "--workers", "2", "--seed", "11", "--json"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^READY fleet 10\/10 online 2 workers$/m);
    const report = JSON.parse(r.stdout.trim().split("\n").at(-1) as string);
    expect(report).toMatchObject({ devices: 10, online: 10, heartbeats: { sent: 10, acked: 10, lost: 0 } });
    expect(report.shards.map((s: { devices: number }) => s.devices)).toEqual([5, 5]);
    expect(report.connectLatency.count).toBe(10);
  }, 90_000);

  it("runs a scenario: JUnit with the seed; exit 1 when an assertion fails", async () => {
    const file = join(dir, "fails.yaml");
    await writeFile(
      file,
      [
        "name: wants-a-mismatch",
        "devices: 3",
        "heartbeatSec: 60",
        "timeline:",
        "  - at: 0s",
        "    assert: allOnline",
        "    within: 30s",
        "  - at: 1m",
        "    assert: alerts",
        "    state: mismatch",
        "    exactly: 1",
      ].join("\n"),
    );
    const junit = join(dir, "junit.xml");
    const r = await sim(["fleet", "--scenario", file, "--seed", "77", "--junit", junit]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^READY scenario wants-a-mismatch devices 3 seed 77$/m);
    expect(r.stdout).toContain("FAILED (seed 77");
    const xml = await readFile(junit, "utf8");
    expect(xml).toContain('<property name="seed" value="77"/>');
    expect(xml).toContain("0 mismatch alerts (wanted exactly 1)");
  }, 90_000);
});
