/** The virtual cellular modem: AT dialects, behaviours, faults, and ways to serve it (in memory, on a PTY). */
export { commandParams, type ParsedLine, parseCommandLine } from "./at-line.js";
export { CME, cmeErrorLine, cmeText } from "./cme.js";
export {
  AT_ERROR,
  atOk,
  cmeError,
  DIALECT_PROFILES,
  type DialectProfile,
  delayed,
  dialectBehaviours,
  modemBehaviour,
  simGate,
} from "./dialects.js";
export { encodeEfIccid } from "./ef-iccid.js";
export { RawAtHost } from "./raw-host.js";
export { createVirtualModemPair, type ServedModem, serveModemOnPty, type VirtualModemPair } from "./serve.js";
export * from "./types.js";
export { MAX_COMMAND_LINE, trafficText, VirtualModem } from "./virtual-modem.js";
