export * from "./noble-central.js";
export * from "./node-ble-central.js";
