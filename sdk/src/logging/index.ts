export * from "./create-logger.js";
export type * from "./logger.js";
export * from "./memory-logger.js";
export { MIN_SECRET_LENGTH, REDACTED, redactSecrets } from "./redact.js";
