/**
 * A pino-compatible logger interface: the SDK logs structured fields through whatever the caller injects.
 * Secrets never reach it: the SDK does not log them, and {@link redactSecrets} scrubs registered secret
 * strings from every line as a second line of defence.
 */
export interface LogFn {
  (obj: Record<string, unknown>, msg?: string): void;
  (msg: string): void;
}

export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}
