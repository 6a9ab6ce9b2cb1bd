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

  it("is refused before any row: a zip cut short has no central directory", async () => {
    const whole = sharedStringsFirstXlsx(rows);
    const path = tmp.file("cut.xlsx");
    await writeFile(path, whole.subarray(0, Math.floor(whole.length * 0.7)));
    await expect(openTriadSheet(path)).rejects.toMatchObject({
      code: "import.unreadable_file",
      message: expect.stringContaining("zip directory"),
    });
  }, 10_000);

  it("refuses a workbook whose shared-string table does not match the zip directory, twice read", async () => {
    const whole = sharedStringsFirstXlsx(rows);
    const at = whole.indexOf(Buffer.from('count="0"'));
    expect(at).toBeGreaterThan(0);
    const damaged = Buffer.from(whole);
    damaged[at + 7] = 0x31; // count="1", same length
    const path = tmp.file("strings.xlsx");
    await writeFile(path, damaged);
    await expect(openTriadSheet(path)).rejects.toMatchObject({
      code: "import.unreadable_file",
      message: expect.stringContaining("xl/sharedStrings.xml does not match its CRC-32"),
      context: { entry: "xl/sharedStrings.xml", integrity: true },
    });
  });

  it("ends with import.unreadable_file when a sheet's bytes do not match the zip directory's CRC-32", async () => {
    const whole = sharedStringsFirstXlsx(rows);
    // The zip stores entries uncompressed: change one character of a secret in place, sizes unchanged.
    const at = whole.indexOf(Buffer.from(genieSecret(12_345)));
    expect(at).toBeGreaterThan(0);
    const damaged = Buffer.from(whole);
    damaged[at] = damaged[at] === 0x41 ? 0x42 : 0x41;
    const path = tmp.file("flipped.xlsx");
    await writeFile(path, damaged);
    const opened = await openTriadSheet(path);
    const issues: ImportIssue[] = [];
    for await (const item of opened.items) if (item.kind === "issue") issues.push(item.value);
    expect(issues.map((i) => i.code)).toEqual(["import.unreadable_file"]);
    expect(issues[0]?.message).toContain("xl/worksheets/sheet1.xml does not match its CRC-32");
  }, 10_000);
});
