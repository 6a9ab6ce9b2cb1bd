/**
 * IoT MSISDNs of mainland China: the 13-digit numbers of IoT (物联网) data cards.
 *
 * - `14x`: 13-digit numbers in the 14x IoT ranges, per the community-maintained list in
 *   VincentSit/ChinaMobilePhoneNumberRegex (README-CN, 物联网数据卡): China Mobile 1440X / 1441X / 148XX,
 *   China Unicom 146XX, China Telecom 1410X; regex `^(?:\+?86)?14(?:[14]0|41|[68]\d)\d{9}$`.
 * - `1064`: legacy 13-digit numbers starting with `1064`. The operator split (`10648` China Mobile,
 *   `10646` China Unicom) was only observed in a third-party SMS tool, and no China Telecom `1064x` prefix
 *   is known; such numbers always carry the warning `id.msisdn_operator_unverified`.
 *
 * 11-digit personal numbers (including the 11-digit 145/147/149 data-card ranges) are not IoT MSISDNs and
 * are rejected.
 */

import { enforceStrict, fail, type Validated, type Warning } from "../errors.js";
import { trimInput } from "./describe.js";

/** The two families of 13-digit IoT numbers. */
export type IotMsisdnKind = "14x" | "1064";

/** Operators a 13-digit IoT number can be attributed to. */
export type MsisdnOperator = "china_mobile" | "china_unicom" | "china_telecom";

/** A validated IoT MSISDN. */
export interface IotMsisdn {
  /** The 13 national digits, without the `+86` / `86` country code. */
  readonly msisdn: string;
  /** The same number in E.164 form: `+86` followed by the 13 digits. */
  readonly e164: string;
  readonly kind: IotMsisdnKind;
  /** Operator from the number's prefix (a heuristic, see {@link IOT_MSISDN_PREFIXES}); absent when unknown. */
  readonly operator?: MsisdnOperator;
}

/** Options for {@link parseIotMsisdn}. */
export interface ParseIotMsisdnOptions {
  /** Turn the warning `id.msisdn_operator_unverified` into a thrown `id.bad_msisdn`. */
  readonly strict?: boolean;
}

/** Number of national digits of an IoT MSISDN. */
export const IOT_MSISDN_LENGTH = 13;

/** The published 14x IoT regex (national or with `86` / `+86`), as given in the reference list. */
export const IOT_14X_PATTERN = /^(?:\+?86)?14(?:[14]0|41|[68]\d)\d{9}$/;

/**
 * Prefix → operator of 13-digit IoT numbers, longest prefix wins. `14x` prefixes come from the
 * community list cited above; the `1064x` ones were only observed (third-party tool) and are unverified.
 */
export const IOT_MSISDN_PREFIXES: Readonly<Record<string, MsisdnOperator>> = Object.freeze({
  "1410": "china_telecom",
  "1440": "china_mobile",
  "1441": "china_mobile",
  "146": "china_unicom",
  "148": "china_mobile",
  "10648": "china_mobile",
  "10646": "china_unicom",
});

const SEPARATORS = /[ -]/g;

function operatorOf(msisdn: string): MsisdnOperator | undefined {
  for (const len of [5, 4, 3]) {
    const prefix = msisdn.slice(0, len);
    if (Object.hasOwn(IOT_MSISDN_PREFIXES, prefix)) return IOT_MSISDN_PREFIXES[prefix];
  }
  return undefined;
}

/**
 * Validates a 13-digit IoT MSISDN and attributes it to an operator.
 *
 * Accepted: an optional country code `+86` or `86`, then 13 digits that are either a 14x IoT number
 * ({@link IOT_14X_PATTERN}) or start with `1064`. Surrounding whitespace is trimmed, and spaces and hyphens
 * between digits are ignored (`+86 1440 1234 5678 9`).
 *
 * Warnings: `id.msisdn_operator_unverified` for every `1064` number (the `10648`/`10646` split is only
 * observed, other `1064x` have no known operator).
 *
 * @throws TriadkitError `id.bad_msisdn` when the number is not a 13-digit IoT number (the message says why,
 *   e.g. an 11-digit personal number), or on any warning when `strict`.
 */
export function parseIotMsisdn(input: string, opts: ParseIotMsisdnOptions = {}): Validated<IotMsisdn> {
  const raw = trimInput(input);
  const compact = raw.replace(SEPARATORS, "");
  if (!/^\+?[0-9]+$/.test(compact)) {
    fail(
      "id.bad_msisdn",
      compact.length === 0
        ? "IoT MSISDN is empty"
        : "IoT MSISDN must be digits, optionally after +86 (spaces and hyphens between digits are ignored)",
      { length: raw.length },
    );
  }
  let national = compact;
  if (compact.startsWith("+")) {
    if (!compact.startsWith("+86")) {
      fail("id.bad_msisdn", "IoT MSISDN with a country code must start with +86 (mainland China)", {
        length: compact.length,
      });
    }
    national = compact.slice(3);
  } else if (compact.length === IOT_MSISDN_LENGTH + 2 && compact.startsWith("86")) {
    national = compact.slice(2);
  }
  if (national.length === 11 && national.startsWith("1")) {
    fail("id.bad_msisdn", "got an 11-digit mobile number; IoT MSISDNs have 13 digits (14x IoT ranges or 1064...)", {
      length: national.length,
    });
  }
  if (national.length !== IOT_MSISDN_LENGTH) {
    fail(
      "id.bad_msisdn",
      `IoT MSISDN must have ${IOT_MSISDN_LENGTH} digits after the country code, got ${national.length}`,
      {
        length: national.length,
      },
    );
  }
  let kind: IotMsisdnKind;
  if (IOT_14X_PATTERN.test(national)) kind = "14x";
  else if (national.startsWith("1064")) kind = "1064";
  else {
    fail(
      "id.bad_msisdn",
      `IoT MSISDN prefix ${national.slice(0, 4)} is neither a 14x IoT range (1410, 1440, 1441, 146x, 148x) nor 1064`,
      { prefix: national.slice(0, 4) },
    );
  }
  const operator = operatorOf(national);
  const warnings: Warning[] = [];
  if (kind === "1064") {
    warnings.push({
      code: "id.msisdn_operator_unverified",
      message:
        operator === undefined
          ? `1064 number with prefix ${national.slice(0, 5)} has no known operator`
          : `operator ${operator} of a ${national.slice(0, 5)} number is only an observed convention, not verified`,
    });
  }
  const value: IotMsisdn =
    operator === undefined
      ? { msisdn: national, e164: `+86${national}`, kind }
      : { msisdn: national, e164: `+86${national}`, kind, operator };
  return enforceStrict({ value, warnings }, opts.strict, "id.bad_msisdn");
}
