export * from "./receiver.js";
export * from "./table-store.js";
