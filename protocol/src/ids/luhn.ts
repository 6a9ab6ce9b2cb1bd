/**
 * Decimal Luhn (ISO/IEC 7812-1 "mod 10") as used by the IMEI check digit (3GPP TS 23.003 Annex B) and
 * by the ICCID check digit (ITU-T E.118).
 *
 * Starting from the rightmost digit of the full number (the check digit), every second digit is doubled;
 * 9 is subtracted from any product above 9; the number is valid when the total is a multiple of 10.
 */

import { fail } from "../errors.js";

const DECIMAL = /^[0-9]+$/;

/** True when `value` is one or more ASCII decimal digits (no sign, no spaces, no other Unicode digits). */
export function isDecimalDigits(value: string): boolean {
  return DECIMAL.test(value);
}

/**
 * Luhn sum of `digits` (mod 10), doubling the digits at odd offsets from the right when `payloadOnly`
 * is false (the string includes the check digit), or at even offsets when it is true (the check digit
 * is still to be appended). The caller guarantees `digits` is decimal.
 */
function luhnSum(digits: string, payloadOnly: boolean): number {
  let total = 0;
  const parity = payloadOnly ? 0 : 1;
  for (let i = 0; i < digits.length; i++) {
    // i counts from the right.
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === parity) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    total += d;
  }
  return total % 10;
}

/**
 * True when `value` (payload followed by its check digit) passes the Luhn check.
 * Returns false, never throws, for anything that is not at least two ASCII decimal digits.
 */
export function isLuhnValid(value: string): boolean {
  return value.length >= 2 && isDecimalDigits(value) && luhnSum(value, false) === 0;
}

/**
 * The Luhn check digit (0–9) to append to `payload`.
 *
 * @throws TriadkitError `id.bad_luhn_input` when `payload` is not one or more ASCII decimal digits.
 */
export function luhnCheckDigit(payload: string): number {
  if (!isDecimalDigits(payload)) {
    fail("id.bad_luhn_input", "Luhn payload must be one or more decimal digits [0-9]", { length: payload.length });
  }
  return (10 - luhnSum(payload, true)) % 10;
}
