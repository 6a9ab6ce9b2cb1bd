export * from "./credentials.js";
export * from "./smartstore.js";
export * from "./top-client.js";
