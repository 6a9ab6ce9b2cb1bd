import { expectTriadkitErrorAsync, TriadkitError, utf8 } from "@triadkit/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FakeSlotMedium } from "./__tests__/fake-slot-medium.js";
import type { FlashStore } from "./flash-store.js";
import { MemoryFlashStore } from "./memory-flash-store.js";
import { PersistentCounter } from "./persistent-counter.js";
import { TwoSlotFlashStore } from "./two-slot-store.js";

/** Counts writes and can lose power: from then on every write fails without persisting. */
class CountingStore implements FlashStore {
  writes = 0;
  powerLost = false;
  constructor(readonly inner: FlashStore) {}
  get maxValueBytes() {
    return this.inner.maxValueBytes;
  }
  read(key: string) {
    return this.inner.read(key);
  }
  async write(key: string, value: Uint8Array) {
    if (this.powerLost) throw new TriadkitError("store.io", "power lost");
    this.writes++;
    await this.inner.write(key, value);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  keys() {
    return this.inner.keys();
  }
  close() {
    return this.inner.close();
  }
}

describe("PersistentCounter", () => {
  it("counts from start, writing once per reserved block (plus once on open)", async () => {
    const store = new CountingStore(new MemoryFlashStore());
    const counter = await PersistentCounter.open(store, "hb.seq", { reserve: 100, start: 1 });
    expect(store.writes).toBe(1);
    const values: number[] = [];
    for (let i = 0; i < 1000; i++) values.push(await counter.next());
    expect(values).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(store.writes).toBe(1 + 1000 / 100);
    expect(counter.peek()).toBe(1001);
    expect(counter.reserved).toBe(100);
  });

  it("never repeats across reboots and power cuts; gaps stay under 2 × reserve", async () => {
    let memory = new MemoryFlashStore();
    let store = new CountingStore(memory);
    const reserve = 16;
    let last = -1;
    let increments = 0;
    let boots = 0;
    let cuts = 0;
    for (let boot = 0; boot < 40; boot++) {
      const counter = await PersistentCounter.open(store, "seq", { reserve });
      boots++;
      const first = await counter.next();
      expect(first).toBeGreaterThan(last);
      if (last >= 0) expect(first - last).toBeLessThan(2 * reserve + 1);
      last = first;
      increments++;
      for (let i = 0; i < (boot * 7) % 50; i++) {
        const value = await counter.next();
        expect(value).toBe(last + 1);
        last = value;
        increments++;
      }
      if (boot % 3 === 0) {
        // Power cut: the next write never happens; next() fails until the reboot.
        // Values already reserved still come; the first one needing a write fails, and so does every later call.
        store.powerLost = true;
        for (;;) {
          const value = await counter.next().catch(() => undefined);
          if (value === undefined) break;
          expect(value).toBe(last + 1);
          last = value;
          increments++;
        }
        await expectTriadkitErrorAsync(() => counter.next(), "store.io");
        cuts++;
      }
      const writes = store.writes;
      memory = memory.reopen();
      store = new CountingStore(memory);
      store.writes = writes;
    }
    expect(cuts).toBe(14);
    expect(store.writes).toBeLessThanOrEqual(boots * 2 + Math.ceil(increments / reserve));
  });

  it("survives the store falling back to the older copy of its ceiling (newest slot damaged)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.record({ steps: fc.nat({ max: 30 }), damage: fc.boolean() }), { minLength: 1, maxLength: 12 }),
        async (reserve, boots) => {
          const medium = new FakeSlotMedium();
          let last = -1;
          for (const { steps, damage } of boots) {
            const counter = await PersistentCounter.open(new TwoSlotFlashStore(medium), "nonce", { reserve });
            for (let i = 0; i < steps; i++) {
              const value = await counter.next();
              expect(value).toBeGreaterThan(last);
              last = value;
            }
            if (damage) {
              const store = new TwoSlotFlashStore(medium);
              const { current } = await store.inspect("nonce");
              if (current !== undefined) {
                const bytes = (medium.get("nonce", current) as Uint8Array).slice();
                bytes[bytes.length - 2] = (bytes[bytes.length - 2] as number) ^ 0x01;
                medium.set("nonce", current, bytes);
              }
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("hands out distinct values to concurrent callers with one write per block", async () => {
    const store = new CountingStore(new MemoryFlashStore());
    const counter = await PersistentCounter.open(store, "c", { reserve: 10 });
    const values = await Promise.all(Array.from({ length: 35 }, () => counter.next()));
    expect(values).toEqual(Array.from({ length: 35 }, (_, i) => i));
    expect(store.writes).toBe(1 + 4);
  });

  it("keeps the largest reserve it has used, and never goes below start", async () => {
    const store = new MemoryFlashStore();
    let counter = await PersistentCounter.open(store, "c", { reserve: 50 });
    expect(await counter.next()).toBe(0);
    counter = await PersistentCounter.open(store.reopen(), "c", { reserve: 5 });
    expect(counter.reserved).toBe(50);
    expect(await counter.next()).toBe(100);
    const s2 = new MemoryFlashStore();
    await (await PersistentCounter.open(s2, "c", { reserve: 5 })).next();
    expect(await (await PersistentCounter.open(s2, "c", { reserve: 5, start: 1000 })).next()).toBe(1000);
  });

  it("validates options and refuses a damaged stored state", async () => {
    const store = new MemoryFlashStore();
    for (const reserve of [0, -1, 1.5, 2 ** 31 + 1]) {
      await expectTriadkitErrorAsync(() => PersistentCounter.open(store, "c", { reserve }), "config.invalid");
    }
    await expectTriadkitErrorAsync(
      () => PersistentCounter.open(store, "c", { reserve: 1, start: -1 }),
      "config.invalid",
    );
    await expectTriadkitErrorAsync(() => PersistentCounter.open(store, "Bad", { reserve: 1 }), "store.bad_key");
    for (const json of ['{"v":1,"data":{"ceiling":-1,"reserve":1}}', '{"v":1,"data":{"ceiling":1}}', "garbage"]) {
      await store.write("c", utf8(json));
      await expectTriadkitErrorAsync(() => PersistentCounter.open(store, "c", { reserve: 1 }), "store.corrupt_record");
    }
    await store.write("c", utf8(`{"v":1,"data":{"ceiling":${Number.MAX_SAFE_INTEGER},"reserve":1}}`));
    await expectTriadkitErrorAsync(() => PersistentCounter.open(store, "c", { reserve: 1 }), "internal.unexpected");
  });
});
