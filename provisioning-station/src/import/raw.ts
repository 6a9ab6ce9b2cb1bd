/**
 * The format-neutral row stream both readers produce and the validator consumes: spreadsheet row numbers, cells in
 * column order, and a terminal failure row when the file cannot be read further.
 */
import type { TriadkitError } from "@triadkit/protocol";
import type { Cell } from "./cells.js";

export interface RawRow {
  /** 1-based row number as a spreadsheet program shows it (CSV: the record number). */
  readonly row: number;
  readonly cells: readonly Cell[];
  /** Set on the last row yielded when reading stopped early (undecodable line, broken quoting, corrupt zip). */
  readonly failure?: TriadkitError;
}

export interface RawSheet {
  /** Sheet name (xlsx); absent for CSV. */
  readonly name?: string;
  readonly rows: AsyncGenerator<RawRow>;
}

export interface RawSource {
  readonly kind: "xlsx" | "csv";
  readonly encoding?: string;
  readonly delimiter?: string;
  /** Sheets in file order; a sheet's rows must be read (or drained) before the next sheet is asked for. */
  readonly sheets: AsyncGenerator<RawSheet>;
  close(): Promise<void>;
}
