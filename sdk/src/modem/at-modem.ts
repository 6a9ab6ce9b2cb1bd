import { EventEmitter } from "node:events";
import {
  checkIccidImsiOperators,
  decodeEfIccid,
  isTriadkitError,
  parseIccid,
  parseImei,
  parseImsi,
  TriadkitError,
  type Validated,
  type Warning,
} from "@triadkit/protocol";
import { type Clock, SystemClock } from "../clock.js";
import { silentLogger } from "../logging/index.js";
import type { Logger } from "../logging/logger.js";
import { AtEngine, type AtEngineOptions, type AtEngineStats, type AtResponse } from "./at-engine.js";
import {
  cpinValueToSimState,
  csqToDbm,
  detectDialect,
  extractIccid,
  extractImei,
  extractImsi,
  type ModuleInfo,
  parseCpin,
  parseCrsm,
  parseCsq,
  parseQsimstat,
  usesNccid,
  valueAfterPrefix,
} from "./at-parse.js";
import { CME_SIM_NOT_INSERTED } from "./cme-errors.js";
import type { Modem, ModemDialect, ModemEvents, ModemIdentity, ModemSignal, SimState } from "./modem.js";
import type { SerialLink } from "./serial-link.js";

/** Options for {@link createAtModem}. */
export interface AtModemOptions {
  /** The serial link to the modem. The modem owns it from then on: `close()` closes it. */
  readonly link: SerialLink;
  readonly clock?: Clock;
  /** The module's AT dialect, or `auto` (default) to detect it from `ATI`. */
  readonly dialect?: ModemDialect | "auto";
  readonly logger?: Logger;
  /** Tuning of the AT engine (timeouts, retries, resync); `clock`, `logger` and `ownsLink` are set here. */
  readonly engine?: Omit<AtEngineOptions, "clock" | "logger" | "ownsLink">;
}

/** {@link ModemIdentity} plus the validators' warnings (e.g. an ICCID whose check digit is not verifiable). */
export interface AtModemIdentity extends ModemIdentity {
  readonly warnings: readonly Warning[];
}

/** One ICCID command of a dialect and the prefix of its answer. */
interface IccidCommand {
  readonly command: string;
  readonly expect: readonly string[];
}

const QCCID: IccidCommand = { command: "AT+QCCID", expect: ["+QCCID:"] };
const NCCID: IccidCommand = { command: "AT+NCCID", expect: ["+NCCID:"] };
const CICCID: IccidCommand = { command: "AT+CICCID", expect: ["+ICCID:"] };
const CCID: IccidCommand = { command: "AT+CCID", expect: ["+CCID:"] };
const ICCID: IccidCommand = { command: "AT+ICCID", expect: ["+ICCID:"] };
const MCCID: IccidCommand = { command: "AT+MCCID", expect: ["+MCCID:"] };

/** The EF_ICCID read used when the dialect's ICCID command fails: READ BINARY (176) of 0x2FE2 (12258), 10 bytes. */
export const CRSM_READ_ICCID = "AT+CRSM=176,12258,0,0,10";

/**
 * The ICCID commands tried for a dialect, in order, before the `AT+CRSM` fallback.
 * Quectel BC95-class NB-IoT modules (`+NCCID:`) are recognised by model; BC26 is unverified.
 */
export function iccidCommandsFor(dialect: ModemDialect, model?: string): readonly IccidCommand[] {
  switch (dialect) {
    case "quectel":
      if (model !== undefined && /^BC26/i.test(model)) return [QCCID, NCCID];
      return usesNccid(model) ? [NCCID, QCCID] : [QCCID];
    case "simcom":
      return [CICCID, CCID];
    case "sim800":
      return [CCID];
    case "ml307":
      return [MCCID];
    default:
      return [CCID, ICCID];
  }
}

const errorCode = (err: unknown): string => (isTriadkitError(err) ? err.code : "unknown");

/**
 * A {@link Modem} driven by AT commands over a {@link SerialLink}, for the dialects of {@link ModemDialect}.
 *
 * Verified against the real response shapes collected in docs/modem.md: Quectel (EC20/EC25/EC200x/EG25/
 * BG96/RM500U; BC95 `+NCCID`), SIMCom SIM7500/SIM7600 and SIM800-class, China Mobile OneMO ML307, and
 * 3GPP 27.007 generic modules. **Fibocom and Quectel BC26 are unverified**: Fibocom is driven as `generic`
 * (`AT+CCID` → `+CCID:` is only seen in third-party code), BC26 as `quectel` trying `AT+QCCID` then
 * `AT+NCCID`; both fall back to `AT+CRSM` for the ICCID.
 *
 * Create it with {@link createAtModem}.
 */
export class AtModem implements Modem {
  private readonly emitter = new EventEmitter();
  private sim: "unknown" | "present" | "removed" = "unknown";

  /** @internal use {@link createAtModem}. */
  constructor(
    readonly engine: AtEngine,
    readonly dialect: ModemDialect,
    private info: ModuleInfo,
    private firmwareLines: readonly string[] | undefined,
    private readonly logger: Logger,
  ) {
    engine.on("urc", (line) => this.onUrc(line));
  }

  /** Vendor and model as detected from `ATI` (when the dialect was auto-detected or ATI was read). */
  get module(): ModuleInfo {
    return this.info;
  }

  /** The AT engine's counters. */
  get stats(): AtEngineStats {
    return this.engine.stats;
  }

  on<E extends keyof ModemEvents>(event: E, listener: (...args: ModemEvents[E]) => void): this {
    this.emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<E extends keyof ModemEvents>(event: E, listener: (...args: ModemEvents[E]) => void): this {
    this.emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Sends a raw AT command through the engine (for diagnostics and dialect-specific extras). */
  send(command: string, options?: Parameters<AtEngine["send"]>[1]): Promise<AtResponse> {
    return this.engine.send(command, options);
  }

  /**
   * Reads and validates IMEI, ICCID and IMSI (with @triadkit/protocol's parsers), the firmware string and the
   * operator (from the IMSI's MNC, else the ICCID prefix).
   *
   * - IMEI: `AT+CGSN` (bare line or `+CGSN:`), then `AT+CGSN=1`, then `AT+GSN`.
   * - ICCID: the dialect's command(s) ({@link iccidCommandsFor}), then `AT+CRSM=176,12258,0,0,10` (EF_ICCID,
   *   nibble-swapped) as the universal fallback.
   * - IMSI: `AT+CIMI`. Required.
   * - Firmware: `ATI` lines joined with spaces, else `AT+CGMR`.
   *
   * @throws (rejects) `modem.no_sim` when the ICCID or IMSI cannot be read and `AT+CPIN?` says no SIM (or
   *   the modem answered `+CME ERROR: 10`); `modem.bad_identity` when a value is missing or fails validation
   *   (context: `field`, and `idCode` with the validator's code); `at.timeout` / `at.closed` when the modem
   *   does not answer at all.
   */
  async readIdentity(): Promise<AtModemIdentity> {
    const warnings: Warning[] = [];
    const firmware = await this.readFirmware();
    if (this.info.model === undefined && this.firmwareLines !== undefined) {
      // An explicitly given dialect skipped ATI at start; the model still picks e.g. AT+NCCID on a BC95.
      this.info = { ...this.info, model: detectDialect(this.firmwareLines).model };
    }
    const imei = this.validate("imei", await this.readImei(), (v) => parseImei(v), warnings);
    const iccid = this.validate("iccid", await this.readIccid(), (v) => parseIccid(v), warnings);
    const imsi = this.validate("imsi", await this.readImsi(), (v) => parseImsi(v), warnings);
    warnings.push(...checkIccidImsiOperators(iccid.iccid, imsi.imsi));
    this.sim = "present";
    for (const w of warnings) this.logger.warn({ code: w.code }, `modem identity: ${w.message}`);
    return {
      imei,
      iccid: iccid.iccid,
      imsi: imsi.imsi,
      operator: imsi.operator ?? iccid.operator,
      dialect: this.dialect,
      firmware,
      warnings,
    };
  }

  /**
   * `AT+CSQ`: dBm = −113 + 2·rssi (rssi 0–31); rssi 99 → `rssiDbm` undefined.
   *
   * @throws (rejects) `at.bad_response` when there is no `+CSQ:` line or rssi is neither 0–31 nor 99.
   */
  async signal(): Promise<ModemSignal> {
    const res = await this.engine.send("AT+CSQ", { idempotent: true });
    const csq = parseCsq(res.lines);
    if (csq === undefined || (csq.rssi > 31 && csq.rssi !== 99)) {
      throw new TriadkitError("at.bad_response", "AT+CSQ did not answer +CSQ: <rssi 0-31|99>,<ber>", {
        command: "AT+CSQ",
        lines: res.lines.slice(0, 4),
      });
    }
    return { csq: csq.rssi, rssiDbm: csqToDbm(csq.rssi) };
  }

  /**
   * `AT+CPIN?`: `READY` → ready, `SIM PIN` → pin_required, `SIM PUK` → puk_required, `NOT READY` → not_ready,
   * `NOT INSERTED` / `+CME ERROR: 10` → not_inserted, `+CME ERROR: 14` (SIM busy) → not_ready,
   * `+CME ERROR: 11/12` → pin/puk_required, any other answer → unknown. Timeouts and close still reject.
   */
  async simState(): Promise<SimState> {
    let state: SimState;
    try {
      const res = await this.engine.send("AT+CPIN?", { idempotent: true });
      state = parseCpin(res.lines) ?? "unknown";
    } catch (err) {
      if (isTriadkitError(err, "at.cme_error")) {
        const code = err.context?.["cmeCode"];
        state =
          code === 10
            ? "not_inserted"
            : code === 11
              ? "pin_required"
              : code === 12
                ? "puk_required"
                : code === 14
                  ? "not_ready"
                  : "unknown";
      } else if (isTriadkitError(err, "at.error")) state = "unknown";
      else throw err;
    }
    if (state === "not_inserted") this.sim = "removed";
    else if (state === "ready") this.sim = "present";
    return state;
  }

  /** Closes the engine and the link; pending commands reject with `at.closed`. */
  async close(): Promise<void> {
    await this.engine.close();
    this.emitter.removeAllListeners();
  }

  // --- identity pieces -----------------------------------------------------------------------------------

  private async readFirmware(): Promise<string> {
    if (this.firmwareLines === undefined) {
      this.firmwareLines = await this.engine
        .send("ATI")
        .then((r) => r.lines)
        .catch((err: unknown) => {
          if (isTriadkitError(err, "at.error") || isTriadkitError(err, "at.cme_error")) return [];
          throw err;
        });
    }
    let lines = this.firmwareLines.filter((l) => l.length > 0);
    if (lines.length === 0) {
      lines = await this.tryLines("AT+CGMR", []);
    }
    return lines.map((l) => valueAfterPrefix(l, "+CGMR:") ?? l).join(" ");
  }

  private async readImei(): Promise<string | undefined> {
    for (const command of ["AT+CGSN", "AT+CGSN=1", "AT+GSN"]) {
      const imei = extractImei(await this.tryLines(command, ["+CGSN:", "+GSN:"], true));
      if (imei !== undefined) return imei;
    }
    return undefined;
  }

  private async readIccid(): Promise<string> {
    let sawNoSim = false;
    let firstInvalid: string | undefined;
    for (const { command, expect } of iccidCommandsFor(this.dialect, this.info.model)) {
      const lines = await this.tryLines(command, expect, true, () => {
        sawNoSim = true;
      });
      const raw = extractIccid(lines);
      if (raw === undefined) continue;
      if (this.isValidIccid(raw)) return raw;
      firstInvalid ??= raw;
      this.logger.warn({ command }, "modem: ICCID answer does not validate; trying the next command");
    }
    const crsm = parseCrsm(
      await this.tryLines(CRSM_READ_ICCID, ["+CRSM:"], true, () => {
        sawNoSim = true;
      }),
    );
    if (crsm !== undefined && crsm.sw1 === 0x90 && crsm.sw2 === 0 && /^[0-9A-F]{20}$/.test(crsm.data)) {
      const raw = decodeEfIccid(crsm.data);
      if (this.isValidIccid(raw)) return raw;
      firstInvalid ??= raw;
    }
    if (firstInvalid !== undefined) return firstInvalid; // validate() reports it as modem.bad_identity
    return this.failMissing("iccid", sawNoSim);
  }

  private async readImsi(): Promise<string> {
    let sawNoSim = false;
    const imsi = extractImsi(
      await this.tryLines("AT+CIMI", ["+CIMI:"], true, () => {
        sawNoSim = true;
      }),
    );
    if (imsi !== undefined) return imsi;
    return this.failMissing("imsi", sawNoSim);
  }

  private isValidIccid(raw: string): boolean {
    try {
      parseIccid(raw);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * A value could not be read at all: `modem.no_sim` when `AT+CPIN?` says not inserted (or is inconclusive
   * after a `+CME ERROR: 10`), else `modem.bad_identity` with the SIM state in the context.
   */
  private async failMissing(field: "iccid" | "imsi", sawNoSim: boolean): Promise<never> {
    const state = await this.simState().catch((err: unknown) => {
      if (isTriadkitError(err, "at.closed")) throw err;
      return "unknown" as SimState;
    });
    if (state === "not_inserted" || (sawNoSim && state === "unknown")) {
      throw new TriadkitError("modem.no_sim", `no SIM: cannot read the ${field.toUpperCase()} (SIM state ${state})`, {
        field,
        simState: state,
      });
    }
    throw new TriadkitError("modem.bad_identity", `the modem did not report an ${field.toUpperCase()}`, {
      field,
      simState: state,
    });
  }

  /**
   * Sends an idempotent query and returns its lines; an `ERROR`/`+CME ERROR` answer gives `[]` (and calls
   * `onNoSim` for `+CME ERROR: 10`, SIM not inserted). Timeouts and close reject.
   */
  private async tryLines(
    command: string,
    expect: readonly string[],
    idempotent = true,
    onNoSim?: () => void,
  ): Promise<string[]> {
    try {
      return [...(await this.engine.send(command, { expect, idempotent })).lines];
    } catch (err) {
      if (isTriadkitError(err, "at.cme_error")) {
        const code = err.context?.["cmeCode"];
        if (code === CME_SIM_NOT_INSERTED) onNoSim?.();
        this.logger.debug({ command, cmeCode: code }, "modem: command failed");
        return [];
      }
      if (isTriadkitError(err, "at.error")) {
        this.logger.debug({ command }, "modem: command failed");
        return [];
      }
      throw err;
    }
  }

  private validate<T>(
    field: "imei" | "iccid" | "imsi",
    raw: string | undefined,
    parse: (value: string) => Validated<T>,
    warnings: Warning[],
  ): T {
    if (raw === undefined) {
      throw new TriadkitError("modem.bad_identity", `the modem did not report an ${field.toUpperCase()}`, { field });
    }
    try {
      const result = parse(raw);
      warnings.push(...result.warnings);
      return result.value;
    } catch (err) {
      throw new TriadkitError(
        "modem.bad_identity",
        `the modem reported an invalid ${field.toUpperCase()}: ${err instanceof Error ? err.message : String(err)}`,
        { field, idCode: errorCode(err) },
        { cause: err },
      );
    }
  }

  // --- URCs ----------------------------------------------------------------------------------------------

  private onUrc(line: string): void {
    this.safeEmit("urc", line);
    const qsim = parseQsimstat(line);
    if (qsim !== undefined) {
      if (qsim.inserted === 0) this.markRemoved();
      else if (qsim.inserted === 1 && this.sim !== "present") this.markInserted();
      return;
    }
    const cpin = valueAfterPrefix(line, "+CPIN:");
    if (cpin !== undefined) {
      const state = cpinValueToSimState(cpin);
      if (state === "not_inserted" || state === "not_ready") this.markRemoved();
      else if (state === "ready" && this.sim === "removed") this.markInserted();
      else if (state === "ready") this.sim = "present";
    }
  }

  private markRemoved(): void {
    if (this.sim === "removed") return;
    this.sim = "removed";
    this.safeEmit("simRemoved");
  }

  private markInserted(): void {
    this.sim = "present";
    this.safeEmit("simInserted");
  }

  private safeEmit<E extends keyof ModemEvents>(event: E, ...args: ModemEvents[E]): void {
    try {
      this.emitter.emit(event, ...args);
    } catch (err) {
      this.logger.error({ event, error: err instanceof Error ? err.message : String(err) }, "modem: listener threw");
    }
  }
}

/**
 * Opens a modem on `link`: `ATE0` (echo off) and `AT+CMEE=1` (numeric `+CME ERROR`), then the dialect
 * (detected from `ATI` when `auto`), then on Quectel `AT+QSIMSTAT=1` (SIM hot-plug URC). An `ERROR` answer to
 * any of these is tolerated (logged).
 *
 * @throws (rejects) `at.timeout` when the modem does not answer `ATE0` (after its retry), `at.closed` when
 *   the link closes. On failure the engine detaches and the link stays open for the caller.
 */
export async function createAtModem(options: AtModemOptions): Promise<AtModem> {
  const logger = options.logger ?? silentLogger;
  const engine = new AtEngine(options.link, {
    ...options.engine,
    clock: options.clock ?? new SystemClock(),
    logger,
    ownsLink: true,
  });
  const tolerate = async (command: string): Promise<readonly string[] | undefined> => {
    try {
      return (await engine.send(command, { idempotent: true })).lines;
    } catch (err) {
      if (isTriadkitError(err, "at.error") || isTriadkitError(err, "at.cme_error")) {
        logger.warn({ command, code: err.code }, "modem: init command refused");
        return undefined;
      }
      throw err;
    }
  };
  try {
    await tolerate("ATE0");
    await tolerate("AT+CMEE=1");
    const requested = options.dialect ?? "auto";
    let ati: readonly string[] | undefined;
    let info: ModuleInfo;
    if (requested === "auto") {
      ati = await tolerate("ATI");
      let lines = ati ?? [];
      if (lines.length === 0) {
        lines = [...((await tolerate("AT+CGMI")) ?? []), ...((await tolerate("AT+CGMM")) ?? [])];
      }
      info = detectDialect(lines);
      logger.info({ dialect: info.dialect, vendor: info.vendor, model: info.model }, "modem: dialect detected");
    } else {
      info = { ...detectDialect([]), dialect: requested };
    }
    if (info.dialect === "quectel") {
      await tolerate("AT+QSIMSTAT=1");
    }
    return new AtModem(engine, info.dialect, info, ati, logger);
  } catch (err) {
    engine.detach();
    throw err;
  }
}
