import {
  createProductTable,
  expectTriadkitErrorAsync,
  isTriadkitError,
  PRODUCT_TABLE_SERVICE,
  type ProductTable,
  productTableToWire,
} from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import type { ServiceHandler } from "../session/downstream.js";
import type { FlashStore } from "../storage/flash-store.js";
import { MemoryFlashStore } from "../storage/memory-flash-store.js";
import { createProductTableReceiver, type ProductTableEvent } from "./receiver.js";
import { loadProductTable, PRODUCT_TABLE_KEY, saveProductTable } from "./table-store.js";

const scope = { type: "store", id: "184454101" } as const;

function table(version: number, names: readonly string[] = ["保温杯", "茶叶"]): ProductTable {
  return createProductTable({
    version,
    scope,
    items: names.map((name, i) => ({ name, url: `https://detail.tmall.com/item.htm?id=${54021252634 + i}&spm=x` })),
  });
}

function fakeDevice() {
  const services = new Map<string, ServiceHandler>();
  return {
    onService: (name: string, handler: ServiceHandler) => services.set(name, handler),
    push(params: unknown) {
      const handler = services.get(PRODUCT_TABLE_SERVICE);
      if (handler === undefined) throw new Error("no handler");
      return Promise.resolve(handler(params, { name: PRODUCT_TABLE_SERVICE, sync: false, id: "1" }));
    },
  };
}

async function start(store: FlashStore) {
  const device = fakeDevice();
  const receiver = createProductTableReceiver({ device, store });
  const events: ProductTableEvent[] = [];
  receiver.on("productTable", (e) => events.push(e));
  await receiver.ready;
  return { device, receiver, events };
}

describe("ProductTableReceiver", () => {
  it("accepts a table, stores it, acks its version, and announces the validated list", async () => {
    const store = new MemoryFlashStore();
    const { device, receiver, events } = await start(store);
    expect(receiver.current()).toBeUndefined();
    const t = table(3);
    await expect(device.push(productTableToWire(t))).resolves.toEqual({ version: 3, hash: t.hash, applied: true });
    expect(receiver.current()).toEqual(t);
    expect(events).toEqual([{ version: 3, scope, hash: t.hash, items: t.items, source: "push" }]);
    expect(events[0]?.items[0]).toMatchObject({ kind: "tmall", itemId: "54021252634" });

    // After a restart the table comes back from flash.
    const again = await start(store);
    expect(again.receiver.current()).toEqual(t);
    expect(again.events).toEqual([{ version: 3, scope, hash: t.hash, items: t.items, source: "flash" }]);
  });

  it("ignores stale versions, repeats of the held one, and refuses the same version with other content", async () => {
    const store = new MemoryFlashStore();
    const { device, receiver, events } = await start(store);
    const stale: unknown[] = [];
    receiver.on("stale", (s) => stale.push(s));
    const t5 = table(5);
    await device.push(productTableToWire(t5));
    await expect(device.push(productTableToWire(table(4, ["旧"])))).resolves.toEqual({
      version: 5,
      hash: t5.hash,
      applied: false,
    });
    expect(stale).toEqual([{ pushed: 4, kept: 5 }]);
    await expect(device.push(productTableToWire(t5))).resolves.toEqual({ version: 5, hash: t5.hash, applied: false });
    await expectTriadkitErrorAsync(() => device.push(productTableToWire(table(5, ["别的"]))), "products.bad_table");
    expect(receiver.current()).toEqual(t5);
    expect(events).toHaveLength(1);
    expect((await loadProductTable(store)).kind).toBe("table");
  });

  it("refuses an invalid table with its code and keeps the held one", async () => {
    const store = new MemoryFlashStore();
    const { device, receiver } = await start(store);
    const refused: { code: string }[] = [];
    receiver.on("refused", (r) => refused.push(r));
    await device.push(productTableToWire(table(1)));
    const wire = productTableToWire(table(2));
    const badUrl = { ...wire, items: [{ name: "x", url: "javascript:alert(1)" }] };
    const err = await expectTriadkitErrorAsync(() => device.push(badUrl), "products.bad_url");
    expect(err.message).toMatch(/^item 1: .*\(products\.bad_url\)$/);
    await expectTriadkitErrorAsync(() => device.push({ ...wire, hash: "f".repeat(64) }), "products.bad_table");
    await expectTriadkitErrorAsync(() => device.push("nope"), "products.bad_table");
    expect(refused.map((r) => r.code)).toEqual(["products.bad_url", "products.bad_table", "products.bad_table"]);
    expect(receiver.current()?.version).toBe(1);
  });

  it("chunks a table across small flash values and cleans the previous bank", async () => {
    const store = new MemoryFlashStore({ maxValueBytes: 200 });
    const names = Array.from({ length: 40 }, (_, i) => `商品 ${i}`);
    const big = table(1, names);
    const { device } = await start(store);
    await device.push(productTableToWire(big));
    const chunks = (await store.keys()).filter((k) => k.startsWith(`${PRODUCT_TABLE_KEY}.a.`));
    expect(chunks.length).toBeGreaterThan(10);
    await device.push(productTableToWire(table(2)));
    const keys = await store.keys();
    expect(keys.filter((k) => k.startsWith(`${PRODUCT_TABLE_KEY}.a.`))).toEqual([]);
    expect(keys.filter((k) => k.startsWith(`${PRODUCT_TABLE_KEY}.b.`)).length).toBeGreaterThan(0);
    expect((await start(store)).receiver.current()?.version).toBe(2);
  });

  it("refuses a table that cannot fit the flash, with products.too_many", async () => {
    const store = new MemoryFlashStore({ maxValueBytes: 150 });
    const { device, receiver } = await start(store);
    const names = Array.from({ length: 150 }, (_, i) => `商品 ${i}`);
    await expectTriadkitErrorAsync(() => device.push(productTableToWire(table(1, names))), "products.too_many");
    expect(await store.keys()).toEqual([]);
    expect(receiver.current()).toBeUndefined();
  });

  it("keeps the old table when saving the new one is cut off before its head is written", async () => {
    const inner = new MemoryFlashStore({ maxValueBytes: 300 });
    await saveProductTable(inner, table(1));
    let headWrites = 0;
    const failing: FlashStore = {
      maxValueBytes: inner.maxValueBytes,
      read: (k) => inner.read(k),
      keys: () => inner.keys(),
      delete: (k) => inner.delete(k),
      close: () => inner.close(),
      async write(key, value) {
        if (key === PRODUCT_TABLE_KEY && headWrites++ === 0) throw new Error("power cut");
        return inner.write(key, value);
      },
    };
    await expect(
      saveProductTable(
        failing,
        table(
          2,
          Array.from({ length: 30 }, (_, i) => `n${i}`),
        ),
      ),
    ).rejects.toThrow("power cut");
    const stored = await loadProductTable(inner);
    expect(stored.kind === "table" && stored.table.version).toBe(1);
  });

  it("reports a damaged stored table and still refuses to go below its version", async () => {
    const store = new MemoryFlashStore({ maxValueBytes: 300 });
    await saveProductTable(store, table(7));
    await store.delete(`${PRODUCT_TABLE_KEY}.a.0`);
    const device = fakeDevice();
    const receiver = createProductTableReceiver({ device, store });
    const errors: unknown[] = [];
    receiver.on("storeError", (e) => errors.push(e));
    await receiver.ready;
    expect(errors.length).toBe(1);
    expect(isTriadkitError(errors[0], "store.corrupt_record")).toBe(true);
    expect(receiver.current()).toBeUndefined();
    await expectTriadkitErrorAsync(() => device.push(productTableToWire(table(6))), "products.bad_table");
    await expect(device.push(productTableToWire(table(8)))).resolves.toMatchObject({ version: 8, applied: true });
  });

  it("handles concurrent pushes one at a time", async () => {
    const store = new MemoryFlashStore();
    const { device, receiver } = await start(store);
    const results = await Promise.all([3, 1, 2, 4].map((v) => device.push(productTableToWire(table(v)))));
    expect(results.map((r) => (r as { version: number }).version)).toEqual([3, 3, 3, 4]);
    expect(receiver.current()?.version).toBe(4);
  });
});
