/**
 * @triadkit/firmware-sim: virtual devices and the local platform emulator.
 */

export * from "./emulator/device-directory.js";
export * from "./emulator/platform-emulator.js";
export * from "./identity.js";
