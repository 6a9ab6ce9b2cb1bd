export * from "./device-state.js";
export * from "./simulated-flash.js";
export * from "./simulated-flash-store.js";
