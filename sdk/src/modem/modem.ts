/**
 * What the SDK needs from a cellular modem. The AT-command implementation (`AtModem`, over a SerialLink) is
 * in this folder; firmware-sim serves virtual modems that speak the same dialects.
 */
export type ModemDialect = "generic" | "quectel" | "simcom" | "sim800" | "ml307";

export interface ModemIdentity {
  /** 15 digits, Luhn-valid (validated with @triadkit/protocol). */
  readonly imei: string;
  /** Upper-case, trailing F padding stripped; hex letters are normal. */
  readonly iccid: string;
  /** Required: machine-card binding pairs the IMEI with the IMSI. */
  readonly imsi: string;
  /** Operator from the IMSI (or the ICCID when the IMSI's is unknown), e.g. `china_unicom`. */
  readonly operator: string | undefined;
  readonly dialect: ModemDialect;
  /** Manufacturer / model / revision as the modem reports them (`ATI`, `AT+CGMR`). */
  readonly firmware: string;
}

export type SimState = "ready" | "pin_required" | "puk_required" | "not_inserted" | "not_ready" | "unknown";

export interface ModemSignal {
  /** From `AT+CSQ`: dBm = −113 + 2·rssi; undefined when the modem reports 99 (unknown). */
  readonly rssiDbm: number | undefined;
  /** Raw CSQ rssi (0–31, 99). */
  readonly csq: number;
}

export interface ModemEvents {
  /** The SIM was removed (`+QSIMSTAT: 1,0`, `+CPIN: NOT READY`, `+CPIN: SIM REMOVED`, …). */
  simRemoved: [];
  /** A SIM was inserted (`+QSIMSTAT: 1,1`, `+CPIN: READY` after a removal). */
  simInserted: [];
  /** Every unsolicited result code line, raw. */
  urc: [line: string];
}

export interface Modem {
  readIdentity(): Promise<ModemIdentity>;
  signal(): Promise<ModemSignal>;
  simState(): Promise<SimState>;
  on<E extends keyof ModemEvents>(event: E, listener: (...args: ModemEvents[E]) => void): this;
  off<E extends keyof ModemEvents>(event: E, listener: (...args: ModemEvents[E]) => void): this;
  close(): Promise<void>;
}
