/** Test helpers for the sheet reader: temporary files, workbooks written with exceljs, and collecting a read. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ExcelJS from "exceljs";
import { afterEach, beforeEach, expect } from "vitest";
import { openTriadSheet } from "../open-sheet.js";
import type { ImportIssue, ParsedTriadRow, SheetInfo, SheetReadOptions } from "../types.js";

export const FIXTURES = fileURLToPath(new URL("../__fixtures__/", import.meta.url));

export const PK = "a1B2c3D4e5F";
/** Two Alibaba-style device secrets (random test values). */
export const S1 = "QjQDfDGNfQhzBylLdrZmP7n9oEmldTQx";
export const S2 = "49Z1s0jfwvhKLAPfxDaEHitKziUxp7YQ";

export const GENIE_HEADER = ["Product ID", "Device Secret", "Mac Lower", "Md5", "Mac Upper", "Bluetooth Mac Lower"];
export const ALIBABA_HEADER = ["ProductKey", "DeviceName", "DeviceSecret"];

export interface TempDir {
  readonly dir: string;
  file(name: string): string;
  write(name: string, content: string | Uint8Array): Promise<string>;
  remove(): Promise<void>;
}

export async function tempDir(): Promise<TempDir> {
  const dir = await mkdtemp(join(tmpdir(), "triadkit-import-"));
  return {
    dir,
    file: (name) => join(dir, name),
    write: async (name, content) => {
      const path = join(dir, name);
      await writeFile(path, content);
      return path;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A fresh temporary folder for each test of the calling file (created before, removed after each test). */
export function useTempDir(): TempDir {
  let current: TempDir | undefined;
  beforeEach(async () => {
    current = await tempDir();
  });
  afterEach(async () => {
    await current?.remove();
    current = undefined;
  });
  const now = (): TempDir => {
    if (current === undefined) throw new Error("useTempDir: only inside a test");
    return current;
  };
  return {
    get dir() {
      return now().dir;
    },
    file: (name) => now().file(name),
    write: (name, content) => now().write(name, content),
    remove: () => now().remove(),
  };
}

/** Writes a small workbook (non-streaming exceljs); cell values are written as given (numbers stay numbers). */
export async function writeWorkbook(
  path: string,
  sheets: readonly { readonly name: string; readonly rows: readonly (readonly unknown[])[] }[],
): Promise<string> {
  const workbook = new ExcelJS.Workbook();
  for (const sheet of sheets) {
    const ws = workbook.addWorksheet(sheet.name);
    sheet.rows.forEach((row, i) => {
      row.forEach((value, j) => {
        if (value !== undefined) ws.getCell(i + 1, j + 1).value = value as ExcelJS.CellValue;
      });
    });
  }
  await workbook.xlsx.writeFile(path);
  return path;
}

export interface ReadResult {
  readonly info: SheetInfo;
  readonly rows: ParsedTriadRow[];
  readonly issues: ImportIssue[];
}

export async function readSheet(path: string, options: SheetReadOptions = {}): Promise<ReadResult> {
  const opened = await openTriadSheet(path, options);
  const rows: ParsedTriadRow[] = [];
  const issues: ImportIssue[] = [];
  for await (const item of opened.items) {
    if (item.kind === "row") rows.push(item.value);
    else issues.push(item.value);
  }
  return { info: opened.info, rows, issues };
}

/** `[row, column, code]` of each issue, for compact assertions. */
export function brief(issues: readonly ImportIssue[]): [number, string, string][] {
  return issues.map((i) => [i.row, i.column, i.code]);
}

/** Secrets of the file must not appear in any issue field. */
export function expectNoSecrets(issues: readonly ImportIssue[], secrets: readonly string[]): void {
  const text = JSON.stringify(issues).toLowerCase();
  for (const s of secrets) expect(text).not.toContain(s.toLowerCase());
}

/** 32 lowercase hex digits derived from n (a valid, unique Genie secret). */
export function genieSecret(n: number): string {
  return `5ec7e7${n.toString(16).padStart(26, "0")}`;
}

/** A unicast WiFi MAC (first octet a4) derived from n. */
export function wifiMac(n: number): string {
  return `a4c1${n.toString(16).padStart(8, "0")}`;
}

/** A BLE MAC (first octet b4) derived from n. */
export function bleMac(n: number): string {
  return `b4c1${n.toString(16).padStart(8, "0")}`;
}
