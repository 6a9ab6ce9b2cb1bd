/**
 * Import of a 100k-row xlsx (Alibaba ProductKey/DeviceName/DeviceSecret) against a raw exceljs streaming read of the
 * same file (WorkbookReader, every row's values touched), interleaved run by run, medians:
 * - `openTriadSheet`: the station's reader (stream, header detection, per-row validation, duplicate check);
 * - `importSheet`: the whole import into a fresh station database (rows sealed and written in batches, audited).
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { importSheet, openStation, openTriadSheet } from "@triadkit/provisioning-station";
import { CryptoRandom } from "@triadkit/sdk";
import ExcelJS from "exceljs";
import { alibabaOrder } from "../../provisioning-station/src/ledger/__tests__/fixtures.js";
import { withTempDir } from "./temp-dir.js";
import { type Benchmark, figure, median } from "./types.js";

const PK = "a1B2c3D4e5F";

async function writeWorkbook(path: string, rows: number): Promise<void> {
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({
    filename: path,
    useSharedStrings: false,
    useStyles: false,
  });
  const sheet = workbook.addWorksheet("triads");
  sheet.addRow(["ProductKey", "DeviceName", "DeviceSecret"]).commit();
  const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  for (let i = 1; i <= rows; i++) {
    const secret = Array.from(randomBytes(32), (b) => alnum[b % alnum.length]).join("");
    sheet.addRow([PK, `bench-dev-${String(i).padStart(6, "0")}`, secret]).commit();
  }
  sheet.commit();
  await workbook.commit();
}

async function timed(fn: () => Promise<number>, expected: number): Promise<number> {
  const start = performance.now();
  const rows = await fn();
  if (rows !== expected) throw new Error(`read ${rows} rows, expected ${expected}`);
  return performance.now() - start;
}

async function rawExceljs(path: string): Promise<number> {
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(path, {
    entries: "emit",
    sharedStrings: "cache",
    worksheets: "emit",
    styles: "ignore",
    hyperlinks: "ignore",
  });
  let rows = 0;
  let chars = 0;
  for await (const worksheet of reader) {
    for await (const row of worksheet) {
      const values = row.values as unknown[];
      for (const v of values) if (typeof v === "string") chars += v.length;
      rows++;
    }
  }
  if (chars === 0) throw new Error("no text read");
  return rows - 1; // the header
}

async function ours(path: string): Promise<number> {
  const opened = await openTriadSheet(path);
  let rows = 0;
  for await (const item of opened.items) {
    if (item.kind === "issue") throw new Error(`unexpected issue ${item.value.code}`);
    rows++;
  }
  return rows;
}

async function fullImport(dir: string, path: string, run: number): Promise<number> {
  const station = await openStation({ dbPath: join(dir, `station-${run}.db`), operator: "bench" });
  try {
    const actor = station.actor("bench");
    await station.ledger.addWorkOrder(alibabaOrder("WO-BENCH"), actor);
    const out = await importSheet(station.ledger, station.keyring, path, {
      workOrderId: "WO-BENCH",
      actor,
      random: new CryptoRandom(),
    });
    if (!out.ok) throw new Error("import refused the sheet");
    return out.summary.imported;
  } finally {
    await station.close();
  }
}

export const importBench: Benchmark = {
  name: "import",
  title: "Import of an xlsx triad sheet vs a raw exceljs streaming read of the same file",
  async run(ctx) {
    const rows = ctx.quick ? 10_000 : 100_000;
    const runs = ctx.quick ? 1 : 3;
    return withTempDir("import", async (dir) => {
      const path = join(dir, "triads.xlsx");
      ctx.log(`import: writing a ${rows}-row workbook, then ${runs} interleaved runs`);
      await writeWorkbook(path, rows);
      const raw: number[] = [];
      const reader: number[] = [];
      const full: number[] = [];
      for (let r = 0; r < runs; r++) {
        raw.push(await timed(() => rawExceljs(path), rows));
        reader.push(await timed(() => ours(path), rows));
        full.push(await timed(() => fullImport(dir, path, r), rows));
      }
      const baseline = { label: "raw exceljs WorkbookReader streaming read", value: median(raw) };
      return {
        sizes: { rows, runs },
        figures: [
          figure({
            label: "openTriadSheet: read and validate every row",
            unit: "ms",
            value: median(reader),
            baseline,
            goal: { kind: "max", ratio: 1.3 },
          }),
          figure({
            label: "importSheet: whole import into a station database (sealed, audited)",
            unit: "ms",
            value: median(full),
            baseline,
            goal: { kind: "max", ratio: 1.3 },
          }),
        ],
      };
    });
  },
};
