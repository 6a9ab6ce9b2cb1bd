import { stat, writeFile } from "node:fs/promises";
import ExcelJS from "exceljs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTriadSheet } from "../open-sheet.js";
import type { ImportIssue } from "../types.js";
import { openXlsxSource } from "../xlsx-source.js";
import { bleMac, GENIE_HEADER, genieSecret, type TempDir, tempDir, wifiMac } from "./helpers.js";
import { sharedStringsFirstXlsx } from "./zip.js";

let tmp: TempDir;
beforeAll(async () => {
  tmp = await tempDir();
});
afterAll(async () => {
  await tmp.remove();
});

/** Chinese text unique per row, long enough that zip chunks end inside characters. */
function remark(i: number): string {
  return `第${i}号设备：智能门锁，出厂批次二〇二六年十一月，备注${"测试".repeat(i % 7)}`;
}

async function writeStreamed(path: string, rows: number, useSharedStrings: boolean): Promise<void> {
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, useSharedStrings, useStyles: false });
  const sheet = workbook.addWorksheet("triads");
  sheet.addRow([...GENIE_HEADER, "备注"]).commit();
  for (let i = 1; i <= rows; i++) {
    const mac = wifiMac(i);
    sheet.addRow([5001234, genieSecret(i), mac, "", mac.toUpperCase(), bleMac(i), remark(i)]).commit();
  }
  sheet.commit();
  await workbook.commit();
}

describe("xlsx streaming", () => {
  it.each([
    ["shared strings", true],
    ["inline strings", false],
  ])("keeps multi-byte characters split across zip chunks intact (%s)", async (_, shared) => {
    const path = tmp.file(`zh-${shared}.xlsx`);
    await writeStreamed(path, 4000, shared);
    const source = await openXlsxSource(path, { size: (await stat(path)).size });
    let checked = 0;
    for await (const sheet of source.sheets) {
      for await (const raw of sheet.rows) {
        if (raw.row === 1) continue;
        expect(raw.cells[6]).toEqual({ type: "text", text: remark(raw.row - 1) });
        checked++;
      }
    }
    expect(checked).toBe(4000);
  });

  it("streams a 100,000-row Genie workbook", async () => {
    const path = tmp.file("big.xlsx");
    await writeStreamed(path, 100_000, false);
    const size = (await stat(path)).size;
    let lastProgress = 0;
    const opened = await openTriadSheet(path, { onProgress: (done) => (lastProgress = done) });
    let rows = 0;
    let issues = 0;
    let lastRow = 0;
    for await (const item of opened.items) {
      if (item.kind === "issue") issues++;
      else {
        rows++;
        lastRow = item.value.row;
      }
    }
    expect({ rows, issues, lastRow }).toEqual({ rows: 100_000, issues: 0, lastRow: 100_001 });
    expect(lastProgress).toBe(size);
  }, 60_000);
});

describe("a truncated xlsx", () => {
  const rows = [
    ["ProductKey", "DeviceName", "DeviceSecret"],
    ...Array.from({ length: 20_000 }, (_, i) => ["a1B2c3D4e5F", `dev-${i + 1}`, genieSecret(i + 1)]),
  ];

  it("reads the hand-made workbook whole", async () => {
    const path = tmp.file("whole.xlsx");
    await writeFile(path, sharedStringsFirstXlsx(rows));
    const opened = await openTriadSheet(path);
    let count = 0;
    for await (const item of opened.items) if (item.kind === "row") count++;
    expect(count).toBe(20_000);
  });

  it("ends with import.unreadable_file instead of waiting forever for the rest of the sheet", async () => {
    const whole = sharedStringsFirstXlsx(rows);
    const path = tmp.file("cut.xlsx");
    await writeFile(path, whole.subarray(0, Math.floor(whole.length * 0.7)));
    const opened = await openTriadSheet(path);
    const issues: ImportIssue[] = [];
    let count = 0;
    for await (const item of opened.items) {
      if (item.kind === "row") count++;
      else issues.push(item.value);
    }
    expect(count).toBeLessThan(20_000);
    expect(issues.map((i) => [i.code, i.column])).toEqual([["import.unreadable_file", ""]]);
  }, 10_000);
});
