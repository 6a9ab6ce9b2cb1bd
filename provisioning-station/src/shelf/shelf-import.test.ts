import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { brief, useTempDir, writeWorkbook } from "../import/__tests__/helpers.js";
import { openStation, type Station } from "../ledger/open-station.js";
import { isvLine } from "../ledger/shelf.js";
import { importShelfSheet } from "./shelf-import.js";
import { readShelfSheet } from "./shelf-sheet.js";

const tmp = useTempDir();
let station: Station | undefined;
afterEach(async () => {
  await station?.close();
  station = undefined;
});

async function open(): Promise<Station> {
  station = await openStation({ dbPath: join(tmp.dir, "ledger.db") });
  return station;
}

const ZH = ["品牌", "门店id", "设备id", "设备名称"];

describe("reading the brand's shelf sheet", () => {
  it("reads Chinese headers below a title row; a store id stored as a number is exact", async () => {
    const path = await writeWorkbook(tmp.file("shelf.xlsx"), [
      {
        name: "设备",
        rows: [
          ["智慧门店 设备列表 2026-11-23"],
          ZH,
          ["Acme", 184454101, "8F6A77C73E", 11111],
          ["Acme", "184454102", "8F6A77C73F", "启赋快闪店"],
        ],
      },
    ]);
    const sheet = await readShelfSheet(path);
    expect(sheet).toMatchObject({ kind: "xlsx", sheet: "设备", headerRow: 2, rowsRead: 2, issues: [] });
    expect(sheet.rows).toEqual([
      { row: 3, brand: "Acme", storeId: 184454101, deviceCode: "8F6A77C73E", deviceName: "11111" },
      { row: 4, brand: "Acme", storeId: 184454102, deviceCode: "8F6A77C73F", deviceName: "启赋快闪店" },
    ]);
  });

  it("takes the console's own headers (门店码, 设备初始Code) and --brand for a sheet without a brand column", async () => {
    // "设备名称,门店码,设备初始Code,状态\r\n11111,184454101,8F6A77C73E,待激活\r\n" in GBK, as Excel saves it in China.
    const gbk =
      "c9e8b1b8c3fbb3c62cc3c5b5eac2eb2cc9e8b1b8b3f5cabc436f64652cd7b4ccac0d0a31313131312c3138343435343130312c" +
      "384636413737433733452cb4fdbca4bbee0d0a";
    const path = await tmp.write("console.csv", Buffer.from(gbk, "hex"));
    const sheet = await readShelfSheet(path, { brand: "友鱼" });
    expect(sheet.encoding).toBe("gb18030");
    expect(sheet.rows).toEqual([
      { row: 2, brand: "友鱼", storeId: 184454101, deviceCode: "8F6A77C73E", deviceName: "11111" },
    ]);
    await expect(readShelfSheet(path)).rejects.toMatchObject({ code: "import.missing_column" });
  });

  it("refuses damaged device codes, non-integer store ids and missing values, row by row", async () => {
    const path = await writeWorkbook(tmp.file("bad.xlsx"), [
      {
        name: "s",
        rows: [
          ["Brand", "Store ID", "Device Code", "Device Name"],
          ["Acme", 1, 8e6, "number code"], // "8E6" read as 8000000 by a spreadsheet
          ["Acme", 2, "8.00E+06", "scientific text"],
          ["Acme", 1.5, "C3", "fractional store"],
          ["Acme", "12a", "C4", "letters in store"],
          ["Acme", "", "C5", "no store"],
          ["", 6, "C6", "no brand"],
          ["Acme", 7, "with space", "bad code"],
          ["Acme", 8, "GOOD", "fine"],
        ],
      },
    ]);
    const sheet = await readShelfSheet(path);
    expect(brief(sheet.issues)).toEqual([
      [2, "Device Code", "import.damaged_cell"],
      [3, "Device Code", "import.damaged_cell"],
      [4, "Store ID", "import.damaged_cell"],
      [5, "Store ID", "import.bad_value"],
      [6, "Store ID", "import.missing_value"],
      [7, "Brand", "import.missing_value"],
      [8, "Device Code", "import.bad_value"],
    ]);
    expect(sheet.rows.map((r) => r.deviceCode)).toEqual(["GOOD"]);
  });
});

describe("importing a shelf sheet: all rows or none", () => {
  it("imports a good sheet in one audited step", async () => {
    const s = await open();
    const path = await writeWorkbook(tmp.file("ok.xlsx"), [
      { name: "s", rows: [ZH, ["Acme", 184454101, "8F6A77C73E", "A"], ["Acme", 184454101, "8F6A77C73F", "B"]] },
    ]);
    const out = await importShelfSheet(s.ledger, path, { actor: s.actor("li.wei") });
    expect(out.ok).toBe(true);
    expect((await s.ledger.listShelfDevices()).map((d) => isvLine(d))).toEqual([
      "Acme，门店id：184454101，设备id:8F6A77C73E",
      "Acme，门店id：184454101，设备id:8F6A77C73F",
    ]);
    const entry = (await s.ledger.auditEntries(s.stationId, 0, 100)).find((e) => e.action === "shelf.import");
    expect(JSON.parse(entry?.details ?? "{}")).toMatchObject({ fileName: "ok.xlsx", rows: 2, kind: "xlsx" });
  });

  it("rejects the whole sheet for one bad row, reporting sheet and ledger problems together", async () => {
    const s = await open();
    await importShelfSheet(
      s.ledger,
      await writeWorkbook(tmp.file("first.xlsx"), [{ name: "s", rows: [ZH, ["Acme", 1, "KNOWN", "x"]] }]),
      { actor: s.actor("li.wei") },
    );
    const path = await writeWorkbook(tmp.file("second.xlsx"), [
      {
        name: "s",
        rows: [
          ZH,
          ["Acme", 1, "NEW-1", "fine"],
          ["Acme", 1, "KNOWN", "in the ledger"],
          ["Acme", 2, "DUP", "first"],
          ["Acme", 2, "DUP", "again"],
          ["Other", 1, "NEW-2", "store of Acme"],
          ["Acme", 3, 12345, "number code"],
        ],
      },
    ]);
    const out = await importShelfSheet(s.ledger, path, { actor: s.actor("li.wei") });
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(brief(out.issues)).toEqual([
      [3, "设备id", "shelf.code_exists"],
      [5, "设备id", "shelf.duplicate_code"],
      [6, "门店id", "shelf.store_conflict"],
      [7, "设备id", "import.damaged_cell"],
    ]);
    expect((await s.ledger.listShelfDevices()).map((d) => d.deviceCode)).toEqual(["KNOWN"]);
  });

  it("a header without data rows, or no shelf header at all, is a file-level error", async () => {
    await expect(
      readShelfSheet(await tmp.write("empty.csv", "门店id,设备id\r\n"), { brand: "A" }),
    ).rejects.toMatchObject({
      code: "import.empty_file",
    });
    await expect(
      readShelfSheet(await tmp.write("other.csv", "ProductKey,DeviceName\r\na,b\r\n")),
    ).rejects.toMatchObject({
      code: "import.missing_column",
    });
    rmSync(tmp.file("other.csv"));
  });
});
