/**
 * ICCID (SIM card serial, ITU-T E.118; stored in EF_ICCID 0x2FE2) with the mainland-China operator
 * conventions.
 *
 * What real cards do, and therefore what this module accepts:
 * - Characters after the leading `89` may be hex letters `A`–`F` (China Mobile IoT cards such as
 *   `898604071118C0501150`); lowercase input is upper-cased.
 * - A trailing `F` is nibble padding (a 19-digit ICCID stored in 20 nibbles, e.g. `8986000000000000000F`)
 *   and is removed; an `F` anywhere else is data.
 * - The Luhn check digit is only reliable on China Unicom and China Telecom cards. Many China Mobile cards
 *   fail it, and it is undefined when the ICCID contains letters, so those only produce warnings.
 */

import { enforceStrict, fail, type Validated, type Warning } from "../errors.js";
import { toHex } from "../util/bytes.js";
import { describeMismatch, trimInput } from "./describe.js";
import { isDecimalDigits, isLuhnValid, luhnCheckDigit } from "./luhn.js";

/** Operators identified by the 6-character `8986xx` ICCID prefix. */
export type IccidOperator = "china_mobile" | "china_unicom" | "china_telecom";

/**
 * Outcome of the Luhn check on an accepted ICCID:
 * - `valid`: all characters are digits and the last one is the correct Luhn check digit;
 * - `invalid`: all digits, the check fails, and the issuer is one whose cards are known not to follow it
 *   (accepted with the warning `id.iccid_check_digit_unverified`);
 * - `not_applicable`: the ICCID contains hex letters, so the decimal Luhn check is undefined.
 */
export type IccidLuhnStatus = "valid" | "invalid" | "not_applicable";

/** A validated ICCID. */
export interface Iccid {
  /** Normalised ICCID: upper case, trailing `F` padding removed, 18–20 characters (19–20 for `8986`). */
  readonly iccid: string;
  /** Operator from the `8986xx` prefix; absent for non-China ICCIDs and unknown China prefixes. */
  readonly operator?: IccidOperator;
  /** Result of the Luhn check. */
  readonly luhn: IccidLuhnStatus;
}

/** Options for {@link parseIccid} and {@link parseEfIccid}. */
export interface ParseIccidOptions {
  /**
   * Turn every warning into an error: an unverifiable or failing check digit throws `id.iccid_check_digit`,
   * an unknown `8986xx` prefix throws `id.bad_iccid`. This rejects all ICCIDs that contain letters.
   */
  readonly strict?: boolean;
}

/**
 * `8986xx` prefix → operator. A domestic convention from secondary Chinese sources, not an ITU register
 * (the E.118 IIN list has only a pre-split `898600` entry). `898608` and `898615` are not verified and
 * therefore not listed.
 */
export const ICCID_OPERATOR_PREFIXES: Readonly<Record<string, IccidOperator>> = Object.freeze({
  "898600": "china_mobile",
  "898602": "china_mobile",
  "898604": "china_mobile",
  "898607": "china_mobile",
  "898601": "china_unicom",
  "898606": "china_unicom",
  "898609": "china_unicom",
  "898603": "china_telecom",
  "898611": "china_telecom",
});

/** Prefixes whose all-numeric ICCIDs are held to the Luhn check (every observed card passed). */
const LUHN_ENFORCED_PREFIXES: ReadonlySet<string> = new Set(["898601", "898603", "898606", "898609", "898611"]);

const GENERIC_ICCID = /^89[0-9A-F]{16,18}$/;
const CHINA_ICCID = /^8986[0-9A-F]{15,16}$/;
const HEX_CHAR = /^[0-9A-F]$/;

/** Longest ICCID as written, padding included: EF_ICCID holds 20 nibbles. */
const MAX_RAW_LENGTH = 20;

/**
 * Operator of an ICCID from its `8986xx` prefix, or `undefined` when the ICCID is not Chinese or the
 * prefix is unknown. Case-insensitive; does not validate the rest of the ICCID.
 */
export function iccidOperator(iccid: string): IccidOperator | undefined {
  const prefix = trimInput(iccid).toUpperCase().slice(0, 6);
  return Object.hasOwn(ICCID_OPERATOR_PREFIXES, prefix) ? ICCID_OPERATOR_PREFIXES[prefix] : undefined;
}

/**
 * The Luhn check digit for an all-numeric ICCID payload (the ICCID without its last character,
 * 17–19 digits starting with `89`), as a single character.
 *
 * @throws TriadkitError `id.bad_iccid` when the payload is not 17–19 decimal digits starting with `89`.
 */
export function iccidCheckDigit(payload: string): string {
  if (!/^89[0-9]{15,17}$/.test(payload)) {
    fail(
      "id.bad_iccid",
      `ICCID check digit needs a payload of 17–19 decimal digits starting with 89, ${describeMismatch(payload, /^[0-9]$/, 17, 19)}`,
      { length: payload.length },
    );
  }
  return String(luhnCheckDigit(payload));
}

/**
 * Validates and normalises an ICCID as printed by `AT+ICCID`, `AT+QCCID`, `AT+CCID` and similar
 * (pass the value only, without the `+XXX:` prefix).
 *
 * Rules, in order:
 * 1. trim, upper-case, require at most 20 characters, remove trailing `F` padding;
 * 2. format: `^89[0-9A-F]{16,18}$` (18–20 characters), and for China `^8986[0-9A-F]{15,16}$` (19–20);
 * 3. operator from the `8986xx` prefix ({@link ICCID_OPERATOR_PREFIXES}); an unknown `8986xx` prefix gives
 *    the warning `id.iccid_unknown_operator`;
 * 4. Luhn over all characters (the last is the check digit):
 *    - all-numeric `898601/03/06/09/11` ICCIDs must pass (error `id.iccid_check_digit`);
 *    - other all-numeric ICCIDs (China Mobile, unknown or non-China issuers) that fail get the warning
 *      `id.iccid_check_digit_unverified`;
 *    - ICCIDs with hex letters are not checked and always get `id.iccid_check_digit_unverified`.
 *
 * @throws TriadkitError `id.bad_iccid`, `id.iccid_check_digit`; with `strict`, see {@link ParseIccidOptions}.
 */
export function parseIccid(input: string, opts: ParseIccidOptions = {}): Validated<Iccid> {
  const raw = trimInput(input).toUpperCase();
  if (raw.length > MAX_RAW_LENGTH) {
    fail("id.bad_iccid", `ICCID must be at most ${MAX_RAW_LENGTH} characters including F padding, got ${raw.length}`, {
      length: raw.length,
    });
  }
  const iccid = raw.replace(/F+$/, "");
  if (!GENERIC_ICCID.test(iccid)) {
    const why = iccid.startsWith("89")
      ? describeMismatch(iccid, HEX_CHAR, 18, 20)
      : iccid.length === 0
        ? "got an empty string"
        : `got ${JSON.stringify(iccid.slice(0, 2))} at the start`;
    fail(
      "id.bad_iccid",
      `ICCID must be 18–20 characters: "89" then hex digits 0-9/A-F (trailing F padding is removed), ${why}`,
      { length: iccid.length },
    );
  }
  if (iccid.startsWith("8986") && !CHINA_ICCID.test(iccid)) {
    fail(
      "id.bad_iccid",
      `a China ICCID (8986...) must be 19–20 characters after removing trailing F padding, got ${iccid.length}`,
      { length: iccid.length },
    );
  }

  const prefix = iccid.slice(0, 6);
  const operator = iccidOperator(iccid);
  const warnings: Warning[] = [];
  let luhn: IccidLuhnStatus;
  if (!isDecimalDigits(iccid)) {
    luhn = "not_applicable";
    warnings.push({
      code: "id.iccid_check_digit_unverified",
      message: "ICCID contains hex letters, so its Luhn check digit was not checked",
    });
  } else if (isLuhnValid(iccid)) {
    luhn = "valid";
  } else if (LUHN_ENFORCED_PREFIXES.has(prefix)) {
    const expected = luhnCheckDigit(iccid.slice(0, -1));
    fail(
      "id.iccid_check_digit",
      `ICCID check digit is ${iccid.slice(-1)}, expected ${expected} (Luhn over the first ${iccid.length - 1} digits; enforced for ${prefix} cards)`,
      { iccid },
    );
  } else {
    luhn = "invalid";
    warnings.push({
      code: "id.iccid_check_digit_unverified",
      message: `ICCID check digit does not pass Luhn; accepted because ${prefix} cards are not known to follow it`,
    });
  }
  if (iccid.startsWith("8986") && operator === undefined) {
    warnings.push({
      code: "id.iccid_unknown_operator",
      message: `ICCID prefix ${prefix} is not a known China Mobile/Unicom/Telecom prefix`,
    });
  }

  const value: Iccid = operator === undefined ? { iccid, luhn } : { iccid, operator, luhn };
  const result: Validated<Iccid> = { value, warnings };
  const strictCode = warnings.some((w) => w.code === "id.iccid_check_digit_unverified")
    ? "id.iccid_check_digit"
    : "id.bad_iccid";
  return enforceStrict(result, opts.strict, strictCode);
}

/** Size of EF_ICCID in bytes (20 BCD nibbles). */
export const EF_ICCID_BYTES = 10;

/**
 * Decodes the raw contents of EF_ICCID (file 0x2FE2 = 12258): BCD with the two nibbles of each byte
 * swapped. Accepts the 10 bytes, or the 20 hex characters of an `AT+CRSM=176,12258,0,0,10` response
 * (`+CRSM: 144,0,"98683081462002318379"` → pass `98683081462002318379`, optionally still quoted).
 *
 * Returns the 20 swapped nibbles upper-cased, padding `F` included, without validating them;
 * use {@link parseEfIccid} to decode and validate in one step.
 *
 * @throws TriadkitError `id.bad_iccid` when the input is not exactly 10 bytes / 20 hex characters.
 */
export function decodeEfIccid(data: string | Uint8Array): string {
  let hex: string;
  if (data instanceof Uint8Array) {
    if (data.length !== EF_ICCID_BYTES) {
      fail("id.bad_iccid", `EF_ICCID must be exactly ${EF_ICCID_BYTES} bytes, got ${data.length}`, {
        length: data.length,
      });
    }
    hex = toHex(data, true);
  } else {
    const text = trimInput(data).replace(/^"(.*)"$/, "$1");
    if (!/^[0-9A-Fa-f]{20}$/.test(text)) {
      fail(
        "id.bad_iccid",
        `EF_ICCID must be exactly ${EF_ICCID_BYTES * 2} hex characters (nibble-swapped BCD), ${describeMismatch(text, /^[0-9A-Fa-f]$/, 20, 20)}`,
        { length: text.length },
      );
    }
    hex = text.toUpperCase();
  }
  let out = "";
  for (let i = 0; i < hex.length; i += 2) out += (hex[i + 1] as string) + (hex[i] as string);
  return out;
}

/** {@link decodeEfIccid} followed by {@link parseIccid}. */
export function parseEfIccid(data: string | Uint8Array, opts: ParseIccidOptions = {}): Validated<Iccid> {
  return parseIccid(decodeEfIccid(data), opts);
}
