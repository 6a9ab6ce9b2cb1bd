/** Improv Wi-Fi: serial packets and parser, BLE RPC framing, constants (docs/provisioning.md, "Improv"). */

export * from "./ble.js";
export * from "./constants.js";
export * from "./serial.js";
