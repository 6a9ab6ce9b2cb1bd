/**
 * Power cuts at every point of a write: after the reboot the key reads exactly the old or exactly the new value.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isTriadkitError } from "@triadkit/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SimulatedFlash } from "./simulated-flash.js";
import { SimulatedFlashStore } from "./simulated-flash-store.js";

const geometry = { pageSize: 32, pagesPerBlock: 4, blockCount: 16 }; // 128-byte blocks
const options = { blocksPerSlot: 2 }; // 256-byte slots: 4 entries, values up to 172 bytes
const KEY = "triad";
const pattern = (length: number, seed: number) => Uint8Array.from({ length }, (_, i) => (i * 7 + seed) & 0xff);
const NEW = pattern(150, 1); // record = 20 + 5 + 150 = 175 bytes = 6 pages → 7 programs per slot write
const PROGRAMS_PER_SLOT = 7;
const RECORD_BYTES = 175;

type Fault = (flash: SimulatedFlash, n: number) => void;
const atPage: Fault = (flash, n) => flash.powerCutAtPage(n);
const atByte: Fault = (flash, n) => flash.tearNextWrite({ afterBytes: n });
const atErase: Fault = (flash, n) => flash.powerCutAtErase(n);

async function prepare(history: readonly Uint8Array[]) {
  const flash = SimulatedFlash.inMemory(geometry);
  const store = await SimulatedFlashStore.open(flash, options);
  await store.write("neighbour", pattern(40, 9));
  for (const value of history) await store.write(KEY, value);
  return { flash, store };
}

/** Runs `op` with the fault armed at n = 0, 1, 2, … until it completes; returns what each reboot read. */
async function sweep(
  history: readonly Uint8Array[],
  fault: Fault,
  op: (store: SimulatedFlashStore) => Promise<void>,
): Promise<(Uint8Array | undefined)[]> {
  const seen: (Uint8Array | undefined)[] = [];
  for (let n = 0; ; n++) {
    const { flash, store } = await prepare(history);
    fault(flash, n);
    const error = await op(store).then(
      () => undefined,
      (err: unknown) => err,
    );
    if (error === undefined) {
      flash.clearFaults();
      return seen;
    }
    expect(isTriadkitError(error, "store.io"), String(error)).toBe(true);
    flash.reboot();
    const after = await SimulatedFlashStore.open(flash, options);
    const value = await after.read(KEY);
    seen.push(value);
    expect(await after.read("neighbour")).toEqual(pattern(40, 9));
    // The store is fully usable after recovery, and the recovered state is stable.
    await after.write("neighbour", pattern(40, 10));
    flash.reboot();
    const again = await SimulatedFlashStore.open(flash, options);
    expect(await again.read(KEY)).toEqual(value);
    await again.write(KEY, pattern(10, 3));
    expect(await again.read(KEY)).toEqual(pattern(10, 3));
    expect(flash.stats().overPrograms).toBe(0);
  }
}

const write = (store: SimulatedFlashStore) => store.write(KEY, NEW);
const del = (store: SimulatedFlashStore) => store.delete(KEY);
/** Expected reads: `old` for the first `switchAt` cut points, then `next`. */
const expected = (count: number, switchAt: number, old: Uint8Array | undefined, next: Uint8Array | undefined) =>
  Array.from({ length: count }, (_, i) => (i < switchAt ? old : next));

describe("torn writes on simulated flash", () => {
  const OLD = pattern(120, 5);
  const OLDER = pattern(90, 6);

  it("first write of a key, cut at every page program: nothing, until the commit; then the new value", async () => {
    const seen = await sweep([], atPage, write);
    // The primary slot (7 programs) then its mirror (7 more).
    expect(seen).toEqual(expected(2 * PROGRAMS_PER_SLOT, PROGRAMS_PER_SLOT, undefined, NEW));
  });

  it("overwrite of a mirrored value, cut at every page program", async () => {
    const seen = await sweep([OLD], atPage, write);
    expect(seen).toEqual(expected(PROGRAMS_PER_SLOT, PROGRAMS_PER_SLOT, OLD, NEW));
  });

  it("steady-state overwrite, cut at every page program", async () => {
    const seen = await sweep([OLDER, OLD], atPage, write);
    expect(seen).toEqual(expected(PROGRAMS_PER_SLOT, PROGRAMS_PER_SLOT, OLD, NEW));
  });

  it("first write and overwrite, torn at every byte (mid-page cuts)", async () => {
    let seen = await sweep([], atByte, write);
    expect(seen).toEqual(expected(2 * RECORD_BYTES + 1, RECORD_BYTES, undefined, NEW));
    seen = await sweep([OLDER, OLD], atByte, write);
    expect(seen).toEqual(expected(RECORD_BYTES + 1, RECORD_BYTES, OLD, NEW));
  });

  it("first write and overwrite, cut during every erase", async () => {
    let seen = await sweep([], atErase, write);
    expect(seen).toEqual(expected(4, 2, undefined, NEW)); // 2 blocks per slot, then the mirror's 2
    seen = await sweep([OLDER, OLD], atErase, write);
    expect(seen).toEqual(expected(2, 2, OLD, NEW));
  });

  it("a record of every size from empty to a full slot, cut at every page program", async () => {
    for (const length of [0, 7, 12, 13, 44, 45, 100, 172]) {
      const value = pattern(length, length);
      const programs = Math.ceil((25 + length) / 32) + 1;
      const seen = await sweep([OLD], atPage, (store) => store.write(KEY, value));
      expect(seen, `length ${length}`).toEqual(expected(programs, programs, OLD, value));
    }
  });

  it("delete, cut at every page program and every byte: the value or nothing, never the older value", async () => {
    expect(await sweep([OLD], atPage, del)).toEqual([OLD, OLD]);
    expect(await sweep([OLDER, OLD], atPage, del)).toEqual([OLD, OLD]);
    // Each clear programs the 2 magic bytes to 0; a half-zeroed magic already reads as nothing.
    expect(await sweep([OLDER, OLD], atByte, del)).toEqual([OLD, OLD, OLD, undefined, undefined]);
  });

  it("the same on a file image: the reboot is a new process opening flash.img", async () => {
    const dir = await mkdtemp(join(tmpdir(), "triadkit-torn-"));
    try {
      const path = join(dir, "flash.img");
      for (let n = 0; n <= PROGRAMS_PER_SLOT; n++) {
        await rm(path, { force: true });
        const flash = SimulatedFlash.openImage(path, geometry);
        const store = await SimulatedFlashStore.open(flash, options);
        await store.write(KEY, OLD);
        flash.powerCutAtPage(n);
        const failed = await store.write(KEY, NEW).then(
          () => false,
          () => true,
        );
        expect(failed).toBe(n < PROGRAMS_PER_SLOT);
        // Killed: no close, no flush.
        const image = SimulatedFlash.openImage(path, geometry);
        expect(await (await SimulatedFlashStore.open(image, options)).read(KEY)).toEqual(
          n < PROGRAMS_PER_SLOT ? OLD : NEW,
        );
        image.close();
        flash.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("property: random operations on several keys with a power cut anywhere match a model", async () => {
    const keyArb = fc.constantFrom("a", "b", "c");
    const opArb = fc.oneof(
      { weight: 4, arbitrary: fc.record({ key: keyArb, value: fc.integer({ min: 0, max: 172 }) }) },
      { weight: 1, arbitrary: fc.record({ key: keyArb, value: fc.constant(-1) }) },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ op: opArb, cut: fc.option(fc.nat({ max: 20 }), { freq: 3 }) }), { maxLength: 25 }),
        async (steps) => {
          const flash = SimulatedFlash.inMemory(geometry);
          let store = await SimulatedFlashStore.open(flash, options);
          const model = new Map<string, Uint8Array>();
          for (const [i, { op, cut }] of steps.entries()) {
            const next = op.value < 0 ? undefined : pattern(op.value, i);
            if (cut !== null) flash.powerCutAtPage(cut);
            const ok = await (next === undefined ? store.delete(op.key) : store.write(op.key, next)).then(
              () => true,
              () => false,
            );
            flash.clearFaults();
            if (ok) {
              if (next === undefined) model.delete(op.key);
              else model.set(op.key, next);
              continue;
            }
            flash.reboot();
            store = await SimulatedFlashStore.open(flash, options);
            const got = await store.read(op.key);
            expect([model.get(op.key), next]).toContainEqual(got);
            if (got === undefined) model.delete(op.key);
            else model.set(op.key, got);
            for (const key of ["a", "b", "c"]) expect(await store.read(key)).toEqual(model.get(key));
          }
          expect(await store.keys()).toEqual([...model.keys()].sort());
        },
      ),
      { numRuns: 150 },
    );
  });
});
