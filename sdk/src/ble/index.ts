export * from "./air/index.js";
export * from "./ble.js";
export * from "./bleno-peripheral.js";
export * from "./noble-central.js";
export * from "./node-ble-central.js";
export * from "./preflight.js";
export * from "./uuid.js";
export * from "./virtual-radio.js";
