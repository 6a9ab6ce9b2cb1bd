/**
 * The station's product table commands against the platform emulator and real SDK devices: `products import` of the
 * brand's sheet (a file with bad links rejected whole, with a report by row and column), `products push
 * --cloud-admin` reaching the shelf devices of a brand (each gets its store's table, else its brand's), and `products
 * status` showing the versions the devices acknowledged, from the ledger.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  MemoryDeviceDirectory,
  PlatformEmulator,
  type ProductAdminServer,
  startProductAdminServer,
} from "@triadkit/firmware-sim";
import type { AlibabaTriad } from "@triadkit/protocol";
import { main, openStation } from "@triadkit/provisioning-station";
import {
  type CliIo,
  createDevice,
  createProductTableReceiver,
  type Device,
  MemoryFlashStore,
  type ProductTableReceiver,
} from "@triadkit/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const PK = "a1ShelfProd";
const TMALL = "https://detail.tmall.com/item.htm?id=540212526343";
const triads: AlibabaTriad[] = [0, 1, 2].map((i) => ({
  productKey: PK,
  deviceName: `shelf_${i}`,
  deviceSecret: `ZYXWVUTSRQPONMLKJIHGFEDCBA0123${String(i).padStart(2, "0")}`,
}));
/** Store of each device: two in 184454101, one in 184454102 (all brand Acme). */
const stores = [184454101, 184454101, 184454102] as const;

let dir: string;
let db: string;
let emulator: PlatformEmulator;
let admin: ProductAdminServer;
const devices: Device[] = [];
const receivers: ProductTableReceiver[] = [];
const triadIds: string[] = [];

async function station(args: readonly string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), shutdownSignal: () => new Promise(() => {}) };
  const code = await main(["node", "triadkit-station", ...args, "--db", db, "--operator", "alice"], io, {});
  return { code, out, err };
}

/** A ledger whose three Alibaba triads are burnt into Acme's shelf devices (as `burn --shelf` leaves them). */
async function burntShelfLedger(): Promise<void> {
  const s = await openStation({ dbPath: db, operator: "alice" });
  try {
    const actor = s.actor("alice");
    const { ledger, keyring } = s;
    await ledger.addWorkOrder(
      { id: "WO-SHELF", product: PK, model: "TK-SHELF", minFirmware: "1.0.0", brand: "Acme" },
      actor,
    );
    const session = await ledger.beginImport("WO-SHELF", { fileName: "triads.csv", sha256: "ab".repeat(32) }, actor);
    const rows = triads.map((t, i) => {
      const id = `t${randomBytes(12).toString("hex")}`;
      return {
        id,
        sourceRow: i + 2,
        identity: { family: "alibaba" as const, productKey: t.productKey, deviceName: t.deviceName },
        sealedSecret: keyring.seal(id, t.deviceSecret),
        secretFingerprint: keyring.fingerprint(t.deviceSecret),
      };
    });
    expect(await session.add(rows)).toEqual([]);
    await session.commit();
    await ledger.importShelfDevices(
      stores.map((storeId, i) => ({ row: i + 2, brand: "Acme", storeId, deviceCode: `8F6A77C7${i}E` })),
      { via: "line" },
      actor,
    );
    for (const [i, storeId] of stores.entries()) {
      const chip = `c0ffee0${i}`;
      const shelf = await ledger.assignShelfDevice(chip, { storeId }, actor);
      const t = await ledger.reserve("WO-SHELF", actor);
      await ledger.linkDevice(
        t.id,
        {
          chipId: chip,
          wifiMac: `0c000000000${i}`,
          model: "TK-SHELF",
          firmware: "1.0.0",
          recordHash: new Uint8Array(32).fill(i),
          writtenAt: Date.now(),
          sealedPop: keyring.sealPop(t.id, new Uint8Array(16).fill(7)),
          popSalt: new Uint8Array(16).fill(1),
          shelf: { storeId, deviceCode: shelf.deviceCode },
        },
        actor,
      );
      await ledger.transition(t.id, { to: "written", actor });
      await ledger.transition(t.id, { to: "verified", actor });
      triadIds.push(t.id);
    }
  } finally {
    await s.close();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tk-products-station-"));
  db = join(dir, "station.db");
  await burntShelfLedger();
  emulator = await PlatformEmulator.start({ directory: new MemoryDeviceDirectory(triads), rateLimit: false });
  admin = await startProductAdminServer(emulator.products, { port: 0 });
});

afterAll(async () => {
  await Promise.all(devices.map((d) => d.close()));
  await admin?.close();
  await emulator?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("triadkit-station products", () => {
  it("rejects a sheet with bad links whole, with a report by row and column", async () => {
    const file = join(dir, "bad.csv");
    await writeFile(
      file,
      `\ufeff商品,链接\r\n保温杯,${TMALL}\r\n假货,http://detail.tmall.com/item.htm?id=1\r\n弹窗,javascript:alert(1)\r\n`,
    );
    const r = await station(["products", "import", file, "--brand", "Acme", "--json"]);
    expect(r.code).toBe(1);
    const result = JSON.parse(r.out.at(-1) as string);
    expect(result.error.code).toBe("import.rejected");
    expect(result.issues.map((i: { row: number; column: string; code: string }) => [i.row, i.column, i.code])).toEqual([
      [3, "链接", "products.bad_url"],
      [4, "链接", "products.bad_url"],
    ]);
    expect(readFileSync(`${file}.report.csv`, "utf8")).toContain("products.bad_url");
    // Audited like a rejected triad sheet, with a signed checkpoint beside the report.
    expect(JSON.parse(readFileSync(`${file}.report.csv.checkpoint.json`, "utf8"))).toMatchObject({
      reportSha256: result.reportSha256,
    });
    const shown = (await station(["audit", "show", "--last", "3", "--json"])).out.join("\n");
    expect(shown).toContain("import.rejected");
    const rejected = (JSON.parse(shown).entries as { action: string; details: unknown }[]).find(
      (e) => e.action === "import.rejected",
    );
    expect(JSON.stringify(rejected?.details)).toContain("products");
    const list = await station(["products", "list", "--json"]);
    expect(JSON.parse(list.out[0] as string).tables).toEqual([]);
  });

  it("imports brand and store tables, pushes each device its table, and status shows the acks", async () => {
    const brandFile = join(dir, "acme.csv");
    await writeFile(brandFile, `商品,链接\n保温杯 500ml,${TMALL}&spm=a1\n品牌故事,https://www.example.com/story\n`);
    const storeFile = join(dir, "store.csv");
    await writeFile(storeFile, `name,url\n门店限定,https://item.taobao.com/item.htm?id=16016943437\n`);
    const b = await station(["products", "import", brandFile, "--brand", "Acme", "--json"]);
    expect(b.code).toBe(0);
    expect(JSON.parse(b.out[0] as string)).toMatchObject({
      ok: true,
      version: 1,
      items: 2,
      kinds: { tmall: 1, other: 1 },
    });
    const s = await station(["products", "import", storeFile, "--store", "184454101", "--json"]);
    expect(JSON.parse(s.out[0] as string)).toMatchObject({
      ok: true,
      version: 2,
      scope: { type: "store", id: "184454101" },
    });
    const same = await station(["products", "import", brandFile, "--brand", "Acme"]);
    expect(same.out[0]).toContain("same as version 1");

    // Devices 0 and 1 online (store 184454101), device 2 (store 184454102) offline for now.
    for (const t of triads.slice(0, 2)) {
      const device = createDevice({ triad: t, brokerUrl: emulator.url, ntpResyncSec: 0 });
      devices.push(device);
      const r = createProductTableReceiver({ device, store: new MemoryFlashStore() });
      receivers.push(r);
      await device.connect();
    }
    const push = await station([
      "products",
      "push",
      "--cloud-admin",
      admin.url,
      "--brand",
      "Acme",
      "--timeout-ms",
      "2000",
    ]);
    expect(push.code).toBe(1); // one device offline
    expect(push.err.join("\n")).toContain("1 device(s) did not acknowledge");
    expect(receivers.map((r) => r.current()?.version)).toEqual([2, 2]);
    expect(receivers[0]?.current()?.items[0]).toMatchObject({
      name: "门店限定",
      kind: "taobao",
      itemId: "16016943437",
    });

    let status = JSON.parse((await station(["products", "status", "--brand", "Acme", "--json"])).out[0] as string);
    expect(
      status.devices.map((d: Record<string, unknown>) => [
        d["deviceName"],
        d["version"],
        d["ackedVersion"],
        d["lastStatus"],
        d["state"],
      ]),
    ).toEqual([
      ["shelf_0", 2, 2, "acked", "current"],
      ["shelf_1", 2, 2, "acked", "current"],
      ["shelf_2", 1, null, "offline", "behind"],
    ]);

    // The third comes online; a push to its store only brings everything current.
    const device = createDevice({ triad: triads[2] as AlibabaTriad, brokerUrl: emulator.url, ntpResyncSec: 0 });
    devices.push(device);
    const third = createProductTableReceiver({ device, store: new MemoryFlashStore() });
    await device.connect();
    const again = await station(["products", "push", "--cloud-admin", admin.url, "--store", "184454102", "--json"]);
    expect(again.code).toBe(0);
    expect(third.current()?.version).toBe(1);
    status = JSON.parse((await station(["products", "status", "--json"])).out[0] as string);
    expect(status.devices.map((d: Record<string, unknown>) => d["ackedVersion"])).toEqual([2, 2, 1]);
    expect(emulator.products.ack(triads[2] as AlibabaTriad)).toMatchObject({ version: 1 });

    const audit = await station(["audit", "verify", "--json"]);
    expect(audit.code).toBe(0);
    const text = await station(["products", "list"]);
    expect(text.out.join("\n")).toMatch(/2\s+store 184454101\s+1/);
    const items = await station(["products", "list", "--version", "1"]);
    expect(items.out.join("\n")).toContain("540212526343");
  });

  it("usage errors exit 2", async () => {
    expect((await station(["products", "push", "--cloud-admin", admin.url])).code).toBe(2);
    expect((await station(["products", "import", "x.csv", "--brand", "A", "--store", "1"])).code).toBe(2);
    expect((await station(["products", "import", "x.csv", "--store", "01"])).code).toBe(2);
    expect((await station(["products", "push", "--cloud-admin", admin.url, "--brand", "Nobody"])).code).toBe(2);
  });
});
