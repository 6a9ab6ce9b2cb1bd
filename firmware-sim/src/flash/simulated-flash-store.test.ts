import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectTriadkitErrorAsync, utf8 } from "@triadkit/protocol";
import { decodeRecord } from "@triadkit/sdk";
import { describe, expect, it } from "vitest";
import { runFlashStoreContract } from "../../../sdk/src/storage/flash-store.contract.js";
import { SimulatedFlash } from "./simulated-flash.js";
import { SimulatedFlashStore } from "./simulated-flash-store.js";

runFlashStoreContract("SimulatedFlashStore (in memory)", async () => {
  const flash = SimulatedFlash.inMemory();
  return {
    store: await SimulatedFlashStore.open(flash),
    async reopen() {
      flash.reboot();
      return SimulatedFlashStore.open(flash);
    },
    async cleanup() {
      expect(flash.stats().overPrograms).toBe(0);
    },
  };
});

runFlashStoreContract("SimulatedFlashStore (image file, multi-block slots)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "triadkit-simflash-"));
  const path = join(dir, "flash.img");
  const geometry = { pageSize: 64, pagesPerBlock: 8, blockCount: 48 };
  let flash = SimulatedFlash.openImage(path, geometry);
  return {
    store: await SimulatedFlashStore.open(flash, { blocksPerSlot: 3 }),
    async reopen() {
      flash.close(); // process exit; a new process opens the image
      flash = SimulatedFlash.openImage(path, geometry);
      return SimulatedFlashStore.open(flash, { blocksPerSlot: 3 });
    },
    async cleanup() {
      flash.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

const small = { pageSize: 32, pagesPerBlock: 4, blockCount: 16 }; // 128-byte blocks

describe("SimulatedFlashStore", () => {
  it("lays keys out in entries of two slots and derives its limits from the region", async () => {
    const flash = SimulatedFlash.inMemory(small);
    const store = await SimulatedFlashStore.open(flash, { firstBlock: 4, blockCount: 9 });
    expect(store.layout).toEqual({
      firstBlock: 4,
      blockCount: 9,
      blocksPerSlot: 1,
      slotBytes: 128,
      entries: 4,
      maxValueBytes: 128 - 84,
    });
    expect(store.maxValueBytes).toBe(44);
    await store.write("a", utf8("1"));
    await store.write("b", utf8("2"));
    expect(store.locate("a")).toEqual({ entry: 0, slotOffsets: [4 * 128, 5 * 128] });
    expect(store.locate("b")).toEqual({ entry: 1, slotOffsets: [6 * 128, 7 * 128] });
    expect(store.locate("c")).toBeUndefined();
    expect(decodeRecord(flash.read(6 * 128, 128))).toEqual({ key: "b", generation: 1, value: utf8("2") });
    // Blocks outside the region are never touched.
    for (const block of [0, 1, 2, 3, 12, 13, 14, 15]) expect(flash.blockEraseCount(block)).toBe(0);
  });

  it("finds every key again after a reboot by scanning the records", async () => {
    const flash = SimulatedFlash.inMemory(small);
    let store = await SimulatedFlashStore.open(flash);
    for (const key of ["x", "y", "z"]) await store.write(key, utf8(key));
    await store.delete("y");
    await store.write("w", utf8("w")); // takes y's freed entry
    expect(store.locate("w")?.entry).toBe(1);
    flash.reboot();
    await expectTriadkitErrorAsync(() => store.read("x"), "store.closed");
    store = await SimulatedFlashStore.open(flash);
    expect(await store.keys()).toEqual(["w", "x", "z"]);
    expect(store.locate("z")?.entry).toBe(2);
  });

  it("reports a full region as store.io and keeps working for existing keys", async () => {
    const flash = SimulatedFlash.inMemory(small);
    const store = await SimulatedFlashStore.open(flash, { blockCount: 4 });
    await store.write("a", utf8("1"));
    await store.write("b", utf8("2"));
    const err = await expectTriadkitErrorAsync(() => store.write("c", utf8("3")), "store.io");
    expect(err.context).toEqual({ reason: "full", entries: 2 });
    await store.write("a", utf8("4"));
    expect(await store.read("a")).toEqual(utf8("4"));
  });

  it("commits with the magic programmed last, and deletes by zeroing it without an erase", async () => {
    const flash = SimulatedFlash.inMemory(small);
    const store = await SimulatedFlashStore.open(flash, { blocksPerSlot: 2 });
    await store.write("k", new Uint8Array(70)); // 91-byte record: pages 1 and 2, then page 0, then the magic
    await store.write("k", new Uint8Array(70));
    const before = flash.stats();
    // Steady state: two erases (the slot's blocks) and four programs per write.
    await store.write("k", new Uint8Array(70));
    const after = flash.stats();
    expect(after.erases - before.erases).toBe(2);
    expect(after.programs - before.programs).toBe(4);
    expect(after.programmedBytes - before.programmedBytes).toBe(91);
    await store.delete("k");
    expect(flash.stats().erases).toBe(after.erases);
    const [a, b] = [0, 256];
    expect(flash.read(a, 2)).toEqual(new Uint8Array(2));
    expect(flash.read(b, 2)).toEqual(new Uint8Array(2));
    expect(store.locate("k")).toBeUndefined();
    expect(flash.stats().overPrograms).toBe(0);
  });

  it("spreads a key's writes evenly over its two slots", async () => {
    const flash = SimulatedFlash.inMemory(small);
    const store = await SimulatedFlashStore.open(flash);
    for (let i = 0; i < 100; i++) await store.write("k", utf8(String(i)));
    // First write is mirrored (one erase of each slot), then they alternate.
    expect([flash.blockEraseCount(0), flash.blockEraseCount(1)]).toEqual([50, 51]);
  });

  it("keeps two stores in disjoint regions of one chip apart", async () => {
    const flash = SimulatedFlash.inMemory(small);
    const one = await SimulatedFlashStore.open(flash, { blockCount: 8 });
    const two = await SimulatedFlashStore.open(flash, { firstBlock: 8 });
    await one.write("k", utf8("one"));
    await two.write("k", utf8("two"));
    expect(await one.read("k")).toEqual(utf8("one"));
    expect(await two.read("k")).toEqual(utf8("two"));
  });

  it("validates the region", async () => {
    const flash = SimulatedFlash.inMemory(small);
    for (const options of [
      { firstBlock: 16 },
      { blockCount: 1 },
      { blockCount: 17 },
      { blocksPerSlot: 0 },
      { blocksPerSlot: 9 },
      { firstBlock: 15 },
    ]) {
      await expectTriadkitErrorAsync(() => SimulatedFlashStore.open(flash, options), "config.invalid");
    }
    const tiny = SimulatedFlash.inMemory({ pageSize: 16, pagesPerBlock: 4, blockCount: 4 });
    await expectTriadkitErrorAsync(() => SimulatedFlashStore.open(tiny), "config.invalid");
  });
});
