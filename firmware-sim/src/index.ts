/**
 * @triadkit/firmware-sim: virtual devices and the local platform emulator.
 */

export * from "./air/index.js";
export * from "./binding/index.js";
export * from "./ble/index.js";
export * from "./emulator/acl.js";
export * from "./emulator/csv-import.js";
export * from "./emulator/device-directory.js";
export { HTTP_REGISTER_CODES, REGISTER_PATH, type TlsMaterial } from "./emulator/listeners.js";
export * from "./emulator/message-log.js";
export {
  type CallOptions,
  DEFAULT_RATE_LIMIT,
  type EmulatorLogger,
  type InvokeOptions,
  type KickReason,
  type OnlineDevice,
  type PlatformEmulatorEvents,
  type PlatformEmulatorOptions,
  type Transport,
} from "./emulator/options.js";
export * from "./emulator/platform-emulator.js";
export * from "./emulator/rate-limit.js";
export {
  type RegistrationGrant,
  type RegistrationOptions,
  randomAlnum,
  regnwlClientId,
} from "./emulator/registration.js";
export * from "./emulator/sqlite-registry.js";
export * from "./flash/index.js";
export * from "./fleet/index.js";
export * from "./identity.js";
export * from "./modem/index.js";
export * from "./products/index.js";
export * from "./pty/pty-pair.js";
export * from "./scenario/index.js";
export * from "./top/index.js";
