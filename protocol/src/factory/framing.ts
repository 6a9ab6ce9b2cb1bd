/**
 * Factory packets on a byte stream (console UART): `COBS(packet) ‖ 0x00`, with
 *
 *   version u8 | kind u8 (1 request, 2 response) | requestId u16 BE | body (CBOR) | crc32 u32 BE
 *
 * and the CRC-32 (IEEE, as zlib) over every byte before it. Byte layouts: docs/factory-protocol.md.
 *
 * {@link FactoryFrameDecoder} never throws on line input: it returns the packets and the coded errors of each
 * chunk, drops a bad frame and resynchronises at the next 0x00; its buffer is bounded.
 */

import { fail, TriadkitError } from "../errors.js";
import { crc32 } from "../util/crc32.js";
import { cobsDecode, cobsEncode, cobsMaxEncodedLength } from "./cobs.js";
import {
  FACTORY_MAX_PACKET_BYTES,
  FACTORY_PROTOCOL_VERSION,
  type FactoryPacket,
  type FactoryPacketKind,
} from "./types.js";

/** Header (version, kind, requestId) bytes. */
export const FACTORY_HEADER_BYTES = 4;
/** CRC trailer bytes. */
export const FACTORY_CRC_BYTES = 4;
/** Largest body: {@link FACTORY_MAX_PACKET_BYTES} minus header and CRC (2040). */
export const FACTORY_MAX_BODY_BYTES = FACTORY_MAX_PACKET_BYTES - FACTORY_HEADER_BYTES - FACTORY_CRC_BYTES;
/** Largest COBS-encoded packet, delimiter excluded (2057): more bytes without a 0x00 are `framing.too_large`. */
export const FACTORY_MAX_FRAME_BYTES = cobsMaxEncodedLength(FACTORY_MAX_PACKET_BYTES);

const KIND_BYTE: Record<FactoryPacketKind, number> = { request: 1, response: 2 };

/**
 * The packet bytes (before COBS). `version` may be any u8 (a receiver refuses versions it does not speak with
 * `framing.bad_version`); kind, requestId (u16) and the body length are checked: `factory.bad_message`, or
 * `framing.too_large` for a body over {@link FACTORY_MAX_BODY_BYTES}.
 */
export function encodeFactoryPacket(packet: FactoryPacket): Uint8Array {
  const { version, kind, requestId, body } = packet;
  if (!Number.isInteger(version) || version < 0 || version > 0xff) {
    fail("factory.bad_message", "factory packet: version must be an integer in [0, 255]", { field: "version" });
  }
  if (kind !== "request" && kind !== "response") {
    fail("factory.bad_message", 'factory packet: kind must be "request" or "response"', { field: "kind" });
  }
  if (!Number.isInteger(requestId) || requestId < 0 || requestId > 0xffff) {
    fail("factory.bad_message", "factory packet: requestId must be an integer in [0, 65535]", { field: "requestId" });
  }
  if (!(body instanceof Uint8Array))
    fail("factory.bad_message", "factory packet: body must be bytes", { field: "body" });
  if (body.length > FACTORY_MAX_BODY_BYTES) {
    fail("framing.too_large", `factory packet: body longer than ${FACTORY_MAX_BODY_BYTES} bytes`, {
      length: body.length,
    });
  }
  const out = new Uint8Array(FACTORY_HEADER_BYTES + body.length + FACTORY_CRC_BYTES);
  const view = new DataView(out.buffer);
  out[0] = version;
  out[1] = KIND_BYTE[kind];
  view.setUint16(2, requestId, false);
  out.set(body, FACTORY_HEADER_BYTES);
  const end = FACTORY_HEADER_BYTES + body.length;
  view.setUint32(end, crc32(out, 0, 0, end), false);
  return out;
}

/**
 * Parses packet bytes (after COBS). Throws `framing.too_large` (over 2048 bytes), `framing.crc_mismatch` (shorter
 * than header + CRC, or the CRC does not match), `framing.bad_version` (context: version, kind, requestId, so a
 * device can still answer `unsupported_version` to that id), `factory.bad_message` (kind neither 1 nor 2).
 */
export function decodeFactoryPacket(bytes: Uint8Array): FactoryPacket {
  if (bytes.length > FACTORY_MAX_PACKET_BYTES) {
    fail("framing.too_large", `factory packet longer than ${FACTORY_MAX_PACKET_BYTES} bytes`, { length: bytes.length });
  }
  if (bytes.length < FACTORY_HEADER_BYTES + FACTORY_CRC_BYTES) {
    fail("framing.crc_mismatch", "factory packet too short to carry a header and a CRC", { length: bytes.length });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length - FACTORY_CRC_BYTES;
  const expected = view.getUint32(end, false);
  const actual = crc32(bytes, 0, 0, end);
  if (expected !== actual) {
    fail("framing.crc_mismatch", "factory packet CRC-32 does not match its bytes", { length: bytes.length });
  }
  const version = bytes[0] as number;
  const kindByte = bytes[1] as number;
  const requestId = view.getUint16(2, false);
  const kind: FactoryPacketKind | undefined = kindByte === 1 ? "request" : kindByte === 2 ? "response" : undefined;
  if (version !== FACTORY_PROTOCOL_VERSION) {
    fail("framing.bad_version", `factory packet version ${version} is not spoken here (${FACTORY_PROTOCOL_VERSION})`, {
      version,
      requestId,
      ...(kind === undefined ? {} : { kind }),
    });
  }
  if (kind === undefined) {
    fail("factory.bad_message", `factory packet kind ${kindByte} is neither 1 (request) nor 2 (response)`, {
      field: "kind",
      requestId,
    });
  }
  return { version, kind, requestId, body: bytes.slice(FACTORY_HEADER_BYTES, end) };
}

/** One frame for the wire: `COBS(encodeFactoryPacket(packet)) ‖ 0x00`. */
export function encodeFactoryFrame(packet: FactoryPacket): Uint8Array {
  const encoded = cobsEncode(encodeFactoryPacket(packet));
  const out = new Uint8Array(encoded.length + 1);
  out.set(encoded, 0);
  return out;
}

/** Decodes one frame's COBS bytes (delimiter removed). Throws like {@link decodeFactoryPacket}, or `framing.bad_cobs`. */
export function decodeFactoryFrame(frame: Uint8Array): FactoryPacket {
  if (frame.length > FACTORY_MAX_FRAME_BYTES) {
    fail("framing.too_large", `factory frame longer than ${FACTORY_MAX_FRAME_BYTES} bytes`, { length: frame.length });
  }
  const packet = cobsDecode(frame);
  if (packet === undefined) fail("framing.bad_cobs", "factory frame is not valid COBS", { length: frame.length });
  return decodeFactoryPacket(packet);
}

/** What one {@link FactoryFrameDecoder.push} produced, in stream order within each list. */
export interface FactoryDecodeResult {
  readonly packets: FactoryPacket[];
  /** `framing.bad_cobs`, `framing.crc_mismatch`, `framing.too_large`, `framing.bad_version`, `factory.bad_message`. */
  readonly errors: TriadkitError[];
}

/**
 * Splits a byte stream into factory packets. Feed it whatever the serial port delivers; every complete frame
 * (bytes up to a 0x00) yields a packet or an error. Empty frames (two 0x00 in a row, or a leading 0x00 sent to
 * flush the line) are skipped silently. More than {@link FACTORY_MAX_FRAME_BYTES} bytes without a 0x00 give one
 * `framing.too_large` and are dropped up to the next 0x00, so the buffer never exceeds that size. Never throws.
 *
 * A receiver that starts listening mid-frame reports one error for that partial frame and then decodes normally.
 */
export class FactoryFrameDecoder {
  private readonly buffer = new Uint8Array(FACTORY_MAX_FRAME_BYTES);
  private length = 0;
  private discarding = false;

  push(chunk: Uint8Array): FactoryDecodeResult {
    const packets: FactoryPacket[] = [];
    const errors: TriadkitError[] = [];
    for (const b of chunk) {
      if (b === 0) {
        if (this.discarding) this.discarding = false;
        else if (this.length > 0) this.finishFrame(packets, errors);
        this.length = 0;
      } else if (!this.discarding) {
        if (this.length === FACTORY_MAX_FRAME_BYTES) {
          errors.push(
            new TriadkitError(
              "framing.too_large",
              `factory frame longer than ${FACTORY_MAX_FRAME_BYTES} bytes: dropped up to the next 0x00`,
              { length: this.length + 1 },
            ),
          );
          this.discarding = true;
          this.length = 0;
        } else {
          this.buffer[this.length++] = b;
        }
      }
    }
    return { packets, errors };
  }

  /** Bytes held for an unfinished frame. */
  get pendingBytes(): number {
    return this.length;
  }

  /** Forgets any partial frame (e.g. after the port was reopened). */
  reset(): void {
    this.length = 0;
    this.discarding = false;
  }

  private finishFrame(packets: FactoryPacket[], errors: TriadkitError[]): void {
    try {
      packets.push(decodeFactoryFrame(this.buffer.subarray(0, this.length)));
    } catch (err) {
      errors.push(
        err instanceof TriadkitError
          ? err
          : new TriadkitError("internal.unexpected", "factory frame decoder failed", undefined, { cause: err }),
      );
    }
  }
}
