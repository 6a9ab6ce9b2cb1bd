/**
 * `+CME ERROR` codes (3GPP TS 27.007 §9.2: §9.2.1 general errors, §9.2.2 GPRS/packet-domain errors).
 * Only the commonly met codes are listed; any other number is reported as "unknown CME error <n>".
 * Enable numeric codes with `AT+CMEE=1` (verbose text with `AT+CMEE=2`; both forms are parsed).
 */
export const CME_ERRORS: Readonly<Record<number, string>> = Object.freeze({
  0: "phone failure",
  1: "no connection to phone",
  2: "phone-adaptor link reserved",
  3: "operation not allowed",
  4: "operation not supported",
  5: "PH-SIM PIN required",
  6: "PH-FSIM PIN required",
  7: "PH-FSIM PUK required",
  10: "SIM not inserted",
  11: "SIM PIN required",
  12: "SIM PUK required",
  13: "SIM failure",
  14: "SIM busy",
  15: "SIM wrong",
  16: "incorrect password",
  17: "SIM PIN2 required",
  18: "SIM PUK2 required",
  20: "memory full",
  21: "invalid index",
  22: "not found",
  23: "memory failure",
  24: "text string too long",
  25: "invalid characters in text string",
  26: "dial string too long",
  27: "invalid characters in dial string",
  30: "no network service",
  31: "network timeout",
  32: "network not allowed - emergency calls only",
  40: "network personalization PIN required",
  41: "network personalization PUK required",
  42: "network subset personalization PIN required",
  43: "network subset personalization PUK required",
  44: "service provider personalization PIN required",
  45: "service provider personalization PUK required",
  46: "corporate personalization PIN required",
  47: "corporate personalization PUK required",
  50: "incorrect parameters",
  100: "unknown",
  103: "illegal MS",
  106: "illegal ME",
  107: "GPRS services not allowed",
  111: "PLMN not allowed",
  112: "location area not allowed",
  113: "roaming not allowed in this location area",
  132: "service option not supported",
  133: "requested service option not subscribed",
  134: "service option temporarily out of order",
  148: "unspecified GPRS error",
  149: "PDP authentication failure",
  150: "invalid mobile class",
});

/** `+CME ERROR: 10`, SIM not inserted. */
export const CME_SIM_NOT_INSERTED = 10;

/** A parsed `+CME ERROR:` line. */
export interface CmeError {
  /** The numeric code: as sent (`AT+CMEE=1`), or looked up from the verbose text (`AT+CMEE=2`). */
  readonly code: number | undefined;
  /** The 27.007 meaning, or the modem's own text when the code is not in {@link CME_ERRORS}. */
  readonly meaning: string;
}

const VERBOSE_TO_CODE: ReadonlyMap<string, number> = new Map(
  Object.entries(CME_ERRORS).map(([code, meaning]) => [meaning.toLowerCase(), Number(code)]),
);

/** Meaning of a numeric CME code. */
export function cmeErrorMeaning(code: number): string {
  return Object.hasOwn(CME_ERRORS, code) ? (CME_ERRORS[code] as string) : `unknown CME error ${code}`;
}

/**
 * Parses the text after `+CME ERROR:` (or the whole line): `10`, ` 10`, `SIM not inserted`.
 * Verbose texts are matched case-insensitively against {@link CME_ERRORS}.
 */
export function parseCmeError(text: string): CmeError {
  const body = text.replace(/^\s*\+CME ERROR:\s*/i, "").trim();
  if (/^\d{1,6}$/.test(body)) {
    const code = Number(body);
    return { code, meaning: cmeErrorMeaning(code) };
  }
  const code = VERBOSE_TO_CODE.get(body.toLowerCase().replace(/\s+/g, " "));
  if (code !== undefined) return { code, meaning: cmeErrorMeaning(code) };
  return { code: undefined, meaning: body.length > 0 ? body : "unspecified" };
}
