/** The factory protocol (station ↔ blank board over the console UART). Byte layouts: docs/factory-protocol.md. */

export * from "./auth.js";
export * from "./ble-channel.js";
export { cobsDecode, cobsEncode, cobsMaxEncodedLength } from "./cobs.js";
export {
  CHIP_ID_PATTERN,
  FACTORY_HASH_BYTES,
  FACTORY_MAC_BYTES,
  FACTORY_PUBLIC_KEY_BYTES,
  FACTORY_SIGNATURE_BYTES,
  MAC_ADDRESS_PATTERN,
} from "./fields.js";
export * from "./framing.js";
export * from "./messages.js";
export * from "./record.js";
export * from "./types.js";
export * from "./verify.js";
