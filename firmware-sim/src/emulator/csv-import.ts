/**
 * Triad and product sheets in CSV for the emulator's registry.
 *
 * Headers are matched case-insensitively and without spaces, `_` or `-`: `productKey`, `ProductKey`,
 * `product_key` and `Product Key` are one column. Other columns are ignored. Rows are validated with protocol's
 * `parseAlibabaTriad`; a bad row is reported by its line number (1 = the header) and error code, never with its
 * values (the sheet holds secrets).
 */
import {
  type AlibabaTriad,
  type ErrorCode,
  isTriadkitError,
  parseAlibabaTriad,
  TriadkitError,
} from "@triadkit/protocol";
import type { DeviceRegistry, ProductInput } from "./device-directory.js";

/** One CSV record and the physical line it starts on (1-based). */
export interface CsvRecord {
  readonly line: number;
  readonly fields: readonly string[];
}

/**
 * RFC 4180 CSV: `,` separated, `"` quoted with `""` escapes, quoted fields may span lines, CRLF or LF, an
 * optional UTF-8 BOM. Blank lines are skipped. Throws `emulator.bad_csv` for an unterminated quote or text
 * after a closing quote.
 */
export function parseCsv(text: string): CsvRecord[] {
  const src = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let start = 1;
  let i = 0;
  let quoted = false;
  let afterQuote = false;
  const endRecord = () => {
    fields.push(field);
    if (fields.length > 1 || (fields[0] ?? "").trim() !== "") records.push({ line: start, fields });
    fields = [];
    field = "";
    afterQuote = false;
  };
  while (i < src.length) {
    const c = src[i] as string;
    if (quoted) {
      if (c === '"' && src[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') {
        quoted = false;
        afterQuote = true;
      } else {
        if (c === "\n") line++;
        field += c;
      }
      i++;
      continue;
    }
    if (c === ",") {
      fields.push(field);
      field = "";
      afterQuote = false;
    } else if (c === "\n" || c === "\r") {
      endRecord();
      if (c === "\r" && src[i + 1] === "\n") i++;
      line++;
      start = line;
    } else if (c === '"' && field.trim() === "" && !afterQuote) {
      field = "";
      quoted = true;
    } else if (afterQuote && c.trim() !== "") {
      throw new TriadkitError("emulator.bad_csv", `line ${line}: text after a closing quote`, { line });
    } else if (!afterQuote) {
      field += c;
    }
    i++;
  }
  if (quoted) throw new TriadkitError("emulator.bad_csv", `line ${start}: unterminated quoted field`, { line: start });
  if (field !== "" || fields.length > 0) endRecord();
  return records;
}

function normaliseHeader(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[\s_-]/g, "");
}

/**
 * Maps the header row to column indexes. Throws `import.missing_column` (context `missing`) or
 * `import.ambiguous_column` (context `column`).
 */
export function mapColumns<K extends string>(
  header: readonly string[],
  required: readonly K[],
  optional: readonly K[] = [],
): Record<K, number | undefined> {
  const out: Partial<Record<K, number>> = {};
  for (const key of [...required, ...optional]) {
    const want = normaliseHeader(key);
    const hits = header.flatMap((h, i) => (normaliseHeader(h) === want ? [i] : []));
    if (hits.length > 1) {
      throw new TriadkitError("import.ambiguous_column", `more than one column is "${key}"`, { column: key });
    }
    if (hits[0] !== undefined) out[key] = hits[0];
  }
  const missing = required.filter((k) => out[k] === undefined);
  if (missing.length > 0) {
    throw new TriadkitError("import.missing_column", `the sheet has no ${missing.join(", ")} column`, { missing });
  }
  return out as Record<K, number | undefined>;
}

/** A row that was not imported. `message` names the problem, never a value from the row. */
export interface RowError {
  readonly line: number;
  readonly code: ErrorCode;
  readonly message: string;
}

export interface TriadSheet {
  readonly triads: readonly { readonly line: number; readonly triad: AlibabaTriad }[];
  readonly errors: readonly RowError[];
}

function rowError(line: number, err: unknown): RowError {
  if (isTriadkitError(err)) return { line, code: err.code, message: `line ${line}: ${err.message}` };
  return { line, code: "internal.unexpected", message: `line ${line}: unexpected error` };
}

/** Parses a triad sheet (columns productKey, deviceName, deviceSecret). Duplicated devices are row errors. */
export function parseTriadCsv(text: string): TriadSheet {
  const [header, ...rows] = parseCsv(text);
  if (header === undefined) {
    throw new TriadkitError("import.missing_column", "the sheet is empty", {
      missing: ["productKey", "deviceName", "deviceSecret"],
    });
  }
  const col = mapColumns(header.fields, ["productKey", "deviceName", "deviceSecret"] as const);
  const triads: { line: number; triad: AlibabaTriad }[] = [];
  const errors: RowError[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    const cell = (i: number | undefined) => (i === undefined ? "" : (row.fields[i] ?? ""));
    try {
      const triad = parseAlibabaTriad({
        productKey: cell(col.productKey),
        deviceName: cell(col.deviceName),
        deviceSecret: cell(col.deviceSecret),
      }).value;
      const key = `${triad.productKey}\u0000${triad.deviceName}`;
      if (seen.has(key)) {
        throw new TriadkitError("emulator.duplicate_device", "the device appears on an earlier line", {
          deviceName: triad.deviceName,
        });
      }
      seen.add(key);
      triads.push({ line: row.line, triad });
    } catch (err) {
      errors.push(rowError(row.line, err));
    }
  }
  return { triads, errors };
}

export interface ImportReport {
  readonly added: number;
  readonly errors: readonly RowError[];
}

/** Parses a triad sheet and adds every good row to `registry` (a device already there is a row error). */
export function importTriadCsv(registry: DeviceRegistry, text: string): ImportReport {
  const sheet = parseTriadCsv(text);
  const errors = [...sheet.errors];
  let added = 0;
  for (const { line, triad } of sheet.triads) {
    try {
      registry.add(triad);
      added++;
    } catch (err) {
      errors.push(rowError(line, err));
    }
  }
  errors.sort((a, b) => a.line - b.line);
  return { added, errors };
}

const TRUE = new Set(["1", "true", "yes", "y", "on"]);
const FALSE = new Set(["0", "false", "no", "n", "off", ""]);

function flag(value: string, line: number, column: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (v === "") return undefined;
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new TriadkitError("emulator.bad_csv", `${column} must be true or false`, { line, column });
}

/**
 * Imports a product sheet: productKey, productSecret, and optional dynamicRegister and regnwl (true/false,
 * yes/no, 1/0; defaults true and false). An existing product is replaced.
 */
export function importProductCsv(registry: DeviceRegistry, text: string): ImportReport {
  const [header, ...rows] = parseCsv(text);
  if (header === undefined) {
    throw new TriadkitError("import.missing_column", "the sheet is empty", {
      missing: ["productKey", "productSecret"],
    });
  }
  const col = mapColumns(header.fields, ["productKey", "productSecret"] as const, ["dynamicRegister", "regnwl"]);
  const errors: RowError[] = [];
  let added = 0;
  for (const row of rows) {
    const cell = (i: number | undefined) => (i === undefined ? "" : (row.fields[i] ?? ""));
    try {
      const dynamicRegister = flag(cell(col.dynamicRegister), row.line, "dynamicRegister");
      const regnwl = flag(cell(col.regnwl), row.line, "regnwl");
      const product: ProductInput = {
        productKey: cell(col.productKey),
        productSecret: cell(col.productSecret),
        ...(dynamicRegister === undefined ? {} : { dynamicRegister }),
        ...(regnwl === undefined ? {} : { regnwl }),
      };
      registry.addProduct(product);
      added++;
    } catch (err) {
      errors.push(rowError(row.line, err));
    }
  }
  return { added, errors };
}
