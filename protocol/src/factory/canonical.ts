/**
 * Deterministic CBOR for the factory record (RFC 8949 §4.2.1 "core deterministic encoding"): shortest heads,
 * definite lengths, map keys sorted by the bytewise order of their encodings (for text keys: shorter first, then
 * bytewise), absent (undefined) map entries omitted. Only what the record needs: unsigned integers up to 2^53 - 1,
 * byte strings, text strings and maps with text keys. Self-contained, so the record bytes (and the record hash)
 * are specified here and do not depend on a library version. The tiny provisioning `canonicalCbor` has neither
 * maps nor 64-bit integers, hence this one.
 */

import { fail } from "../errors.js";
import { utf8 } from "../util/bytes.js";

export type DeterministicValue =
  | number
  | string
  | Uint8Array
  | { readonly [key: string]: DeterministicValue | undefined };

function head(out: number[], major: number, n: number): void {
  const m = major << 5;
  if (n < 24) out.push(m | n);
  else if (n < 0x100) out.push(m | 24, n);
  else if (n < 0x10000) out.push(m | 25, n >> 8, n & 0xff);
  else if (n < 0x100000000) out.push(m | 26, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  else {
    const hi = Math.floor(n / 0x100000000);
    const lo = n >>> 0;
    out.push(m | 27, hi >>> 24, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff);
    out.push(lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff);
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

function put(out: number[], value: DeterministicValue): void {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) fail("internal.unexpected", "deterministic CBOR: only uint53");
    head(out, 0, value);
  } else if (typeof value === "string") {
    const b = utf8(value);
    head(out, 3, b.length);
    for (const x of b) out.push(x);
  } else if (value instanceof Uint8Array) {
    head(out, 2, value.length);
    for (const x of value) out.push(x);
  } else {
    const entries = Object.entries(value)
      .filter((e): e is [string, DeterministicValue] => e[1] !== undefined)
      .map(([k, v]) => {
        const key: number[] = [];
        put(key, k);
        return { key: Uint8Array.from(key), v };
      })
      .sort((a, b) => compareBytes(a.key, b.key));
    head(out, 5, entries.length);
    for (const { key, v } of entries) {
      for (const x of key) out.push(x);
      put(out, v);
    }
  }
}

/** Encodes a value in RFC 8949 core deterministic CBOR. */
export function deterministicCbor(value: DeterministicValue): Uint8Array {
  const out: number[] = [];
  put(out, value);
  return Uint8Array.from(out);
}
