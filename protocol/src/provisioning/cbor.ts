/**
 * Internal CBOR helpers for the provisioning codecs (not re-exported from the barrel).
 *
 * Encoding uses cbor-x with plain maps (text keys, insertion order), definite lengths and untagged byte strings,
 * so every encoder output is shortest-form RFC 8949 CBOR. Decoding uses cbor-x and then validates every field;
 * any decoder failure becomes `prov.bad_message` (never a raw library error). Unknown map keys are ignored so a
 * newer peer may add optional fields. The transcript is built by {@link canonicalCbor}, a tiny self-contained
 * deterministic encoder, so its bytes are specified by this file and not by a library version.
 */

import { Decoder, Encoder } from "cbor-x";
import { type ErrorCode, fail } from "../errors.js";
import { utf8 } from "../util/bytes.js";

const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  variableMapSize: true,
  pack: false,
});
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

/** Largest CBOR message a provisioning decoder accepts (bytes). */
export const MAX_CBOR_MESSAGE_BYTES = 4096;

export type CborObject = Record<string, unknown>;

export function encodeCbor(value: unknown): Uint8Array {
  const out = encoder.encode(value);
  return new Uint8Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
}

/** Decodes one CBOR map (no trailing bytes). Throws `prov.bad_message`. */
export function decodeCborMap(bytes: Uint8Array, what: string, code: ErrorCode = "prov.bad_message"): CborObject {
  if (!(bytes instanceof Uint8Array)) fail(code, `${what}: expected bytes`);
  if (bytes.length === 0) fail(code, `${what}: empty message`);
  if (bytes.length > MAX_CBOR_MESSAGE_BYTES) {
    fail(code, `${what}: message longer than ${MAX_CBOR_MESSAGE_BYTES} bytes`, { length: bytes.length });
  }
  let value: unknown;
  try {
    value = decoder.decode(bytes);
  } catch {
    return fail(code, `${what}: not well-formed CBOR`, { length: bytes.length });
  }
  if (!isCborObject(value)) fail(code, `${what}: expected a CBOR map`);
  return value;
}

export function isCborObject(value: unknown): value is CborObject {
  if (typeof value !== "object" || value === null) return false;
  if (Array.isArray(value) || ArrayBuffer.isView(value) || value instanceof Map || value instanceof Set) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Refused in every text field: a lone surrogate (cannot be UTF-8) or U+FFFD (what a lossy decoder substitutes). */
const BAD_TEXT = /\p{Cs}|\uFFFD/u;

export interface TextRule {
  /** Inclusive bounds on the UTF-8 byte length. */
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly pattern?: RegExp;
  readonly describe?: string;
}

export interface UintRule {
  readonly min: number;
  readonly max: number;
}

/** Typed, strict field access on one decoded CBOR map. Error contexts name the field, never its value. */
export class CborReader {
  constructor(
    readonly obj: CborObject,
    readonly what: string,
    readonly path = "",
    readonly code: ErrorCode = "prov.bad_message",
  ) {}

  bad(key: string, expected: string): never {
    const field = `${this.path}${key}`;
    return fail(this.code, `${this.what}: ${field} must be ${expected}`, { field });
  }

  has(key: string): boolean {
    return Object.hasOwn(this.obj, key) && this.obj[key] !== undefined;
  }

  raw(key: string): unknown {
    return this.has(key) ? this.obj[key] : undefined;
  }

  bytes(key: string, length: number | { min: number; max: number }): Uint8Array {
    const value = this.raw(key);
    const [min, max] = typeof length === "number" ? [length, length] : [length.min, length.max];
    const expected = min === max ? `${min} bytes` : `${min}-${max} bytes`;
    if (!(value instanceof Uint8Array)) this.bad(key, `a byte string of ${expected}`);
    if (value.length < min || value.length > max) this.bad(key, `a byte string of ${expected}`);
    return Uint8Array.from(value);
  }

  optionalBytes(key: string, length: number): Uint8Array | undefined {
    return this.has(key) ? this.bytes(key, length) : undefined;
  }

  uint(key: string, rule: UintRule): number {
    const value = this.raw(key);
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < rule.min || value > rule.max) {
      this.bad(key, `an integer in [${rule.min}, ${rule.max}]`);
    }
    return value;
  }

  optionalUint(key: string, rule: UintRule): number | undefined {
    return this.has(key) ? this.uint(key, rule) : undefined;
  }

  text(key: string, rule: TextRule): string {
    const value = this.raw(key);
    if (typeof value !== "string") this.bad(key, "a text string");
    return checkText(value, rule, (expected) => this.bad(key, expected));
  }

  optionalText(key: string, rule: TextRule): string | undefined {
    return this.has(key) ? this.text(key, rule) : undefined;
  }

  literal<T extends string>(key: string, allowed: readonly T[]): T {
    const value = this.raw(key);
    if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
      this.bad(key, `one of ${allowed.join(", ")}`);
    }
    return value as T;
  }

  optionalLiteral<T extends string>(key: string, allowed: readonly T[]): T | undefined {
    return this.has(key) ? this.literal(key, allowed) : undefined;
  }

  array(key: string, maxItems: number): readonly unknown[] {
    const value = this.raw(key);
    if (!Array.isArray(value) || value.length > maxItems) this.bad(key, `an array of at most ${maxItems} items`);
    return value;
  }

  map(value: unknown, key: string): CborReader {
    if (!isCborObject(value)) this.bad(key, "a map");
    return new CborReader(value, this.what, `${this.path}${key}.`, this.code);
  }
}

/** Checks a text value against a rule; `bad` receives the expectation (never the value). */
export function checkText(value: string, rule: TextRule, bad: (expected: string) => never): string {
  const describe = rule.describe ?? `${rule.minBytes}-${rule.maxBytes} bytes of UTF-8`;
  if (BAD_TEXT.test(value)) bad(`${describe} (no U+FFFD or lone surrogates)`);
  const n = utf8(value).length;
  if (n < rule.minBytes || n > rule.maxBytes) bad(describe);
  if (rule.pattern !== undefined && !rule.pattern.test(value)) bad(describe);
  return value;
}

// ---------------------------------------------------------------------------------------------------------------
// Canonical encoder for the transcript

/** The values the transcript needs: unsigned integers, byte strings, text strings and arrays of them. */
export type CanonicalValue = number | string | Uint8Array | readonly CanonicalValue[];

function head(major: number, n: number): number[] {
  const m = major << 5;
  if (n < 24) return [m | n];
  if (n < 0x100) return [m | 24, n];
  if (n < 0x10000) return [m | 25, n >> 8, n & 0xff];
  if (n < 0x100000000) return [m | 26, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  return fail("internal.unexpected", "canonical CBOR: length or integer too large");
}

/**
 * Deterministic CBOR (RFC 8949 §4.2.1: shortest heads, definite lengths) of unsigned integers < 2^32,
 * byte strings (major 2), text strings (major 3) and arrays (major 4).
 */
export function canonicalCbor(value: CanonicalValue): Uint8Array {
  const out: number[] = [];
  const put = (v: CanonicalValue): void => {
    if (typeof v === "number") {
      if (!Number.isInteger(v) || v < 0) fail("internal.unexpected", "canonical CBOR: only unsigned integers");
      out.push(...head(0, v));
    } else if (typeof v === "string") {
      const b = utf8(v);
      out.push(...head(3, b.length), ...b);
    } else if (v instanceof Uint8Array) {
      out.push(...head(2, v.length), ...v);
    } else {
      out.push(...head(4, v.length));
      for (const item of v) put(item);
    }
  };
  put(value);
  return Uint8Array.from(out);
}
