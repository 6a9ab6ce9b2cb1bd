/** Cellular modem: serial links, the AT engine and the AT-command Modem driver (docs/modem.md). */

export {
  type AtCommandOptions,
  AtEngine,
  type AtEngineEvents,
  type AtEngineOptions,
  type AtEngineStats,
  type AtResponse,
  DEFAULT_URC_PREFIXES,
  defaultExpect,
  isEchoOf,
} from "./at-engine.js";
export {
  AtModem,
  type AtModemIdentity,
  type AtModemOptions,
  CRSM_READ_ICCID,
  createAtModem,
  iccidCommandsFor,
} from "./at-modem.js";
export {
  type CrsmReading,
  type CsqReading,
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
  type QsimstatReading,
  usesNccid,
  valueAfterPrefix,
} from "./at-parse.js";
export { CME_ERRORS, CME_SIM_NOT_INSERTED, type CmeError, cmeErrorMeaning, parseCmeError } from "./cme-errors.js";
export { MemorySerialLink } from "./memory-serial-link.js";
export type { Modem, ModemDialect, ModemEvents, ModemIdentity, ModemSignal, SimState } from "./modem.js";
export { DEFAULT_BAUD_RATE, NodeSerialLink, type NodeSerialLinkOptions } from "./node-serial-link.js";
export {
  type AtPeerReply,
  type AtPeerScript,
  atLines,
  ScriptedAtPeer,
  type ScriptedAtPeerOptions,
} from "./scripted-at-peer.js";
export type { SerialLink } from "./serial-link.js";
