/**
 * On-disk format of {@link FileMessageStore}: framed segment records and the head file. Pure byte codecs, no I/O.
 * All integers are little-endian. See `docs/storage.md` (section "Offline queue (FileMessageStore)").
 *
 * Segment record (33 bytes of framing + topic + payload):
 * ```
 * offset  size  field
 *      0     4  magic "TKQ1" (54 4B 51 31; the "1" is the record format version)
 *      4     4  crc    CRC-32 (IEEE, as zlib) of bytes 8 .. end of record
 *      8     4  len    body length = bytes after this field = 21 + topicLen + payloadLen
 *     12     8  seq    sequence number (u64, < 2^53)
 *     20     8  queuedAtMs (f64)
 *     28     1  qos    0 or 1
 *     29     4  topicLen (u32)
 *     33     …  topic (UTF-8, topicLen bytes), then payload (the rest)
 * ```
 *
 * Head file (44 bytes, replaced atomically, never written in place):
 * ```
 *      0     4  magic "TKQH"
 *      4     4  version = 1
 *      8     8  headSeq: every message with seq < headSeq is gone (acked or dropped)
 *     16     8  dropped: messages dropped at the bound since the store was created
 *     24     8  corrupted: messages lost to corrupt records, counted once
 *     32     8  corruptThrough + 1: highest seq already counted in `corrupted`, plus one (0 = none)
 *     40     4  CRC-32 of bytes 0..40
 * ```
 */
import { crc32 } from "node:zlib";
import { TriadkitError } from "@triadkit/protocol";
import type { QueuedMessage } from "./message-store.js";

export const RECORD_MAGIC = Uint8Array.of(0x54, 0x4b, 0x51, 0x31); // "TKQ1"
export const RECORD_HEADER_BYTES = 33;
/** Body bytes before the topic: seq, queuedAtMs, qos, topicLen. */
const BODY_FIXED_BYTES = 21;

export const HEAD_MAGIC = Uint8Array.of(0x54, 0x4b, 0x51, 0x48); // "TKQH"
export const HEAD_VERSION = 1;
export const HEAD_BYTES = 44;

const decoder = new TextDecoder("utf-8", { fatal: true });

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function hasMagic(bytes: Uint8Array, pos: number, magic: Uint8Array): boolean {
  for (let i = 0; i < magic.length; i++) if (bytes[pos + i] !== magic[i]) return false;
  return true;
}

function getSafeU64(dv: DataView, offset: number): number | undefined {
  const value = dv.getBigUint64(offset, true);
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : undefined;
}

/** Frames one message as a segment record. */
export function encodeRecord(
  seq: number,
  message: QueuedMessage,
  topicBytes: Uint8Array = new TextEncoder().encode(message.topic),
): Uint8Array {
  const bodyLen = BODY_FIXED_BYTES + topicBytes.length + message.payload.length;
  const out = new Uint8Array(12 + bodyLen);
  const dv = view(out);
  out.set(RECORD_MAGIC, 0);
  dv.setUint32(8, bodyLen, true);
  dv.setBigUint64(12, BigInt(seq), true);
  dv.setFloat64(20, message.queuedAtMs, true);
  out[28] = message.qos;
  dv.setUint32(29, topicBytes.length, true);
  out.set(topicBytes, RECORD_HEADER_BYTES);
  out.set(message.payload, RECORD_HEADER_BYTES + topicBytes.length);
  dv.setUint32(4, crc32(out.subarray(8)), true);
  return out;
}

/** A record whose framing and checksum are good. */
export interface RecordFrame {
  readonly seq: number;
  /** Whole record length, framing included. */
  readonly length: number;
  /** Topic + payload bytes (what the record counts against the queue's byte bound). */
  readonly bytes: number;
}

/**
 * Checks the record starting at `pos`: magic, length within `bytes`, CRC, sane seq/qos/topic length.
 * Returns `undefined` for anything torn or damaged (never throws).
 */
export function readFrame(bytes: Uint8Array, pos: number): RecordFrame | undefined {
  if (pos < 0 || pos + RECORD_HEADER_BYTES > bytes.length) return undefined;
  if (!hasMagic(bytes, pos, RECORD_MAGIC)) return undefined;
  const dv = view(bytes);
  const bodyLen = dv.getUint32(pos + 8, true);
  if (bodyLen < BODY_FIXED_BYTES || pos + 12 + bodyLen > bytes.length) return undefined;
  const end = pos + 12 + bodyLen;
  if (crc32(bytes.subarray(pos + 8, end)) !== dv.getUint32(pos + 4, true)) return undefined;
  const seq = getSafeU64(dv, pos + 12);
  const qos = bytes[pos + 28];
  const topicLen = dv.getUint32(pos + 29, true);
  if (seq === undefined || (qos !== 0 && qos !== 1) || topicLen > bodyLen - BODY_FIXED_BYTES) return undefined;
  return { seq, length: 12 + bodyLen, bytes: bodyLen - BODY_FIXED_BYTES };
}

/** Decodes the record at `pos`, which must be a good frame; throws `queue.corrupt` otherwise. */
export function decodeRecord(
  bytes: Uint8Array,
  pos: number,
): { readonly seq: number; readonly message: QueuedMessage } {
  const frame = readFrame(bytes, pos);
  if (frame === undefined) throw new TriadkitError("queue.corrupt", "queue record is damaged", { offset: pos });
  const dv = view(bytes);
  const topicLen = dv.getUint32(pos + 29, true);
  const topicStart = pos + RECORD_HEADER_BYTES;
  let topic: string;
  try {
    topic = decoder.decode(bytes.subarray(topicStart, topicStart + topicLen));
  } catch {
    throw new TriadkitError("queue.corrupt", "queue record topic is not UTF-8", { offset: pos, seq: frame.seq });
  }
  const message: QueuedMessage = {
    topic,
    payload: bytes.slice(topicStart + topicLen, pos + frame.length),
    qos: bytes[pos + 28] === 1 ? 1 : 0,
    queuedAtMs: dv.getFloat64(pos + 20, true),
  };
  return { seq: frame.seq, message };
}

/**
 * The first offset after `from` where a good record with `seq >= minSeq` starts, or `undefined`.
 * Used to resynchronise after a damaged record.
 */
export function findNextFrame(bytes: Uint8Array, from: number, minSeq: number): number | undefined {
  const first = RECORD_MAGIC[0] as number;
  for (let pos = bytes.indexOf(first, from); pos !== -1; pos = bytes.indexOf(first, pos + 1)) {
    const frame = readFrame(bytes, pos);
    if (frame !== undefined && frame.seq >= minSeq) return pos;
  }
  return undefined;
}

export interface HeadState {
  readonly headSeq: number;
  readonly dropped: number;
  readonly corrupted: number;
  /** Highest seq already counted in `corrupted`, or -1. */
  readonly corruptThrough: number;
}

export function encodeHead(state: HeadState): Uint8Array {
  const out = new Uint8Array(HEAD_BYTES);
  const dv = view(out);
  out.set(HEAD_MAGIC, 0);
  dv.setUint32(4, HEAD_VERSION, true);
  dv.setBigUint64(8, BigInt(state.headSeq), true);
  dv.setBigUint64(16, BigInt(state.dropped), true);
  dv.setBigUint64(24, BigInt(state.corrupted), true);
  dv.setBigUint64(32, BigInt(state.corruptThrough + 1), true);
  dv.setUint32(40, crc32(out.subarray(0, 40)), true);
  return out;
}

/** Throws `queue.corrupt` for anything but a good version-1 head file. */
export function decodeHead(bytes: Uint8Array): HeadState {
  const dv = view(bytes);
  if (bytes.length !== HEAD_BYTES || !hasMagic(bytes, 0, HEAD_MAGIC)) {
    throw new TriadkitError("queue.corrupt", "queue head file is not a triadkit queue head", { length: bytes.length });
  }
  if (crc32(bytes.subarray(0, 40)) !== dv.getUint32(40, true)) {
    throw new TriadkitError("queue.corrupt", "queue head file fails its checksum");
  }
  const version = dv.getUint32(4, true);
  if (version !== HEAD_VERSION) {
    throw new TriadkitError("queue.corrupt", "queue head file has an unsupported version", { version });
  }
  const headSeq = getSafeU64(dv, 8);
  const dropped = getSafeU64(dv, 16);
  const corrupted = getSafeU64(dv, 24);
  const corruptThroughPlusOne = getSafeU64(dv, 32);
  if (
    headSeq === undefined ||
    dropped === undefined ||
    corrupted === undefined ||
    corruptThroughPlusOne === undefined
  ) {
    throw new TriadkitError("queue.corrupt", "queue head file holds an out-of-range counter");
  }
  return { headSeq, dropped, corrupted, corruptThrough: corruptThroughPlusOne - 1 };
}
