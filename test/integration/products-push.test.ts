/**
 * Product recommendation tables end to end: the platform emulator pushes a table (`UpdateProductTable`) to real SDK
 * devices over MQTT; each device validates it with protocol, keeps it in its FlashStore, acks its version, and hands
 * the list to the shelf application; the emulator records every ack. Also over the emulator's (invented) admin
 * endpoint, and through `triadkit-sim cloud --admin-port` and `triadkit-sim device` as processes.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryDeviceDirectory, PlatformEmulator, startProductAdminServer } from "@triadkit/firmware-sim";
import { type AlibabaTriad, createProductTable, type ProductTable, productTableToWire } from "@triadkit/protocol";
import {
  createDevice,
  createProductTableReceiver,
  type Device,
  type FlashStore,
  MemoryFlashStore,
  type ProductTableEvent,
  type ProductTableReceiver,
} from "@triadkit/sdk";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { readyLines, startSim } from "../helpers/sim-cli.js";

const PK = "a1ProdTable";
const triad = (n: number): AlibabaTriad => ({
  productKey: PK,
  deviceName: `shelf-${n}`,
  deviceSecret: `abcdefghijklmnopqrstuvwxyz0123${String(n).padStart(2, "0")}`,
});
const identity = (t: AlibabaTriad) => ({ productKey: t.productKey, deviceName: t.deviceName });
const scope = { type: "store", id: "184454101" } as const;

function table(version: number, names: readonly string[] = ["保温杯", "茶叶"]): ProductTable {
  return createProductTable({
    version,
    scope,
    items: names.map((name, i) => ({ name, url: `https://detail.tmall.com/item.htm?id=${54021252634 + i}` })),
  });
}

let emulator: PlatformEmulator;
const running: Device[] = [];

beforeAll(async () => {
  emulator = await PlatformEmulator.start({
    directory: new MemoryDeviceDirectory(Array.from({ length: 6 }, (_, i) => triad(i))),
    rateLimit: false,
  });
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.close()));
});
afterAll(async () => {
  await emulator.close();
});

interface Shelf {
  readonly device: Device;
  readonly products: ProductTableReceiver;
  readonly events: ProductTableEvent[];
}

async function shelf(t: AlibabaTriad, store: FlashStore): Promise<Shelf> {
  const device = createDevice({
    triad: t,
    brokerUrl: emulator.url,
    ntpResyncSec: 0,
    backoff: { baseMs: 100, capMs: 400 },
  });
  running.push(device);
  const products = createProductTableReceiver({ device, store });
  const events: ProductTableEvent[] = [];
  products.on("productTable", (e) => events.push(e));
  await products.ready;
  await device.connect();
  return { device, products, events };
}

describe("product table push through the platform emulator", () => {
  it("delivers, persists and acks; a restart keeps the table; a stale version is ignored", async () => {
    const store = new MemoryFlashStore();
    const a = await shelf(triad(0), store);
    const t3 = table(3);
    const [ack, offline] = await emulator.products.push(t3, [identity(triad(0)), identity(triad(5))]);
    expect(ack).toMatchObject({ status: "acked", pushed: 3, version: 3, hash: t3.hash, applied: true });
    expect(offline).toMatchObject({ status: "offline", pushed: 3, deviceName: "shelf-5" });
    expect(a.events).toEqual([{ version: 3, scope, hash: t3.hash, items: t3.items, source: "push" }]);
    expect(a.events[0]?.items.map((i) => [i.kind, i.itemId])).toEqual([
      ["tmall", "54021252634"],
      ["tmall", "54021252635"],
    ]);
    expect(emulator.products.ack(triad(0))).toMatchObject({ version: 3, maxVersion: 3, last: { status: "acked" } });
    expect(emulator.products.ack(triad(5))).toMatchObject({ last: { status: "offline" } });
    expect(emulator.products.ack(triad(5))?.version).toBeUndefined();

    // Power off and on: the table comes back from flash before the device is even online.
    await a.device.close();
    const again = await shelf(triad(0), store);
    expect(again.events).toEqual([{ version: 3, scope, hash: t3.hash, items: t3.items, source: "flash" }]);
    const [stale] = await emulator.products.push(table(2, ["旧表"]), [identity(triad(0))]);
    expect(stale).toMatchObject({ status: "acked", pushed: 2, version: 3, applied: false });
    expect(again.products.current()?.version).toBe(3);
    expect(emulator.products.ack(triad(0))).toMatchObject({ version: 3, last: { pushed: 2 } });
  });

  it("an invalid table is refused by the device with its code, and the emulator reports it", async () => {
    const store = new MemoryFlashStore();
    const s = await shelf(triad(1), store);
    await emulator.products.push(table(4), [identity(triad(1))]);
    const wire = productTableToWire(table(5));
    const badUrl = { ...wire, items: [...wire.items, { name: "恶意", url: "javascript:alert(1)" }] };
    const [refused] = await emulator.products.push(badUrl, [identity(triad(1))]);
    expect(refused).toMatchObject({ status: "refused", pushed: 5, code: "products.bad_url" });
    const [tampered] = await emulator.products.push({ ...wire, hash: "0".repeat(64) }, [identity(triad(1))]);
    expect(tampered).toMatchObject({ status: "refused", code: "products.bad_table" });
    const [conflict] = await emulator.products.push(productTableToWire(table(4, ["同版本别的内容"])), [
      identity(triad(1)),
    ]);
    expect(conflict).toMatchObject({ status: "refused", code: "products.bad_table" });
    expect(s.products.current()?.version).toBe(4);
    expect(emulator.products.ack(triad(1))).toMatchObject({ version: 4, last: { status: "refused" } });
  });

  it("pushes through the admin endpoint and lists the acks", async () => {
    const admin = await startProductAdminServer(emulator.products, { port: 0 });
    try {
      await shelf(triad(2), new MemoryFlashStore());
      await shelf(triad(3), new MemoryFlashStore());
      const t = table(7);
      const res = await fetch(`${admin.url}/admin/product-tables/push`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ table: productTableToWire(t), devices: [identity(triad(2)), identity(triad(3))] }),
      });
      expect(res.status).toBe(200);
      const { results } = (await res.json()) as { results: { status: string; version: number }[] };
      expect(results.map((r) => [r.status, r.version])).toEqual([
        ["acked", 7],
        ["acked", 7],
      ]);
      const one = await fetch(`${admin.url}/admin/product-tables/acks/${PK}/shelf-2`);
      expect(await one.json()).toMatchObject({ deviceName: "shelf-2", version: 7, hash: t.hash });
      const all = (await (await fetch(`${admin.url}/admin/product-tables/acks`)).json()) as { devices: unknown[] };
      expect(all.devices.length).toBeGreaterThanOrEqual(2);
      expect((await fetch(`${admin.url}/admin/product-tables/acks/${PK}/nobody`)).status).toBe(404);
      const bad = await fetch(`${admin.url}/admin/product-tables/push`, { method: "POST", body: "{" });
      expect(bad.status).toBe(400);
      expect((await fetch(`${admin.url}/admin/product-tables/push`)).status).toBe(405);
      expect((await fetch(`${admin.url}/nope`)).status).toBe(404);
    } finally {
      await admin.close();
    }
  });
});

describe("triadkit-sim cloud --admin-port and triadkit-sim device", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tk-products-sim-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("a simulated device logs the product table it receives and keeps it in its flash", async () => {
    const t = triad(4);
    const triads = join(dir, "triads.csv");
    await writeFile(triads, `productKey,deviceName,deviceSecret\n${t.productKey},${t.deviceName},${t.deviceSecret}\n`);
    const triadFile = join(dir, "triad.json");
    await writeFile(triadFile, JSON.stringify(t));
    const cloud = startSim(["cloud", "--port", "0", "--admin-port", "0", "--triads", triads]);
    const devices: ReturnType<typeof startSim>[] = [];
    try {
      const lines = await readyLines(cloud, 2);
      const mqttUrl = (lines.find((l) => l.startsWith("READY mqtt://")) as string).slice("READY ".length);
      const adminLine = lines.find((l) => l.startsWith("READY admin ")) as string;
      expect(adminLine).toMatch(/^READY admin http:\/\/127\.0\.0\.1:\d+$/);
      const adminUrl = adminLine.slice("READY admin ".length);
      const stateDir = join(dir, "dev");
      const start = () => startSim(["device", "--state-dir", stateDir, "--cloud", mqttUrl, "--triad-file", triadFile]);
      const device = start();
      devices.push(device);
      await readyLines(device, 1);
      const push = async (version: number) => {
        const res = await fetch(`${adminUrl}/admin/product-tables/push`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ table: productTableToWire(table(version)), devices: [identity(t)] }),
        });
        return ((await res.json()) as { results: { status: string; version?: number }[] }).results[0];
      };
      expect(await push(9)).toMatchObject({ status: "acked", version: 9 });
      await expect.poll(() => device.stderr()).toContain("product table v9 (store 184454101, 2 items) from push");
      await expect.poll(() => cloud.stderr()).toContain("status=acked version=9");
      device.child.kill("SIGTERM");
      expect(await device.exit).toBe(0);

      const restarted = start();
      devices.push(restarted);
      await readyLines(restarted, 1);
      expect(restarted.stderr()).toContain("product table v9 (store 184454101, 2 items) from flash");
      expect(await push(8)).toMatchObject({ status: "acked", version: 9 });
    } finally {
      for (const d of devices) d.child.kill("SIGTERM");
      cloud.child.kill("SIGTERM");
      await Promise.all([...devices.map((d) => d.exit), cloud.exit]);
    }
  }, 60_000);
});
