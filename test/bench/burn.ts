/**
 * Serial burn: the station's burn of one device (`processDevice`: hello → reserve → link → write_record → verify →
 * lock, on a real station database) against the SDK's `FactoryResponder` on a MemoryFlashStore, over a
 * MemorySerialLink pair with both ends paced like a UART at 115200 baud. Primary figures: bytes and round trips per
 * device. Time per device against the wire-time bound (all bytes both ways × 10 / baud); the memory flash store
 * takes no time, so the bound has no flash-write term here. The same burn unpaced shows the CPU share.
 */

import { FactoryClient, processDevice } from "@triadkit/provisioning-station";
import { CryptoRandom, createFactoryResponder, MemoryFlashStore, MemorySerialLink } from "@triadkit/sdk";
import { burnHarness } from "../../provisioning-station/src/burn/__tests__/harness.js";
import { PacedSerialLink } from "./paced-link.js";
import { type Benchmark, figure, median } from "./types.js";

const BAUD = 115_200;

interface DeviceRun {
  readonly ms: number;
  readonly bytes: number;
  readonly roundTrips: number;
}

async function burnAll(count: number, baud: number, from: number): Promise<DeviceRun[]> {
  const h = await burnHarness(count, { from });
  const runs: DeviceRun[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const [stationEnd, deviceEnd] = MemorySerialLink.pair();
      const station = new PacedSerialLink(stationEnd, baud);
      const device = new PacedSerialLink(deviceEnd, baud);
      const responder = createFactoryResponder({
        link: device,
        store: new MemoryFlashStore(),
        chip: {
          chipId: `be9c${String(from + i).padStart(12, "0")}`,
          wifiMac: `02be9c${String(from + i).padStart(6, "0")}`,
          model: "TK-SPK-1",
          firmware: "1.4.0",
        },
        random: new CryptoRandom(),
      });
      const client = new FactoryClient({ link: station, random: h.ctx.random, where: "F1" });
      const start = performance.now();
      const out = await processDevice(h.ctx, client, "F1", h.order);
      const ms = performance.now() - start;
      if (out.result !== "pass") throw new Error(`burn ${i} failed: ${out.code ?? out.result}`);
      runs.push({ ms, bytes: station.bytesWritten + device.bytesWritten, roundTrips: station.writes });
      await responder.close();
      await stationEnd.close();
    }
  } finally {
    await h.close();
  }
  return runs;
}

export const burn: Benchmark = {
  name: "burn",
  title: "Serial burn at 115200 baud: bytes, round trips and time per device vs the wire-time bound",
  async run(ctx) {
    const count = ctx.quick ? 5 : 40;
    ctx.log(`burn: ${count} devices paced at ${BAUD} baud, then ${count} unpaced`);
    const paced = await burnAll(count, BAUD, 0);
    const unpaced = await burnAll(count, 0, count);
    const bytes = median(paced.map((r) => r.bytes));
    const roundTrips = median(paced.map((r) => r.roundTrips));
    const boundMs = (bytes * 10 * 1000) / BAUD;
    const ms = median(paced.map((r) => r.ms));
    const cpuMs = median(unpaced.map((r) => r.ms));
    return {
      sizes: { devices: count, baud: BAUD },
      figures: [
        figure({ label: "bytes on the wire per device (both directions)", unit: "bytes", value: bytes }),
        figure({ label: "round trips per device", unit: "round trips", value: roundTrips }),
        figure({
          label: "burn time per device at 115200 baud (median)",
          unit: "ms",
          value: ms,
          baseline: { label: "wire-time bound bytes × 10 / baud (flash write: 0, memory store)", value: boundMs },
          goal: { kind: "max", ratio: 1.5 },
        }),
        figure({
          label: "the same burn unpaced (station ledger + device CPU, no wire time)",
          unit: "ms",
          value: cpuMs,
          baseline: { label: "wire-time bound", value: boundMs },
        }),
      ],
    };
  },
};
