import { expectTriadkitError, expectTriadkitErrorAsync } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { runFlashStoreContract } from "./flash-store.contract.js";
import { MemoryFlashStore } from "./memory-flash-store.js";

runFlashStoreContract("MemoryFlashStore", async () => {
  let store = new MemoryFlashStore({ maxValueBytes: 4096 });
  return {
    store,
    async reopen() {
      store = store.reopen();
      return store;
    },
    async cleanup() {},
  };
});

runFlashStoreContract(
  "MemoryFlashStore without reopen",
  async () => ({
    store: new MemoryFlashStore(),
    async cleanup() {},
  }),
  { persistent: false },
);

describe("MemoryFlashStore", () => {
  it("reopen closes the old instance and keeps the contents", async () => {
    const a = new MemoryFlashStore();
    await a.write("k", new Uint8Array([1]));
    const b = a.reopen();
    await expectTriadkitErrorAsync(() => a.read("k"), "store.closed");
    expect(await b.read("k")).toEqual(new Uint8Array([1]));
    await b.write("k", new Uint8Array([2]));
    expect(await b.reopen().read("k")).toEqual(new Uint8Array([2]));
  });

  it("validates maxValueBytes", () => {
    expect(new MemoryFlashStore().maxValueBytes).toBe(64 * 1024);
    for (const maxValueBytes of [-1, 1.5, Number.NaN, 2 ** 40]) {
      expectTriadkitError(() => new MemoryFlashStore({ maxValueBytes }), "config.invalid");
    }
  });
});
