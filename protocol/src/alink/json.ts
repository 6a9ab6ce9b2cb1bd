/**
 * Internal JSON helpers shared by the Alink codecs (not re-exported from the barrel).
 *
 * Error policy: every failure is a {@link TriadkitError} with code `alink.bad_payload` (or the code the caller
 * passes). Messages and context name the offending *field* and what was expected, never the value: some Alink
 * payloads carry secrets (dynamic registration), and a JSON `SyntaxError` quotes the input, so it is never
 * attached as `cause` either.
 */

import { type ErrorCode, fail } from "../errors.js";
import { utf8 } from "../util/bytes.js";

export type JsonObject = Record<string, unknown>;

/** Throws `alink.bad_payload` "{what}: {field} must be {expected}", with the field name (never the value). */
export function badField(what: string, field: string, expected: string): never {
  return fail("alink.bad_payload", `${what}: ${field} must be ${expected}`, { field, expected });
}

/** Deepest nesting {@link assertJsonValue} accepts; guards against cycles and stack exhaustion. */
export const MAX_JSON_DEPTH = 64;

const decoder = new TextDecoder("utf-8", { fatal: true });

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Decodes UTF-8 JSON bytes and requires a top-level object. `what` names the payload in error messages.
 * Throws `alink.bad_payload` for non-bytes, invalid UTF-8, invalid JSON or a non-object top level.
 */
export function parseJsonObject(bytes: Uint8Array, what: string): JsonObject {
  if (!(bytes instanceof Uint8Array)) fail("alink.bad_payload", `${what}: payload must be a Uint8Array`);
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return fail("alink.bad_payload", `${what}: payload is not valid UTF-8`, { length: bytes.length });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // No `cause`: the SyntaxError message quotes the input, which may hold a secret.
    return fail("alink.bad_payload", `${what}: payload is not valid JSON`, { length: bytes.length });
  }
  if (!isJsonObject(value)) fail("alink.bad_payload", `${what}: payload must be a JSON object`);
  return value;
}

/**
 * Checks that `value` survives JSON unchanged: plain objects, arrays, strings, finite numbers, booleans, null.
 * `undefined` object members are allowed (JSON.stringify drops them, like optional fields); anywhere else,
 * `undefined`, functions, symbols, bigints, NaN/Infinity, class instances and cycles are refused.
 */
export function assertJsonValue(value: unknown, what: string, path = "params", depth = 0): void {
  if (depth > MAX_JSON_DEPTH) fail("alink.bad_payload", `${what}: ${path} nests deeper than ${MAX_JSON_DEPTH}`);
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) fail("alink.bad_payload", `${what}: ${path} is not a finite number`, { field: path });
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (value[i] === undefined) fail("alink.bad_payload", `${what}: ${path}[${i}] is undefined`, { field: path });
      assertJsonValue(value[i], what, `${path}[${i}]`, depth + 1);
    }
    return;
  }
  if (typeof value === "object") {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      fail("alink.bad_payload", `${what}: ${path} is not a plain object`, { field: path });
    }
    for (const [key, member] of Object.entries(value)) {
      if (member !== undefined) assertJsonValue(member, what, `${path}.${key}`, depth + 1);
    }
    return;
  }
  fail("alink.bad_payload", `${what}: ${path} is not a JSON value (${typeof value})`, { field: path });
}

/** JSON-encodes to UTF-8 bytes. Callers validate first; this only serialises. */
export function encodeJson(value: unknown): Uint8Array {
  return utf8(JSON.stringify(value));
}

export interface StringRule {
  /** Longest accepted length in UTF-16 code units (default 256). */
  readonly maxLength?: number;
  /** Allow the empty string (default false). */
  readonly allowEmpty?: boolean;
  /** Pattern the whole value must match. */
  readonly pattern?: RegExp;
  /** Human description used in messages instead of the pattern, e.g. "decimal digits". */
  readonly describe?: string;
}

export interface IntegerRule {
  readonly min: number;
  readonly max: number;
}

/** Non-negative safe integer: the usual range for counters and millisecond timestamps. */
export const NON_NEGATIVE: IntegerRule = { min: 0, max: Number.MAX_SAFE_INTEGER };

/**
 * Typed, strict field access on one JSON object. `what` names the payload, `path` the object within it
 * (e.g. `params.value.`), so messages read "binding heartbeat: params.value.seq must be ...".
 */
export class JsonReader {
  constructor(
    readonly obj: JsonObject,
    readonly what: string,
    readonly path = "",
    readonly code: ErrorCode = "alink.bad_payload",
  ) {}

  fieldName(key: string): string {
    return `${this.path}${key}`;
  }

  bad(key: string, expected: string): never {
    const field = this.fieldName(key);
    return fail(this.code, `${this.what}: ${field} must be ${expected}`, { field, expected });
  }

  has(key: string): boolean {
    return Object.hasOwn(this.obj, key);
  }

  raw(key: string): unknown {
    return this.has(key) ? this.obj[key] : undefined;
  }

  string(key: string, rule: StringRule = {}): string {
    if (!this.has(key)) this.bad(key, "present");
    return this.checkString(key, this.obj[key], rule);
  }

  optionalString(key: string, rule: StringRule = {}): string | undefined {
    return this.has(key) ? this.checkString(key, this.obj[key], rule) : undefined;
  }

  /** A string that must equal one of `allowed`. */
  literal<T extends string>(key: string, allowed: readonly T[]): T {
    const value = this.raw(key);
    if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
      this.bad(key, `one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`);
    }
    return value as T;
  }

  integer(key: string, rule: IntegerRule): number {
    if (!this.has(key)) this.bad(key, "present");
    return this.checkInteger(key, this.obj[key], rule);
  }

  optionalInteger(key: string, rule: IntegerRule): number | undefined {
    return this.has(key) ? this.checkInteger(key, this.obj[key], rule) : undefined;
  }

  /**
   * An integer that the wire may carry as a JSON number or as a decimal string (`"1700000000000"`), as the
   * C SDKs emit it. Strings must be plain decimal (optional leading `-` when `min < 0`), no spaces or exponents.
   */
  wireInteger(key: string, rule: IntegerRule): number {
    if (!this.has(key)) this.bad(key, "present");
    const value = this.obj[key];
    if (typeof value === "string") {
      if (!/^-?(0|[1-9][0-9]{0,15})$/.test(value)) this.bad(key, "an integer or a decimal string");
      return this.checkInteger(key, Number(value), rule);
    }
    return this.checkInteger(key, value, rule);
  }

  object(key: string): JsonReader {
    const value = this.raw(key);
    if (!isJsonObject(value)) this.bad(key, "a JSON object");
    return new JsonReader(value, this.what, `${this.fieldName(key)}.`, this.code);
  }

  array(key: string): readonly unknown[] {
    const value = this.raw(key);
    if (!Array.isArray(value)) this.bad(key, "a JSON array");
    return value;
  }

  private checkString(key: string, value: unknown, rule: StringRule): string {
    const maxLength = rule.maxLength ?? 256;
    if (typeof value !== "string") this.bad(key, "a string");
    if (value.length === 0 && !rule.allowEmpty) this.bad(key, "a non-empty string");
    if (value.length > maxLength) this.bad(key, `at most ${maxLength} characters`);
    if (rule.pattern !== undefined && value.length > 0 && !rule.pattern.test(value)) {
      this.bad(key, rule.describe ?? `a string matching ${rule.pattern}`);
    }
    return value;
  }

  private checkInteger(key: string, value: unknown, rule: IntegerRule): number {
    if (typeof value !== "number" || !Number.isSafeInteger(value)) this.bad(key, "a safe integer");
    if (value < rule.min || value > rule.max) this.bad(key, `an integer in [${rule.min}, ${rule.max}]`);
    return value === 0 ? 0 : value; // normalise -0
  }
}
