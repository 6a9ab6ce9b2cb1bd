/** The board's WiFi station: the WifiManager interface, nmcli / wpa_cli / simulated managers, the command runner. */

export {
  type CommandResult,
  type CommandRunner,
  type FakeCommandResponse,
  FakeCommandRunner,
  NodeCommandRunner,
  type NodeCommandRunnerOptions,
  type RecordedCommand,
  type RunOptions,
} from "./command-runner.js";
export {
  classifyNmcliFailure,
  NMCLI_EXIT,
  NMCLI_SCAN_FIELDS,
  type NmcliDeviceState,
  NmcliWifiManager,
  type NmcliWifiManagerOptions,
  nmcliSecurityToAuth,
  parseNmcliDeviceShow,
  parseNmcliFieldLines,
  parseNmcliWifiList,
  splitNmcliTerseLine,
} from "./nmcli.js";
export {
  loadWifiNetworksFile,
  type ParsedWifiNetworksFile,
  parseWifiNetworksFile,
  SIMULATED_WIFI_FAULTS,
  type SimulatedJoinAttempt,
  type SimulatedNetwork,
  type SimulatedWifiFault,
  SimulatedWifiManager,
  type SimulatedWifiManagerOptions,
  type WifiNetworksFileProblem,
} from "./simulated.js";
export type {
  WifiAuth,
  WifiCredentials,
  WifiFailure,
  WifiJoinResult,
  WifiManager,
  WifiNetwork,
} from "./wifi-manager.js";
export {
  frequencyToChannel,
  isUsableSsid,
  isUsableWifiPassword,
  normalizeBssid,
  signalPercentToDbm,
  wpaLevelToDbm,
} from "./wifi-util.js";
export {
  classifyWpaEvents,
  decodeWpaString,
  parseWpaListNetworks,
  parseWpaScanResults,
  parseWpaStatus,
  type WpaConfiguredNetwork,
  type WpaJoinEvents,
  type WpaStatus,
  WpaSupplicantWifiManager,
  type WpaSupplicantWifiManagerOptions,
  wpaFlagsToAuth,
  wpaReplies,
} from "./wpa-supplicant.js";
