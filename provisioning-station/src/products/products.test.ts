import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectTriadkitErrorAsync } from "@triadkit/protocol";
import Database from "better-sqlite3";
import ExcelJS from "exceljs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { verifyAudit } from "../audit/verify.js";
import { alibabaIdentity, alibabaOrder, knownSecret, SOURCE, sealedRow } from "../ledger/__tests__/fixtures.js";
import { openStation, type Station } from "../ledger/open-station.js";
import type { SqliteLedger } from "../ledger/sqlite/sqlite-ledger.js";
import type { Actor } from "../ledger/types.js";
import { readProductSheet } from "./product-sheet.js";

const TMALL = "https://detail.tmall.com/item.htm?id=540212526343";
const store = { type: "store", id: "184454101" } as const;
const brand = { type: "brand", id: "Acme" } as const;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tk-products-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function csv(name: string, text: string, bom = true): string {
  const path = join(dir, name);
  writeFileSync(path, `${bom ? "\ufeff" : ""}${text}`);
  return path;
}

async function xlsx(name: string, rows: unknown[][]): Promise<string> {
  const book = new ExcelJS.Workbook();
  const sheet = book.addWorksheet("商品推荐");
  for (const row of rows) sheet.addRow(row);
  const path = join(dir, name);
  await book.xlsx.writeFile(path);
  return path;
}

describe("readProductSheet", () => {
  it("reads 商品/链接 columns below a title row, normalising links", async () => {
    const path = await xlsx("table.xlsx", [
      ["友鱼 商品推荐表格"],
      ["商品", "链接", "备注"],
      ["保温杯 500ml", "https://detail.tmall.com/item.htm?spm=a1&id=540212526343", "x"],
      [],
      [2024, "https://item.taobao.com/item.htm?id=16016943437"],
      ["品牌官网", "https://www.example.com/"],
    ]);
    const r = await readProductSheet(path, { scope: store });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.info).toMatchObject({
      kind: "xlsx",
      sheet: "商品推荐",
      headerRow: 2,
      nameColumn: "商品",
      urlColumn: "链接",
    });
    expect(r.rows).toEqual([
      { row: 3, name: "保温杯 500ml", url: TMALL },
      { row: 5, name: "2024", url: "https://item.taobao.com/item.htm?id=16016943437" },
      { row: 6, name: "品牌官网", url: "https://www.example.com/" },
    ]);
    expect(r.file.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("reads name/url CSV headers (UTF-8 or GB18030)", async () => {
    const r = await readProductSheet(csv("t.csv", `Name,URL\r\ncup,${TMALL}\r\n`, false), { scope: brand });
    expect(r.ok && r.rows).toEqual([{ row: 2, name: "cup", url: TMALL }]);
    const gbk = join(dir, "gbk.csv");
    const header = Buffer.from([0xc9, 0xcc, 0xc6, 0xb7, 0x2c, 0xc1, 0xb4, 0xbd, 0xd3, 0x0a]); // "商品,链接\n" in GBK
    const row = Buffer.concat([Buffer.from([0xb1, 0xad, 0xd7, 0xd3]), Buffer.from(`,${TMALL}\n`)]); // "杯子,…"
    writeFileSync(gbk, Buffer.concat([header, row]));
    const g = await readProductSheet(gbk, { scope: brand });
    expect(g.ok && g.rows).toEqual([{ row: 2, name: "杯子", url: TMALL }]);
  });

  it("rejects the whole file and lists every bad row with its column and code", async () => {
    const path = csv(
      "bad.csv",
      [
        "商品,链接",
        `好的,${TMALL}`,
        "不安全,http://detail.tmall.com/item.htm?id=540212526343",
        "脚本,javascript:alert(1)",
        "带密码,https://bob:pw@example.com/",
        ",https://example.com/x",
        "没有 id,https://detail.tmall.com/item.htm?spm=1",
        "端口,https://example.com:8443/",
      ].join("\r\n"),
    );
    const r = await readProductSheet(path, { scope: store });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => [i.row, i.column, i.code])).toEqual([
      [3, "链接", "products.bad_url"],
      [4, "链接", "products.bad_url"],
      [5, "链接", "products.bad_url"],
      [6, "商品", "products.bad_item"],
      [7, "链接", "products.bad_url"],
      [8, "链接", "products.bad_url"],
    ]);
    expect(JSON.stringify(r.issues)).not.toContain("pw@");
    expect(r.rowsRead).toBe(7);
  });

  it("refuses more than 200 products, an empty sheet, and a sheet without the columns", async () => {
    const many = ["商品,链接", ...Array.from({ length: 201 }, (_, i) => `p${i},${TMALL}`)].join("\n");
    const r = await readProductSheet(csv("many.csv", many), { scope: store });
    expect(!r.ok && r.issues.map((i) => [i.row, i.code])).toEqual([[202, "products.too_many"]]);
    const empty = await readProductSheet(csv("empty.csv", "商品,链接\n"), { scope: store });
    expect(!empty.ok && empty.issues.map((i) => i.code)).toEqual(["import.empty_file"]);
    await expectTriadkitErrorAsync(
      () => readProductSheet(csv("x.csv", "a,b\n1,2\n"), { scope: store }),
      "import.missing_column",
    );
    await expectTriadkitErrorAsync(
      () => readProductSheet(csv("y.csv", "商品,链接,url\nx,y,z\n"), { scope: store }),
      "import.ambiguous_column",
    );
    await expectTriadkitErrorAsync(
      () => readProductSheet(join(dir, "t.txt"), { scope: store }),
      "import.unreadable_file",
    );
  });
});

describe("SqliteProductTables (ledger v4)", () => {
  let station: Station;
  let actor: Actor;
  const secrets: string[] = [];

  async function setup(): Promise<void> {
    station = await openStation({ dbPath: join(dir, "l.db") });
    actor = station.actor("alice");
  }

  /** Alibaba triads burnt into shelf devices of store 184454101 (Acme) and 184454102 (Acme). */
  async function shelfDevices(): Promise<string[]> {
    const { ledger, keyring } = station;
    await ledger.addWorkOrder(alibabaOrder("WO-P", { brand: "Acme" }), actor);
    const session = await ledger.beginImport("WO-P", SOURCE, actor);
    const rows = [0, 1, 2].map((i) => {
      secrets.push(knownSecret("p", i));
      return sealedRow(keyring, alibabaIdentity(i), knownSecret("p", i), i + 2);
    });
    expect(await session.add(rows)).toEqual([]);
    await session.commit();
    await ledger.importShelfDevices(
      [
        { row: 2, brand: "Acme", storeId: 184454101, deviceCode: "S1-A" },
        { row: 3, brand: "Acme", storeId: 184454101, deviceCode: "S1-B" },
        { row: 4, brand: "Acme", storeId: 184454102, deviceCode: "S2-A" },
      ],
      { via: "line" },
      actor,
    );
    const ids: string[] = [];
    for (const [i, [storeId, chip]] of (
      [
        [184454101, "c0ffee01"],
        [184454101, "c0ffee02"],
        [184454102, "c0ffee03"],
      ] as const
    ).entries()) {
      const shelf = await ledger.assignShelfDevice(chip, { storeId }, actor);
      const t = await ledger.reserve("WO-P", actor);
      await ledger.linkDevice(
        t.id,
        {
          chipId: chip,
          wifiMac: `0c000000000${i + 1}`,
          model: "TK-PLUG-2",
          firmware: "2.0.1",
          recordHash: new Uint8Array(32).fill(i),
          writtenAt: 1,
          sealedPop: keyring.sealPop(t.id, new Uint8Array(16).fill(7)),
          popSalt: new Uint8Array(16).fill(1),
          shelf: { storeId, deviceCode: shelf.deviceCode },
        },
        actor,
      );
      await ledger.transition(t.id, { to: "written", actor });
      await ledger.transition(t.id, { to: "verified", actor });
      ids.push(t.id);
    }
    return ids;
  }

  afterEach(async () => {
    await station?.close();
  });

  it("stores versions station-wide, skips unchanged content, and audits each import", async () => {
    await setup();
    const products = (station.ledger as SqliteLedger).products;
    const rows = [
      { row: 2, name: "杯子", url: TMALL },
      { row: 3, name: "茶", url: "https://example.com/tea" },
    ];
    const a = await products.importTable({ scope: brand, rows, fileName: "a.xlsx", fileSha256: "a".repeat(64) }, actor);
    expect(a).toMatchObject({ unchanged: false, table: { version: 1, scope: brand } });
    const b = await products.importTable({ scope: store, rows, fileName: "b.xlsx", fileSha256: "b".repeat(64) }, actor);
    expect(b.table.version).toBe(2);
    const again = await products.importTable(
      { scope: brand, rows, fileName: "a2.xlsx", fileSha256: "c".repeat(64) },
      actor,
    );
    expect(again).toMatchObject({ unchanged: true, table: { version: 1 } });
    const c = await products.importTable(
      { scope: brand, rows: rows.slice(1), fileName: "c.xlsx", fileSha256: "d".repeat(64) },
      actor,
    );
    expect(c.table.version).toBe(3);
    expect(products.list().map((t) => t.version)).toEqual([3, 2, 1]);
    expect(products.list(brand).map((t) => t.version)).toEqual([3, 1]);
    expect(products.get(1)?.items).toEqual([
      { name: "杯子", url: TMALL, kind: "tmall", itemId: "540212526343" },
      { name: "茶", url: "https://example.com/tea", kind: "other" },
    ]);
    expect(products.latest(brand)?.hash).toBe(c.table.hash);
    const err = await expectTriadkitErrorAsync(
      () =>
        products.importTable(
          {
            scope: brand,
            rows: [...rows, { row: 9, name: "x", url: "data:text/html,x" }],
            fileName: "x",
            fileSha256: "",
          },
          actor,
        ),
      "products.bad_url",
    );
    expect(err.context).toMatchObject({ row: 9 });
    const entries = await station.ledger.auditEntries(station.stationId, 0, 1000);
    expect(entries.filter((e) => e.action === "products.import")).toHaveLength(3);
    const db = new Database(join(dir, "l.db"));
    expect(() => db.prepare("DELETE FROM product_items").run()).toThrow(/append-only/);
    expect(() => db.prepare("UPDATE product_tables SET hash = hash").run()).toThrow(/append-only/);
    db.close();
  });

  it("finds each shelf device's table (its store's, else its brand's) and records acks that never go down", async () => {
    await setup();
    const [d1, d2, d3] = await shelfDevices();
    const products = (station.ledger as SqliteLedger).products;
    const rows = [{ row: 2, name: "杯子", url: TMALL }];
    expect(products.targets({ brand: "Acme" }).map((t) => t.version)).toEqual([undefined, undefined, undefined]);
    await products.importTable({ scope: brand, rows, fileName: "b.csv", fileSha256: "0".repeat(64) }, actor);
    const storeRows = [{ row: 2, name: "门店专供", url: TMALL }];
    await products.importTable({ scope: store, rows: storeRows, fileName: "s.csv", fileSha256: "1".repeat(64) }, actor);
    const targets = products.targets({ brand: "Acme" });
    expect(targets.map((t) => [t.triadId, t.storeId, t.deviceCode, t.version])).toEqual([
      [d1, "184454101", "S1-A", 2],
      [d2, "184454101", "S1-B", 2],
      [d3, "184454102", "S2-A", 1],
    ]);
    expect(products.targets({ storeId: "184454102" }).map((t) => t.triadId)).toEqual([d3]);
    expect(products.targets({ workOrderId: "WO-P", scope: brand }).map((t) => t.version)).toEqual([1, 1, 1]);

    const hash = "e".repeat(64);
    await products.recordPush(
      { selector: "brand Acme", cloud: "http://127.0.0.1:1" },
      [
        { triadId: d1 as string, pushed: 2, status: "acked", version: 2, hash, applied: true, atMs: 10 },
        { triadId: d2 as string, pushed: 2, status: "refused", code: "products.bad_url", atMs: 10 },
        { triadId: d3 as string, pushed: 1, status: "offline", atMs: 10 },
      ],
      actor,
    );
    expect(products.status({ brand: "Acme" }).map((s) => [s.lastStatus, s.ackedVersion, s.code, s.state])).toEqual([
      ["acked", 2, undefined, "current"],
      ["refused", undefined, "products.bad_url", "behind"],
      ["offline", undefined, undefined, "behind"],
    ]);
    // A later ack of a lower version (a wiped device) is recorded as the last push but never lowers the ack.
    await products.recordPush(
      { selector: "store 184454101", cloud: "http://127.0.0.1:1" },
      [{ triadId: d1 as string, pushed: 2, status: "acked", version: 1, hash, applied: false, atMs: 20 }],
      actor,
    );
    expect(products.status({ storeId: "184454101" })[0]).toMatchObject({ ackedVersion: 2, lastStatus: "acked" });
    expect(
      products
        .recorded()
        .map((s) => s.triadId)
        .sort(),
    ).toEqual([d1, d2, d3].sort());
    const entries = await station.ledger.auditEntries(station.stationId, 0, 1000);
    expect(entries.filter((e) => e.action === "products.push")).toHaveLength(2);
    const acks = entries.filter((e) => e.action === "products.ack");
    expect(acks.map((e) => e.triadId)).toEqual([d1]);
    expect(JSON.parse(acks[0]?.details ?? "{}")).toMatchObject({ version: 2, pushed: 2 });
    expect(
      (await verifyAudit({ source: station.ledger, keys: station.stationKey, headFile: station.headFile })).ok,
    ).toBe(true);
    const all = JSON.stringify(entries.map((e) => e.details));
    for (const s of secrets) expect(all).not.toContain(s);
  });
});
