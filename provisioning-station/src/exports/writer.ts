/**
 * Writing an export file, a row at a time (memory does not grow with the rows): CSV through csv-stringify, encoded
 * with iconv-lite when the template asks for GBK or GB18030 (Node cannot encode them), or xlsx through exceljs's
 * streaming `WorkbookWriter` (string cells, so every identifier stays text: no spreadsheet turns an IMEI into
 * 8.6E+14). The content digest covers the cells as written, the same way for both formats:
 *
 *   contentSha256 = SHA-256 over, for each row written (the header row included), JSON.stringify(cells) + "\n"
 *
 * (cells as an array of strings, UTF-8). For CSV the audit also records the SHA-256 of the file's bytes; an xlsx
 * carries its own checkpoint sheet, so only its content digest can be in the audit entry that the checkpoint covers.
 */
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { open, rm } from "node:fs/promises";
import { stringify } from "csv-stringify/sync";
import ExcelJS from "exceljs";
import iconv from "iconv-lite";
import { CHECKPOINT_SHEET, type ExportFormat, type ExportTemplate } from "./template.js";

export interface WrittenFile {
  /** SHA-256 of the file's bytes, hex. */
  readonly sha256: string;
  readonly bytes: number;
}

export interface ExportFileWriter {
  addRow(cells: readonly string[]): Promise<void>;
  /** Ends the data: the data rows written (header not counted) and the content digest. */
  endData(): Promise<{ readonly rows: number; readonly contentSha256: string }>;
  /** Completes the file (xlsx: with the checkpoint sheet's key/value rows), flushed to disk. */
  finish(checkpointRows?: readonly (readonly [string, string])[]): Promise<WrittenFile>;
  /** Abandons it: the file is removed. */
  abort(): Promise<void>;
}

/**
 * A cell starting with `= + - @` (or tab/CR) would be run as a formula by a spreadsheet program opening the CSV: it
 * gets a leading apostrophe. Identifiers never start so; free text (an operator's name) may.
 */
export function neutraliseCsvCell(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

class ContentDigest {
  private readonly hash = createHash("sha256");
  rows = 0;
  add(cells: readonly string[]): void {
    this.hash.update(`${JSON.stringify(cells)}\n`, "utf8");
    this.rows++;
  }
  hex(): string {
    return this.hash.digest("hex");
  }
}

/** Opens `path` (which must not exist) and writes the header row when the template has one. */
export async function openExportFile(
  path: string,
  format: ExportFormat,
  template: ExportTemplate,
): Promise<ExportFileWriter> {
  const headers = template.columns.map((c) => c.header);
  const writer = format === "csv" ? await csvWriter(path, template) : xlsxWriter(path, template);
  if (template.header) await writer.addRow(headers);
  const base = template.header ? 1 : 0;
  return {
    addRow: (cells) => writer.addRow(cells),
    async endData() {
      const done = await writer.endData();
      return { rows: done.rows - base, contentSha256: done.contentSha256 };
    },
    finish: (rows) => writer.finish(rows),
    abort: () => writer.abort(),
  };
}

async function csvWriter(path: string, template: ExportTemplate): Promise<ExportFileWriter> {
  const stream = createWriteStream(path, { flags: "wx", mode: 0o644 });
  await once(stream, "open"); // an existing file or a bad directory fails here
  const fileHash = createHash("sha256");
  const digest = new ContentDigest();
  let bytes = 0;
  let closed = false;
  const write = async (buf: Buffer) => {
    fileHash.update(buf);
    bytes += buf.length;
    if (!stream.write(buf)) await once(stream, "drain");
  };
  const options = {
    delimiter: template.delimiter,
    record_delimiter: template.lineEnding === "crlf" ? ("windows" as const) : ("unix" as const),
  };
  const encode = (text: string): Buffer =>
    template.encoding === "utf-8" ? Buffer.from(text, "utf8") : iconv.encode(text, template.encoding);
  const close = async () => {
    if (closed) return;
    closed = true;
    stream.end();
    await once(stream, "close");
    await syncFile(path);
  };
  if (template.bom) await write(Buffer.from([0xef, 0xbb, 0xbf]));
  return {
    async addRow(cells) {
      const written = cells.map(neutraliseCsvCell);
      digest.add(written);
      await write(encode(stringify([written], options)));
    },
    async endData() {
      return { rows: digest.rows, contentSha256: digest.hex() };
    },
    async finish() {
      await close();
      return { sha256: fileHash.digest("hex"), bytes };
    },
    async abort() {
      await close().catch(() => {});
      await rm(path, { force: true });
    },
  };
}

function xlsxWriter(path: string, template: ExportTemplate): ExportFileWriter {
  let stream: WriteStream | undefined = createWriteStream(path, { flags: "wx", mode: 0o644 });
  const opened = once(stream, "open");
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream, useSharedStrings: false, useStyles: false });
  workbook.creator = "triadkit-station";
  const sheet = workbook.addWorksheet(template.sheetName);
  sheet.columns = template.columns.map((c) => ({ width: Math.min(60, Math.max(12, c.header.length + 2)) }));
  const digest = new ContentDigest();
  return {
    async addRow(cells) {
      digest.add(cells);
      sheet.addRow([...cells]).commit();
    },
    async endData() {
      sheet.commit();
      return { rows: digest.rows, contentSha256: digest.hex() };
    },
    async finish(rows = []) {
      await opened;
      const cp = workbook.addWorksheet(CHECKPOINT_SHEET);
      cp.columns = [{ width: 16 }, { width: 140 }];
      cp.addRow(["key", "value"]).commit();
      for (const [k, v] of rows) cp.addRow([k, v]).commit();
      cp.commit();
      await workbook.commit();
      stream = undefined;
      await syncFile(path);
      return hashFile(path);
    },
    async abort() {
      // Ending the zip properly (instead of destroying the stream under it) leaves no error event unhandled.
      if (stream !== undefined) {
        stream = undefined;
        await opened.catch(() => {});
        await workbook.commit().catch(() => {});
      }
      await rm(path, { force: true });
    },
  };
}

/** Flushes a written file to the disk. */
async function syncFile(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function hashFile(path: string): Promise<WrittenFile> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), bytes };
}
