/**
 * The boundary between reading a platform triad sheet (this folder) and storing it (../ledger). The reader never
 * touches the database; the importer (../import-command / importSheet) seals each secret and hands rows to a
 * ledger ImportSession. A secret lives in a ParsedTriadRow only between parsing and sealing; it is never logged,
 * never in an ImportIssue and never in a report.
 */
import type { ErrorCode } from "@triadkit/protocol";
import type { TriadIdentity } from "../ledger/types.js";

export type SheetFormat = "genie" | "alibaba";

/** One problem found in a sheet. `row` is the 1-based row number as the spreadsheet program shows it. */
export interface ImportIssue {
  readonly row: number;
  /** The header text of the column as written in the file (e.g. "Mac Lower", "设备密钥"); "" for whole-row issues. */
  readonly column: string;
  readonly code: ErrorCode;
  /** Human text; never contains the cell's value for a secret column. */
  readonly message: string;
  /** For `import.bad_value`: the underlying validator code (e.g. `triad.bad_device_secret`, `id.bad_mac`). */
  readonly cause?: string;
  /** Sheet name for xlsx; absent for CSV. */
  readonly sheet?: string;
}

/** One valid data row. */
export interface ParsedTriadRow {
  readonly row: number;
  readonly identity: TriadIdentity;
  /** The device secret, exactly as validated by @triadkit/protocol. Seal it, then drop the reference. */
  readonly secret: string;
}

export interface SheetReadOptions {
  /** Force the family; default: detect from the header. */
  readonly format?: SheetFormat | "auto";
  /** xlsx only: read this sheet; default: the first sheet whose header row is a triad header. */
  readonly sheet?: string;
  /** CSV only: force a decoder label ("utf-8", "gb18030", "gbk"); default: BOM, then strict UTF-8, then GB18030. */
  readonly encoding?: string;
  /** Report repeated identities/secrets within the file (default true; the importer leaves it to the ledger). */
  readonly checkDuplicates?: boolean;
  /** Called now and then with bytes consumed so far (for a progress bar); `total` is the file size. */
  readonly onProgress?: (bytesRead: number, total: number) => void;
}

/** What the reader found before the rows: used in the report, the audit entry and `--json` output. */
export interface SheetInfo {
  readonly kind: "xlsx" | "csv";
  readonly format: SheetFormat;
  readonly sheet?: string;
  readonly encoding?: string;
  /** CSV only: the field delimiter found (`,` unless the file is clearly tab- or semicolon-separated). */
  readonly delimiter?: string;
  readonly headerRow: number;
  /** Header text per column index, as written in the file. */
  readonly headers: readonly string[];
}

/** Streamed result: rows and issues interleaved in file order. */
export type SheetItem =
  | { readonly kind: "row"; readonly value: ParsedTriadRow }
  | { readonly kind: "issue"; readonly value: ImportIssue };
