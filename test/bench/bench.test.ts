/**
 * Keeps the benchmark code from rotting: the runner's command line and the JSON it writes, on the quick signing
 * benchmark in-process (a couple of seconds). It checks shapes and arithmetic, never speed.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { BenchReport } from "./report.js";
import { main } from "./run.js";
import { figure, percentile } from "./types.js";

let dir: string;
const out: string[] = [];
const err: string[] = [];
const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "triadkit-bench-test-"));
  out.length = 0;
  err.length = 0;
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("npm run bench", () => {
  it("--quick --only signing prints each figure with its baseline, ratio and goal and writes the JSON", async () => {
    const file = join(dir, "bench.json");
    expect(await main(["--quick", "--only", "signing", "--json", file], io)).toBe(0);
    const report = JSON.parse(await readFile(file, "utf8")) as BenchReport;
    expect(report.quick).toBe(true);
    expect(report.machine.cpus).toBeGreaterThan(0);
    expect(report.results.map((r) => r.name)).toEqual(["signing"]);
    const figures = report.results[0]?.figures ?? [];
    expect(figures.length).toBeGreaterThanOrEqual(2);
    for (const f of figures) {
      expect(f.value).toBeGreaterThan(0);
      expect(f.baseline?.value).toBeGreaterThan(0);
      expect(f.ratio).toBeCloseTo(f.value / (f.baseline?.value ?? 1), 6);
    }
    const goals = figures.filter((f) => f.goal !== undefined);
    expect(goals.map((f) => f.goal)).toContainEqual({ kind: "min", ratio: 10 });
    for (const f of goals) expect(f.status).toBe((f.ratio ?? 0) >= 10 ? "PASS" : "SHORT");
    const printed = out.join("\n");
    expect(printed).toMatch(/^machine: \d+ × /);
    expect(printed).toMatch(
      /\[(PASS|SHORT)\] createConnectSigner hmacsha1\b.* \| baseline .* \| ratio \d+\.\d\d× \| goal ≥ 10×/,
    );
  });

  it("exits 2 for an unknown benchmark or option, naming the known ones", async () => {
    expect(await main(["--only", "nope"], io)).toBe(2);
    expect(err.join("\n")).toContain("known: signing, burn, import, monitor, fleet, storm");
    expect(await main(["--fast"], io)).toBe(2);
  });

  it("--help lists the options and exits 0", async () => {
    expect(await main(["--help"], io)).toBe(0);
    expect(out.join("\n")).toMatch(/--only <names>[\s\S]*--quick[\s\S]*--json <file>/);
  });
});

describe("figures", () => {
  it("PASS or SHORT by the ratio goal and by an absolute target; INFO without either", () => {
    const base = { label: "b", value: 100 };
    expect(figure({ label: "a", unit: "x", value: 40, baseline: base, goal: { kind: "max", ratio: 0.5 } }).status).toBe(
      "PASS",
    );
    expect(figure({ label: "a", unit: "x", value: 60, baseline: base, goal: { kind: "max", ratio: 0.5 } }).status).toBe(
      "SHORT",
    );
    expect(
      figure({ label: "a", unit: "x", value: 60, baseline: base, target: { kind: "min", value: 50 } }).status,
    ).toBe("PASS");
    expect(figure({ label: "a", unit: "x", value: 40, target: { kind: "min", value: 50 } }).status).toBe("SHORT");
    expect(figure({ label: "a", unit: "x", value: 40, baseline: base })).toMatchObject({ status: "INFO", ratio: 0.4 });
  });

  it("p99 is the nearest-rank percentile", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 0.99)).toBe(99);
    expect(percentile(values, 0.5)).toBe(50);
    expect(percentile([], 0.99)).toBeNaN();
  });
});
