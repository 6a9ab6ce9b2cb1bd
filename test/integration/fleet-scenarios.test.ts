/**
 * The example scenarios in firmware-sim/scenarios/ run as tests (small N, virtual clock): a broker outage with no
 * heartbeat lost, a SIM swap with exactly one mismatch alert, 24 hours of a silent partition with exactly the
 * partitioned devices judged silent. Plus what a failing assertion reports and that the seed replays a run.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadScenario, parseScenario, runScenario, scenarioJUnit } from "@triadkit/firmware-sim";
import { describe, expect, it } from "vitest";

const dir = fileURLToPath(new URL("../../firmware-sim/scenarios/", import.meta.url));

describe("example scenarios", () => {
  it("ships at least three", async () => {
    const files = (await readdir(dir)).filter((f) => /\.(ya?ml|json)$/.test(f));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) await expect(loadScenario(join(dir, f))).resolves.toHaveProperty("name");
  });

  it("broker outage and restart: everyone back within 2 min, 0 heartbeats lost", async () => {
    const result = await runScenario(await loadScenario(join(dir, "broker-outage.yaml")));
    expect(result.steps.filter((s) => s.passed === false)).toEqual([]);
    expect(result.passed).toBe(true);
    expect(result.steps.find((s) => s.name === "online")?.message).toBe("0 of 12 online (wanted 0)");
    expect(result.report.reconnects).toBeGreaterThanOrEqual(12);
    expect(result.report.heartbeats.sent).toBeGreaterThan(12 * 5);
    expect(result.report.heartbeats.lost).toBe(0);
  }, 60_000);

  it("SIM swap: exactly one mismatch alert, for the swapped device", async () => {
    const result = await runScenario(await loadScenario(join(dir, "sim-swap.yaml")));
    expect(result.passed).toBe(true);
    expect(result.steps.filter((s) => s.name === "alerts").map((s) => s.message)).toEqual([
      "1 mismatch alerts (wanted exactly 1)",
      "1 mismatch alerts (wanted exactly 1)",
    ]);
  }, 60_000);

  it("24 h on the virtual clock: the four partitioned devices, and only they, are judged silent", async () => {
    const result = await runScenario(await loadScenario(join(dir, "silence-24h.yaml")));
    expect(result.steps.filter((s) => s.passed === false)).toEqual([]);
    expect(result.scenarioMs).toBe(24 * 3_600_000);
    expect(result.realMs).toBeLessThan((24 * 3_600_000) / 100); // evidently not real time
    // The partitioned devices' heartbeats went into the void: lost overall, none lost by the others.
    expect(result.report.heartbeats.lost).toBeGreaterThan(0);
  }, 90_000);

  it("a partition: offline on both sides after 1.5 keepalives of virtual time, back with back-off once healed", async () => {
    const result = await runScenario(await loadScenario(join(dir, "partition-heal.yaml")));
    expect(result.steps.filter((s) => s.passed === false)).toEqual([]);
    expect(result.steps.filter((s) => s.name === "online").map((s) => s.message)).toEqual([
      "4 of 4 online on the platform (wanted 4)",
      "4 of 4 online (wanted 4)",
      "0 of 4 online on the platform (wanted 0)",
      "0 of 4 online (wanted 0)",
      "6 of 6 online on the platform (wanted 6)",
      "10 of 10 online on the platform (wanted 10)",
    ]);
    // The four partitioned devices, and only they, lost their sessions and came back.
    expect(result.report.reconnects).toBe(4);
    expect(result.realMs).toBeLessThan(60_000);
  }, 90_000);

  it("the faults tour: one fault per device, each with its expected outcome", async () => {
    const result = await runScenario(await loadScenario(join(dir, "faults-tour.yaml")));
    expect(result.steps.filter((s) => s.passed === false)).toEqual([]);
    // flashCorrupt: the binding record failed its checksum in both slots at boot and was erased.
    expect(result.report.flashRecoveries).toBe(1);
    expect(result.report.authRefused).toBeGreaterThanOrEqual(1);
    expect(result.report.online).toBe(8); // the wrong secret and the disabled device stay out
  }, 60_000);
});

describe("clock: real", () => {
  it("runs the timeline on wall time", async () => {
    const result = await runScenario(
      parseScenario({
        name: "real-time",
        devices: 2,
        seed: 5,
        clock: "real",
        timeline: [
          { at: 0, assert: "allOnline", within: "20s" },
          { at: "200ms", do: "heartbeat" },
          { at: "1500ms", assert: "heartbeatsLost", max: 0 },
        ],
      }),
    );
    expect(result.steps.filter((s) => s.passed === false)).toEqual([]);
    expect(result.report.heartbeats).toEqual({ sent: 2, acked: 2, lost: 0 });
    expect(result.scenarioMs).toBeGreaterThanOrEqual(1500);
  }, 60_000);
});

describe("a failing assertion", () => {
  const scenario = parseScenario({
    name: "expects-a-mismatch-that-never-comes",
    devices: 3,
    seed: 99,
    heartbeatSec: 60,
    step: "10s",
    timeline: [
      { at: "0s", assert: "allOnline", within: "30s" },
      { at: "2m", assert: "alerts", state: "mismatch", exactly: 1 },
    ],
  });

  it("fails the run, says why, and puts the seed in the JUnit file", async () => {
    const result = await runScenario(scenario);
    expect(result.passed).toBe(false);
    expect(result.steps[1]).toMatchObject({ passed: false, message: "0 mismatch alerts (wanted exactly 1)" });
    const xml = scenarioJUnit(result);
    expect(xml).toContain('<property name="seed" value="99"/>');
    expect(xml).toContain('failures="1"');
    expect(xml).toContain("replay: --seed 99");
  }, 60_000);

  it("replays: the same seed gives the same devices and the same heartbeat count", async () => {
    const a = await runScenario(scenario, { seed: 1234 });
    const b = await runScenario(scenario, { seed: 1234 });
    expect(a.seed).toBe(1234);
    expect(b.report.heartbeats.sent).toBe(a.report.heartbeats.sent);
  }, 60_000);
});
