/**
 * The on-flash record: one key's value at one generation, self-describing and checksummed. The same bytes are
 * what a FileFlashStore slot file holds and what a simulated (or real) flash slot holds.
 *
 * Byte layout, format version 1 (integers little-endian):
 *
 * ```
 * offset size field
 *  0     2    magic 0x54 0x4B ("TK"); also the commit marker on raw flash (programmed last)
 *  2     1    format version (1)
 *  3     1    key length K, 1..64
 *  4     4    generation (u32): +1 per write of the key, compared in serial-number arithmetic
 *  8     4    value length L (u32)
 * 12     4    value CRC-32 over the L value bytes
 * 16     4    header CRC-32 over bytes [0, 16) followed by the K key bytes
 * 20     K    key, ASCII (matches FLASH_KEY_PATTERN)
 * 20+K   L    value
 * ```
 *
 * Every byte is covered: the header CRC protects the fixed header (including the value CRC) and the key; the value
 * CRC protects the value. Two checks instead of one let a reader trust the key, generation and length before
 * reading the value (a flash driver reads the header first), and tell "this key's value is damaged" apart from
 * "these bytes belong to nobody".
 *
 * Stability rule: every future format version keeps bytes [0, 20) and the header CRC exactly as above and only
 * changes what the version means for the bytes after the key. So a reader meeting a higher version can verify the
 * header and report `store.unsupported_version` (written by newer firmware) instead of `store.corrupt_record`.
 *
 * Bytes after the record (erased flash, 0xFF) are ignored.
 */
import { TriadkitError } from "@triadkit/protocol";
import { assertFlashKey, MAX_FLASH_KEY_LENGTH } from "./checks.js";
import { crc32 } from "./crc32.js";
import { FLASH_KEY_PATTERN } from "./flash-store.js";

export const RECORD_MAGIC = 0x4b54; // "TK" read as u16 little-endian
export const RECORD_MAGIC_BYTES: readonly number[] = [0x54, 0x4b];
export const RECORD_FORMAT_VERSION = 1;
export const RECORD_HEADER_BYTES = 20;
export const MAX_GENERATION = 0xffff_ffff;

/** A decoded record. */
export interface FlashRecord {
  readonly key: string;
  /** u32; see {@link isNewerGeneration}. */
  readonly generation: number;
  readonly value: Uint8Array;
}

/** Header fields, once the header CRC has verified them. */
export interface RecordHeader {
  readonly version: number;
  readonly key: string;
  readonly generation: number;
  readonly valueLength: number;
}

/**
 * What a reader can say about bytes that should start with a record, without throwing:
 * - `valid`: a version-1 record, every check passed;
 * - `unsupported`: the header verifies but the version is not 1 (newer firmware wrote it);
 * - `damaged`: the checks fail. `header` is present when the header verified and only the value is bad
 *   (then the damage can be attributed to `header.key`).
 */
export type RecordInspection =
  | { readonly status: "valid"; readonly record: FlashRecord; readonly byteLength: number }
  | { readonly status: "unsupported"; readonly header: RecordHeader }
  | { readonly status: "damaged"; readonly reason: string; readonly header?: RecordHeader };

/** Size of the record for a key of `keyLength` bytes and a value of `valueLength` bytes. */
export function recordBytes(keyLength: number, valueLength: number): number {
  return RECORD_HEADER_BYTES + keyLength + valueLength;
}

/** Encodes a version-1 record. Throws `store.bad_key` or `config.invalid` (generation not a u32). */
export function encodeRecord(record: FlashRecord): Uint8Array {
  assertFlashKey(record.key);
  const { key, generation, value } = record;
  if (!Number.isInteger(generation) || generation < 0 || generation > MAX_GENERATION) {
    throw new TriadkitError("config.invalid", "generation must be a u32", { generation });
  }
  if (!(value instanceof Uint8Array)) throw new TriadkitError("config.invalid", "record value must be a Uint8Array");
  const out = new Uint8Array(recordBytes(key.length, value.length));
  const view = new DataView(out.buffer);
  view.setUint16(0, RECORD_MAGIC, true);
  out[2] = RECORD_FORMAT_VERSION;
  out[3] = key.length;
  view.setUint32(4, generation, true);
  view.setUint32(8, value.length, true);
  view.setUint32(12, crc32(value), true);
  for (let i = 0; i < key.length; i++) out[RECORD_HEADER_BYTES + i] = key.charCodeAt(i);
  view.setUint32(16, headerCrc(out, key.length), true);
  out.set(value, RECORD_HEADER_BYTES + key.length);
  return out;
}

/**
 * Decodes the record at the start of `bytes` (trailing bytes ignored). The value is a copy.
 * Throws `store.corrupt_record` or `store.unsupported_version`; never anything else, whatever the input.
 */
export function decodeRecord(bytes: Uint8Array): FlashRecord {
  const inspection = inspectRecord(bytes);
  switch (inspection.status) {
    case "valid":
      return inspection.record;
    case "unsupported":
      throw new TriadkitError("store.unsupported_version", `record format version ${inspection.header.version}`, {
        key: inspection.header.key,
        version: inspection.header.version,
        supported: RECORD_FORMAT_VERSION,
      });
    case "damaged":
      throw new TriadkitError("store.corrupt_record", `record is damaged: ${inspection.reason}`, {
        key: inspection.header?.key,
        reason: inspection.reason,
      });
  }
}

/** Classifies the bytes at the start of `bytes`; see {@link RecordInspection}. Never throws on bad input. */
export function inspectRecord(bytes: Uint8Array): RecordInspection {
  if (!(bytes instanceof Uint8Array)) return { status: "damaged", reason: "not bytes" };
  if (bytes.length < RECORD_HEADER_BYTES) return { status: "damaged", reason: "shorter than a header" };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(0, true) !== RECORD_MAGIC) return { status: "damaged", reason: "bad magic" };
  const keyLength = bytes[3] as number;
  if (keyLength < 1 || keyLength > MAX_FLASH_KEY_LENGTH) return { status: "damaged", reason: "bad key length" };
  if (bytes.length < RECORD_HEADER_BYTES + keyLength) return { status: "damaged", reason: "truncated key" };
  if (view.getUint32(16, true) !== headerCrc(bytes, keyLength)) {
    return { status: "damaged", reason: "header checksum mismatch" };
  }
  let key = "";
  for (let i = 0; i < keyLength; i++) key += String.fromCharCode(bytes[RECORD_HEADER_BYTES + i] as number);
  if (!FLASH_KEY_PATTERN.test(key)) return { status: "damaged", reason: "key has forbidden characters" };
  const header: RecordHeader = {
    version: bytes[2] as number,
    key,
    generation: view.getUint32(4, true),
    valueLength: view.getUint32(8, true),
  };
  if (header.version !== RECORD_FORMAT_VERSION) return { status: "unsupported", header };
  const start = RECORD_HEADER_BYTES + keyLength;
  const end = start + header.valueLength;
  if (end > bytes.length) return { status: "damaged", reason: "truncated value", header };
  if (crc32(bytes, 0, start, end) !== view.getUint32(12, true)) {
    return { status: "damaged", reason: "value checksum mismatch", header };
  }
  return {
    status: "valid",
    // A copy, and a plain Uint8Array even when `bytes` is a Node Buffer (whose slice() would alias).
    record: { key, generation: header.generation, value: new Uint8Array(bytes.subarray(start, end)) },
    byteLength: end,
  };
}

/** True when generation `a` is newer than `b` in RFC 1982 serial-number arithmetic over u32 (so wrap-around works). */
export function isNewerGeneration(a: number, b: number): boolean {
  const d = (a - b) >>> 0;
  return d !== 0 && d < 0x8000_0000;
}

/** The generation after `g` (wraps from 2^32-1 to 0). */
export function nextGeneration(g: number): number {
  return (g + 1) >>> 0;
}

function headerCrc(bytes: Uint8Array, keyLength: number): number {
  return crc32(bytes, crc32(bytes, 0, 0, 16), RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + keyLength);
}
