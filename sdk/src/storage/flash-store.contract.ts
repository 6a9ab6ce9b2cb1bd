/**
 * The FlashStore contract as one vitest suite, run against every implementation (memory, files, simulated flash).
 * Not exported from the package barrel (it imports vitest); test files import it by path.
 */
import { Buffer } from "node:buffer";
import { expectTriadkitErrorAsync } from "@triadkit/protocol";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import type { FlashStore } from "./flash-store.js";

export interface FlashStoreFixture {
  readonly store: FlashStore;
  /**
   * Simulates a reboot: a new store over the same persistent contents. The suite closes the previous store first.
   * Omit for stores without persistence.
   */
  reopen?(): Promise<FlashStore>;
  /** Releases everything (temp dirs, images); called after the suite has closed the latest store. */
  cleanup(): Promise<void>;
}

export const BAD_FLASH_KEYS: readonly unknown[] = [
  "",
  "A",
  "Key",
  "-lead",
  ".lead",
  "_lead",
  "a/b",
  "../x",
  "a b",
  "a\u0000",
  "é",
  "a".repeat(65),
  42,
  undefined,
];

export const GOOD_FLASH_KEYS: readonly string[] = ["a", "0", "a.b_c-d", "triad", "x".repeat(64), "9-._"];

const bytes = (...values: number[]) => new Uint8Array(values);

export function runFlashStoreContract(
  name: string,
  factory: () => Promise<FlashStoreFixture>,
  options: { readonly persistent?: boolean } = {},
): void {
  describe(`FlashStore contract: ${name}`, () => {
    let fixture: FlashStoreFixture | undefined;
    let store: FlashStore;
    const open = async () => {
      fixture = await factory();
      store = fixture.store;
      return fixture;
    };
    const reopen = async () => {
      if (fixture?.reopen === undefined) throw new Error("fixture has no reopen");
      await store.close();
      store = await fixture.reopen();
      return store;
    };
    afterEach(async () => {
      if (fixture === undefined) return;
      await store.close().catch(() => undefined);
      await fixture.cleanup();
      fixture = undefined;
    });

    it("reads undefined for a key never written", async () => {
      await open();
      expect(await store.read("never")).toBeUndefined();
      expect(await store.keys()).toEqual([]);
    });

    it("reads back what was written, as a copy neither side can change", async () => {
      await open();
      const value = bytes(1, 2, 3);
      await store.write("k", value);
      value[0] = 99;
      const read = await store.read("k");
      expect(read).toEqual(bytes(1, 2, 3));
      (read as Uint8Array)[1] = 99;
      expect(await store.read("k")).toEqual(bytes(1, 2, 3));
      // A Node Buffer is a Uint8Array whose slice() aliases: it must be copied too, and come back as plain bytes.
      const buffer = Buffer.from([4, 5, 6]);
      await store.write("b", buffer);
      buffer[0] = 0;
      expect(await store.read("b")).toEqual(bytes(4, 5, 6));
    });

    it("overwrites, many times in a row, keeping keys apart", async () => {
      await open();
      await store.write("other", bytes(7));
      for (let i = 0; i < 12; i++) {
        await store.write("k", bytes(i, i + 1, i + 2).subarray(0, 1 + (i % 3)));
        expect(await store.read("k")).toEqual(bytes(i, i + 1, i + 2).subarray(0, 1 + (i % 3)));
      }
      expect(await store.read("other")).toEqual(bytes(7));
    });

    it("deletes; deleting an absent key is a no-op; a deleted key can be written again", async () => {
      await open();
      await store.write("k", bytes(1));
      await store.write("k", bytes(2));
      await store.delete("k");
      expect(await store.read("k")).toBeUndefined();
      await store.delete("k");
      await store.delete("never");
      expect(await store.keys()).toEqual([]);
      await store.write("k", bytes(3));
      expect(await store.read("k")).toEqual(bytes(3));
    });

    it("lists exactly the keys that hold a value, sorted", async () => {
      await open();
      for (const key of ["b", "a.x", "c-1", "a"]) await store.write(key, bytes(1));
      await store.delete("c-1");
      expect(await store.keys()).toEqual(["a", "a.x", "b"]);
    });

    it("stores binary values: empty, every byte value, and exactly maxValueBytes", async () => {
      await open();
      await store.write("empty", new Uint8Array(0));
      const empty = await store.read("empty");
      expect(empty).toBeInstanceOf(Uint8Array);
      expect(empty?.length).toBe(0);
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      await store.write("all", all);
      expect(await store.read("all")).toEqual(all);
      const max = Uint8Array.from({ length: store.maxValueBytes }, (_, i) => (i * 31 + 7) & 0xff);
      await store.write("max", max);
      expect(await store.read("max")).toEqual(max);
      expect(await store.keys()).toEqual(["all", "empty", "max"]);
    });

    it("accepts every key shape the pattern allows and rejects the rest with store.bad_key", async () => {
      await open();
      for (const key of GOOD_FLASH_KEYS) {
        await store.write(key, bytes(key.length));
        expect(await store.read(key)).toEqual(bytes(key.length));
      }
      for (const key of BAD_FLASH_KEYS) {
        const k = key as string;
        await expectTriadkitErrorAsync(() => store.read(k), "store.bad_key");
        await expectTriadkitErrorAsync(() => store.write(k, bytes(1)), "store.bad_key");
        await expectTriadkitErrorAsync(() => store.delete(k), "store.bad_key");
      }
      expect(await store.keys()).toEqual([...GOOD_FLASH_KEYS].sort());
    });

    it("refuses a value over maxValueBytes with store.record_too_large and keeps the old value", async () => {
      await open();
      await store.write("k", bytes(1));
      const err = await expectTriadkitErrorAsync(
        () => store.write("k", new Uint8Array(store.maxValueBytes + 1)),
        "store.record_too_large",
      );
      expect(err.context).toMatchObject({ bytes: store.maxValueBytes + 1, maxBytes: store.maxValueBytes });
      expect(await store.read("k")).toEqual(bytes(1));
    });

    it("after close, every method rejects with store.closed, and close again resolves", async () => {
      await open();
      await store.write("k", bytes(1));
      await store.close();
      await expectTriadkitErrorAsync(() => store.read("k"), "store.closed");
      await expectTriadkitErrorAsync(() => store.write("k", bytes(2)), "store.closed");
      await expectTriadkitErrorAsync(() => store.delete("k"), "store.closed");
      await expectTriadkitErrorAsync(() => store.keys(), "store.closed");
      await store.close();
    });

    it("applies concurrent calls in call order", async () => {
      await open();
      const results = await Promise.all([
        store.write("k", bytes(1)),
        store.read("k"),
        store.write("k", bytes(2)),
        store.write("j", bytes(9)),
        store.read("k"),
        store.delete("j"),
        store.keys(),
      ]);
      expect(results[1]).toEqual(bytes(1));
      expect(results[4]).toEqual(bytes(2));
      expect(results[6]).toEqual(["k"]);
    });

    // Registered only for stores that persist, so no test is reported as skipped.
    (options.persistent === false ? () => undefined : it)("keeps everything across reopen", async () => {
      const f = await open();
      expect(f.reopen).toBeDefined();
      await store.write("triad", bytes(1, 2, 3));
      await store.write("wifi", bytes(4));
      await store.write("wifi", bytes(5));
      await store.write("gone", bytes(6));
      await store.delete("gone");
      await store.write("empty", new Uint8Array(0));
      await reopen();
      expect(await store.read("triad")).toEqual(bytes(1, 2, 3));
      expect(await store.read("wifi")).toEqual(bytes(5));
      expect(await store.read("gone")).toBeUndefined();
      expect((await store.read("empty"))?.length).toBe(0);
      expect(await store.keys()).toEqual(["empty", "triad", "wifi"]);
      await store.write("wifi", bytes(6));
      await reopen();
      expect(await store.read("wifi")).toEqual(bytes(6));
    });

    it("property: random writes, deletes and reopens match a Map", async () => {
      const keyArb = fc.constantFrom("a", "b", "c.d", "e_f");
      const opArb = fc.oneof(
        {
          weight: 5,
          arbitrary: fc.record({
            t: fc.constant("write" as const),
            key: keyArb,
            value: fc.uint8Array({ maxLength: 48 }),
          }),
        },
        { weight: 2, arbitrary: fc.record({ t: fc.constant("delete" as const), key: keyArb }) },
        { weight: 1, arbitrary: fc.record({ t: fc.constant("reopen" as const) }) },
      );
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { maxLength: 24 }), async (ops) => {
          const f = await open();
          try {
            const model = new Map<string, Uint8Array>();
            for (const op of ops) {
              if (op.t === "write") {
                await store.write(op.key, op.value);
                model.set(op.key, op.value.slice());
              } else if (op.t === "delete") {
                await store.delete(op.key);
                model.delete(op.key);
              } else if (f.reopen !== undefined) {
                await reopen();
              }
            }
            expect(await store.keys()).toEqual([...model.keys()].sort());
            for (const key of ["a", "b", "c.d", "e_f"]) expect(await store.read(key)).toEqual(model.get(key));
          } finally {
            await store.close().catch(() => undefined);
            await f.cleanup();
            fixture = undefined;
          }
        }),
        { numRuns: 40 },
      );
    });
  });
}
