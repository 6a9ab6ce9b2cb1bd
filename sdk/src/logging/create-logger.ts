import { type DestinationStream, type LevelWithSilent, pino } from "pino";
import type { Logger } from "./logger.js";
import { REDACTED, redactSecrets } from "./redact.js";

/**
 * Field names whose values never reach a sink, whatever they hold (camelCase as the SDK writes them, plus the
 * snake_case spellings other code uses).
 */
export const SECRET_FIELD_NAMES = [
  "deviceSecret",
  "productSecret",
  "password",
  "secret",
  "pop",
  "wifiPassword",
  "passphrase",
  "sessionKey",
  "token",
  "deviceToken",
  "idNumber",
  "device_secret",
  "product_secret",
  "wifi_password",
  "session_key",
  "device_token",
  "id_number",
] as const;

/** pino `redact` paths for {@link SECRET_FIELD_NAMES}: each at the top level and one level deep (`*.name`). */
export function secretRedactPaths(): string[] {
  return SECRET_FIELD_NAMES.flatMap((name) => [name, `*.${name}`]);
}

export interface CreateLoggerOptions {
  /** Default `info`. */
  readonly level?: LevelWithSilent;
  /** Where lines go (any pino destination: `pino.destination(…)`, a stream, `{ write(line) {…} }`); default stdout. */
  readonly destination?: DestinationStream;
  /** Also scrub these secret values from every line ({@link redactSecrets}). */
  readonly secrets?: () => Iterable<string>;
}

/**
 * A pino logger typed as {@link Logger}, with `redact` censoring {@link SECRET_FIELD_NAMES} at the top level and
 * one level deep (in fields and child bindings) as `[redacted]`. Field-name redaction cannot see a secret under
 * an innocent name or inside a string; pass `secrets` (or wrap with {@link redactSecrets}) for that.
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const config = {
    level: options.level ?? "info",
    redact: { paths: secretRedactPaths(), censor: REDACTED },
  };
  const logger: Logger = options.destination === undefined ? pino(config) : pino(config, options.destination);
  return options.secrets === undefined ? logger : redactSecrets(logger, options.secrets);
}
