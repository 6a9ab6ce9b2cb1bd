import type { LogFn, Logger } from "./logger.js";
import { silentLogger } from "./memory-logger.js";

/** What every scrubbed secret and every redacted field becomes. */
export const REDACTED = "[redacted]";

/**
 * Registered secrets shorter than this are not scrubbed. A short string (a 4-digit PIN, "admin", "1") occurs all
 * over ordinary log text: scrubbing it would mangle every line, and the pattern of `[redacted]` marks would itself
 * reveal the secret. Real device secrets, MQTT passwords and tokens are far longer; short ones must be kept out of
 * logs by field name (see `createLogger`'s redact paths), not by value.
 */
export const MIN_SECRET_LENGTH = 6;

const LEVELS = ["debug", "info", "warn", "error"] as const;
type Level = (typeof LEVELS)[number];

/**
 * The strings to look for: each registered secret of at least {@link MIN_SECRET_LENGTH} characters, plus its
 * URL-encoded form when different (secrets end up in URLs and query strings), longest first so a secret that
 * contains another is replaced whole.
 */
export function secretPatterns(secrets: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const secret of secrets) {
    if (typeof secret !== "string" || secret.length < MIN_SECRET_LENGTH) continue;
    out.add(secret);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) out.add(encoded);
  }
  return [...out].sort((a, b) => b.length - a.length);
}

function scrubString(text: string, patterns: readonly string[]): string {
  let out = text;
  for (const pattern of patterns) if (out.includes(pattern)) out = out.split(pattern).join(REDACTED);
  return out;
}

function isBinary(value: object): boolean {
  return ArrayBuffer.isView(value) || value instanceof ArrayBuffer;
}

function scrubError(error: Error, patterns: readonly string[], seen: Map<object, unknown>): Error {
  // Same prototype, so `instanceof`, `name` and pino's error serializer still see the error's class.
  const copy = Object.create(Object.getPrototypeOf(error) as object | null) as Error;
  seen.set(error, copy);
  for (const key of Reflect.ownKeys(error)) {
    const descriptor = Object.getOwnPropertyDescriptor(error, key);
    if (descriptor === undefined) continue;
    const value = "value" in descriptor ? descriptor.value : descriptor.get?.call(error);
    Object.defineProperty(copy, key, {
      value: scrub(value, patterns, seen),
      enumerable: descriptor.enumerable ?? false,
      writable: true,
      configurable: true,
    });
  }
  // `message` and `stack` may live on the prototype chain (as accessors) on some runtimes.
  for (const key of ["message", "stack"] as const) {
    if (!Object.hasOwn(copy, key) && typeof error[key] === "string") {
      Object.defineProperty(copy, key, {
        value: scrubString(error[key] as string, patterns),
        enumerable: false,
        writable: true,
        configurable: true,
      });
    }
  }
  return copy;
}

/**
 * A deep copy of `value` with every occurrence of a pattern in any string (values and keys, in nested objects,
 * arrays, Maps, Sets, Errors with their message, stack, cause and own fields, and in what `toJSON` returns)
 * replaced by {@link REDACTED}. Binary data is passed through. Never mutates `value`; handles cycles.
 */
export function scrub(value: unknown, patterns: readonly string[], seen = new Map<object, unknown>()): unknown {
  if (typeof value === "string") return scrubString(value, patterns);
  if (typeof value !== "object" || value === null) return value;
  if (seen.has(value)) return seen.get(value);
  if (isBinary(value)) return value;
  if (value instanceof Error) return scrubError(value, patterns, seen);
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    seen.set(value, out);
    for (const item of value) out.push(scrub(item, patterns, seen));
    return out;
  }
  if (value instanceof Map) {
    const out = new Map<unknown, unknown>();
    seen.set(value, out);
    for (const [k, v] of value) out.set(scrub(k, patterns, seen), scrub(v, patterns, seen));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set<unknown>();
    seen.set(value, out);
    for (const item of value) out.add(scrub(item, patterns, seen));
    return out;
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") {
    // What the sink would print (a URL's href with its password, a Date's ISO string, …).
    seen.set(value, undefined);
    const out = scrub(toJSON.call(value), patterns, seen);
    seen.set(value, out);
    return out;
  }
  const out: Record<string, unknown> = {};
  seen.set(value, out);
  for (const [k, v] of Object.entries(value)) out[scrubString(k, patterns)] = scrub(v, patterns, seen);
  return out;
}

function isLevelEnabled(logger: Logger, level: Level): boolean {
  const check = (logger as { isLevelEnabled?: unknown }).isLevelEnabled;
  return typeof check === "function" ? (check as (l: string) => boolean).call(logger, level) !== false : true;
}

function merge(bindings: Record<string, unknown>, first: unknown): unknown {
  if (Object.keys(bindings).length === 0) return first;
  if (first instanceof Error) return { ...bindings, err: first };
  if (typeof first === "object" && first !== null) return { ...bindings, ...(first as Record<string, unknown>) };
  return bindings;
}

function wrap(inner: Logger, secrets: () => Iterable<string>, bindings: Record<string, unknown>): Logger {
  const method = (level: Level): LogFn => {
    const log = (first: unknown, ...rest: unknown[]): void => {
      if (!isLevelEnabled(inner, level)) return;
      const patterns = secretPatterns(secrets());
      // Child bindings are merged into each line (not handed to `inner.child`), so they are scrubbed with the
      // secrets registered when the line is logged, not when the child was created.
      let args: unknown[];
      if (typeof first === "string" && Object.keys(bindings).length > 0) args = [bindings, first, ...rest];
      else args = [merge(bindings, first), ...rest];
      const fn = inner[level] as (...a: unknown[]) => void;
      fn.apply(inner, patterns.length === 0 ? args : args.map((arg) => scrub(arg, patterns)));
    };
    return log as LogFn;
  };
  return {
    debug: method("debug"),
    info: method("info"),
    warn: method("warn"),
    error: method("error"),
    child: (more) => wrap(inner, secrets, { ...bindings, ...more }),
  };
}

/**
 * Wraps `logger` so that no registered secret reaches its sink: every occurrence of a string from `secrets()`
 * (at least {@link MIN_SECRET_LENGTH} characters; also URL-encoded) in the message, in any field at any depth
 * (values and keys, arrays, Maps, Sets), in Errors (message, stack, cause, own fields) and in child bindings is
 * replaced by `[redacted]`. `secrets` is called for each line, so secrets registered later (a fresh MQTT password)
 * are covered; children stay wrapped. The caller's objects are never mutated.
 *
 * This is the second line of defence behind "the SDK does not log secrets": it catches the mistake of logging
 * the MQTT password or a connect URL by accident. Field-name redaction (`createLogger`) is the other half.
 * {@link silentLogger} comes back as it is.
 */
export function redactSecrets(logger: Logger, secrets: () => Iterable<string>): Logger {
  // Nothing reaches a sink that discards everything: no wrapper (a fleet of silent devices keeps no closures).
  if (logger === silentLogger) return silentLogger;
  return wrap(logger, secrets, {});
}
