/**
 * The rejection report: one line per issue (row, column, code, message, cause, sheet), as CSV for the operator and
 * as JSON for `--json`. Issues never carry a secret, so neither does the report.
 */
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { stringify } from "csv-stringify";
import type { ImportIssue } from "./types.js";

export const REPORT_COLUMNS = ["row", "column", "code", "message", "cause", "sheet"] as const;

/** A plain JSON object per issue, keys in report order; absent fields are omitted. */
export interface IssueJson {
  readonly row: number;
  readonly column: string;
  readonly code: string;
  readonly message: string;
  readonly cause?: string;
  readonly sheet?: string;
}

export function issuesToJson(issues: Iterable<ImportIssue>): IssueJson[] {
  const out: IssueJson[] = [];
  for (const i of issues) {
    out.push({
      row: i.row,
      column: i.column,
      code: i.code,
      message: i.message,
      ...(i.cause === undefined ? {} : { cause: i.cause }),
      ...(i.sheet === undefined ? {} : { sheet: i.sheet }),
    });
  }
  return out;
}

/**
 * Header texts and sheet names come from the imported file: a leading `= + - @` (or tab/CR) would make a spreadsheet
 * run them as a formula when the report is opened, so such cells get a leading apostrophe.
 */
export function neutraliseFormula(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

function toRecord(i: ImportIssue): string[] {
  return [
    String(i.row),
    neutraliseFormula(i.column),
    i.code,
    neutraliseFormula(i.message),
    i.cause ?? "",
    neutraliseFormula(i.sheet ?? ""),
  ];
}

/**
 * Writes the issues as CSV (UTF-8 with BOM, so spreadsheet programs show Chinese header names; CRLF line ends; RFC
 * 4180 quoting) to `path`, atomically: a temporary file beside it is renamed over `path` when complete.
 */
export async function writeIssueReport(
  issues: Iterable<ImportIssue> | AsyncIterable<ImportIssue>,
  path: string,
): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  async function* records(): AsyncGenerator<string[]> {
    for await (const issue of issues) yield toRecord(issue);
  }
  try {
    await pipeline(
      Readable.from(records()),
      stringify({ header: true, columns: [...REPORT_COLUMNS], bom: true, record_delimiter: "windows" }),
      createWriteStream(temp),
    );
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
