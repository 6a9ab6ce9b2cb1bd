/**
 * Every identifier is checked on the way out with protocol's parsers, so an export never carries garbage a platform
 * would take (or refuse) silently: IMEI 15 digits with its Luhn check digit and not the all-zero placeholder
 * (`parseImei` strict), ICCID (`parseIccid`: 89…, China 19–20 characters, the Luhn rule for the operators that follow
 * it), IMSI (`parseImsi`). Values are written in the parsers' normal form. An identifier on an earlier device of the
 * same export is a duplicate: it is written once. What is wrong becomes a problem; the export kind decides whether a
 * problem refuses the row (platform uploads) or is flagged on it (the burn report).
 */
import {
  checkIccidImsiOperators,
  type ErrorCode,
  isTriadkitError,
  parseIccid,
  parseImei,
  parseImsi,
  type Warning,
} from "@triadkit/protocol";
import iconv from "iconv-lite";
import type { DeviceRow, IdentifierField } from "./fields.js";
import type { ExportEncoding } from "./template.js";

export type ProblemCode = Extract<
  ErrorCode,
  "export.bad_identifier" | "export.duplicate_identifier" | "export.unencodable"
>;

export interface ExportProblem {
  readonly chipId: string;
  readonly triadId: string;
  readonly identity: string;
  /** The field (imei, iccid, imsi) or, for `export.unencodable`, the column header. */
  readonly field: string;
  /** The value as the ledger holds it (identifiers are not secret). */
  readonly value: string;
  readonly code: ProblemCode;
  /** The parser's code behind `export.bad_identifier` (e.g. `id.imei_check_digit`). */
  readonly cause?: string;
  readonly message: string;
}

export interface CheckRules {
  /** A device without one of these is left out of the export (counted as skipped, not a problem). */
  readonly required: readonly IdentifierField[];
  /** Checked when present. */
  readonly validate: readonly IdentifierField[];
  /** Written once per export: a later device with the same value is `export.duplicate_identifier`. */
  readonly unique: readonly IdentifierField[];
  /** `refuse`: a row with a problem is not written. `flag`: it is written, the problem named in its `problems`. */
  readonly onProblem: "refuse" | "flag";
  readonly encoding: ExportEncoding;
}

/** At most this many problems are kept in memory (and reported); the rest are counted. */
export const MAX_PROBLEMS = 100_000;

type Parsed = { ok: true; value: string; warnings: readonly Warning[] } | { ok: false; code: string; message: string };

function parse(field: IdentifierField, raw: string): Parsed {
  try {
    if (field === "imei") {
      const r = parseImei(raw, { strict: true });
      return { ok: true, value: r.value, warnings: r.warnings };
    }
    if (field === "iccid") {
      const r = parseIccid(raw);
      return { ok: true, value: r.value.iccid, warnings: r.warnings };
    }
    const r = parseImsi(raw);
    return { ok: true, value: r.value.imsi, warnings: r.warnings };
  } catch (err) {
    if (isTriadkitError(err)) return { ok: false, code: err.code, message: err.message };
    throw err;
  }
}

export class RowChecker {
  /** Rows checked and written (refused rows not counted). */
  rows = 0;
  /** Devices without a required identifier. */
  skipped = 0;
  /** Problems found (all of them; `problems` keeps the first MAX_PROBLEMS). */
  problemCount = 0;
  readonly problems: ExportProblem[] = [];
  /** Warnings of the parsers (unusual but legal values), counted by code. */
  readonly warnings = new Map<string, number>();
  private readonly seen = new Map<IdentifierField, Map<string, string>>();

  constructor(readonly rules: CheckRules) {
    for (const f of rules.unique) this.seen.set(f, new Map());
  }

  /**
   * Checks one device and turns it into the cells of one row (`cellsOf`). Returns undefined when the row is not
   * written (skipped, or refused for a problem).
   */
  check(row: DeviceRow, cellsOf: (row: DeviceRow) => string[], headers: readonly string[]): string[] | undefined {
    const { rules } = this;
    if (rules.required.some((f) => row[f] === "")) {
      this.skipped++;
      return undefined;
    }
    const out: DeviceRow = { ...row };
    const found: ExportProblem[] = [];
    const problem = (p: Omit<ExportProblem, "chipId" | "triadId" | "identity">) =>
      found.push({ chipId: row.chipId, triadId: row.triadId, identity: row.identity, ...p });
    for (const field of rules.validate) {
      const raw = row[field];
      if (raw === "") continue;
      const parsed = parse(field, raw);
      if (!parsed.ok) {
        problem({ field, value: raw, code: "export.bad_identifier", cause: parsed.code, message: parsed.message });
        out[field] = "";
        continue;
      }
      out[field] = parsed.value;
      for (const w of parsed.warnings) this.warn(w.code);
    }
    if (out.iccid !== "" && out.imsi !== "") {
      for (const w of checkIccidImsiOperators(out.iccid, out.imsi)) this.warn(w.code);
    }
    for (const field of rules.unique) {
      const value = out[field];
      if (value === "") continue;
      const first = this.seen.get(field)?.get(value);
      if (first !== undefined) {
        problem({
          field,
          value,
          code: "export.duplicate_identifier",
          message: `${field.toUpperCase()} ${value} is also on device chip ${first}, exported earlier`,
        });
      }
    }
    if (found.length > 0 && rules.onProblem === "refuse") {
      this.record(found);
      return undefined;
    }
    const codes = () => [...new Set(found.map((p) => p.cause ?? p.code))].join(" ");
    out.problems = codes();
    let cells = cellsOf(out);
    const unencodable = this.unencodableCells(cells);
    for (const i of unencodable) {
      problem({
        field: headers[i] ?? String(i),
        value: cells[i] ?? "",
        code: "export.unencodable",
        message: `column ${headers[i] ?? i}: a character ${rules.encoding.toUpperCase()} cannot represent`,
      });
    }
    if (unencodable.length > 0) {
      if (rules.onProblem === "refuse") {
        this.record(found);
        return undefined;
      }
      out.problems = codes();
      cells = cellsOf(out);
    }
    for (const field of rules.unique) {
      const value = out[field];
      if (value !== "" && !this.seen.get(field)?.has(value)) this.seen.get(field)?.set(value, row.chipId);
    }
    this.record(found);
    this.rows++;
    return cells;
  }

  /** Whether a text (e.g. a header) can be written in the template's encoding. */
  encodable(text: string): boolean {
    if (this.rules.encoding !== "gbk") return true; // UTF-8 and GB18030 encode every character
    return iconv.decode(iconv.encode(text, "gbk"), "gbk") === text;
  }

  private unencodableCells(cells: readonly string[]): number[] {
    const out: number[] = [];
    cells.forEach((c, i) => {
      if (!this.encodable(c)) out.push(i);
    });
    return out;
  }

  private warn(code: string): void {
    this.warnings.set(code, (this.warnings.get(code) ?? 0) + 1);
  }

  private record(found: readonly ExportProblem[]): void {
    for (const p of found) {
      this.problemCount++;
      if (this.problems.length < MAX_PROBLEMS) this.problems.push(p);
    }
  }
}
