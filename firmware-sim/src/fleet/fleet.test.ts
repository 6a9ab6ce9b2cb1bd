import { describe, expect, it } from "vitest";
import { Fleet, runFleet } from "./fleet.js";

describe("runFleet", () => {
  it("brings N devices online against the in-process emulator and counts acknowledged heartbeats", async () => {
    const report = await runFleet({ devices: 6, seed: 42, extraHeartbeats: 2, onlineTimeoutMs: 20_000 });
    expect(report.seed).toBe(42);
    expect(report.online).toBe(6);
    expect(report.connectLatency.count).toBe(6);
    expect(report.heartbeats.sent).toBe(12);
    expect(report.heartbeats.acked).toBe(12);
    expect(report.heartbeats.lost).toBe(0);
    expect(report.reconnects).toBe(0);
  }, 30_000);

  it("gives the same seed the same devices", async () => {
    const a = await Fleet.create({ devices: 3, seed: 7, cloud: "mqtt://127.0.0.1:1" });
    const b = await Fleet.create({ devices: 3, seed: 7, cloud: "mqtt://127.0.0.1:1" });
    expect(a.devices.map((d) => d.spec.imei)).toEqual(b.devices.map((d) => d.spec.imei));
    expect(a.devices.map((d) => d.spec.triad.deviceName)).toEqual(["fleet-000000", "fleet-000001", "fleet-000002"]);
    await Promise.all([a.close(), b.close()]);
  });

  it("refuses bad options with config.invalid and the range", async () => {
    await expect(Fleet.create({ devices: 0 })).rejects.toMatchObject({
      code: "config.invalid",
      message: expect.stringContaining("between 1 and 200000"),
    });
  });
});
