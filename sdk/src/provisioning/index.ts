export * from "./bind-token-report.js";
export * from "./ble-provisioner.js";
export * from "./ble-service.js";
export * from "./improv-ble-device.js";
export * from "./improv-serial-client.js";
export * from "./improv-serial-device.js";
export * from "./provisioning-core.js";
export * from "./softap.js";
