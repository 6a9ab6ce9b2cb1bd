/**
 * @triadkit/sdk: the device runtime. Hardware and time sit behind small injected interfaces.
 */
export * from "./clock.js";
export * from "./random.js";
