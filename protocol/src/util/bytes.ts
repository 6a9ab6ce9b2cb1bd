import { fail } from "../errors.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

export function fromUtf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    return fail("encoding.bad_utf8", "bytes are not valid UTF-8");
  }
}

// One two-digit string per byte value: a table lookup per byte (hex is on the connect-signing hot path).
const HEX_LOWER: readonly string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
const HEX_UPPER: readonly string[] = HEX_LOWER.map((h) => h.toUpperCase());

export function toHex(bytes: Uint8Array, upper = false): string {
  const table = upper ? HEX_UPPER : HEX_LOWER;
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += table[bytes[i] as number] as string;
  return out;
}

/** Decodes hex of either case. Throws `encoding.bad_hex` on odd length or non-hex characters. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    return fail("encoding.bad_hex", "not an even-length hex string", { length: hex.length });
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Compares two byte arrays in time that depends only on their lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
