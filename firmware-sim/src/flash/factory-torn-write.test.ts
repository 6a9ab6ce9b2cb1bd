/**
 * Power cut mid-burn: the factory record (and the lock flag, and a factory reset) written through the responder on a
 * simulated flash, torn at every page boundary and at mid-page offsets of the write, and cut before every page
 * program. After each "reboot" (the store reopened from the flash image) the device is in the state before or the
 * state after, never half: the record reads back exactly or not at all, and `hello` says the same.
 */
import { type DeviceFactoryState, type FactoryRecord, factoryIdentityOf, factoryRecordHash } from "@triadkit/protocol";
import { createFactoryResponder, FactoryCredentialStore, MemorySerialLink, SeededRandom } from "@triadkit/sdk";
import { describe, expect, it } from "vitest";
import {
  expectType,
  FactoryTestClient,
  signAuth,
  testRecord,
} from "../../../sdk/src/factory/__tests__/factory-test-client.js";
import { type FlashGeometry, SimulatedFlash } from "./simulated-flash.js";
import { SimulatedFlashStore } from "./simulated-flash-store.js";

const CHIP = { chipId: "00c0ffee00c0ffee", wifiMac: "020000000001", model: "m", firmware: "1" };
const RECORD = testRecord();
const NEIGHBOUR = Uint8Array.from({ length: 40 }, (_, i) => i);

interface Layout {
  readonly name: string;
  readonly geometry: Partial<FlashGeometry>;
  readonly store: { blocksPerSlot: number };
}
const LAYOUTS: Layout[] = [
  { name: "default geometry (256-byte pages)", geometry: {}, store: { blocksPerSlot: 1 } },
  { name: "32-byte pages", geometry: { pageSize: 32, pagesPerBlock: 8, blockCount: 16 }, store: { blocksPerSlot: 2 } },
];

type Op = "write" | "lock" | "reset";
type Fault = { kind: "bytes" | "page"; n: number };

/** One device: flash, store, responder and a station client on a memory link. */
async function boot(flash: SimulatedFlash, layout: Layout) {
  const store = await SimulatedFlashStore.open(flash, layout.store);
  const [deviceLink, stationLink] = MemorySerialLink.pair();
  const responder = createFactoryResponder({ link: deviceLink, store, chip: CHIP, random: new SeededRandom(3) });
  const client = new FactoryTestClient(stationLink);
  const close = async () => {
    client.close();
    await responder.close();
    await deviceLink.close();
  };
  return { store, client, close };
}

/** A device in the state before `op`: blank for a write, provisioned for lock, locked for reset. */
async function prepare(layout: Layout, op: Op) {
  const flash = SimulatedFlash.inMemory(layout.geometry);
  const device = await boot(flash, layout);
  await device.store.write("wifi", NEIGHBOUR);
  if (op !== "write") expectType(await device.client.request({ t: "write_record", record: RECORD }), "written");
  if (op === "reset") expectType(await device.client.request({ t: "lock" }), "ok");
  return { flash, device };
}

async function run(device: Awaited<ReturnType<typeof boot>>, op: Op) {
  if (op === "write") return device.client.request({ t: "write_record", record: RECORD });
  if (op === "lock") return device.client.request({ t: "lock" });
  const h = expectType(await device.client.request({ t: "hello", stationNonce: new Uint8Array(16) }), "hello");
  return device.client.request({ t: "factory_reset", signature: signAuth("factory_reset", CHIP.chipId, h.challenge) });
}

/** Bytes programmed and page programs of `op` without a fault. */
async function measure(layout: Layout, op: Op): Promise<{ bytes: number; programs: number; pageSize: number }> {
  const { flash, device } = await prepare(layout, op);
  const before = flash.stats();
  expect((await run(device, op)).t).not.toBe("error");
  const after = flash.stats();
  await device.close();
  return {
    bytes: after.programmedBytes - before.programmedBytes,
    programs: after.programs - before.programs,
    pageSize: flash.geometry.pageSize,
  };
}

/** Arms the fault, runs `op`, reboots, and returns the state a fresh boot finds (after checking it is whole). */
async function tornState(layout: Layout, op: Op, fault: Fault): Promise<DeviceFactoryState> {
  const { flash, device } = await prepare(layout, op);
  if (fault.kind === "bytes") flash.tearNextWrite({ afterBytes: fault.n });
  else flash.powerCutAtPage(fault.n);
  const answer = await run(device, op);
  if (answer.t === "error") expect(answer.code).toBe("storage_failed");
  else flash.clearFaults(); // the cut point lay beyond the operation
  await device.close();
  flash.reboot(); // power back: the store is reopened from the flash as it was left

  const fresh = await boot(flash, layout);
  try {
    const creds = await FactoryCredentialStore.open(fresh.store);
    const held = await creds.snapshot();
    const hello = expectType(await fresh.client.request({ t: "hello", stationNonce: new Uint8Array(16) }), "hello");
    expect(hello.state).toBe(held.state);
    expect(await fresh.store.read("wifi")).toEqual(NEIGHBOUR);
    if (held.state === "blank") {
      expect(held.record).toBeUndefined();
      expect(hello.identity).toBeUndefined();
      // A blank device takes a new burn.
      expectType(await fresh.client.request({ t: "write_record", record: RECORD }), "written");
    } else {
      expect(held.record).toEqual(RECORD as FactoryRecord);
      expect(hello.recordHash).toEqual(factoryRecordHash(RECORD));
      expect(hello.identity).toEqual(factoryIdentityOf(RECORD.triad));
      expectType(await fresh.client.request({ t: "verify", stationNonce: new Uint8Array(16) }), "verified");
    }
    expect(flash.stats().overPrograms).toBe(0);
    return held.state;
  } finally {
    await fresh.close();
  }
}

/**
 * Every page boundary of the operation's programmed bytes, a few offsets inside each page, and around the commit
 * marker, up to `bytes` (power fails right after the last byte).
 */
function tearOffsets(bytes: number, pageSize: number): number[] {
  // The last two bytes programmed are the commit marker ("TK"): cut before, inside and after it.
  const out = new Set<number>([bytes - 2, bytes - 1, bytes].filter((n) => n >= 0));
  for (let page = 0; page * pageSize <= bytes; page++) {
    for (const d of [0, 1, pageSize >> 1, pageSize - 1]) {
      const n = page * pageSize + d;
      if (n <= bytes) out.add(n);
    }
  }
  return [...out].sort((a, b) => a - b);
}

/** The states found, in cut order, must be `before` up to the commit point and `after` from then on. */
function expectBeforeThenAfter(states: DeviceFactoryState[], before: DeviceFactoryState, after: DeviceFactoryState) {
  const switchAt = states.indexOf(after);
  expect(switchAt, `never ${after}: ${states.join(",")}`).toBeGreaterThan(0);
  expect(states.slice(0, switchAt).every((s) => s === before)).toBe(true);
  expect(states.slice(switchAt).every((s) => s === after)).toBe(true);
}

const EXPECT: Record<Op, [DeviceFactoryState, DeviceFactoryState]> = {
  write: ["blank", "provisioned"],
  lock: ["provisioned", "locked"],
  reset: ["locked", "blank"],
};

describe.each(LAYOUTS)("power cut mid-burn, $name", (layout) => {
  for (const op of ["write", "lock", "reset"] as const) {
    const [before, after] = EXPECT[op];
    it(`${op}: torn at every page boundary and mid-page → ${before} or ${after}, never half`, async () => {
      const { bytes, pageSize } = await measure(layout, op);
      const offsets = tearOffsets(bytes, pageSize);
      const states: DeviceFactoryState[] = [];
      for (const n of offsets) states.push(await tornState(layout, op, { kind: "bytes", n }));
      expect(offsets.length).toBeGreaterThan(op === "reset" ? 1 : 4);
      expectBeforeThenAfter(states, before, after);
    });

    it(`${op}: cut before every page program → ${before} or ${after}`, async () => {
      const { programs } = await measure(layout, op);
      const states: DeviceFactoryState[] = [];
      for (let n = 0; n <= programs; n++) states.push(await tornState(layout, op, { kind: "page", n }));
      expectBeforeThenAfter(states, before, after);
    });
  }
});
