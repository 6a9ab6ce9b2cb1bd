import type { LogFn, Logger } from "./logger.js";

export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = { debug: 20, info: 30, warn: 40, error: 50 };

/** One collected line: `{ level, msg, ...bindings, ...fields }` (`msg` absent when none was given). */
export interface MemoryLogEntry {
  readonly level: LogLevel;
  readonly msg?: string;
  readonly [field: string]: unknown;
}

export interface MemoryLoggerOptions {
  /** Lines below this level are not collected (default `debug`: everything). */
  readonly level?: LogLevel;
  /** Collect into this array (children share their parent's). */
  readonly entries?: MemoryLogEntry[];
  /** Fields added to every line (what `child` passes down). */
  readonly bindings?: Readonly<Record<string, unknown>>;
}

/** JSON-safe form: Errors as pino prints them (`type`, `message`, `stack`, own fields), bigints as strings, cycles cut. */
function toJsonValue(value: unknown, ancestors: Set<object>): unknown {
  if (typeof value === "bigint") return value.toString();
  if (typeof value !== "object" || value === null) return value;
  if (ancestors.has(value)) return "[Circular]";
  ancestors.add(value);
  try {
    if (value instanceof Error) {
      const out: Record<string, unknown> = {
        type: value.constructor?.name ?? value.name,
        message: value.message,
        stack: value.stack,
      };
      for (const [k, v] of Object.entries(value)) out[k] = toJsonValue(v, ancestors);
      if (value.cause !== undefined) out["cause"] = toJsonValue(value.cause, ancestors);
      return out;
    }
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") return toJsonValue(toJSON.call(value), ancestors);
    if (Array.isArray(value)) return value.map((item) => toJsonValue(item, ancestors));
    if (value instanceof Map) return toJsonValue(Object.fromEntries(value), ancestors);
    if (value instanceof Set) return toJsonValue([...value], ancestors);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toJsonValue(v, ancestors);
    return out;
  } finally {
    ancestors.delete(value);
  }
}

/**
 * A {@link Logger} that collects lines in memory, for tests: `entries` holds `{ level, msg, ...fields }` objects,
 * `lines()` their JSON (one per line, as a pino sink would see them), `text()` all of it.
 * Children write into the same `entries` with their bindings added.
 */
export class MemoryLogger implements Logger {
  readonly entries: MemoryLogEntry[];
  private readonly bindings: Readonly<Record<string, unknown>>;
  private readonly level: LogLevel;
  private readonly minRank: number;

  constructor(options: MemoryLoggerOptions = {}) {
    this.entries = options.entries ?? [];
    this.bindings = options.bindings ?? {};
    this.level = options.level ?? "debug";
    this.minRank = LEVEL_RANK[this.level];
  }

  readonly debug: LogFn = (first: Record<string, unknown> | string, msg?: string) => this.record("debug", first, msg);
  readonly info: LogFn = (first: Record<string, unknown> | string, msg?: string) => this.record("info", first, msg);
  readonly warn: LogFn = (first: Record<string, unknown> | string, msg?: string) => this.record("warn", first, msg);
  readonly error: LogFn = (first: Record<string, unknown> | string, msg?: string) => this.record("error", first, msg);

  child(bindings: Record<string, unknown>): MemoryLogger {
    return new MemoryLogger({ entries: this.entries, bindings: { ...this.bindings, ...bindings }, level: this.level });
  }

  isLevelEnabled(level: string): boolean {
    const rank = LEVEL_RANK[level as LogLevel];
    return rank !== undefined && rank >= this.minRank;
  }

  /** Each entry as one line of JSON. */
  lines(): string[] {
    return this.entries.map((entry) => JSON.stringify(toJsonValue(entry, new Set())));
  }

  /** All lines, newline-separated. */
  text(): string {
    return this.lines().join("\n");
  }

  /** The messages only, in order. */
  messages(): (string | undefined)[] {
    return this.entries.map((entry) => entry.msg);
  }

  clear(): void {
    this.entries.length = 0;
  }

  private record(level: LogLevel, first: unknown, message: unknown): void {
    if (LEVEL_RANK[level] < this.minRank) return;
    let fields: Record<string, unknown> = {};
    let msg: string | undefined;
    if (typeof first === "string") {
      msg = first;
    } else if (first instanceof Error) {
      fields = { err: first };
      msg = typeof message === "string" ? message : first.message;
    } else if (typeof first === "object" && first !== null) {
      fields = first as Record<string, unknown>;
      if (typeof message === "string") msg = message;
    } else if (first !== undefined) {
      msg = String(first);
    }
    const entry: Record<string, unknown> = { level };
    if (msg !== undefined) entry["msg"] = msg;
    Object.assign(entry, this.bindings, fields);
    entry["level"] = level;
    if (msg !== undefined) entry["msg"] = msg;
    this.entries.push(entry as unknown as MemoryLogEntry);
  }
}

const noop: LogFn = () => {};

/** A Logger that discards everything (the SDK's default). Immutable, so sharing it is not global state. */
export const silentLogger: Logger = Object.freeze({
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: (): Logger => silentLogger,
});
