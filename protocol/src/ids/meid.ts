/**
 * MEID: Mobile Equipment Identifier of CDMA devices (3GPP2 S.R0048 / X.S0008), still met on China Telecom's
 * legacy CDMA modules.
 *
 * - 56 bits = 14 hex digits: manufacturer code (8 hex, the first 2 being the regional code RR) + serial
 *   number (6 hex).
 * - Check digit: Luhn in base 16 over the 14 hex digits; it is printed on labels but is not part of the MEID.
 * - pESN (pseudo-ESN, 32 bits): `0x80` followed by the low 24 bits of SHA-1 over the 7 MEID bytes.
 * - Decimal form, 18 digits: the manufacturer code as 10 decimal digits + the serial number as 8.
 *
 * Vectors (3GPP2 X.S0008 equivalents, also in Perl Data::MEID): `A10000009296F2` → check digit `F`,
 * pESN `8075B7ED`, decimal `270113177609606898`.
 */

import { sha1 } from "@noble/hashes/legacy.js";
import { fail, type Validated } from "../errors.js";
import { describeMismatch, trimInput } from "./describe.js";
import { isDecimalDigits } from "./luhn.js";

/** Number of hex digits in an MEID (without its check digit). */
export const MEID_LENGTH = 14;
/** Number of digits in the decimal form of an MEID. */
export const MEID_DECIMAL_LENGTH = 18;

const HEX_CHAR = /^[0-9A-Fa-f]$/;
const MEID_RE = /^[0-9A-F]{14}$/;

/** The fields of an MEID. */
export interface MeidParts {
  /** Regional code, 2 hex digits (the first 2 of the manufacturer code). */
  readonly rr: string;
  /** Manufacturer code, 8 hex digits, RR included. */
  readonly manufacturerCode: string;
  /** Serial number, 6 hex digits. */
  readonly serialNumber: string;
}

/**
 * Validates an MEID: exactly 14 hex digits, either case, surrounding whitespace trimmed; returned upper-case.
 * Nothing else is accepted: no separators, no appended check digit (a 15-character string could equally be
 * an IMEI), no decimal form (use {@link meidFromDecimal}).
 *
 * @returns the 14 upper-case hex digits (currently never any warnings).
 * @throws TriadkitError `id.bad_meid`.
 */
export function parseMeid(input: string): Validated<string> {
  const raw = trimInput(input);
  const meid = raw.toUpperCase();
  if (!MEID_RE.test(meid)) {
    fail(
      "id.bad_meid",
      `MEID must be exactly ${MEID_LENGTH} hex digits (manufacturer code 8 + serial number 6), ${describeMismatch(raw, HEX_CHAR, MEID_LENGTH, MEID_LENGTH)}`,
      { length: raw.length },
    );
  }
  return { value: meid, warnings: [] };
}

/** Splits an MEID into regional code, manufacturer code and serial number (validated with {@link parseMeid}). */
export function splitMeid(input: string): MeidParts {
  const meid = parseMeid(input).value;
  return { rr: meid.slice(0, 2), manufacturerCode: meid.slice(0, 8), serialNumber: meid.slice(8) };
}

/**
 * The MEID check digit (3GPP2 X.S0008): Luhn in base 16. From the rightmost hex digit, every other digit is
 * doubled and the hex digits of each product are added (a product p ≥ 16 counts as 1 + (p − 16)); the check
 * digit is (16 − sum mod 16) mod 16.
 *
 * @returns one upper-case hex character, e.g. `"F"` for `A10000009296F2`.
 * @throws TriadkitError `id.bad_meid` when the input is not an MEID.
 */
export function meidCheckDigit(input: string): string {
  const meid = parseMeid(input).value;
  let sum = 0;
  for (let i = 0; i < meid.length; i++) {
    // i counts from the right; the rightmost payload digit is doubled (the check digit would sit after it).
    let d = Number.parseInt(meid[meid.length - 1 - i] as string, 16);
    if (i % 2 === 0) {
      d *= 2;
      d = Math.floor(d / 16) + (d % 16);
    }
    sum += d;
  }
  return ((16 - (sum % 16)) % 16).toString(16).toUpperCase();
}

function meidBytes(meid: string): Uint8Array {
  const out = new Uint8Array(MEID_LENGTH / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(meid.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * The pseudo-ESN of an MEID: `0x80` followed by the low 24 bits of SHA-1 over the 7 MEID bytes.
 *
 * @returns 8 upper-case hex digits, e.g. `"8075B7ED"` for `A10000009296F2`.
 * @throws TriadkitError `id.bad_meid` when the input is not an MEID.
 */
export function meidToPesn(input: string): string {
  const digest = sha1(meidBytes(parseMeid(input).value));
  let hex = "80";
  for (const b of digest.subarray(digest.length - 3)) hex += b.toString(16).padStart(2, "0");
  return hex.toUpperCase();
}

/**
 * The 18-digit decimal form of an MEID: the manufacturer code (32 bits) as 10 decimal digits followed by the
 * serial number (24 bits) as 8, both zero-padded.
 *
 * @throws TriadkitError `id.bad_meid` when the input is not an MEID.
 */
export function meidToDecimal(input: string): string {
  const { manufacturerCode, serialNumber } = splitMeid(input);
  return (
    String(Number.parseInt(manufacturerCode, 16)).padStart(10, "0") +
    String(Number.parseInt(serialNumber, 16)).padStart(8, "0")
  );
}

/**
 * The MEID of an 18-digit decimal MEID (inverse of {@link meidToDecimal}).
 *
 * @throws TriadkitError `id.bad_meid` when the input is not 18 decimal digits, or a part is out of range
 *   (first 10 digits > 4294967295, last 8 > 16777215).
 */
export function meidFromDecimal(input: string): string {
  const dec = trimInput(input);
  if (dec.length !== MEID_DECIMAL_LENGTH || !isDecimalDigits(dec)) {
    fail(
      "id.bad_meid",
      `a decimal MEID must be exactly ${MEID_DECIMAL_LENGTH} decimal digits (10 + 8), ${describeMismatch(dec, /^[0-9]$/, MEID_DECIMAL_LENGTH, MEID_DECIMAL_LENGTH)}`,
      { length: dec.length },
    );
  }
  const manufacturer = Number(dec.slice(0, 10));
  const serial = Number(dec.slice(10));
  if (manufacturer > 0xffff_ffff || serial > 0xff_ffff) {
    fail("id.bad_meid", "a decimal MEID's parts must fit 32 bits (first 10 digits) and 24 bits (last 8 digits)", {
      length: dec.length,
    });
  }
  return manufacturer.toString(16).padStart(8, "0").toUpperCase() + serial.toString(16).padStart(6, "0").toUpperCase();
}
