/**
 * Device persistence: the FlashStore interface, its implementations, the record format and the helpers built on it.
 * The contract test suite (flash-store.contract.ts) is deliberately not exported here: it imports vitest.
 */
export { assertFlashKey, assertFlashValue, MAX_FLASH_KEY_LENGTH } from "./checks.js";
export { crc32 } from "./crc32.js";
export * from "./file-flash-store.js";
export * from "./flash-store.js";
export * from "./memory-flash-store.js";
export * from "./persistent-counter.js";
export * from "./record-format.js";
export * from "./two-slot-store.js";
export * from "./typed-record.js";
