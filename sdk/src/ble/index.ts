export * from "./ble.js";
export * from "./bleno-peripheral.js";
export * from "./preflight.js";
export * from "./uuid.js";
export * from "./virtual-radio.js";
