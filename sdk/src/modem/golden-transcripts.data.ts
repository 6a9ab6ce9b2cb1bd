/**
 * Golden transcripts: real module responses (as quoted in the research notes,
 * /work/shared/reference/identifiers.md §2, §3 and §5) played by a scripted peer against the driver.
 *
 * `quoted` lists the lines taken verbatim from a real module or manual. Everything else in a script (the
 * `ATI` banners, `OK` framing, the other identity commands of the same modem) is filler in the documented
 * shape so the driver can run; filler values are the reference's valid sample IMEIs/IMSIs.
 */
import type { ModemDialect, ModemSignal, SimState } from "./modem.js";

/** command → reply lines (final result code included); `null` = silence. */
export type GoldenScript = Readonly<Record<string, readonly string[] | null>>;

export type GoldenExpectation =
  | {
      readonly op: "identity";
      readonly imei: string;
      readonly iccid: string;
      readonly imsi: string;
      readonly operator: string | undefined;
      readonly dialect: ModemDialect;
      readonly firmware?: string;
      /** Warning codes, in order. */
      readonly warnings: readonly string[];
      /** The commands the driver must have sent for the ICCID, in order (proves which path was taken). */
      readonly iccidCommands?: readonly string[];
    }
  | { readonly op: "identity_error"; readonly code: string; readonly context?: Readonly<Record<string, unknown>> }
  | { readonly op: "signal"; readonly signal: ModemSignal }
  | { readonly op: "simState"; readonly state: SimState }
  | { readonly op: "qsimstat"; readonly enabled: boolean; readonly inserted: 0 | 1 | 2 }
  | { readonly op: "urc"; readonly urc: string; readonly events: readonly string[] };

export interface GoldenTranscript {
  readonly name: string;
  /** Where the quoted lines come from (reference section and its source tag). */
  readonly source: string;
  readonly quoted: readonly string[];
  readonly dialect: ModemDialect | "auto";
  readonly script: GoldenScript;
  readonly expect: GoldenExpectation;
}

const ok = (...lines: string[]) => [...lines, "OK"];

/** Filler ATI banners in the usual shapes of each vendor (not from the reference). */
const ATI = {
  quectelEc20: ok("Quectel", "EC20F", "Revision: EC20CEFAGR06A05M4G"),
  quectelRm500u: ok("Quectel", "RM500U", "Revision: RM500UCNAAR03A03M4G"),
  quectelBc95: ok("Quectel", "BC95HB-02-STD_850", "Revision: V150R100C10B200SP1"),
  sim7600: ok("Manufacturer: SIMCOM INCORPORATED", "Model: SIMCOM_SIM7600E-H", "Revision: SIM7600M22_V1.1"),
  sim800: ok("SIM800 R14.18"),
  ml307: ok("Manufacturer: China Mobile", "Model: ML307R", "Revision: ML307R-DC_V1.0"),
  airm2m: ok("AirM2M", "Air780E", "Revision: AirM2M_780E_V1107_LTE_AT"),
};

const INIT = { ATE0: ok(), "AT+CMEE=1": ok() } as const;

export const GOLDEN_TRANSCRIPTS: readonly GoldenTranscript[] = [
  {
    name: "Quectel EC20: +QCCID with a hex letter, bare AT+CGSN, AT+CIMI 460040181839878",
    source: "§2 Quectel logs in code [O]; §3 365seal.com AT+CIMI [O]; §5 27.007 AT+CGSN bare line [S]",
    quoted: ["+QCCID: 898604071118C0501150", "460040181839878"],
    dialect: "auto",
    script: {
      ...INIT,
      ATI: ATI.quectelEc20,
      "AT+QSIMSTAT=1": ok(),
      "AT+CGSN": ok("490154203237518"),
      "AT+QCCID": ok("+QCCID: 898604071118C0501150"),
      "AT+CIMI": ok("460040181839878"),
    },
    expect: {
      op: "identity",
      imei: "490154203237518",
      iccid: "898604071118C0501150",
      imsi: "460040181839878",
      operator: "china_mobile",
      dialect: "quectel",
      firmware: "Quectel EC20F Revision: EC20CEFAGR06A05M4G",
      warnings: ["id.iccid_check_digit_unverified"],
      iccidCommands: ["AT+QCCID"],
    },
  },
  {
    name: "Quectel: second logged +QCCID (898600220909A0206023)",
    source: "§2 Quectel logs in code [O]",
    quoted: ["+QCCID: 898600220909A0206023"],
    dialect: "quectel",
    script: {
      ...INIT,
      ATI: ATI.quectelEc20,
      "AT+QSIMSTAT=1": ok(),
      "AT+CGSN": ok("352099001761481"),
      "AT+QCCID": ok("+QCCID: 898600220909A0206023"),
      "AT+CIMI": ok("460040181839878"),
    },
    expect: {
      op: "identity",
      imei: "352099001761481",
      iccid: "898600220909A0206023",
      imsi: "460040181839878",
      operator: "china_mobile",
      dialect: "quectel",
      warnings: ["id.iccid_check_digit_unverified"],
      iccidCommands: ["AT+QCCID"],
    },
  },
  {
    name: "Quectel: 19-digit ICCID padded with a trailing F",
    source: "§2 `+QCCID: 8986000000000000000F` [O]",
    quoted: ["+QCCID: 8986000000000000000F"],
    dialect: "quectel",
    script: {
      ...INIT,
      ATI: ATI.quectelEc20,
      "AT+QSIMSTAT=1": ok(),
      "AT+CGSN": ok("356938035643809"),
      "AT+QCCID": ok("+QCCID: 8986000000000000000F"),
      "AT+CIMI": ok("460040181839878"),
    },
    expect: {
      op: "identity",
      imei: "356938035643809",
      iccid: "8986000000000000000",
      imsi: "460040181839878",
      operator: "china_mobile",
      dialect: "quectel",
      warnings: ["id.iccid_check_digit_unverified"],
    },
  },
  {
    name: "Quectel RM500U: China Telecom ICCID/IMSI pair",
    source: "§3 RM500U log [O] (ICCID 89860324650103722650, IMSI 460115956795568)",
    quoted: ["89860324650103722650", "460115956795568"],
    dialect: "auto",
    script: {
      ...INIT,
      ATI: ATI.quectelRm500u,
      "AT+QSIMSTAT=1": ok(),
      "AT+CGSN": ok("352099001761481"),
      "AT+QCCID": ok("+QCCID: 89860324650103722650"),
      "AT+CIMI": ok("460115956795568"),
    },
    expect: {
      op: "identity",
      imei: "352099001761481",
      iccid: "89860324650103722650",
      imsi: "460115956795568",
      operator: "china_telecom",
      dialect: "quectel",
      firmware: "Quectel RM500U Revision: RM500UCNAAR03A03M4G",
      warnings: [],
    },
  },
  {
    name: "Quectel BC95 (NB-IoT): +NCCID with no space after the colon",
    source: "§2/§5 NB-IoT module `+NCCID:898604A52121C0114673` [O]",
    quoted: ["+NCCID:898604A52121C0114673"],
    dialect: "auto",
    script: {
      ...INIT,
      ATI: ATI.quectelBc95,
      "AT+QSIMSTAT=1": ["ERROR"],
      "AT+CGSN": ok("+CGSN:490154203237518"),
      "AT+NCCID": ok("+NCCID:898604A52121C0114673"),
      "AT+CIMI": ok("460040181839878"),
    },
    expect: {
      op: "identity",
      imei: "490154203237518",
      iccid: "898604A52121C0114673",
      imsi: "460040181839878",
      operator: "china_mobile",
      dialect: "quectel",
      warnings: ["id.iccid_check_digit_unverified"],
      iccidCommands: ["AT+NCCID"],
    },
  },
  {
    name: "SIMCom SIM7600: AT+CICCID → +ICCID: with a hex letter",
    source: "§2/§5 SIMCom SIM7500/7600 AT manual example [S]",
    quoted: ["+ICCID: 898600700907A6019125"],
    dialect: "auto",
    script: {
      ...INIT,
      ATI: ATI.sim7600,
      "AT+CGSN": ok("356938035643809"),
      "AT+CICCID": ok("+ICCID: 898600700907A6019125"),
      "AT+CIMI": ok("460040181839878"),
    },
    expect: {
      op: "identity",
      imei: "356938035643809",
      iccid: "898600700907A6019125",
      imsi: "460040181839878",
      operator: "china_mobile",
      dialect: "simcom",
      warnings: ["id.iccid_check_digit_unverified"],
      iccidCommands: ["AT+CICCID"],
    },
  },
  {
    name: "SIM800: AT+CCID → bare ICCID line (China Unicom)",
    source: "§5 SIM800-class bare line [O]; value from §2 Unicom samples [O]",
    quoted: ["89860621330066521767"],
    dialect: "auto",
    script: {
      ...INIT,
      ATI: ATI.sim800,
      "AT+CGSN": ok("490154203237518"),
      "AT+CCID": ok("89860621330066521767"),
      "AT+CIMI": ok("460060086257148"),
    },
    expect: {
      op: "identity",
      imei: "490154203237518",
      iccid: "89860621330066521767",
      imsi: "460060086257148",
      operator: "china_unicom",
      dialect: "sim800",
      firmware: "SIM800 R14.18",
      warnings: [],
      iccidCommands: ["AT+CCID"],
    },
  },
  {
    name: "ML307: lowercase +MCCID, AT+CGSN=1 → +CGSN:",
    source: "§2 `+MCCID: 898600d6991330004146` [O]; §5 `AT+CGSN=1` → `+CGSN: <imei>` on ML307 [O]",
    quoted: ["+MCCID: 898600d6991330004146", "+CGSN: <imei>"],
    dialect: "auto",
    script: {
      ...INIT,
      ATI: ATI.ml307,
      "AT+CGSN": ["ERROR"], // synthetic, to take the AT+CGSN=1 path
      "AT+CGSN=1": ok("+CGSN: 352099001761481"),
      "AT+MCCID": ok("+MCCID: 898600d6991330004146"),
      "AT+CIMI": ok("460040181839878"),
    },
    expect: {
      op: "identity",
      imei: "352099001761481",
      iccid: "898600D6991330004146",
      imsi: "460040181839878",
      operator: "china_mobile",
      dialect: "ml307",
      warnings: ["id.iccid_check_digit_unverified"],
      iccidCommands: ["AT+MCCID"],
    },
  },
  {
    name: "ML307: second sample ICCID (898600B11925F0192677, mid-string F is data)",
    source: "§2 ML307 `898600B11925F0192677` [O] (framed as +MCCID)",
    quoted: ["898600B11925F0192677"],
    dialect: "ml307",
    script: {
      ...INIT,
      ATI: ATI.ml307,
      "AT+CGSN": ok("490154203237518"),
      "AT+MCCID": ok("+MCCID: 898600B11925F0192677"),
      "AT+CIMI": ok("460040181839878"),
    },
    expect: {
      op: "identity",
      imei: "490154203237518",
      iccid: "898600B11925F0192677",
      imsi: "460040181839878",
      operator: "china_mobile",
      dialect: "ml307",
      warnings: ["id.iccid_check_digit_unverified"],
    },
  },
  {
    name: "AirM2M/Luat (generic): AT+CCID refused, AT+ICCID → +ICCID:",
    source: "§2/§5 AirM2M/Luat AT doc `+ICCID: 898604981022C0256459` [O]",
    quoted: ["+ICCID: 898604981022C0256459"],
    dialect: "generic",
    script: {
      ...INIT,
      ATI: ATI.airm2m,
      "AT+CGSN": ok("356938035643809"),
      "AT+CCID": ["ERROR"],
      "AT+ICCID": ok("+ICCID: 898604981022C0256459"),
      "AT+CIMI": ok("460040181839878"),
    },
    expect: {
      op: "identity",
      imei: "356938035643809",
      iccid: "898604981022C0256459",
      imsi: "460040181839878",
      operator: "china_mobile",
      dialect: "generic",
      warnings: ["id.iccid_check_digit_unverified"],
      iccidCommands: ["AT+CCID", "AT+ICCID"],
    },
  },
  {
    name: "Air780E (generic): China Unicom ICCID/IMSI pair",
    source: "§3 Air780E log [O] (ICCID 89860621260002571487, IMSI 460060086257148)",
    quoted: ["89860621260002571487", "460060086257148"],
    dialect: "generic",
    script: {
      ...INIT,
      ATI: ATI.airm2m,
      "AT+CGSN": ok("352099001761481"),
      "AT+CCID": ["ERROR"],
      "AT+ICCID": ok("+ICCID: 89860621260002571487"),
      "AT+CIMI": ok("460060086257148"),
    },
    expect: {
      op: "identity",
      imei: "352099001761481",
      iccid: "89860621260002571487",
      imsi: "460060086257148",
      operator: "china_unicom",
      dialect: "generic",
      warnings: [],
    },
  },
  {
    name: "CRSM fallback: the dialect commands fail, EF_ICCID is read and nibble-swapped",
    source: '§2 `AT+CRSM=176,12258,0,0,10` → `+CRSM: 144,0,"98683081462002318379"` (test in the code corpus) [S]',
    quoted: ['+CRSM: 144,0,"98683081462002318379"'],
    dialect: "generic",
    script: {
      ...INIT,
      ATI: ATI.airm2m,
      "AT+CGSN": ok("490154203237518"),
      "AT+CCID": ["+CME ERROR: 4"],
      "AT+ICCID": ["ERROR"],
      "AT+CRSM=176,12258,0,0,10": ok('+CRSM: 144,0,"98683081462002318379"'),
      "AT+CIMI": ok("460115956795568"),
    },
    expect: {
      op: "identity",
      imei: "490154203237518",
      iccid: "89860318640220133897",
      imsi: "460115956795568",
      operator: "china_telecom",
      dialect: "generic",
      warnings: [],
      iccidCommands: ["AT+CCID", "AT+ICCID", "AT+CRSM=176,12258,0,0,10"],
    },
  },
  {
    name: "No SIM: +CME ERROR: 10 on the ICCID read, AT+CPIN? agrees",
    source: "§5 27.007 `+CME ERROR: 10` SIM not inserted [S]",
    quoted: ["+CME ERROR: 10"],
    dialect: "quectel",
    script: {
      ...INIT,
      ATI: ATI.quectelEc20,
      "AT+QSIMSTAT=1": ok(),
      "AT+CGSN": ok("490154203237518"),
      "AT+QCCID": ["+CME ERROR: 10"],
      "AT+CRSM=176,12258,0,0,10": ["+CME ERROR: 10"],
      "AT+CPIN?": ["+CME ERROR: 10"],
      "AT+CIMI": ["+CME ERROR: 10"],
    },
    expect: { op: "identity_error", code: "modem.no_sim", context: { field: "iccid", simState: "not_inserted" } },
  },
  {
    name: "AT+CSQ → +CSQ: 24,99",
    source: "§5 27.007 `+CSQ: <rssi>,<ber>` [S]",
    quoted: ["+CSQ: 24,99"],
    dialect: "generic",
    script: { ...INIT, "AT+CSQ": ok("+CSQ: 24,99") },
    expect: { op: "signal", signal: { csq: 24, rssiDbm: -65 } },
  },
  {
    name: "AT+CPIN? → +CPIN: READY",
    source: "§5 27.007 [S]",
    quoted: ["+CPIN: READY"],
    dialect: "generic",
    script: { ...INIT, "AT+CPIN?": ok("+CPIN: READY") },
    expect: { op: "simState", state: "ready" },
  },
  {
    name: "AT+CPIN? → +CME ERROR: 10",
    source: "§5 27.007 [S]",
    quoted: ["+CME ERROR: 10"],
    dialect: "generic",
    script: { ...INIT, "AT+CPIN?": ["+CME ERROR: 10"] },
    expect: { op: "simState", state: "not_inserted" },
  },
  {
    name: "AT+QSIMSTAT? → +QSIMSTAT: 0,1",
    source: "§5 Quectel [S]",
    quoted: ["+QSIMSTAT: 0,1"],
    dialect: "quectel",
    script: { ...INIT, "AT+QSIMSTAT=1": ok(), "AT+QSIMSTAT?": ok("+QSIMSTAT: 0,1") },
    expect: { op: "qsimstat", enabled: false, inserted: 1 },
  },
  {
    name: "URC +CPIN: NOT READY on removal (Quectel AT+QSIMDET)",
    source: "§5 cnblogs.com/zhuangquan/p/12100904.html [S]",
    quoted: ["+CPIN: NOT READY"],
    dialect: "quectel",
    script: { ...INIT, "AT+QSIMSTAT=1": ok() },
    expect: { op: "urc", urc: "+CPIN: NOT READY", events: ["urc:+CPIN: NOT READY", "simRemoved"] },
  },
  {
    name: "URC +CPIN: SIM REMOVED (AirM2M/Luat AT+CSDT=1)",
    source: "§5 AirM2M/Luat AT doc [S]",
    quoted: ["+CPIN: SIM REMOVED"],
    dialect: "generic",
    script: { ...INIT },
    expect: { op: "urc", urc: "+CPIN: SIM REMOVED", events: ["urc:+CPIN: SIM REMOVED", "simRemoved"] },
  },
];
