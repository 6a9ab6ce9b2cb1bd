/**
 * openTriadSheet: the reader the importer calls. It finds the sheet and its header row (title rows above it are
 * skipped), then streams the data rows as validated rows and issues, in file order.
 *
 * Error contract:
 * - thrown (TriadkitError) before any row, from `openTriadSheet`: `import.unreadable_file` (unknown extension, cannot
 *   open, not a zip), `import.encoding` (no encoding fits the start of a CSV, or `encoding` is unknown),
 *   `import.sheet_not_found`, `import.missing_column`, `import.ambiguous_column`, `import.format_mismatch`;
 * - yielded as issues while streaming: every row problem, `import.empty_file` (header without data rows), and a last
 *   issue `import.encoding` / `import.unreadable_file` with its row when the file cannot be read further (nothing is
 *   yielded after it). `items` does not throw for anything in the file.
 */
import { stat } from "node:fs/promises";
import { basename, extname } from "node:path";
import { TriadkitError } from "@triadkit/protocol";
import type { Cell } from "./cells.js";
import { detectTriadColumns, isTriadHeaderRow } from "./columns.js";
import { openCsvSource } from "./csv-source.js";
import type { RawRow, RawSheet, RawSource } from "./raw.js";
import { TriadRowChecker } from "./row-checker.js";
import type { ImportIssue, SheetFormat, SheetInfo, SheetItem, SheetReadOptions } from "./types.js";
import { openXlsxSource } from "./xlsx-source.js";

/** The header row must be within the first rows of the sheet (room for a title block above it). */
export const HEADER_SCAN_ROWS = 20;

export interface OpenedTriadSheet {
  readonly info: SheetInfo;
  /** Rows and issues in file order. Single use. */
  readonly items: AsyncIterable<SheetItem>;
  /** Stops reading and releases the file; needed only when `items` is not read to the end. Idempotent. */
  close(): Promise<void>;
}

/** A cell as header text (numbers as their decimal text; anything else blank). */
export function headerText(cell: Cell): string {
  if (cell.type === "text") return cell.text;
  if (cell.type === "number") return String(cell.value);
  return "";
}

function checkFormat(format: SheetReadOptions["format"]): SheetFormat | undefined {
  if (format === undefined || format === "auto") return undefined;
  if (format === "genie" || format === "alibaba") return format;
  throw new TriadkitError("config.invalid", `format must be genie, alibaba or auto, not "${String(format)}"`);
}

async function drain(rows: AsyncGenerator<RawRow>): Promise<void> {
  for await (const row of rows) {
    if (row.failure !== undefined) throw row.failure;
  }
}

/** Reads (and discards) the sheets after the one imported; returns the error if the file breaks down. */
async function readRest(source: RawSource): Promise<TriadkitError | undefined> {
  try {
    for (;;) {
      const next = await source.sheets.next();
      if (next.done) return undefined;
      await drain(next.value.rows);
    }
  } catch (err) {
    if (err instanceof TriadkitError) return err;
    throw err;
  }
}

/**
 * Reads up to the first row `detect` accepts (it gets the row's cells as header texts); undefined when the first
 * {@link HEADER_SCAN_ROWS} rows hold none. Shared by every sheet reader (triads, shelf codes, …).
 */
export async function scanForHeader<T>(
  rows: AsyncGenerator<RawRow>,
  detect: (headers: string[]) => T | undefined,
): Promise<{ row: number; headers: string[]; found: T } | undefined> {
  for (;;) {
    const next = await rows.next();
    if (next.done) return undefined;
    const raw = next.value;
    if (raw.failure !== undefined) throw raw.failure;
    if (raw.row > HEADER_SCAN_ROWS) return undefined;
    const headers = raw.cells.map(headerText);
    const found = detect(headers);
    if (found !== undefined) return { row: raw.row, headers, found };
  }
}

/** Reads up to the triad header row; undefined when the first {@link HEADER_SCAN_ROWS} rows hold none. */
function findHeader(rows: AsyncGenerator<RawRow>): Promise<{ row: number; headers: string[] } | undefined> {
  return scanForHeader(rows, (headers) => (isTriadHeaderRow(headers) ? true : undefined));
}

function failureIssue(failure: TriadkitError, row: number, sheet: string | undefined): ImportIssue {
  const suffix = ` (${failure.code})`;
  const message = failure.message.endsWith(suffix) ? failure.message.slice(0, -suffix.length) : failure.message;
  return { row, column: "", code: failure.code, message, ...(sheet === undefined ? {} : { sheet }) };
}

/**
 * Opens an .xlsx or .csv file as a raw row source (`import.unreadable_file` for another extension or a file that
 * cannot be opened). `noun` names the kind of sheet in the message ("triad sheets", "product sheets", …).
 */
export async function openSheetSource(
  path: string,
  options: Pick<SheetReadOptions, "encoding" | "onProgress">,
  noun = "triad sheets",
): Promise<RawSource> {
  const ext = extname(path).toLowerCase();
  const file = basename(path);
  if (ext !== ".xlsx" && ext !== ".csv") {
    throw new TriadkitError("import.unreadable_file", `${file}: only .xlsx and .csv ${noun} can be read`, {
      file,
    });
  }
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new Error("not a file");
    size = s.size;
  } catch (err) {
    throw new TriadkitError("import.unreadable_file", `${file} cannot be opened`, { file }, { cause: err });
  }
  const common = { size, ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }) };
  return ext === ".csv"
    ? openCsvSource(path, { ...common, ...(options.encoding === undefined ? {} : { encoding: options.encoding }) })
    : openXlsxSource(path, common);
}

/**
 * Opens a platform triad sheet (.xlsx or .csv) and finds its header. `options.sheet` applies to xlsx only and
 * `options.encoding` to CSV only (xlsx text is always Unicode); both are ignored for the other kind.
 */
export async function openTriadSheet(path: string, options: SheetReadOptions = {}): Promise<OpenedTriadSheet> {
  try {
    return await openOnce(path, options);
  } catch (err) {
    // A streamed zip entry that did not match the zip directory before any row was handed out: read the file once
    // more from the start (a file still being copied in, a pipeline hiccup). A second mismatch is the answer.
    if (err instanceof TriadkitError && err.context?.integrity === true) return await openOnce(path, options);
    throw err;
  }
}

async function openOnce(path: string, options: SheetReadOptions): Promise<OpenedTriadSheet> {
  const format = checkFormat(options.format);
  const source = await openSheetSource(path, options);
  const names: string[] = [];
  try {
    for (;;) {
      const next = await source.sheets.next();
      if (next.done) break;
      const sheet = next.value;
      if (sheet.name !== undefined) names.push(sheet.name);
      if (options.sheet !== undefined && source.kind === "xlsx" && sheet.name !== options.sheet) {
        await drain(sheet.rows);
        continue;
      }
      const header = await findHeader(sheet.rows);
      if (header !== undefined) return start(source, sheet, header, format, options.checkDuplicates);
      if (options.sheet !== undefined || source.kind === "csv") {
        const where = sheet.name === undefined ? "the file" : `sheet "${sheet.name}"`;
        throw new TriadkitError(
          "import.missing_column",
          `${where} has no triad header row in its first ${HEADER_SCAN_ROWS} rows`,
          sheet.name === undefined ? undefined : { sheet: sheet.name },
        );
      }
      await drain(sheet.rows);
    }
    if (options.sheet !== undefined) {
      throw new TriadkitError("import.sheet_not_found", `the workbook has no sheet named "${options.sheet}"`, {
        sheet: options.sheet,
        sheets: names,
      });
    }
    throw new TriadkitError(
      "import.sheet_not_found",
      `no sheet has a triad header row in its first ${HEADER_SCAN_ROWS} rows`,
      { sheets: names },
    );
  } catch (err) {
    await source.sheets.return(undefined);
    await source.close();
    throw err;
  }
}

function start(
  source: RawSource,
  sheet: RawSheet,
  header: { row: number; headers: string[] },
  format: SheetFormat | undefined,
  checkDuplicates: boolean | undefined,
): OpenedTriadSheet {
  const columns = detectTriadColumns(header.headers, format);
  const info: SheetInfo = {
    kind: source.kind,
    format: columns.family,
    headerRow: header.row,
    headers: header.headers,
    ...(sheet.name === undefined ? {} : { sheet: sheet.name }),
    ...(source.encoding === undefined ? {} : { encoding: source.encoding }),
    ...(source.delimiter === undefined ? {} : { delimiter: source.delimiter }),
  };
  const checker = new TriadRowChecker({
    columns,
    headers: header.headers,
    fromCsv: source.kind === "csv",
    ...(checkDuplicates === undefined ? {} : { checkDuplicates }),
    ...(sheet.name === undefined ? {} : { sheet: sheet.name }),
  });
  let closed = false;
  const release = async () => {
    if (closed) return;
    closed = true;
    await sheet.rows.return(undefined);
    await source.sheets.return(undefined);
    await source.close();
  };
  async function* items(): AsyncGenerator<SheetItem> {
    let last = header.row;
    try {
      for await (const raw of sheet.rows) {
        if (raw.failure !== undefined) {
          yield { kind: "issue", value: failureIssue(raw.failure, raw.row, sheet.name) };
          return;
        }
        last = raw.row;
        yield* checker.check(raw.row, raw.cells);
      }
      // The rest of the file must be readable too: a truncated zip may end after the sheet that was read.
      const trailing = await readRest(source);
      if (trailing !== undefined) {
        yield { kind: "issue", value: failureIssue(trailing, last + 1, sheet.name) };
        return;
      }
      yield* checker.finish(header.row);
    } finally {
      await release();
    }
  }
  const generator = items();
  return {
    info,
    items: generator,
    close: async () => {
      await generator.return(undefined);
      await release();
    },
  };
}
