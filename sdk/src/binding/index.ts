export * from "./binding-record.js";
export * from "./reporter.js";
