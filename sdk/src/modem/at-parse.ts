/**
 * Pure parsers for the information lines of the AT commands the modem driver uses. They take lines as the
 * {@link AtEngine} returns them (trimmed, echo and URCs removed) and never throw: they return `undefined`
 * when no line has the expected shape. An optional space after `:` is always allowed.
 */

import type { ModemDialect, SimState } from "./modem.js";

/** `+CSQ: <rssi>,<ber>`. */
export interface CsqReading {
  readonly rssi: number;
  readonly ber: number;
}

/** `+QSIMSTAT: <enable>,<inserted>` (Quectel). */
export interface QsimstatReading {
  /** The hot-plug URC is enabled. */
  readonly enabled: boolean;
  /** 0 removed, 1 inserted, 2 unknown (accepted by parsers in the field). */
  readonly inserted: 0 | 1 | 2;
}

/** `+CRSM: <sw1>,<sw2>[,"<hex>"]`. */
export interface CrsmReading {
  readonly sw1: number;
  readonly sw2: number;
  /** The response data, upper-case hex, quotes removed; empty when absent. */
  readonly data: string;
}

/** What `ATI` (or `AT+CGMI`/`AT+CGMM`) says about the module. */
export interface ModuleInfo {
  readonly dialect: ModemDialect;
  /** Vendor as detected: `quectel`, `simcom`, `china_mobile`, `fibocom`, or undefined. */
  readonly vendor: "quectel" | "simcom" | "china_mobile" | "fibocom" | undefined;
  /** Model token when one was recognised, e.g. `EC200U`, `SIM800C`, `ML307R`, `BC95`. */
  readonly model: string | undefined;
}

/** The value after `<prefix>` (case-insensitive, optional space after the colon), or undefined. */
export function valueAfterPrefix(line: string, prefix: string): string | undefined {
  const p = prefix.endsWith(":") ? prefix.slice(0, -1) : prefix;
  if (line.length < p.length || line.slice(0, p.length).toUpperCase() !== p.toUpperCase()) return undefined;
  const rest = line.slice(p.length);
  const m = /^\s*:\s*(.*)$/.exec(rest);
  return m ? (m[1] as string).trim() : undefined;
}

const unquote = (s: string) => s.replace(/^"(.*)"$/, "$1").trim();

/** `+CSQ: 24,99` → `{ rssi: 24, ber: 99 }`. Range checks are the caller's. */
export function parseCsq(lines: readonly string[]): CsqReading | undefined {
  for (const line of lines) {
    const v = valueAfterPrefix(line, "+CSQ:");
    const m = v === undefined ? null : /^(\d{1,3})\s*,\s*(\d{1,3})$/.exec(v);
    if (m) return { rssi: Number(m[1]), ber: Number(m[2]) };
  }
  return undefined;
}

/** dBm of a CSQ rssi (27.007: −113 + 2·rssi for 0–31); undefined for 99 (unknown) or out of range. */
export function csqToDbm(rssi: number): number | undefined {
  return Number.isInteger(rssi) && rssi >= 0 && rssi <= 31 ? -113 + 2 * rssi : undefined;
}

/** SIM state of a `+CPIN:` value (`READY`, `SIM PIN`, `SIM PUK`, `NOT READY`, `NOT INSERTED`, `SIM REMOVED`, …). */
export function cpinValueToSimState(value: string): SimState {
  const v = unquote(value).toUpperCase().replace(/\s+/g, " ");
  if (v === "READY") return "ready";
  if (v === "NOT INSERTED" || v === "SIM REMOVED" || v === "NO SIM") return "not_inserted";
  if (v === "NOT READY") return "not_ready";
  if (v.includes("PUK")) return "puk_required";
  if (v.includes("PIN")) return "pin_required";
  return "unknown";
}

/** `+CPIN: READY` → `ready`; undefined when no `+CPIN:` line. */
export function parseCpin(lines: readonly string[]): SimState | undefined {
  for (const line of lines) {
    const v = valueAfterPrefix(line, "+CPIN:");
    if (v !== undefined) return cpinValueToSimState(v);
  }
  return undefined;
}

/** `+QSIMSTAT: 0,1` → `{ enabled: false, inserted: 1 }`; from a query answer or a URC line. */
export function parseQsimstat(line: string): QsimstatReading | undefined {
  const v = valueAfterPrefix(line, "+QSIMSTAT:");
  const m = v === undefined ? null : /^([01])\s*,\s*([012])$/.exec(v);
  if (!m) return undefined;
  return { enabled: m[1] === "1", inserted: Number(m[2]) as 0 | 1 | 2 };
}

/** `+CRSM: 144,0,"98683081462002318379"` → `{ sw1: 144, sw2: 0, data: "9868…" }`. */
export function parseCrsm(lines: readonly string[]): CrsmReading | undefined {
  for (const line of lines) {
    const v = valueAfterPrefix(line, "+CRSM:");
    const m = v === undefined ? null : /^(\d{1,3})\s*,\s*(\d{1,3})\s*(?:,\s*"?([0-9A-Fa-f]*)"?)?$/.exec(v);
    if (m) return { sw1: Number(m[1]), sw2: Number(m[2]), data: (m[3] ?? "").toUpperCase() };
  }
  return undefined;
}

const ICCID_PREFIX_RE = /^\+?\^?[A-Z]*CCID\s*:\s*"?([0-9A-Za-z]+)"?$/i;
const BARE_ICCID_RE = /^"?(89[0-9A-Fa-f]{16,18})"?$/;

/**
 * The raw ICCID text (not validated, case kept) from an ICCID command's answer: `+QCCID: …`, `+ICCID: …`,
 * `+CCID: …`, `+MCCID: …`, `+NCCID:…` (any `+…CCID:` prefix, optional space, optional quotes), or a bare
 * line of 18–20 hex characters starting with `89` (SIM800 `AT+CCID`).
 */
export function extractIccid(lines: readonly string[]): string | undefined {
  for (const line of lines) {
    const m = ICCID_PREFIX_RE.exec(line) ?? BARE_ICCID_RE.exec(line);
    if (m) return m[1] as string;
  }
  return undefined;
}

/** The IMEI text from `AT+CGSN` / `AT+CGSN=1` / `AT+GSN`: a bare line or `+CGSN: <imei>` (quotes allowed). */
export function extractImei(lines: readonly string[]): string | undefined {
  for (const line of lines) {
    const v = valueAfterPrefix(line, "+CGSN:") ?? valueAfterPrefix(line, "+GSN:") ?? line;
    const u = unquote(v);
    if (/^\d{14,17}$/.test(u)) return u;
  }
  return undefined;
}

/** The IMSI from `AT+CIMI`: a bare line of digits, or `+CIMI: <imsi>` (quotes allowed). */
export function extractImsi(lines: readonly string[]): string | undefined {
  for (const line of lines) {
    const u = unquote(valueAfterPrefix(line, "+CIMI:") ?? line);
    if (/^\d{5,16}$/.test(u)) return u;
  }
  return undefined;
}

/**
 * Dialect from the module's self-description (`ATI`, or `AT+CGMI` + `AT+CGMM` lines):
 * Quectel → `quectel`; SIMCom SIM800/SIM900/SIM808/SIM868 class → `sim800`, other SIMCom → `simcom`;
 * China Mobile / OneMO ML307 → `ml307`; anything else (Fibocom included, unverified) → `generic`.
 */
export function detectDialect(lines: readonly string[]): ModuleInfo {
  const text = lines.join("\n");
  const model = (re: RegExp) => re.exec(text)?.[0]?.toUpperCase();
  const sim800 = model(/SIM(?:800|801|808|868|900)[A-Z0-9]*/i);
  if (sim800) return { dialect: "sim800", vendor: "simcom", model: sim800 };
  if (/quectel/i.test(text)) {
    return {
      dialect: "quectel",
      vendor: "quectel",
      model: model(/\b(?:E[CGM]|B[CG]|RM|RG|EG|UC|M|A)[0-9]{2,3}[A-Z0-9-]*/i),
    };
  }
  const simcomModel = model(/SIM[0-9]{4}[A-Z0-9-]*/i);
  if (/simcom/i.test(text) || simcomModel) return { dialect: "simcom", vendor: "simcom", model: simcomModel };
  const ml307 = model(/ML307[A-Z0-9-]*/i);
  if (ml307 || /onemo|china mobile|\bcmcc\b/i.test(text)) {
    return { dialect: "ml307", vendor: "china_mobile", model: ml307 };
  }
  if (/fibocom/i.test(text))
    return { dialect: "generic", vendor: "fibocom", model: model(/\b[LNF][0-9]{3}[A-Z0-9-]*/i) };
  return { dialect: "generic", vendor: undefined, model: undefined };
}

/** True for Quectel NB-IoT modules of the BC95 family, whose ICCID command is `AT+NCCID` (BC26: unverified). */
export function usesNccid(model: string | undefined): boolean {
  return model !== undefined && /^BC(?:95|35|28|26)/i.test(model);
}
