/**
 * Streaming xlsx rows with exceljs's WorkbookReader: rows are parsed as the zip is inflated, so memory holds the
 * shared-string table (the xlsx format needs it for random access) but never the rows.
 *
 * Two exceljs 4.4 details are handled here:
 * - its streaming reader turns every chunk into text on its own, so a UTF-8 character split across two chunks becomes
 *   two U+FFFD (exceljs issues #2063, #2084, #2316, open). This instance's shared-string and worksheet streams are
 *   decoded with a StringDecoder instead (per reader instance, no global patch);
 * - when the zip stores sheets before sharedStrings.xml (LibreOffice and Excel do), exceljs parks each sheet in a
 *   temporary file and parses it once the whole zip is read; the rows still stream, and progress reaches the file
 *   size before the rows come.
 *
 * And one guard of ours: the zip's central directory (read first, from the end of the file) gives every entry's size
 * and CRC-32, and each worksheet and the shared-string table exceljs parses is counted and checked against it when
 * its stream ends. A streamed entry that comes out short or different — a file cut short, a damaged zip, or the
 * streaming pipeline losing bytes — is `import.unreadable_file` (details `integrity: true`), never a sheet that
 * quietly lacks its last rows or its header's strings.
 */
import { createReadStream } from "node:fs";
import { createRequire } from "node:module";
import { Readable, Transform } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { crc32 } from "node:zlib";
import { TriadkitError } from "@triadkit/protocol";
import ExcelJS from "exceljs";
import { type Cell, cellFromExcel } from "./cells.js";
import type { RawRow, RawSheet, RawSource } from "./raw.js";

export interface XlsxSourceOptions {
  readonly onProgress?: (bytesRead: number, total: number) => void;
  readonly size: number;
}

/** The private exceljs 4.4 methods whose input is re-decoded (see the module comment). */
interface ReaderInternals {
  _parseWorksheet(iterator: AsyncIterable<Buffer | string>, sheetNo: string): Generator<unknown>;
  _parseSharedStrings(entry: Readable): AsyncGenerator<unknown>;
}

/** What the central directory says of one entry. */
interface CentralEntry {
  readonly size: number;
  readonly crc32: number;
}

/** The part of unzipper (exceljs's own zip reader, a direct dependency of ours too) used here. */
interface UnzipperOpen {
  Open: {
    file(path: string): PromiseLike<{ files: { path: string; uncompressedSize: number; crc32: number }[] }>;
  };
}

const unzipper = createRequire(import.meta.url)("unzipper") as UnzipperOpen;

/** Every entry's size and CRC-32 from the zip's central directory; `import.unreadable_file` when there is none. */
async function centralDirectory(path: string): Promise<Map<string, CentralEntry>> {
  try {
    const directory = await unzipper.Open.file(path);
    return new Map(directory.files.map((f) => [f.path, { size: f.uncompressedSize, crc32: f.crc32 >>> 0 }]));
  } catch (err) {
    throw new TriadkitError(
      "import.unreadable_file",
      "the file is not a whole xlsx workbook: its zip directory cannot be read (cut short or not an xlsx file)",
      undefined,
      { cause: err },
    );
  }
}

/** The error for an entry whose streamed bytes differ from what the central directory promises. */
function entryMismatch(entry: string, bytes: number, expected: CentralEntry | undefined): TriadkitError {
  const what =
    expected === undefined
      ? "is not in the zip directory"
      : bytes === expected.size
        ? "does not match its CRC-32"
        : `came out ${bytes} bytes long instead of ${expected.size}`;
  return new TriadkitError("import.unreadable_file", `the xlsx file is damaged: ${entry} ${what}`, {
    entry,
    integrity: true,
  });
}

interface StreamedWorksheet {
  readonly name: string;
  [Symbol.asyncIterator](): AsyncGenerator<{ readonly number: number; readonly values: unknown }>;
}

/**
 * Decodes one zip entry's stream in whole characters, counting its bytes and their CRC-32 and checking both against
 * the central directory when the stream ends. `failed` rejects when the zip cannot be read further: exceljs would
 * otherwise wait forever for the rest of a sheet entry whose zip stream failed.
 */
async function* checkedText(
  chunks: AsyncIterable<Buffer | string>,
  entry: string,
  expected: CentralEntry | undefined,
  failed: Promise<never>,
): AsyncGenerator<string> {
  const decoder = new StringDecoder("utf8");
  const iterator = chunks[Symbol.asyncIterator]();
  let bytes = 0;
  let crc = 0;
  for (;;) {
    const next = await Promise.race([iterator.next(), failed]);
    if (next.done) break;
    const chunk = next.value;
    bytes += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
    crc = crc32(chunk, crc);
    const text = typeof chunk === "string" ? chunk : decoder.write(chunk);
    if (text !== "") yield text;
  }
  if (expected === undefined || bytes !== expected.size || crc >>> 0 !== expected.crc32) {
    throw entryMismatch(entry, bytes, expected);
  }
  const tail = decoder.end();
  if (tail !== "") yield tail;
}

function decodeAndCheck(reader: object, central: ReadonlyMap<string, CentralEntry>, failed: Promise<never>): void {
  const internals = reader as Partial<ReaderInternals>;
  const parseWorksheet = internals._parseWorksheet;
  const parseSharedStrings = internals._parseSharedStrings;
  if (typeof parseWorksheet !== "function" || typeof parseSharedStrings !== "function") {
    throw new TriadkitError("internal.unexpected", "this exceljs version has no streaming reader internals to fix");
  }
  const checked = (chunks: AsyncIterable<Buffer | string>, entry: string) =>
    checkedText(chunks, entry, central.get(entry), failed);
  internals._parseWorksheet = (iterator, sheetNo) =>
    parseWorksheet.call(reader, checked(iterator, `xl/worksheets/sheet${sheetNo}.xml`), sheetNo);
  // exceljs reads the shared strings through its own stream iterator (on/pause/resume): hand it a stream.
  internals._parseSharedStrings = (entry) =>
    parseSharedStrings.call(reader, Readable.from(checked(entry, "xl/sharedStrings.xml")));
}

function rowCells(values: unknown): Cell[] {
  if (!Array.isArray(values)) return [];
  const cells: Cell[] = [];
  for (let col = 1; col < values.length; col++) cells.push(cellFromExcel(values[col]));
  return cells;
}

function unreadable(err: unknown, row?: number): TriadkitError {
  if (err instanceof TriadkitError) return err;
  const where = row === undefined ? "" : ` after row ${row}`;
  return new TriadkitError(
    "import.unreadable_file",
    `the xlsx file cannot be read${where}: ${err instanceof Error ? err.message.slice(0, 120) : "unknown error"}`,
    row === undefined ? undefined : { row },
    { cause: err },
  );
}

/** Opens an xlsx file as a {@link RawSource}; sheets and rows are read lazily, in file order. */
export async function openXlsxSource(path: string, options: XlsxSourceOptions): Promise<RawSource> {
  const central = await centralDirectory(path);
  const file = createReadStream(path, { highWaterMark: 256 * 1024 });
  let bytesRead = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytesRead += chunk.length;
      options.onProgress?.(bytesRead, options.size);
      done(null, chunk);
    },
  });
  const input = file.pipe(counted);
  // The zip parser exceljs pipes `input` into is private: catch it at `pipe` (on this instance) to hear its errors.
  let fail: (err: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failed.catch(() => {}); // observed by utf8Text's race
  const pipe = input.pipe.bind(input);
  input.pipe = <T extends NodeJS.WritableStream>(destination: T, opts?: { end?: boolean }): T => {
    destination.on("error", fail);
    return pipe(destination, opts);
  };
  file.on("error", (err) => {
    fail(err);
    counted.destroy(err);
  });
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(input, {
    worksheets: "emit",
    sharedStrings: "cache",
    hyperlinks: "ignore",
    styles: "ignore",
    entries: "ignore",
  });
  decodeAndCheck(reader, central, failed);

  async function* rowsOf(sheet: StreamedWorksheet): AsyncGenerator<RawRow> {
    let last = 0;
    try {
      for await (const row of sheet) {
        last = row.number;
        yield { row: row.number, cells: rowCells(row.values) };
      }
    } catch (err) {
      yield { row: last + 1, cells: [], failure: unreadable(err, last) };
    }
  }

  async function* sheets(): AsyncGenerator<RawSheet> {
    let count = 0;
    try {
      for await (const worksheet of reader as AsyncIterable<unknown>) {
        count++;
        const sheet = worksheet as StreamedWorksheet;
        yield { name: sheet.name, rows: rowsOf(sheet) };
      }
    } catch (err) {
      throw unreadable(err);
    } finally {
      file.destroy();
      input.destroy();
    }
    if (count === 0) {
      throw new TriadkitError("import.unreadable_file", "the file has no worksheets: not an xlsx workbook");
    }
  }

  return {
    kind: "xlsx",
    sheets: sheets(),
    close: async () => {
      file.destroy();
      input.destroy();
    },
  };
}
