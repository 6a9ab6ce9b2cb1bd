/**
 * The cross-process air's wire format: length-prefixed frames over TCP, the same in both directions.
 *
 * ```
 * offset  size  field
 * 0       4     L: length of everything after this field (u32 big-endian), 8 ≤ L ≤ MAX_FRAME_BYTES
 * 4       1     version: 1
 * 5       1     kind: 1 request, 2 response, 3 error, 4 event
 * 6       4     id (u32 BE): a request's id (non-zero, chosen by its sender), echoed by its response or error;
 *               0 for events
 * 10      2     H: header length (u16 BE)
 * 12      H     header: a UTF-8 JSON object. Requests and events: {"op": "...", ...arguments};
 *               responses: the results; errors: {"code", "message", "context"?}
 * 12+H    L−8−H data: raw bytes (a GATT value, manufacturer data), possibly empty
 * ```
 * docs/ble.md lists the operations.
 */
import { TriadkitError } from "@triadkit/protocol";

export const AIR_PROTOCOL_VERSION = 1;
/** A frame never exceeds 1 MiB (a GATT value is at most 512 bytes; headers are small). */
export const MAX_FRAME_BYTES = 1024 * 1024;

export const FrameKind = { request: 1, response: 2, error: 3, event: 4 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export interface Frame {
  readonly kind: FrameKind;
  readonly id: number;
  readonly header: Record<string, unknown>;
  readonly data: Uint8Array;
}

const PREFIX = 4;
const FIXED = 8; // version, kind, id, header length

export function encodeFrame(frame: Frame): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify(frame.header));
  if (header.length > 0xffff) throw new TriadkitError("ble.bad_frame", "an air frame header is over 65535 bytes");
  const length = FIXED + header.length + frame.data.length;
  if (length > MAX_FRAME_BYTES) {
    throw new TriadkitError("ble.bad_frame", "an air frame is over the size limit", { length, limit: MAX_FRAME_BYTES });
  }
  const out = new Uint8Array(PREFIX + length);
  const view = new DataView(out.buffer);
  view.setUint32(0, length);
  out[4] = AIR_PROTOCOL_VERSION;
  out[5] = frame.kind;
  view.setUint32(6, frame.id >>> 0);
  view.setUint16(10, header.length);
  out.set(header, 12);
  out.set(frame.data, 12 + header.length);
  return out;
}

/** Reassembles frames from a byte stream; throws `ble.bad_frame` on anything malformed (then drop the link). */
export class FrameReader {
  private buffer = new Uint8Array(0);

  push(chunk: Uint8Array): Frame[] {
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer);
    joined.set(chunk, this.buffer.length);
    const frames: Frame[] = [];
    let offset = 0;
    for (;;) {
      if (joined.length - offset < PREFIX) break;
      const view = new DataView(joined.buffer, joined.byteOffset + offset);
      const length = view.getUint32(0);
      if (length < FIXED || length > MAX_FRAME_BYTES) {
        throw new TriadkitError("ble.bad_frame", "an air frame has an impossible length", { length });
      }
      if (joined.length - offset < PREFIX + length) break;
      frames.push(decodeBody(joined.subarray(offset + PREFIX, offset + PREFIX + length)));
      offset += PREFIX + length;
    }
    this.buffer = joined.slice(offset);
    return frames;
  }

  /** Bytes of an incomplete frame still waiting. */
  get pending(): number {
    return this.buffer.length;
  }
}

function decodeBody(body: Uint8Array): Frame {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const version = body[0];
  if (version !== AIR_PROTOCOL_VERSION) {
    throw new TriadkitError("ble.bad_frame", "an air frame has an unsupported version", { version });
  }
  const kind = body[1] as number;
  if (kind < FrameKind.request || kind > FrameKind.event) {
    throw new TriadkitError("ble.bad_frame", "an air frame has an unknown kind", { kind });
  }
  const id = view.getUint32(2);
  const headerLength = view.getUint16(6);
  if (FIXED + headerLength > body.length) {
    throw new TriadkitError("ble.bad_frame", "an air frame's header runs past its end", { headerLength });
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body.subarray(FIXED, FIXED + headerLength)));
  } catch {
    throw new TriadkitError("ble.bad_frame", "an air frame's header is not UTF-8 JSON");
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new TriadkitError("ble.bad_frame", "an air frame's header is not a JSON object");
  }
  return {
    kind: kind as FrameKind,
    id,
    header: header as Record<string, unknown>,
    data: body.slice(FIXED + headerLength),
  };
}
