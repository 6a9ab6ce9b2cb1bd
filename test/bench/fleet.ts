/**
 * Fleet capacity and RSS per device: `count` devices of each kind, each kind in its own child process (so their
 * RSS does not mix), against the platform emulator in this process over loopback TCP:
 * - ours: `createDevice` from the SDK (NTP sync at connect, offline queue, rate limits, backoff, downstream topics),
 *   once on MQTT.js (the SDK's default transport) and once on the SDK's `liteConnector`;
 * - the official `alibabacloud-iot-device-sdk` 1.2.8 `device()` (the baseline of the goal);
 * - bare MQTT.js clients and bare `liteConnector` connections signed with `signConnect` (the floors).
 * RSS per device = (RSS with every device online − RSS with the libraries loaded) / count, both after full GCs.
 */
import { MemoryDeviceDirectory, PlatformEmulator } from "@triadkit/firmware-sim";
import type { FleetKind } from "./fleet-child.js";
import { FleetProcess, fleetTriads } from "./fleet-proc.js";
import { fdLimit } from "./limits.js";
import { withTempDir } from "./temp-dir.js";
import { type Benchmark, figure } from "./types.js";

const PK = "a1BenchFlt0";

interface KindResult {
  readonly perDeviceKiB: number;
  readonly loadedMiB: number;
  readonly connectMs: number;
}

async function measure(kind: FleetKind, count: number, dir: string): Promise<KindResult> {
  const triads = fleetTriads(PK, kind, count);
  const emulator = await PlatformEmulator.start({
    directory: new MemoryDeviceDirectory(triads),
    rateLimit: false,
    messageBufferSize: 0,
  });
  const child = FleetProcess.start(kind, `mqtt://127.0.0.1:${emulator.port}`, triads, dir);
  try {
    const loaded = await child.line("loaded", 60_000);
    const start = performance.now();
    const online = await child.line("online", 300_000);
    const connectMs = performance.now() - start;
    if (emulator.onlineDevices().length < count) throw new Error(`${kind}: only some devices online`);
    return {
      perDeviceKiB: (online.rss - loaded.rss) / count / 1024,
      loadedMiB: loaded.rss / 1024 / 1024,
      connectMs,
    };
  } finally {
    await child.stop();
    await emulator.close();
  }
}

export const fleet: Benchmark = {
  name: "fleet",
  title:
    "Fleet RSS per device: our SDK (on MQTT.js and on liteConnector) vs the official SDK and bare connections (each in its own process)",
  async run(ctx) {
    const count = ctx.quick ? 200 : 2_000;
    return withTempDir("fleet", async (dir) => {
      const results: Partial<Record<FleetKind, KindResult>> = {};
      for (const kind of ["official", "mqtt", "sdk", "litebare", "lite"] as const) {
        ctx.log(`fleet: ${count} ${kind} devices in a child process`);
        results[kind] = await measure(kind, count, dir);
      }
      const { sdk, lite, official, mqtt, litebare } = results as Record<FleetKind, KindResult>;
      const limit = fdLimit();
      const official_ = { label: "alibabacloud-iot-device-sdk 1.2.8 device()", value: official.perDeviceKiB };
      return {
        sizes: { devicesPerKind: count, fdLimit: limit },
        figures: [
          figure({
            label: "RSS per device, our SDK createDevice (after GC)",
            unit: "KiB",
            value: sdk.perDeviceKiB,
            baseline: official_,
            goal: { kind: "max", ratio: 0.5 },
            note: `libraries loaded: ours ${sdk.loadedMiB.toFixed(0)} MiB, official ${official.loadedMiB.toFixed(0)} MiB, bare ${mqtt.loadedMiB.toFixed(0)} MiB`,
          }),
          figure({
            label: "RSS per device, our SDK createDevice on liteConnector (after GC)",
            unit: "KiB",
            value: lite.perDeviceKiB,
            baseline: official_,
            goal: { kind: "max", ratio: 0.5 },
            note: `libraries loaded: ${lite.loadedMiB.toFixed(0)} MiB`,
          }),
          figure({
            label: "RSS per device, bare liteConnector connection (its floor)",
            unit: "KiB",
            value: litebare.perDeviceKiB,
            baseline: official_,
          }),
          figure({
            label: "RSS per device, bare MQTT.js client (the floor)",
            unit: "KiB",
            value: mqtt.perDeviceKiB,
            baseline: official_,
          }),
          figure({
            label: `time to bring ${count} devices online, our SDK (100 connecting at a time)`,
            unit: "ms",
            value: sdk.connectMs,
            baseline: { label: "the official SDK, same way", value: official.connectMs },
          }),
          figure({
            label: `time to bring ${count} devices online, our SDK on liteConnector (100 connecting at a time)`,
            unit: "ms",
            value: lite.connectMs,
            baseline: { label: "the official SDK, same way", value: official.connectMs },
          }),
          figure({
            label: "devices per process allowed by the descriptor limit (ulimit -n, one socket each)",
            unit: "devices",
            value: Math.max(0, limit - 64),
            note: `soft RLIMIT_NOFILE ${limit}; 64 kept for the process itself; beyond that, shard over processes`,
          }),
        ],
      };
    });
  },
};
