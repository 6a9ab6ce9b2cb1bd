export * from "./duration.js";
export * from "./junit.js";
export * from "./runner.js";
export * from "./schema.js";
