/**
 * @triadkit/sdk: the device runtime. Hardware and time sit behind small injected interfaces.
 */

export * from "./binding/index.js";
export * from "./ble/index.js";
export * from "./cli-io.js";
export * from "./clock.js";
export * from "./device-records.js";
export * from "./factory/index.js";
export * from "./logging/index.js";
export * from "./modem/index.js";
export * from "./node-hmac.js";
export * from "./products/index.js";
export * from "./provisioning/index.js";
export * from "./queue/index.js";
export * from "./random.js";
export * from "./session/index.js";
export * from "./storage/index.js";
export * from "./top/index.js";
export * from "./wifi/index.js";
