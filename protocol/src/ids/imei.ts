/**
 * IMEI and IMEISV (3GPP TS 23.003 §6.2 and Annex B).
 *
 * - IMEI = 15 digits: TAC (8) + SNR (6) + check digit (1, Luhn).
 * - IMEISV = 16 digits: TAC (8) + SNR (6) + SVN (2), with no check digit.
 */

import { enforceStrict, fail, type Validated, type Warning } from "../errors.js";
import { describeMismatch, trimInput } from "./describe.js";
import { isDecimalDigits, isLuhnValid, luhnCheckDigit } from "./luhn.js";

const DIGIT = /^[0-9]$/;

/** Number of digits in an IMEI. */
export const IMEI_LENGTH = 15;
/** Number of digits in an IMEISV. */
export const IMEISV_LENGTH = 16;

const TAC_DIGITS = 8;
const SNR_DIGITS = 6;

/** Options for {@link parseImei}. */
export interface ParseImeiOptions {
  /** Turn warnings (currently only `id.imei_placeholder`) into a thrown `id.bad_imei`. */
  readonly strict?: boolean;
}

/** The fields of an IMEI. */
export interface ImeiParts {
  /** Type Allocation Code, 8 digits (the first 2 are the Reporting Body Identifier). */
  readonly tac: string;
  /** Serial number, 6 digits. */
  readonly snr: string;
  /** Luhn check digit, 1 digit. */
  readonly cd: string;
}

/** The fields of an IMEISV. */
export interface ImeiSvParts {
  /** Type Allocation Code, 8 digits. */
  readonly tac: string;
  /** Serial number, 6 digits. */
  readonly snr: string;
  /** Software version number, 2 digits. */
  readonly svn: string;
}

/**
 * Validates an IMEI: 15 ASCII digits whose last digit is the Luhn check digit. Surrounding whitespace is
 * trimmed; nothing else is accepted (no separators).
 *
 * Warnings: `id.imei_placeholder` for `000000000000000`, which passes the Luhn check but is what modules
 * report when no IMEI has been written.
 *
 * @returns the 15-digit IMEI.
 * @throws TriadkitError `id.bad_imei` (wrong length or non-digits; or any warning when `strict`),
 *   `id.imei_check_digit` (Luhn check fails).
 */
export function parseImei(input: string, opts: ParseImeiOptions = {}): Validated<string> {
  const imei = trimInput(input);
  if (imei.length !== IMEI_LENGTH || !isDecimalDigits(imei)) {
    fail(
      "id.bad_imei",
      `IMEI must be exactly ${IMEI_LENGTH} decimal digits (TAC 8 + SNR 6 + check digit 1), got ${describeMismatch(imei, DIGIT, IMEI_LENGTH, IMEI_LENGTH)}`,
      {
        length: imei.length,
      },
    );
  }
  if (!isLuhnValid(imei)) {
    const expected = luhnCheckDigit(imei.slice(0, IMEI_LENGTH - 1));
    fail(
      "id.imei_check_digit",
      `IMEI check digit is ${imei.slice(-1)}, expected ${expected} (Luhn, TS 23.003 Annex B)`,
      {
        imei,
      },
    );
  }
  const warnings: Warning[] = [];
  if (/^0+$/.test(imei)) {
    warnings.push({
      code: "id.imei_placeholder",
      message: "IMEI 000000000000000 is a placeholder reported by modules with no IMEI written",
    });
  }
  return enforceStrict({ value: imei, warnings }, opts.strict, "id.bad_imei");
}

/**
 * The IMEI check digit for a 14-digit TAC+SNR, as a single character `"0"`–`"9"`.
 *
 * @throws TriadkitError `id.bad_imei` when `first14` is not exactly 14 decimal digits.
 */
export function imeiCheckDigit(first14: string): string {
  if (first14.length !== IMEI_LENGTH - 1 || !isDecimalDigits(first14)) {
    fail(
      "id.bad_imei",
      `IMEI check digit needs exactly ${IMEI_LENGTH - 1} decimal digits (TAC 8 + SNR 6), got ${describeMismatch(first14, DIGIT, IMEI_LENGTH - 1, IMEI_LENGTH - 1)}`,
      {
        length: first14.length,
      },
    );
  }
  return String(luhnCheckDigit(first14));
}

/**
 * Splits an IMEI into TAC, SNR and check digit. The input is validated with {@link parseImei}
 * (non-strict), so it throws the same errors.
 */
export function splitImei(input: string): ImeiParts {
  const imei = parseImei(input).value;
  return {
    tac: imei.slice(0, TAC_DIGITS),
    snr: imei.slice(TAC_DIGITS, TAC_DIGITS + SNR_DIGITS),
    cd: imei.slice(TAC_DIGITS + SNR_DIGITS),
  };
}

/**
 * Validates an IMEISV: 16 ASCII digits (TAC 8 + SNR 6 + SVN 2). There is no check digit. Surrounding
 * whitespace is trimmed. SVN 99 is reserved by TS 23.003 but is accepted here.
 *
 * @returns the 16-digit IMEISV (never any warnings).
 * @throws TriadkitError `id.bad_imeisv` on wrong length or non-digits.
 */
export function parseImeiSv(input: string): Validated<string> {
  const imeisv = trimInput(input);
  if (imeisv.length !== IMEISV_LENGTH || !isDecimalDigits(imeisv)) {
    fail(
      "id.bad_imeisv",
      `IMEISV must be exactly ${IMEISV_LENGTH} decimal digits (TAC 8 + SNR 6 + SVN 2), got ${describeMismatch(imeisv, DIGIT, IMEISV_LENGTH, IMEISV_LENGTH)}`,
      { length: imeisv.length },
    );
  }
  return { value: imeisv, warnings: [] };
}

/** Splits an IMEISV into TAC, SNR and SVN. Validates with {@link parseImeiSv}. */
export function splitImeiSv(input: string): ImeiSvParts {
  const imeisv = parseImeiSv(input).value;
  return {
    tac: imeisv.slice(0, TAC_DIGITS),
    snr: imeisv.slice(TAC_DIGITS, TAC_DIGITS + SNR_DIGITS),
    svn: imeisv.slice(TAC_DIGITS + SNR_DIGITS),
  };
}

/** The IMEI of the same device as an IMEISV: its TAC+SNR followed by the computed check digit. */
export function imeiFromImeiSv(input: string): string {
  const first14 = parseImeiSv(input).value.slice(0, IMEI_LENGTH - 1);
  return first14 + imeiCheckDigit(first14);
}
