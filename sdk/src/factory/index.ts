export * from "./ble-factory-service.js";
export * from "./ble-record-link.js";
export * from "./credential-store.js";
export * from "./device-credentials.js";
export * from "./factory-responder.js";
