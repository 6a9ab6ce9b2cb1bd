/**
 * Cell values as the two readers deliver them, and spreadsheet-damage detection: getting back the exact text of an
 * identifier a spreadsheet program turned into a number, or refusing the cell when that text cannot be proven.
 *
 * Spreadsheets keep numbers as IEEE doubles shown with at most 15 significant digits, drop leading zeros, and read
 * `1122334455e2` (a legal hex MAC) as 112233445500. A cell is therefore restored only when exactly one text could
 * have produced it; everything else is `import.damaged_cell`.
 */
import { isLuhnValid } from "@triadkit/protocol";

/** One cell, independent of the file format. Text is already trimmed; blank text is `empty`. */
export type Cell =
  | { readonly type: "empty" }
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "number"; readonly value: number }
  /** A date, boolean, error value or a formula without a cached result: never a triad value. */
  | { readonly type: "other"; readonly what: string };

/**
 * How a column's text is read back:
 * - `mac`: 12 hex digits, fixed length, so leading zeros lost by a number cell can be put back;
 * - `integer`: a decimal integer (Genie Product ID), where a number cell is the value itself;
 * - `name`: free identifier text (ProductKey, DeviceName);
 * - `secret`: a secret: a number cell is always damage;
 * - `opaque`: kept as written (Genie Md5): a number cell is damage.
 */
export type CellKind = "mac" | "integer" | "name" | "secret" | "opaque";

export type CellReading =
  | { readonly kind: "empty" }
  | { readonly kind: "text"; readonly text: string; readonly restored: boolean }
  | { readonly kind: "damaged"; readonly reason: string };

const EMPTY: Cell = { type: "empty" };

const EDGE = /[\s\u200b\ufeff]/;

/** Whitespace, NBSP, U+3000 and BOM/ZWNBSP at either end. */
function clean(text: string): string {
  // The usual cell has none: two one-character tests instead of a replace over the whole text.
  if (text === "" || (!EDGE.test(text[0] as string) && !EDGE.test(text[text.length - 1] as string))) return text;
  return text.replace(/^[\s\u200b\ufeff]+|[\s\u200b\ufeff]+$/g, "");
}

export function textCell(text: string): Cell {
  const t = clean(text);
  return t === "" ? EMPTY : { type: "text", text: t };
}

/**
 * Normalises an exceljs cell value (string, number, boolean, Date, rich text, formula with result, shared formula,
 * hyperlink, error, unresolved shared string) into a {@link Cell}.
 */
export function cellFromExcel(value: unknown): Cell {
  if (value === null || value === undefined) return EMPTY;
  if (typeof value === "string") return textCell(value);
  if (typeof value === "number") {
    return Number.isFinite(value) ? { type: "number", value } : { type: "other", what: "an error value" };
  }
  if (typeof value === "boolean") return { type: "other", what: "a TRUE/FALSE value" };
  if (value instanceof Date) return { type: "other", what: "a date" };
  if (typeof value === "object") {
    const v = value as Record<string, unknown>;
    if (Array.isArray(v["richText"])) {
      return textCell((v["richText"] as { text?: unknown }[]).map((run) => String(run.text ?? "")).join(""));
    }
    if ("formula" in v || "sharedFormula" in v) {
      if (v["result"] === undefined) return { type: "other", what: "a formula without a saved result" };
      if (typeof v["result"] === "object" && v["result"] !== null && "error" in v["result"]) {
        return { type: "other", what: "a formula error" };
      }
      return cellFromExcel(v["result"]);
    }
    if ("error" in v) return { type: "other", what: `an error value` };
    if ("sharedString" in v) return { type: "other", what: "an unresolved shared string" };
    if (typeof v["text"] === "string") return textCell(v["text"]); // hyperlink { text, hyperlink }
  }
  return { type: "other", what: "an unsupported value" };
}

/** What spreadsheets write for a number they show rounded: a decimal point, or an exponent with a sign. */
const SPREADSHEET_NUMBER = /^[+-]?(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?$|^[+-]?\d+[eE][+-]\d+$/;
const MAC_TEXT = /^(?:[0-9a-fA-F]{12}|[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(?:\1[0-9a-fA-F]{2}){4})$/;
/** A decimal integer as a number would be written: no sign, no leading zero. */
const CANONICAL_INTEGER = /^(?:0|[1-9]\d*)$/;

/** Spreadsheets keep 15 significant digits; a 16th is silently turned into 0. */
const MAX_EXACT_DIGITS = 15;

function damaged(reason: string): CellReading {
  return { kind: "damaged", reason };
}

/**
 * The text a MAC had before a spreadsheet made it the number whose digits are `digits`, if only one text could have.
 * Besides a 12-digit address, `Xe2` with X ten hex digits reads as X×100 and `Xe0` as X: so a 12-digit number
 * ending in "00", an 11-digit one ending in "0", and any shorter one might come from such an address.
 */
function macFromDigits(digits: string): CellReading {
  if (digits.length > 12) return damaged("is a number with more than 12 digits, not a MAC address");
  const ambiguous =
    digits.length <= 10 ||
    (digits.length === 12 && digits.endsWith("00")) ||
    (digits.length === 11 && digits.endsWith("0"));
  if (ambiguous) {
    return damaged(
      "was turned into a number by a spreadsheet and its MAC cannot be recovered for certain (leading zeros lost, or " +
        "a hex 'e' read as an exponent); store the column as text",
    );
  }
  return { kind: "text", text: digits.padStart(12, "0"), restored: true };
}

function fromNumber(value: number, kind: CellKind): CellReading {
  if (kind === "secret") return damaged("is stored as a number: a spreadsheet changed the secret; store it as text");
  if (kind === "opaque") return damaged("is stored as a number: a spreadsheet changed it; store it as text");
  if (!Number.isInteger(value)) return damaged("is a fractional number: a spreadsheet changed the value");
  if (!Number.isSafeInteger(value)) return damaged("is a number too large to be exact (beyond 2^53)");
  const digits = String(Math.abs(value));
  if (digits.length > MAX_EXACT_DIGITS) {
    return damaged(`is a number of more than ${MAX_EXACT_DIGITS} digits: a spreadsheet may have zeroed the last ones`);
  }
  if (kind === "mac") {
    return value < 0 ? damaged("is a negative number, not a MAC address") : macFromDigits(digits);
  }
  if (kind === "name") return nameFromNumber(value, digits);
  return { kind: "text", text: String(value), restored: true };
}

/**
 * A DeviceName (or ProductKey) a spreadsheet stored as a number. Many texts read as the same number (`0012345`,
 * `12345`, `1.2345E4`, `12345e0`), so only one case is provably exact: a 15-digit IMEI whose Luhn check digit
 * holds (device names are often the IMEI; an IMEI that lost a leading zero has 14 digits and fails). Anything else
 * is refused: store the column as text.
 */
function nameFromNumber(value: number, digits: string): CellReading {
  if (value > 0 && digits.length === 15 && isLuhnValid(digits)) return { kind: "text", text: digits, restored: true };
  return damaged(
    "is stored as a number, and more than one text reads as that number (leading zeros, exponents); " +
      "only a 15-digit IMEI is accepted as a number: store the column as text",
  );
}

/**
 * Reads a cell as the text of a column of `kind`. `fromCsv` tells that text came from a CSV file, where a number a
 * spreadsheet exported is indistinguishable from text: digits-only text in a MAC column is then treated as a number.
 */
export function readCell(cell: Cell, kind: CellKind, fromCsv: boolean): CellReading {
  switch (cell.type) {
    case "empty":
      return { kind: "empty" };
    case "other":
      return damaged(`holds ${cell.what}, not text`);
    case "number":
      return fromNumber(cell.value, kind);
    case "text": {
      const text = cell.text;
      if (kind === "mac" && MAC_TEXT.test(text)) {
        return fromCsv && CANONICAL_INTEGER.test(text) ? macFromDigits(text) : { kind: "text", text, restored: false };
      }
      if (SPREADSHEET_NUMBER.test(text)) {
        return damaged("looks like a number a spreadsheet rounded or wrote in scientific notation (e.g. 1.12233E+11)");
      }
      if (kind === "mac" && fromCsv && CANONICAL_INTEGER.test(text)) return macFromDigits(text);
      return { kind: "text", text, restored: false };
    }
  }
}
