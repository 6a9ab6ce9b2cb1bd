/**
 * Reconnect storm: `count` devices of one kind online (in a child process), the broker (the platform emulator in
 * this process) closed, kept down for a second, and started again on the same port. Measured from the restart:
 * the peak of connects in any one-second window and the p99 of each device's delay until it is online again.
 * Ours (jittered exponential backoff) against the official SDK (MQTT.js's fixed 1 s reconnect period).
 */
import { MemoryDeviceDirectory, PlatformEmulator } from "@triadkit/firmware-sim";
import type { AlibabaTriad } from "@triadkit/protocol";
import type { FleetKind } from "./fleet-child.js";
import { FleetProcess, fleetTriads } from "./fleet-proc.js";
import { fdLimit } from "./limits.js";
import { withTempDir } from "./temp-dir.js";
import { type Benchmark, figure, percentile } from "./types.js";

const PK = "a1BenchStm0";
const DOWN_MS = 1_000;
/**
 * The full run's size, as issue 10 asks. (Up to 1,000 until the emulator's broker stopped dying with "Maximum call
 * stack size exceeded" in mqemitter when thousands reconnect at once: firmware-sim's `BrokerEmitter`.)
 * `TRIADKIT_BENCH_STORM_DEVICES` asks for another size.
 */
const FULL_STORM_DEVICES = 5_000;

interface StormResult {
  readonly reconnected: number;
  readonly peakPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly allMs: number;
}

const emulatorFor = (triads: readonly AlibabaTriad[], port = 0) =>
  PlatformEmulator.start({
    directory: new MemoryDeviceDirectory(triads),
    rateLimit: false,
    messageBufferSize: 0,
    port,
  });

async function storm(
  kind: FleetKind,
  count: number,
  dir: string,
  settleMs: number,
  log: (line: string) => void,
): Promise<StormResult> {
  const triads = fleetTriads(PK, kind, count);
  let emulator = await emulatorFor(triads);
  const port = emulator.port;
  const child = FleetProcess.start(kind, `mqtt://127.0.0.1:${port}`, triads, dir);
  try {
    await child.line("online", 600_000);
    log(`storm: ${count} ${kind} devices online; restarting the broker`);
    await emulator.close();
    await new Promise((r) => setTimeout(r, DOWN_MS));
    emulator = await emulatorFor(triads, port);
    const t0 = performance.now();
    const back = new Map<string, number>();
    let resolveAll: () => void = () => {};
    const all = new Promise<void>((resolve) => {
      resolveAll = resolve;
    });
    emulator.on("online", (identity) => {
      if (!back.has(identity.deviceName)) back.set(identity.deviceName, performance.now() - t0);
      if (back.size === count) resolveAll();
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((r) => (timer = setTimeout(r, settleMs)))]);
    clearTimeout(timer);
    const delays = [...back.values()];
    const buckets = new Map<number, number>();
    for (const d of delays) buckets.set(Math.floor(d / 1000), (buckets.get(Math.floor(d / 1000)) ?? 0) + 1);
    return {
      reconnected: back.size,
      peakPerSec: Math.max(0, ...buckets.values()),
      p50Ms: percentile(delays, 0.5),
      p99Ms: percentile(delays, 0.99),
      allMs: back.size === count ? Math.max(...delays) : Number.NaN,
    };
  } finally {
    await child.stop();
    await emulator.close();
  }
}

export const stormBench: Benchmark = {
  name: "storm",
  title: "Reconnect storm after a broker restart: ours vs the official SDK's fixed 1 s retry",
  async run(ctx) {
    const limit = fdLimit();
    // One socket per device in the child and one in this process: keep well inside the descriptor limit.
    const wanted = Number(process.env["TRIADKIT_BENCH_STORM_DEVICES"] ?? (ctx.quick ? 300 : FULL_STORM_DEVICES));
    const count = Math.min(wanted, Math.floor((limit - 200) / 1.1));
    const settleMs = ctx.quick ? 30_000 : 180_000;
    return withTempDir("storm", async (dir) => {
      ctx.log(`storm: ${count} official SDK devices, broker down ${DOWN_MS} ms`);
      const official = await storm("official", count, dir, settleMs, ctx.log);
      ctx.log(`storm: official ${JSON.stringify(official)}`);
      ctx.log(`storm: ${count} SDK devices, broker down ${DOWN_MS} ms`);
      const ours = await storm("sdk", count, dir, settleMs, ctx.log);
      ctx.log(`storm: ours ${JSON.stringify(ours)}`);
      const note = (r: StormResult) =>
        `${r.reconnected}/${count} back within ${settleMs / 1000} s; p50 ${r.p50Ms.toFixed(0)} ms; all back after ${r.allMs.toFixed(0)} ms`;
      return {
        sizes: { devices: count, downMs: DOWN_MS, fdLimit: limit },
        figures: [
          figure({
            label: "peak connects in one second after the restart, our SDK",
            unit: "connects/s",
            value: ours.peakPerSec,
            baseline: { label: "official SDK (fixed 1 s retry)", value: official.peakPerSec },
            note: `ours: ${note(ours)}`,
          }),
          figure({
            label: "p99 reconnect delay from the restart, our SDK",
            unit: "ms",
            value: ours.p99Ms,
            baseline: { label: "official SDK (fixed 1 s retry)", value: official.p99Ms },
            note: `official: ${note(official)}`,
          }),
        ],
      };
    });
  },
};
