/**
 * IMSI (3GPP TS 23.003 §2.2): MCC (3 digits) + MNC (2 or 3 digits) + MSIN, at most 15 digits in total.
 * MCC 460 is mainland China, where every MNC has 2 digits.
 */

import { enforceStrict, fail, type Validated, type Warning } from "../errors.js";
import { describeMismatch, trimInput } from "./describe.js";
import { parseIccid } from "./iccid.js";
import { isDecimalDigits } from "./luhn.js";

/** Operators identified by a China (MCC 460) MNC. */
export type ImsiOperator = "china_mobile" | "china_unicom" | "china_telecom" | "china_broadnet" | "china_tietong";

/** MCC of mainland China. */
export const CHINA_MCC = "460";

/** Shortest IMSI accepted: MCC 3 + MNC 2 + at least 1 MSIN digit. */
export const IMSI_MIN_LENGTH = 6;
/** Longest IMSI (TS 23.003 §2.2). */
export const IMSI_MAX_LENGTH = 15;

/**
 * MNC → operator for MCC 460 (from the Wikipedia-derived `mcc-mnc-list` data). Some entries are marked
 * "not operational" for their radio network, which says nothing about SIMs, so none is rejected.
 * MNC 04 is listed as "Global Star Satellite" with brand China Mobile; it is used on China Mobile IoT SIMs
 * and is mapped to `china_mobile`. MNC 20 (China Tietong, GSM-R) is a China Mobile subsidiary but is kept
 * separate.
 */
export const CHINA_MNC_OPERATORS: Readonly<Record<string, ImsiOperator>> = Object.freeze({
  "00": "china_mobile",
  "01": "china_unicom",
  "02": "china_mobile",
  "03": "china_telecom",
  "04": "china_mobile",
  "05": "china_telecom",
  "06": "china_unicom",
  "07": "china_mobile",
  "08": "china_mobile",
  "09": "china_unicom",
  "11": "china_telecom",
  "15": "china_broadnet",
  "20": "china_tietong",
});

/** A validated IMSI. */
export interface Imsi {
  /** The IMSI digits. */
  readonly imsi: string;
  /** Mobile Country Code, the first 3 digits. */
  readonly mcc: string;
  /**
   * Mobile Network Code. Only set for MCC 460 (2 digits). For other countries the MNC has 2 or 3 digits
   * depending on the MCC, which cannot be told from the IMSI alone, so it is left undefined rather than
   * guessed.
   */
  readonly mnc?: string;
  /** Subscriber number after the MNC; set whenever `mnc` is. */
  readonly msin?: string;
  /** Operator from {@link CHINA_MNC_OPERATORS}; only for MCC 460 with a known MNC. */
  readonly operator?: ImsiOperator;
}

/** Options for {@link parseImsi}. */
export interface ParseImsiOptions {
  /** Turn warnings (`id.imsi_not_china`, `id.imsi_unknown_operator`) into a thrown `id.bad_imsi`. */
  readonly strict?: boolean;
}

/**
 * Validates an IMSI as printed by `AT+CIMI`: 6–15 ASCII digits, surrounding whitespace trimmed.
 *
 * Warnings: `id.imsi_not_china` when the MCC is not 460; `id.imsi_unknown_operator` for an MCC 460 MNC
 * not in {@link CHINA_MNC_OPERATORS}.
 *
 * @throws TriadkitError `id.bad_imsi` on a malformed IMSI, or on any warning when `strict`.
 */
export function parseImsi(input: string, opts: ParseImsiOptions = {}): Validated<Imsi> {
  const imsi = trimInput(input);
  if (imsi.length < IMSI_MIN_LENGTH || imsi.length > IMSI_MAX_LENGTH || !isDecimalDigits(imsi)) {
    fail(
      "id.bad_imsi",
      `IMSI must be ${IMSI_MIN_LENGTH}–${IMSI_MAX_LENGTH} decimal digits (MCC 3 + MNC 2-3 + MSIN), ${describeMismatch(imsi, /^[0-9]$/, IMSI_MIN_LENGTH, IMSI_MAX_LENGTH)}`,
      { length: imsi.length },
    );
  }
  const mcc = imsi.slice(0, 3);
  const warnings: Warning[] = [];
  if (mcc !== CHINA_MCC) {
    warnings.push({
      code: "id.imsi_not_china",
      message: `IMSI MCC is ${mcc}, not ${CHINA_MCC} (China); MNC and operator are not derived`,
    });
    return enforceStrict({ value: { imsi, mcc }, warnings }, opts.strict, "id.bad_imsi");
  }
  const mnc = imsi.slice(3, 5);
  const msin = imsi.slice(5);
  const operator = Object.hasOwn(CHINA_MNC_OPERATORS, mnc) ? CHINA_MNC_OPERATORS[mnc] : undefined;
  if (operator === undefined) {
    warnings.push({ code: "id.imsi_unknown_operator", message: `IMSI MNC ${mnc} of MCC 460 has no known operator` });
  }
  const value: Imsi = operator === undefined ? { imsi, mcc, mnc, msin } : { imsi, mcc, mnc, msin, operator };
  return enforceStrict({ value, warnings }, opts.strict, "id.bad_imsi");
}

/**
 * Cross-checks the operator implied by an ICCID prefix against the one implied by an IMSI MNC, as a
 * sanity check when importing SIM data (a heuristic: both tables are conventions, not registers).
 *
 * Both values are validated non-strictly with {@link parseIccid} and {@link parseImsi} (their errors
 * propagate; their own warnings are not repeated here). Returns one `id.iccid_imsi_operator_mismatch`
 * warning when both operators are known and differ, otherwise an empty array.
 */
export function checkIccidImsiOperators(iccid: string, imsi: string): readonly Warning[] {
  const card = parseIccid(iccid).value;
  const sub = parseImsi(imsi).value;
  if (card.operator === undefined || sub.operator === undefined || card.operator === sub.operator) return [];
  return [
    {
      code: "id.iccid_imsi_operator_mismatch",
      message: `ICCID prefix ${card.iccid.slice(0, 6)} means ${card.operator} but IMSI MNC ${sub.mnc} means ${sub.operator}`,
    },
  ];
}
