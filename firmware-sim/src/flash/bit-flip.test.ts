/**
 * Corruption after the fact: a flipped bit in the newest copy falls back to the older copy; only when no valid
 * copy is left does a read fail, with store.corrupt_record.
 */
import { expectTriadkitErrorAsync } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { SimulatedFlash } from "./simulated-flash.js";
import { SimulatedFlashStore } from "./simulated-flash-store.js";

const geometry = { pageSize: 32, pagesPerBlock: 4, blockCount: 8 };
const pattern = (length: number, seed: number) => Uint8Array.from({ length }, (_, i) => (i * 13 + seed) & 0xff);
const OLD = pattern(40, 1);
const NEW = pattern(41, 2);
const KEY = "wifi";
const RECORD_BYTES = 20 + KEY.length + NEW.length;

function slotOffsets(store: SimulatedFlashStore, key: string): readonly [number, number] {
  const location = store.locate(key);
  if (location === undefined) throw new Error(`${key} has no entry`);
  return location.slotOffsets;
}

async function twoGenerations() {
  const flash = SimulatedFlash.inMemory(geometry);
  const store = await SimulatedFlashStore.open(flash);
  await store.write(KEY, OLD);
  await store.write(KEY, NEW);
  const { current, slots } = await store.inspect(KEY);
  expect(current).toBe(1);
  expect(slots.map((s) => s.kind)).toEqual(["valid", "valid"]);
  const [older, newest] = slotOffsets(store, KEY);
  return { flash, store, older, newest };
}

describe("bit flips on simulated flash", () => {
  it("any single flipped bit of the newest record falls back to the older value, before and after a reboot", async () => {
    for (let bit = 0; bit < RECORD_BYTES * 8; bit++) {
      const { flash, store, newest } = await twoGenerations();
      flash.flipBit(newest + (bit >> 3), bit & 7);
      expect(await store.read(KEY), `bit ${bit}`).toEqual(OLD);
      flash.reboot();
      const after = await SimulatedFlashStore.open(flash);
      expect(await after.read(KEY), `bit ${bit} after reboot`).toEqual(OLD);
      expect(await after.keys()).toEqual([KEY]);
      // The next write goes into the damaged slot and both copies are good again.
      await after.write(KEY, pattern(5, 9));
      expect((await after.inspect(KEY)).slots.map((s) => s.kind)).toEqual(["valid", "valid"]);
      expect(await after.read(KEY)).toEqual(pattern(5, 9));
    }
  });

  it("a bit flip in the older copy changes nothing", async () => {
    for (let bit = 0; bit < (20 + KEY.length + OLD.length) * 8; bit += 7) {
      const { flash, store, older } = await twoGenerations();
      flash.flipBit(older + (bit >> 3), bit & 7);
      expect(await store.read(KEY)).toEqual(NEW);
    }
  });

  it("a value written once survives a flip in either copy (the first write is mirrored)", async () => {
    for (const slot of [0, 1] as const) {
      const flash = SimulatedFlash.inMemory(geometry);
      const store = await SimulatedFlashStore.open(flash);
      await store.write("triad", OLD);
      const offset = slotOffsets(store, "triad")[slot];
      flash.flipBit(offset + 30, 5);
      expect(await store.read("triad")).toEqual(OLD);
    }
  });

  it("damaged values in both copies: store.corrupt_record, and the key stays listed", async () => {
    const { flash, store, older, newest } = await twoGenerations();
    flash.flipBit(older + 30, 0);
    flash.flipBit(newest + 30, 0);
    const err = await expectTriadkitErrorAsync(() => store.read(KEY), "store.corrupt_record");
    expect(err.context).toMatchObject({ key: KEY, reason: "value checksum mismatch" });
    flash.reboot();
    const after = await SimulatedFlashStore.open(flash);
    await expectTriadkitErrorAsync(() => after.read(KEY), "store.corrupt_record");
    expect(await after.keys()).toEqual([KEY]);
    await after.write(KEY, NEW);
    expect(await after.read(KEY)).toEqual(NEW);
  });

  it("damaged headers in both copies: corrupt_record until reboot; after it the entry has no owner and is free", async () => {
    const { flash, store, older, newest } = await twoGenerations();
    flash.flipBit(older + 5, 0);
    flash.flipBit(newest + 5, 0);
    await expectTriadkitErrorAsync(() => store.read(KEY), "store.corrupt_record");
    flash.reboot();
    const after = await SimulatedFlashStore.open(flash);
    expect(await after.read(KEY)).toBeUndefined();
    expect(after.locate(KEY)).toBeUndefined();
    await after.write("other", OLD);
    expect(after.locate("other")?.entry).toBe(0);
  });
});
