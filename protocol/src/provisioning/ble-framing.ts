/**
 * Message framing for the triadkit provisioning service over one BLE characteristic (docs/provisioning.md,
 * "BLE transport").
 *
 * A message (at most {@link BLE_MAX_MESSAGE_BYTES}) is cut into fragments of at most `ATT_MTU − 3` bytes, the
 * payload of one ATT Write/Notify. Every fragment starts with one flags byte:
 *
 * | bits | meaning                                                   |
 * | ---- | --------------------------------------------------------- |
 * | 0    | first fragment of a message                               |
 * | 1    | last fragment of a message                                |
 * | 2–7  | message sequence number (0–63), the same in every fragment |
 *
 * The first fragment then carries the message's total length (2 bytes, big-endian), and every fragment carries
 * message bytes after its header. There is no per-fragment index: ATT delivers one connection's writes and
 * notifications in order, so the reassembler only checks the sequence number, the first/last flags and the
 * declared length. Two swapped middle fragments of equal size are not detectable here; the secure session
 * above authenticates every message.
 */
import { type ErrorContext, fail, TriadkitError } from "../errors.js";

/** Smallest ATT MTU (Bluetooth Core, the default before an MTU exchange). */
export const BLE_MIN_ATT_MTU = 23;
/** Largest ATT MTU (an attribute value is at most 512 bytes; 517 − 3 = 514 is the largest write payload). */
export const BLE_MAX_ATT_MTU = 517;
/** Bytes of ATT header (opcode + handle) in a Write/Notify PDU: payload per write = MTU − 3. */
export const ATT_HEADER_BYTES = 3;
/** Largest message the framing carries. */
export const BLE_MAX_MESSAGE_BYTES = 4096;
/** Header bytes of the first fragment (flags + 16-bit total length). */
export const BLE_FIRST_HEADER_BYTES = 3;
/** Header bytes of every later fragment (flags). */
export const BLE_NEXT_HEADER_BYTES = 1;
/** Flags bit: first fragment. */
export const BLE_FLAG_FIRST = 0x01;
/** Flags bit: last fragment. */
export const BLE_FLAG_LAST = 0x02;
/** Message sequence numbers wrap at 64 (6 bits). */
export const BLE_SEQ_MODULO = 64;
/** Default time allowed to receive a whole message, from its first fragment. */
export const BLE_DEFAULT_REASSEMBLY_TIMEOUT_MS = 10_000;

/** Payload bytes of one write at this ATT MTU (MTU − 3); throws `config.invalid` outside 23–517. */
export function blePayloadSize(mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < BLE_MIN_ATT_MTU || mtu > BLE_MAX_ATT_MTU) {
    fail("config.invalid", `ATT MTU must be an integer in ${BLE_MIN_ATT_MTU}–${BLE_MAX_ATT_MTU}`, {
      mtu: String(mtu),
    });
  }
  return mtu - ATT_HEADER_BYTES;
}

/** Number of fragments {@link fragment} makes for a message of `length` bytes at this MTU. */
export function fragmentCount(length: number, mtu: number): number {
  const payload = blePayloadSize(mtu);
  const first = payload - BLE_FIRST_HEADER_BYTES;
  if (length <= first) return 1;
  return 1 + Math.ceil((length - first) / (payload - BLE_NEXT_HEADER_BYTES));
}

export interface FragmentOptions {
  /** Message sequence number, 0–63 (callers count messages modulo 64). Default 0. */
  readonly seq?: number;
}

/**
 * Cuts `message` into fragments for an ATT MTU of `mtu` (23–517); each fragment is at most `mtu − 3` bytes.
 * An empty message is one fragment (first + last, length 0).
 *
 * @throws TriadkitError `prov.frame_too_large` when the message is over 4096 bytes; `config.invalid` for a bad
 *   MTU or sequence number.
 */
export function fragment(message: Uint8Array, mtu: number, options: FragmentOptions = {}): Uint8Array[] {
  const payload = blePayloadSize(mtu);
  const seq = options.seq ?? 0;
  if (!Number.isInteger(seq) || seq < 0 || seq >= BLE_SEQ_MODULO) {
    fail("config.invalid", "BLE message sequence number must be an integer in 0–63", { seq: String(seq) });
  }
  if (message.length > BLE_MAX_MESSAGE_BYTES) {
    fail("prov.frame_too_large", `message of ${message.length} bytes exceeds ${BLE_MAX_MESSAGE_BYTES}`, {
      length: message.length,
      max: BLE_MAX_MESSAGE_BYTES,
    });
  }
  const seqBits = seq << 2;
  const out: Uint8Array[] = [];
  let offset = 0;
  const firstTake = Math.min(message.length, payload - BLE_FIRST_HEADER_BYTES);
  const first = new Uint8Array(BLE_FIRST_HEADER_BYTES + firstTake);
  offset = firstTake;
  first[0] = seqBits | BLE_FLAG_FIRST | (offset === message.length ? BLE_FLAG_LAST : 0);
  first[1] = message.length >> 8;
  first[2] = message.length & 0xff;
  first.set(message.subarray(0, firstTake), BLE_FIRST_HEADER_BYTES);
  out.push(first);
  while (offset < message.length) {
    const take = Math.min(message.length - offset, payload - BLE_NEXT_HEADER_BYTES);
    const next = new Uint8Array(BLE_NEXT_HEADER_BYTES + take);
    next[0] = seqBits | (offset + take === message.length ? BLE_FLAG_LAST : 0);
    next.set(message.subarray(offset, offset + take), BLE_NEXT_HEADER_BYTES);
    offset += take;
    out.push(next);
  }
  return out;
}

/** The parsed header of one fragment. */
export interface FragmentHeader {
  readonly first: boolean;
  readonly last: boolean;
  readonly seq: number;
  /** Declared message length (first fragment only). */
  readonly totalLength: number | undefined;
  /** Offset of the message bytes in the fragment. */
  readonly headerBytes: number;
}

/**
 * Parses a fragment's header. @throws TriadkitError `prov.bad_message` for an empty fragment or a first
 * fragment too short for its length field.
 */
export function parseFragmentHeader(data: Uint8Array): FragmentHeader {
  const flags = data[0];
  if (flags === undefined) fail("prov.bad_message", "empty BLE fragment", { reason: "empty" });
  const first = (flags & BLE_FLAG_FIRST) !== 0;
  const last = (flags & BLE_FLAG_LAST) !== 0;
  const seq = flags >> 2;
  if (!first) return { first, last, seq, totalLength: undefined, headerBytes: BLE_NEXT_HEADER_BYTES };
  if (data.length < BLE_FIRST_HEADER_BYTES) {
    fail("prov.bad_message", "first BLE fragment is too short for its length field", {
      reason: "truncated_header",
      length: data.length,
    });
  }
  const totalLength = ((data[1] as number) << 8) | (data[2] as number);
  return { first, last, seq, totalLength, headerBytes: BLE_FIRST_HEADER_BYTES };
}

export interface ReassemblerOptions {
  /** Monotonic milliseconds (inject the device clock; tests use virtual time). */
  readonly now: () => number;
  /** Time allowed for a whole message, counted from its first fragment. Default 10 000 ms. */
  readonly timeoutMs?: number;
  /** Largest message accepted, at most (and by default) 4096 bytes. */
  readonly maxMessageBytes?: number;
}

/** A completed message and its sequence number. */
export interface ReassembledMessage {
  readonly seq: number;
  readonly message: Uint8Array;
}

export interface ReassemblerStats {
  /** Messages completed. */
  readonly messages: number;
  /** Fragments refused (each threw a coded error). */
  readonly refused: number;
  /** Partial messages dropped at their deadline. */
  readonly timeouts: number;
}

/**
 * Rebuilds messages from fragments made by {@link fragment}, one message at a time.
 *
 * - {@link push} returns the message when its last fragment arrives, `undefined` while more are due, and throws a
 *   coded {@link TriadkitError} for a fragment it refuses; a refusal drops the partial message, so the next first
 *   fragment starts clean.
 * - Refused: an empty or truncated fragment, a continuation without a message in progress, a first fragment while
 *   one is in progress, a sequence number that changes mid-message, an empty continuation, more bytes than the
 *   declared length, a last fragment short of it (`prov.bad_message`); a declared length over the limit
 *   (`prov.frame_too_large`); a continuation after the deadline (`prov.reassembly_timeout`).
 * - Memory is bounded: the buffer is allocated from the declared length, which is at most `maxMessageBytes`.
 * - Time is bounded: {@link deadline} says when the partial message expires; call {@link checkTimeout} then (a
 *   timer on the device clock) to drop it and get the `prov.reassembly_timeout` error to report. A first fragment
 *   arriving after the deadline simply starts the next message.
 */
export class Reassembler {
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private readonly maxMessageBytes: number;
  private buffer: Uint8Array | undefined;
  private filled = 0;
  private seq = 0;
  private expiresAt: number | undefined;
  private counts = { messages: 0, refused: 0, timeouts: 0 };

  constructor(options: ReassemblerOptions) {
    const timeoutMs = options.timeoutMs ?? BLE_DEFAULT_REASSEMBLY_TIMEOUT_MS;
    const maxMessageBytes = options.maxMessageBytes ?? BLE_MAX_MESSAGE_BYTES;
    if (typeof options.now !== "function") fail("config.invalid", "Reassembler needs a now() clock");
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      fail("config.invalid", "reassembly timeoutMs must be a positive number", { timeoutMs: String(timeoutMs) });
    }
    if (!Number.isInteger(maxMessageBytes) || maxMessageBytes < 0 || maxMessageBytes > BLE_MAX_MESSAGE_BYTES) {
      fail("config.invalid", `maxMessageBytes must be an integer in 0–${BLE_MAX_MESSAGE_BYTES}`, {
        maxMessageBytes: String(maxMessageBytes),
      });
    }
    this.now = options.now;
    this.timeoutMs = timeoutMs;
    this.maxMessageBytes = maxMessageBytes;
  }

  /** When the message in progress expires (in `now()` time), or `undefined` when none is in progress. */
  get deadline(): number | undefined {
    return this.expiresAt;
  }

  /** True while a message is partly received. */
  get inProgress(): boolean {
    return this.buffer !== undefined;
  }

  get stats(): ReassemblerStats {
    return { ...this.counts };
  }

  /**
   * Drops the message in progress if its deadline has passed and returns the `prov.reassembly_timeout` error to
   * report (the caller decides whether to notify the peer); `undefined` when nothing expired.
   */
  checkTimeout(): TriadkitError | undefined {
    if (this.expiresAt === undefined || this.now() < this.expiresAt) return undefined;
    const error = new TriadkitError("prov.reassembly_timeout", "BLE message not completed in time", {
      seq: this.seq,
      received: this.filled,
      expected: this.buffer?.length ?? 0,
      timeoutMs: this.timeoutMs,
    });
    this.counts.timeouts++;
    this.reset();
    return error;
  }

  /** Drops any message in progress. */
  reset(): void {
    this.buffer = undefined;
    this.filled = 0;
    this.expiresAt = undefined;
  }

  /** Feeds one fragment (one ATT write or notification). See the class comment for what is refused. */
  push(data: Uint8Array): ReassembledMessage | undefined {
    const expired = this.checkTimeout();
    try {
      return this.accept(data, expired);
    } catch (err) {
      this.counts.refused++;
      this.reset();
      throw err;
    }
  }

  private refuse(reason: string, message: string, context: ErrorContext = {}): never {
    return fail("prov.bad_message", message, { reason, ...context });
  }

  private accept(data: Uint8Array, expired: TriadkitError | undefined): ReassembledMessage | undefined {
    const header = parseFragmentHeader(data);
    const body = data.subarray(header.headerBytes);
    if (header.first) {
      if (this.buffer !== undefined) {
        this.refuse("interrupted", "first BLE fragment while another message is in progress", {
          seq: header.seq,
          inProgressSeq: this.seq,
        });
      }
      const total = header.totalLength as number;
      if (total > this.maxMessageBytes) {
        fail("prov.frame_too_large", `BLE message of ${total} bytes exceeds ${this.maxMessageBytes}`, {
          length: total,
          max: this.maxMessageBytes,
        });
      }
      if (body.length > total) {
        this.refuse("overlong", "BLE fragment carries more bytes than the declared length", {
          declared: total,
          received: body.length,
        });
      }
      if (header.last) {
        if (body.length !== total) {
          this.refuse("short", "BLE message shorter than its declared length", {
            declared: total,
            received: body.length,
          });
        }
        this.counts.messages++;
        return { seq: header.seq, message: Uint8Array.from(body) };
      }
      this.buffer = new Uint8Array(total);
      this.buffer.set(body);
      this.filled = body.length;
      this.seq = header.seq;
      this.expiresAt = this.now() + this.timeoutMs;
      return undefined;
    }
    const buffer = this.buffer;
    if (buffer === undefined) {
      if (expired !== undefined) throw expired;
      this.refuse("out_of_order", "BLE continuation fragment without a first fragment", { seq: header.seq });
    }
    if (header.seq !== this.seq) {
      this.refuse("sequence", "BLE fragment belongs to another message", { seq: header.seq, expected: this.seq });
    }
    if (body.length === 0) this.refuse("empty", "BLE continuation fragment carries no bytes", { seq: header.seq });
    if (this.filled + body.length > buffer.length) {
      this.refuse("overlong", "BLE fragments carry more bytes than the declared length", {
        declared: buffer.length,
        received: this.filled + body.length,
      });
    }
    buffer.set(body, this.filled);
    this.filled += body.length;
    if (!header.last) return undefined;
    if (this.filled !== buffer.length) {
      this.refuse("short", "BLE message shorter than its declared length", {
        declared: buffer.length,
        received: this.filled,
      });
    }
    const seq = this.seq;
    this.buffer = undefined;
    this.filled = 0;
    this.expiresAt = undefined;
    this.counts.messages++;
    return { seq, message: buffer };
  }
}

// --- GATT layout of the triadkit provisioning service ---

/** 128-bit UUID of the triadkit provisioning GATT service (fixed; random v4 base). */
export const TRIADKIT_PROV_SERVICE_UUID = "83c4e646-7cb5-4efc-9670-4eaad2ef4100";
/** Client → device requests (fragmented messages): write and write-without-response. */
export const TRIADKIT_PROV_REQUEST_CHAR_UUID = "83c4e646-7cb5-4efc-9670-4eaad2ef4101";
/** Device → client responses (fragmented messages): notify. */
export const TRIADKIT_PROV_RESPONSE_CHAR_UUID = "83c4e646-7cb5-4efc-9670-4eaad2ef4102";
/** Protocol and security versions (no secrets): read. */
export const TRIADKIT_PROV_INFO_CHAR_UUID = "83c4e646-7cb5-4efc-9670-4eaad2ef4103";

/** The GATT table, as data (property names as in the SDK's `GattCharacteristicSpec`). */
export const TRIADKIT_PROV_GATT = {
  service: TRIADKIT_PROV_SERVICE_UUID,
  characteristics: {
    request: { uuid: TRIADKIT_PROV_REQUEST_CHAR_UUID, properties: ["write", "writeWithoutResponse"] },
    response: { uuid: TRIADKIT_PROV_RESPONSE_CHAR_UUID, properties: ["notify"] },
    info: { uuid: TRIADKIT_PROV_INFO_CHAR_UUID, properties: ["read"] },
  },
} as const;

/** Version of this framing (the header layout above). */
export const BLE_FRAMING_VERSION = 1;

/** Value of the `info` characteristic. Public by design: versions only, never a secret. */
export interface ProvisioningInfo {
  /** Framing version (1 = this file's layout). */
  readonly framingVersion: number;
  /** Provisioning message protocol version. */
  readonly protocolVersion: number;
  /** Security versions the device accepts, most preferred first (1–16 entries, each 0–255). */
  readonly securityVersions: readonly number[];
}

const INFO_MAX_SECURITY_VERSIONS = 16;

/**
 * Encodes the `info` value: `framingVersion u8 | protocolVersion u8 | n u8 | securityVersions u8 × n`.
 * @throws TriadkitError `config.invalid` for values out of range.
 */
export function encodeProvisioningInfo(info: ProvisioningInfo): Uint8Array {
  const bytes = [info.framingVersion, info.protocolVersion, ...info.securityVersions];
  const n = info.securityVersions.length;
  if (n < 1 || n > INFO_MAX_SECURITY_VERSIONS || bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) {
    fail("config.invalid", "provisioning info versions must be bytes, with 1–16 security versions");
  }
  return Uint8Array.from([info.framingVersion, info.protocolVersion, n, ...info.securityVersions]);
}

/** Decodes the `info` value. @throws TriadkitError `prov.bad_message` when it is malformed. */
export function decodeProvisioningInfo(value: Uint8Array): ProvisioningInfo {
  const n = value[2];
  if (n === undefined || n < 1 || n > INFO_MAX_SECURITY_VERSIONS || value.length !== 3 + n) {
    fail("prov.bad_message", "malformed provisioning info value", { reason: "info", length: value.length });
  }
  return {
    framingVersion: value[0] as number,
    protocolVersion: value[1] as number,
    securityVersions: [...value.subarray(3)],
  };
}
