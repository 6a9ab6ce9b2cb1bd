export * from "./file-message-store.js";
export * from "./memory-message-store.js";
export * from "./message-store.js";
