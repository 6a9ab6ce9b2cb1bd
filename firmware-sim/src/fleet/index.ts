export * from "./connector.js";
export * from "./fault-proxy.js";
export * from "./fleet.js";
export * from "./fleet-device.js";
export * from "./report.js";
export * from "./shard.js";
export * from "./source-address.js";
export * from "./stats.js";
