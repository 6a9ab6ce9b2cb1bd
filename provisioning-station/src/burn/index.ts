/** Burning (issue 7): fixtures, their lock, the factory client, burn sessions, reconcile, rework and scrap. */
export {
  type BleFactoryLink,
  type BurnOverBleOptions,
  burnOverBle,
  DEFAULT_RSSI_FLOOR_DBM,
  type OpenBleFactoryLinkOptions,
  openBleFactoryLink,
  parseScannedMac,
} from "./ble-link.js";
export { processDevice } from "./burn-device.js";
export { type BurnPort, type BurnSessionOptions, type BurnSessionResult, runBurnSession } from "./burn-session.js";
export type { BurnContext, DeviceOutcome, OutcomeAction } from "./device-steps.js";
export {
  DEFAULT_REQUEST_TIMEOUT_MS,
  deviceErrorCode,
  FactoryClient,
  type FactoryClientOptions,
} from "./factory-client.js";
export * from "./fixture-lock.js";
export { type PortHandle, reconcileHeld, reconcileOnStart, type StartReconcileEntry } from "./reconcile.js";
export { restoredDatabaseError } from "./restore-guard.js";
export { type ReworkMode, type ReworkRequest, reworkDevice, scrapChip } from "./rework.js";
export * from "./station-config.js";
export { checkDeviceFitsOrder, compareFirmware } from "./work-order-check.js";
