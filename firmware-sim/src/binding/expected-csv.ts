/**
 * The expected-binding sheet: CSV with columns `imei`, `iccid`, `imsi` (the factory station's export). Headers match
 * case-insensitively and without spaces, `_` or `-`; other columns are ignored. Each row is validated with protocol's
 * `parseImei`, `parseIccid` and `parseImsi` (values are stored normalised: ICCID upper-cased, trailing `F` padding
 * stripped). A bad row is reported by its line number (1 = the header) and code. An IMEI, ICCID or IMSI that appears
 * on an earlier line is refused (`binding.duplicate_expected`): a binding is one-to-one.
 */
import {
  checkIccidImsiOperators,
  isTriadkitError,
  parseIccid,
  parseImei,
  parseImsi,
  TriadkitError,
  type Warning,
} from "@triadkit/protocol";
import { mapColumns, parseCsv } from "../emulator/csv-import.js";
import type { BindingStore } from "./store.js";
import type { ExpectedImportReport, ExpectedRowIssue, SimTriple } from "./types.js";

export interface ExpectedSheet {
  readonly rows: readonly { readonly line: number; readonly binding: SimTriple }[];
  readonly errors: readonly ExpectedRowIssue[];
  readonly warnings: readonly ExpectedRowIssue[];
}

const COLUMNS = ["imei", "iccid", "imsi"] as const;

function issue(line: number, err: unknown): ExpectedRowIssue {
  if (isTriadkitError(err)) return { line, code: err.code, message: `line ${line}: ${err.message}` };
  return { line, code: "internal.unexpected", message: `line ${line}: unexpected error` };
}

/** Validates one triple; throws the parser's `id.*` error. Warnings (unusual but legal values) are returned. */
export function parseSimTriple(raw: SimTriple): { value: SimTriple; warnings: Warning[] } {
  const imei = parseImei(raw.imei);
  const iccid = parseIccid(raw.iccid);
  const imsi = parseImsi(raw.imsi);
  const value = { imei: imei.value, iccid: iccid.value.iccid, imsi: imsi.value.imsi };
  const warnings = [
    ...imei.warnings,
    ...iccid.warnings,
    ...imsi.warnings,
    ...checkIccidImsiOperators(value.iccid, value.imsi),
  ];
  return { value, warnings };
}

/**
 * Parses the sheet. Throws `import.missing_column` / `import.ambiguous_column` for the header, `emulator.bad_csv`
 * for broken quoting; row problems are returned, never thrown.
 */
export function parseExpectedCsv(text: string): ExpectedSheet {
  const [header, ...records] = parseCsv(text);
  if (header === undefined) {
    throw new TriadkitError("import.missing_column", "the expected-binding sheet is empty", { missing: [...COLUMNS] });
  }
  const col = mapColumns(header.fields, COLUMNS);
  const rows: { line: number; binding: SimTriple }[] = [];
  const errors: ExpectedRowIssue[] = [];
  const warnings: ExpectedRowIssue[] = [];
  const seen = { imei: new Map<string, number>(), iccid: new Map<string, number>(), imsi: new Map<string, number>() };
  for (const record of records) {
    const cell = (i: number | undefined) => (i === undefined ? "" : (record.fields[i] ?? ""));
    try {
      const { value, warnings: found } = parseSimTriple({
        imei: cell(col.imei),
        iccid: cell(col.iccid),
        imsi: cell(col.imsi),
      });
      for (const key of COLUMNS) {
        const earlier = seen[key].get(value[key]);
        if (earlier !== undefined) {
          throw new TriadkitError(
            "binding.duplicate_expected",
            `the ${key.toUpperCase()} already appears on line ${earlier}`,
            { column: key, earlierLine: earlier },
          );
        }
      }
      for (const key of COLUMNS) seen[key].set(value[key], record.line);
      for (const w of found)
        warnings.push({ line: record.line, code: w.code, message: `line ${record.line}: ${w.message}` });
      rows.push({ line: record.line, binding: value });
    } catch (err) {
      errors.push(issue(record.line, err));
    }
  }
  return { rows, errors, warnings };
}

/**
 * Normalises what a device reported so it compares with the sheet: the parsers' normal form when the value parses,
 * otherwise the value trimmed (and, for an ICCID, upper-cased with trailing `F` padding removed). Never throws: a
 * device may report anything its modem says.
 */
export function normaliseReported(raw: SimTriple): SimTriple {
  const attempt = <T>(fn: () => T, fallback: string, pick: (v: T) => string) => {
    try {
      return pick(fn());
    } catch {
      return fallback;
    }
  };
  const upper = raw.iccid.trim().toUpperCase();
  const iccidFallback = upper.replace(/F+$/, "") || upper;
  return {
    imei: attempt(
      () => parseImei(raw.imei),
      raw.imei.trim(),
      (v) => v.value,
    ),
    iccid: attempt(
      () => parseIccid(raw.iccid),
      iccidFallback,
      (v) => v.value.iccid,
    ),
    imsi: attempt(
      () => parseImsi(raw.imsi),
      raw.imsi.trim(),
      (v) => v.value.imsi,
    ),
  };
}

/**
 * Stores a parsed sheet (call inside a transaction). A row equal to a stored binding is `unchanged`; a row sharing an
 * IMEI, ICCID or IMSI with another stored binding is refused (`binding.duplicate_expected`) unless `replace`, which
 * removes the conflicting bindings first.
 */
export function storeExpected(
  store: BindingStore,
  sheet: ExpectedSheet,
  nowMs: number,
  replace: boolean,
): ExpectedImportReport {
  const errors: ExpectedRowIssue[] = [...sheet.errors];
  let added = 0;
  let unchanged = 0;
  let replaced = 0;
  for (const { line, binding } of sheet.rows) {
    const conflicts = store.conflictingExpected(binding);
    const [first] = conflicts;
    if (conflicts.length === 1 && first !== undefined && sameTriple(first, binding)) {
      unchanged++;
      continue;
    }
    if (first !== undefined && !replace) {
      const column = first.imei === binding.imei ? "IMEI" : first.iccid === binding.iccid ? "ICCID" : "IMSI";
      errors.push({
        line,
        code: "binding.duplicate_expected",
        message: `line ${line}: the ${column} is already bound (to IMEI ${first.imei}); import with replace to rebind (binding.duplicate_expected)`,
      });
      continue;
    }
    for (const c of conflicts) store.removeExpected(c.imei);
    if (first !== undefined) replaced++;
    else added++;
    store.addExpected(binding, nowMs);
  }
  errors.sort((a, b) => a.line - b.line);
  return { added, unchanged, replaced, errors, warnings: sheet.warnings };
}

function sameTriple(a: SimTriple, b: SimTriple): boolean {
  return a.imei === b.imei && a.iccid === b.iccid && a.imsi === b.imsi;
}
