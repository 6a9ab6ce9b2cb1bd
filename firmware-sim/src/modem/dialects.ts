/**
 * What each dialect answers: its default identification strings, its SIM hot-plug URCs, and its behaviour table
 * (dialect-specific commands first, then the 3GPP TS 27.007 commands every dialect shares).
 *
 * Sources: /work/shared/reference/identifiers.md §5 for the ICCID commands, `AT+CGSN[=1]`, `AT+CIMI`, `AT+CPIN?`,
 * `AT+CSQ`, `AT+CRSM`, `+QSIMSTAT`, `+CPIN: NOT READY` and `+CPIN: SIM REMOVED`. Strings marked "invented" are
 * plausible stand-ins, not copied from a device.
 */

import type { ModemDialect } from "@triadkit/sdk";
import { CME } from "./cme.js";
import { encodeEfIccid } from "./ef-iccid.js";
import type { BehaviourContext, BehaviourResult, ModemBehaviour, VirtualModemState } from "./types.js";

/** `OK` after these information lines. */
export function atOk(...lines: string[]): BehaviourResult {
  return { reply: lines };
}

/** A CME error (formatted by the modem according to `AT+CMEE`). */
export function cmeError(code: number): BehaviourResult {
  return { error: code };
}

/**
 * `result` after `delayMs` on the modem's clock: `{ delayMs, then: result }`. (`then` holds an object, never a
 * function, so awaiting such a value does not treat it as a promise.)
 */
export function delayed(delayMs: number, result: BehaviourResult): BehaviourResult {
  // biome-ignore lint/suspicious/noThenProperty: the documented result shape; `then` is never callable
  return { delayMs, then: result };
}

/** A plain `ERROR` whatever `AT+CMEE` says (unknown command, bad syntax). */
export const AT_ERROR: BehaviourResult = Object.freeze({ reply: [], final: "ERROR" });

/** A behaviour from a command pattern and an answer. */
export function modemBehaviour(
  command: string | RegExp,
  respond: ModemBehaviour["respond"],
  options: { times?: number } = {},
): ModemBehaviour {
  return options.times === undefined ? { command, respond } : { command, respond, times: options.times };
}

export interface DialectProfile {
  readonly manufacturer: string;
  readonly model: string;
  readonly revision: string;
  /** `ATI` information lines. */
  ati(state: VirtualModemState): string[];
  /** `AT+CGMR` information line. */
  cgmr(state: VirtualModemState): string;
  /** URCs when the card is pulled out. */
  simRemovedUrcs(state: VirtualModemState): string[];
  /** URCs when a card is pushed in (after `state.sim` holds it). */
  simInsertedUrcs(state: VirtualModemState): string[];
}

/** `+CPIN: <code>` for the card in the slot (27.007 codes). */
function cpinCode(state: VirtualModemState): string {
  if (!state.sim.present) return "NOT READY";
  return state.sim.lock === "pin" ? "SIM PIN" : state.sim.lock === "puk" ? "SIM PUK" : "READY";
}

const cpinRemovedUrcs = (): string[] => ["+CPIN: SIM REMOVED"];
const cpinInsertedUrcs = (state: VirtualModemState): string[] => [`+CPIN: ${cpinCode(state)}`];

export const DIALECT_PROFILES: Readonly<Record<ModemDialect, DialectProfile>> = {
  // Invented: a virtual 27.007 modem with names that cannot be mistaken for a real product.
  generic: {
    manufacturer: "triadkit",
    model: "VIRTUAL-27007",
    revision: "TKVM01R01",
    ati: (s) => [s.manufacturer, s.model, `Revision: ${s.revision}`],
    cgmr: (s) => s.revision,
    simRemovedUrcs: cpinRemovedUrcs,
    simInsertedUrcs: cpinInsertedUrcs,
  },
  // ATI shape and revision as in the reference brief (EC200U); `AT+CGMR` as a bare line is invented-but-plausible.
  quectel: {
    manufacturer: "Quectel",
    model: "EC200U",
    revision: "EC200UCNAAR02A01M08",
    ati: (s) => [s.manufacturer, s.model, `Revision: ${s.revision}`],
    cgmr: (s) => s.revision,
    simRemovedUrcs: (s) => [...(s.qsimstatUrc ? ["+QSIMSTAT: 1,0"] : []), "+CPIN: NOT READY"],
    simInsertedUrcs: (s) => [...(s.qsimstatUrc ? ["+QSIMSTAT: 1,1"] : []), `+CPIN: ${cpinCode(s)}`],
  },
  // ATI's first two lines as in the reference brief (SIM7600CE); the revision string, the `IMEI:`/`+GCAP:` lines
  // and `+CGMR: <rev>` are invented-but-plausible (the shape SIM7600 logs commonly show).
  simcom: {
    manufacturer: "SIMCOM INCORPORATED",
    model: "SIMCOM_SIM7600CE",
    revision: "SIM7600M22_V2.0",
    ati: (s) => [
      `Manufacturer: ${s.manufacturer}`,
      `Model: ${s.model}`,
      `Revision: ${s.revision}`,
      `IMEI: ${s.imei}`,
      "+GCAP: +CGSM",
    ],
    cgmr: (s) => `+CGMR: ${s.revision}`,
    simRemovedUrcs: cpinRemovedUrcs,
    simInsertedUrcs: cpinInsertedUrcs,
  },
  // ATI `SIM800 R14.18` as in the reference brief (derived from model + revision); `SIMCOM_Ltd` and
  // `Revision:1418B04SIM800M32` are invented-but-plausible.
  sim800: {
    manufacturer: "SIMCOM_Ltd",
    model: "SIM800",
    revision: "1418B04SIM800M32",
    ati: (s) => [
      /^\d{4}/.test(s.revision) ? `${s.model} R${s.revision.slice(0, 2)}.${s.revision.slice(2, 4)}` : s.model,
    ],
    cgmr: (s) => `Revision:${s.revision}`,
    simRemovedUrcs: cpinRemovedUrcs,
    simInsertedUrcs: cpinInsertedUrcs,
  },
  // Invented-but-plausible: "China Mobile" / "ML307R" as the reference brief suggests; the revision is made up.
  ml307: {
    manufacturer: "China Mobile",
    model: "ML307R",
    revision: "ML307R-DC_V1.0.2",
    ati: (s) => [s.manufacturer, s.model, `Revision: ${s.revision}`],
    cgmr: (s) => s.revision,
    simRemovedUrcs: cpinRemovedUrcs,
    simInsertedUrcs: cpinInsertedUrcs,
  },
};

/** No card → CME 10; with `needsPin`, a locked card → CME 11/12. `undefined` when the command may go on. */
export function simGate(state: VirtualModemState, needsPin: boolean): BehaviourResult | undefined {
  if (!state.sim.present) return cmeError(CME.SIM_NOT_INSERTED);
  if (needsPin && state.sim.lock === "pin") return cmeError(CME.SIM_PIN_REQUIRED);
  if (needsPin && state.sim.lock === "puk") return cmeError(CME.SIM_PUK_REQUIRED);
  return undefined;
}

/** The card's ICCID as an ICCID command prints it (Quectel pads to 20 nibbles with `F`, as observed). */
function iccidOf(state: VirtualModemState, pad: boolean): string {
  const iccid = state.sim.card.iccid;
  return pad && iccid.length < 20 ? iccid.padEnd(20, "F") : iccid;
}

/** An ICCID command: `<prefix><iccid>` or CME 10 without a card (the ICCID needs no PIN). */
function iccidCommand(command: string, prefix: string, pad = false): ModemBehaviour {
  return modemBehaviour(command, ({ state }) => simGate(state, false) ?? atOk(`${prefix}${iccidOf(state, pad)}`));
}

const PIN_ATTEMPTS = 3;

function cpinSet(ctx: BehaviourContext): BehaviourResult {
  const { state, params } = ctx;
  const gate = simGate(state, false);
  if (gate !== undefined) return gate;
  const sim = state.sim;
  if (sim.lock === "ready") return cmeError(CME.OPERATION_NOT_ALLOWED);
  if (sim.lock === "pin") {
    if (params.length !== 1) return AT_ERROR;
    if (params[0] === sim.card.pin) {
      sim.lock = "ready";
      sim.pinAttemptsLeft = PIN_ATTEMPTS;
      return atOk();
    }
    sim.pinAttemptsLeft--;
    if (sim.pinAttemptsLeft <= 0) sim.lock = "puk";
    return cmeError(CME.INCORRECT_PASSWORD);
  }
  if (params.length !== 2 || !/^\d{4,8}$/.test(params[1] ?? "")) return AT_ERROR;
  if (params[0] !== sim.card.puk) return cmeError(CME.INCORRECT_PASSWORD);
  sim.card = { ...sim.card, pin: params[1] as string };
  sim.lock = "ready";
  sim.pinAttemptsLeft = PIN_ATTEMPTS;
  return atOk();
}

/** EF_ICCID; `AT+CRSM` answers READ BINARY of other files with SW 6A82 (file not found). */
const EF_ICCID_FILE = 12258;
const READ_BINARY = 176;

function crsm(ctx: BehaviourContext): BehaviourResult {
  const [cmd, fileId, p1, p2, p3] = ctx.params.map((p) => (/^\d+$/.test(p) ? Number(p) : Number.NaN));
  if (cmd === undefined || Number.isNaN(cmd) || (fileId !== undefined && Number.isNaN(fileId))) return AT_ERROR;
  const gate = simGate(ctx.state, false);
  if (gate !== undefined) return gate;
  if (cmd !== READ_BINARY) return atOk("+CRSM: 109,0"); // SW 6D00: instruction not supported
  if (fileId !== EF_ICCID_FILE) return atOk("+CRSM: 106,130"); // SW 6A82: file not found
  const offset = (p1 ?? 0) * 256 + (p2 ?? 0);
  if (Number.isNaN(offset) || offset >= 10) return atOk("+CRSM: 107,0"); // SW 6B00: wrong offset
  const length = p3 === undefined || Number.isNaN(p3) || p3 === 0 ? 10 - offset : Math.min(p3, 10 - offset);
  const hex = encodeEfIccid(ctx.state.sim.card.iccid).slice(offset * 2, (offset + length) * 2);
  return atOk(`+CRSM: 144,0,"${hex}"`);
}

/** The 27.007 (and V.250) commands every dialect answers. */
function genericBehaviours(profile: DialectProfile): ModemBehaviour[] {
  return [
    modemBehaviour(/^ATE([01]?)$/, ({ state, match }) => {
      state.echo = match?.[1] === "1";
      return atOk();
    }),
    modemBehaviour(/^ATV1?$/, () => atOk()), // verbose result codes are the only kind served
    modemBehaviour(/^AT(?:Z0?|&F0?)$/, ({ modem }) => {
      modem.restoreSettings();
      return atOk();
    }),
    modemBehaviour(/^ATI0?$/, ({ state }) => atOk(...profile.ati(state))),
    modemBehaviour(/^AT\+C?GMI$/, ({ state }) => atOk(state.manufacturer)),
    modemBehaviour(/^AT\+C?GMM$/, ({ state }) => atOk(state.model)),
    modemBehaviour(/^AT\+C?GMR$/, ({ state }) => atOk(profile.cgmr(state))),
    modemBehaviour(/^AT\+(?:C?GSN|CGSN=0)$/, ({ state }) => atOk(state.imei)),
    modemBehaviour("AT+CGSN=1", ({ state }) => atOk(`+CGSN: ${state.imei}`)),
    modemBehaviour("AT+CIMI", ({ state }) => simGate(state, true) ?? atOk(state.sim.card.imsi)),
    modemBehaviour("AT+CPIN?", ({ state }) => simGate(state, false) ?? atOk(`+CPIN: ${cpinCode(state)}`)),
    modemBehaviour(/^AT\+CPIN=/, cpinSet),
    modemBehaviour("AT+CSQ", ({ state }) => atOk(`+CSQ: ${state.rssi},${state.ber}`)),
    modemBehaviour("AT+CSQ=?", () => atOk("+CSQ: (0-31,99),(0-7,99)")),
    modemBehaviour(/^AT\+CMEE=([012])$/, ({ state, match }) => {
      state.cmee = Number(match?.[1]) as 0 | 1 | 2;
      return atOk();
    }),
    modemBehaviour("AT+CMEE?", ({ state }) => atOk(`+CMEE: ${state.cmee}`)),
    modemBehaviour("AT+CMEE=?", () => atOk("+CMEE: (0-2)")),
    modemBehaviour(/^AT\+CRSM=/, crsm),
    modemBehaviour("AT+CFUN?", () => atOk("+CFUN: 1")),
  ];
}

function quectelBehaviours(): ModemBehaviour[] {
  return [
    iccidCommand("AT+QCCID", "+QCCID: ", true),
    modemBehaviour(/^AT\+QSIMSTAT=([01])$/, ({ state, match }) => {
      state.qsimstatUrc = match?.[1] === "1";
      return atOk();
    }),
    modemBehaviour("AT+QSIMSTAT?", ({ state }) =>
      atOk(`+QSIMSTAT: ${state.qsimstatUrc ? 1 : 0},${state.sim.present ? 1 : 0}`),
    ),
    modemBehaviour("AT+QSIMSTAT=?", () => atOk("+QSIMSTAT: (0,1)")),
    // Hot-plug detection (`AT+QSIMDET=1,<level>`) is accepted; the virtual slot always detects.
    modemBehaviour(/^AT\+QSIMDET=[01],[01]$/, () => atOk()),
  ];
}

const DIALECT_SPECIFIC: Readonly<Record<ModemDialect, () => ModemBehaviour[]>> = {
  generic: () => [],
  quectel: quectelBehaviours,
  simcom: () => [iccidCommand("AT+CICCID", "+ICCID: ")],
  // SIM800: bare ICCID line; `AT+CSDT=<n>` (hot-plug detection) is accepted, the virtual slot always detects.
  sim800: () => [iccidCommand("AT+CCID", ""), modemBehaviour(/^AT\+CSDT=[01]$/, () => atOk())],
  ml307: () => [iccidCommand("AT+MCCID", "+MCCID: ")],
};

/** The default behaviour table of a dialect: its own commands first, then the shared 27.007 ones. */
export function dialectBehaviours(dialect: ModemDialect): readonly ModemBehaviour[] {
  return [...DIALECT_SPECIFIC[dialect](), ...genericBehaviours(DIALECT_PROFILES[dialect])];
}
