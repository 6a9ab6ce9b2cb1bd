/**
 * Improv Wi-Fi over serial: packets, RPC bodies, and a streaming parser that finds packets among console output.
 *
 * Packet: `"IMPROV"` | version `1` | type | length | data (length bytes) | checksum, where checksum is the sum of
 * every preceding byte (header included) modulo 256. Senders append `\n` so that line-oriented clients resume
 * after it; the parser here does not need it.
 *
 * Errors: `improv.checksum` for a checksum mismatch, `improv.bad_packet` for anything else malformed. A Wi-Fi
 * password never appears in an error message or context.
 */
import { fail, TriadkitError } from "../errors.js";
import {
  IMPROV_MAX_DATA_BYTES,
  IMPROV_MAX_PACKET_BYTES,
  IMPROV_SERIAL_HEADER,
  IMPROV_SERIAL_PREFIX_BYTES,
  IMPROV_SERIAL_VERSION,
  ImprovCommand,
  ImprovPacketType,
} from "./constants.js";

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/** One serial packet: its type byte and data. */
export interface ImprovPacket {
  readonly type: number;
  readonly data: Uint8Array;
}

/** Sum of bytes modulo 256 (the Improv checksum, serial and BLE). */
export function improvChecksum(bytes: Uint8Array | readonly number[], end = bytes.length): number {
  let sum = 0;
  for (let i = 0; i < end; i++) sum += bytes[i] as number;
  return sum & 0xff;
}

function isKnownPacketType(type: number): boolean {
  return type >= ImprovPacketType.CurrentState && type <= ImprovPacketType.RpcResult;
}

/**
 * Encodes a serial packet; with `newline: true` (what devices and the reference client send) a `\n` follows the
 * checksum. @throws TriadkitError `improv.bad_packet` for data over 255 bytes or a type outside 1–4.
 */
export function encodeImprovPacket(packet: ImprovPacket, options: { newline?: boolean } = {}): Uint8Array {
  if (!isKnownPacketType(packet.type)) {
    fail("improv.bad_packet", "unknown Improv packet type", { type: packet.type });
  }
  if (packet.data.length > IMPROV_MAX_DATA_BYTES) {
    fail("improv.bad_packet", `Improv packet data over ${IMPROV_MAX_DATA_BYTES} bytes`, {
      length: packet.data.length,
    });
  }
  const size = IMPROV_SERIAL_PREFIX_BYTES + packet.data.length + 1;
  const out = new Uint8Array(size + (options.newline ? 1 : 0));
  out.set(IMPROV_SERIAL_HEADER, 0);
  out[6] = IMPROV_SERIAL_VERSION;
  out[7] = packet.type;
  out[8] = packet.data.length;
  out.set(packet.data, IMPROV_SERIAL_PREFIX_BYTES);
  out[size - 1] = improvChecksum(out, size - 1);
  if (options.newline) out[size] = 0x0a;
  return out;
}

/**
 * Decodes exactly one serial packet (no trailing bytes).
 * @throws TriadkitError `improv.bad_packet` (header, version, type, length), `improv.checksum`.
 */
export function decodeImprovPacket(bytes: Uint8Array): ImprovPacket {
  if (bytes.length < IMPROV_SERIAL_PREFIX_BYTES + 1) {
    fail("improv.bad_packet", "Improv packet too short", { length: bytes.length });
  }
  for (let i = 0; i < IMPROV_SERIAL_HEADER.length; i++) {
    if (bytes[i] !== IMPROV_SERIAL_HEADER[i]) fail("improv.bad_packet", "missing IMPROV header");
  }
  if (bytes[6] !== IMPROV_SERIAL_VERSION) {
    fail("improv.bad_packet", "unsupported Improv serial version", { version: bytes[6] });
  }
  const type = bytes[7] as number;
  const length = bytes[8] as number;
  if (bytes.length !== IMPROV_SERIAL_PREFIX_BYTES + length + 1) {
    fail("improv.bad_packet", "Improv packet length does not match its length byte", {
      declared: length,
      length: bytes.length,
    });
  }
  const checksum = improvChecksum(bytes, bytes.length - 1);
  if (checksum !== bytes[bytes.length - 1]) {
    fail("improv.checksum", "Improv packet checksum mismatch", { expected: checksum, got: bytes[bytes.length - 1] });
  }
  if (!isKnownPacketType(type)) fail("improv.bad_packet", "unknown Improv packet type", { type });
  return { type, data: bytes.slice(IMPROV_SERIAL_PREFIX_BYTES, IMPROV_SERIAL_PREFIX_BYTES + length) };
}

// --- RPC command body: command, length, data ---

/** An RPC command (serial packet type 0x03, and the BLE RPC characteristic without its checksum). */
export interface ImprovRpc {
  readonly command: number;
  readonly data: Uint8Array;
}

/** `command, length, data`. @throws TriadkitError `improv.bad_packet` for data over 253 bytes. */
export function encodeRpcBody(rpc: ImprovRpc): Uint8Array {
  if (rpc.data.length > IMPROV_MAX_DATA_BYTES - 2) {
    fail("improv.bad_packet", "Improv RPC data over 253 bytes", { command: rpc.command, length: rpc.data.length });
  }
  const out = new Uint8Array(2 + rpc.data.length);
  out[0] = rpc.command;
  out[1] = rpc.data.length;
  out.set(rpc.data, 2);
  return out;
}

/** Decodes `command, length, data` (exact length). @throws TriadkitError `improv.bad_packet`. */
export function decodeRpcBody(body: Uint8Array): ImprovRpc {
  if (body.length < 2 || body[1] !== body.length - 2) {
    fail("improv.bad_packet", "Improv RPC length does not match its data", { length: body.length });
  }
  return { command: body[0] as number, data: body.slice(2) };
}

// --- RPC result body: command, total length, (length, string)* ---

/** An RPC result: the command answered and its list of strings (possibly empty). */
export interface ImprovRpcResult {
  readonly command: number;
  readonly strings: readonly string[];
}

function encodeStrings(strings: readonly string[], max: number): Uint8Array {
  const parts = strings.map((s) => encoder.encode(s));
  const total = parts.reduce((n, p) => n + 1 + p.length, 0);
  if (total > max || parts.some((p) => p.length > 255)) {
    fail("improv.bad_packet", `Improv strings over ${max} bytes in all, or one over 255`, {
      count: strings.length,
      length: total,
    });
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out[offset++] = p.length;
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function decodeString(bytes: Uint8Array, what: string): string {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return fail("improv.bad_packet", `Improv ${what} is not UTF-8`);
  }
}

function decodeStrings(bytes: Uint8Array): string[] {
  const out: string[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const n = bytes[offset] as number;
    if (offset + 1 + n > bytes.length) {
      fail("improv.bad_packet", "Improv string runs past the result", { index: out.length });
    }
    out.push(decodeString(bytes.subarray(offset + 1, offset + 1 + n), "result string"));
    offset += 1 + n;
  }
  return out;
}

/** `command, total length, (length, UTF-8)*`. @throws TriadkitError `improv.bad_packet` when over 253 bytes. */
export function encodeRpcResultBody(result: ImprovRpcResult): Uint8Array {
  const strings = encodeStrings(result.strings, IMPROV_MAX_DATA_BYTES - 2);
  const out = new Uint8Array(2 + strings.length);
  out[0] = result.command;
  out[1] = strings.length;
  out.set(strings, 2);
  return out;
}

/** Decodes an RPC result body (exact length, valid UTF-8). @throws TriadkitError `improv.bad_packet`. */
export function decodeRpcResultBody(body: Uint8Array): ImprovRpcResult {
  if (body.length < 2 || body[1] !== body.length - 2) {
    fail("improv.bad_packet", "Improv RPC result length does not match its data", { length: body.length });
  }
  return { command: body[0] as number, strings: decodeStrings(body.subarray(2)) };
}

// --- RPC payloads ---

/** Credentials of RPC 0x01. The password is a secret: never logged, never in an error. */
export interface ImprovWifiSettings {
  readonly ssid: string;
  readonly password: string;
}

/**
 * `ssid length, ssid, password length, password` (the data of RPC 0x01).
 * @throws TriadkitError `improv.bad_packet` when the two together exceed 253 bytes (the serial RPC limit).
 */
export function encodeWifiSettings(settings: ImprovWifiSettings): Uint8Array {
  const ssid = encoder.encode(settings.ssid);
  const password = encoder.encode(settings.password);
  if (2 + ssid.length + password.length > IMPROV_MAX_DATA_BYTES - 2) {
    fail("improv.bad_packet", "Improv Wi-Fi settings too long", { ssidLength: ssid.length });
  }
  const out = new Uint8Array(2 + ssid.length + password.length);
  out[0] = ssid.length;
  out.set(ssid, 1);
  out[1 + ssid.length] = password.length;
  out.set(password, 2 + ssid.length);
  return out;
}

/**
 * Decodes the data of RPC 0x01. Requires both length fields and exact consumption, and valid UTF-8.
 * @throws TriadkitError `improv.bad_packet` (context holds lengths only, never the password).
 */
export function decodeWifiSettings(data: Uint8Array): ImprovWifiSettings {
  const ssidLength = data[0];
  if (ssidLength === undefined || 1 + ssidLength >= data.length) {
    fail("improv.bad_packet", "Improv Wi-Fi settings truncated", { length: data.length });
  }
  const passwordLength = data[1 + ssidLength] as number;
  if (2 + ssidLength + passwordLength !== data.length) {
    fail("improv.bad_packet", "Improv Wi-Fi settings lengths do not match the data", {
      length: data.length,
      ssidLength,
    });
  }
  return {
    ssid: decodeString(data.subarray(1, 1 + ssidLength), "SSID"),
    password: decodeString(data.subarray(2 + ssidLength), "password"),
  };
}

/** The four (or six) strings of RPC 0x03's result. */
export interface ImprovDeviceInfo {
  readonly firmware: string;
  readonly version: string;
  readonly chip: string;
  readonly deviceName: string;
  readonly osName?: string;
  readonly osVersion?: string;
}

export function deviceInfoStrings(info: ImprovDeviceInfo): string[] {
  const out = [info.firmware, info.version, info.chip, info.deviceName];
  if (info.osName !== undefined) out.push(info.osName, info.osVersion ?? "");
  return out;
}

/** @throws TriadkitError `improv.bad_packet` for fewer than 4 strings. */
export function parseDeviceInfo(strings: readonly string[]): ImprovDeviceInfo {
  const [firmware, version, chip, deviceName, osName, osVersion] = strings;
  if (firmware === undefined || version === undefined || chip === undefined || deviceName === undefined) {
    fail("improv.bad_packet", "Improv device info needs at least 4 strings", { count: strings.length });
  }
  return {
    firmware,
    version,
    chip,
    deviceName,
    ...(osName !== undefined ? { osName } : {}),
    ...(osVersion !== undefined ? { osVersion } : {}),
  };
}

/** One network of an RPC 0x04 scan (one result per network over serial). */
export interface ImprovScanEntry {
  readonly ssid: string;
  readonly rssi: number;
  readonly authRequired: boolean;
}

export function scanEntryStrings(entry: ImprovScanEntry): string[] {
  return [entry.ssid, String(Math.round(entry.rssi)), entry.authRequired ? "YES" : "NO"];
}

/** @throws TriadkitError `improv.bad_packet` unless `(ssid, integer rssi, "YES"|"NO")`. */
export function parseScanEntry(strings: readonly string[]): ImprovScanEntry {
  const [ssid, rssi, auth] = strings;
  if (ssid === undefined || rssi === undefined || !/^-?\d{1,4}$/.test(rssi) || (auth !== "YES" && auth !== "NO")) {
    fail("improv.bad_packet", "Improv scan result is not (ssid, rssi, YES|NO)", { count: strings.length });
  }
  return { ssid, rssi: Number.parseInt(rssi, 10), authRequired: auth === "YES" };
}

// --- whole messages ---

/** A decoded serial packet, by meaning. */
export type ImprovMessage =
  | { readonly kind: "state"; readonly state: number }
  | { readonly kind: "error"; readonly error: number }
  | { readonly kind: "rpc"; readonly command: number; readonly data: Uint8Array }
  | { readonly kind: "result"; readonly command: number; readonly strings: readonly string[] };

/** Interprets a packet's data by its type. @throws TriadkitError `improv.bad_packet`. */
export function decodeImprovMessage(packet: ImprovPacket): ImprovMessage {
  switch (packet.type) {
    case ImprovPacketType.CurrentState:
    case ImprovPacketType.ErrorState: {
      const value = packet.data[0];
      if (value === undefined || packet.data.length !== 1) {
        fail("improv.bad_packet", "Improv state/error packet must carry one byte", { length: packet.data.length });
      }
      return packet.type === ImprovPacketType.CurrentState
        ? { kind: "state", state: value }
        : { kind: "error", error: value };
    }
    case ImprovPacketType.Rpc: {
      const rpc = decodeRpcBody(packet.data);
      return { kind: "rpc", command: rpc.command, data: rpc.data };
    }
    case ImprovPacketType.RpcResult: {
      const result = decodeRpcResultBody(packet.data);
      return { kind: "result", command: result.command, strings: result.strings };
    }
    default:
      return fail("improv.bad_packet", "unknown Improv packet type", { type: packet.type });
  }
}

const NL = { newline: true } as const;

/** Encodes a message as a serial packet followed by `\n`. */
export function encodeImprovMessage(message: ImprovMessage): Uint8Array {
  switch (message.kind) {
    case "state":
      return encodeImprovPacket({ type: ImprovPacketType.CurrentState, data: Uint8Array.of(message.state) }, NL);
    case "error":
      return encodeImprovPacket({ type: ImprovPacketType.ErrorState, data: Uint8Array.of(message.error) }, NL);
    case "rpc":
      return encodeImprovPacket({ type: ImprovPacketType.Rpc, data: encodeRpcBody(message) }, NL);
    case "result":
      return encodeImprovPacket({ type: ImprovPacketType.RpcResult, data: encodeRpcResultBody(message) }, NL);
  }
}
/** Shorthand: the RPC command packet a client sends (with `\n`). */
export function encodeRpcPacket(command: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  return encodeImprovMessage({ kind: "rpc", command, data });
}

/** Shorthand: the Send-Wi-Fi-settings RPC packet. */
export function encodeWifiSettingsPacket(settings: ImprovWifiSettings): Uint8Array {
  return encodeRpcPacket(ImprovCommand.SendWifiSettings, encodeWifiSettings(settings));
}

// --- streaming parser ---

/** What {@link ImprovSerialParser.push} finds. */
export type ImprovSerialEvent =
  /** A packet with a good checksum and a known type. */
  | { readonly kind: "packet"; readonly packet: ImprovPacket }
  /** Something that looked like a packet but was refused (`improv.checksum`, `improv.bad_packet`). */
  | { readonly kind: "invalid"; readonly error: TriadkitError }
  /** Bytes that are not Improv (console output), in order, merged per push. */
  | { readonly kind: "noise"; readonly bytes: Uint8Array };

export interface ImprovSerialParserOptions {
  /**
   * Drops a partly received packet when more than this many milliseconds pass between two pushes (ESPHome and WLED
   * do the same, so a cut-off packet cannot swallow the next one). Needs `nowMs` on every push. Default: off.
   */
  readonly interByteTimeoutMs?: number;
}

export interface ImprovSerialParserStats {
  readonly packets: number;
  readonly checksumErrors: number;
  readonly badPackets: number;
  readonly noiseBytes: number;
}

/**
 * Finds Improv packets in a byte stream shared with a console. Never throws on input; memory is bounded by one
 * packet (265 bytes). Any byte sequence that is not a complete, checksummed packet is reported as noise; after a
 * checksum failure the parser rescans the refused bytes, so a real packet hidden behind a spurious `IMPROV` is still
 * found.
 */
export class ImprovSerialParser {
  private readonly candidate = new Uint8Array(IMPROV_MAX_PACKET_BYTES);
  private length = 0;
  private lastPushAt: number | undefined;
  private readonly interByteTimeoutMs: number | undefined;
  private counts = { packets: 0, checksumErrors: 0, badPackets: 0, noiseBytes: 0 };

  constructor(options: ImprovSerialParserOptions = {}) {
    this.interByteTimeoutMs = options.interByteTimeoutMs;
  }

  /** Bytes of a partial packet held (at most 265). */
  get buffered(): number {
    return this.length;
  }

  get stats(): ImprovSerialParserStats {
    return { ...this.counts };
  }

  /** Drops any partial packet. */
  reset(): void {
    this.length = 0;
  }

  /** Feeds bytes as they arrive; returns what they completed, in order. */
  push(chunk: Uint8Array, nowMs?: number): ImprovSerialEvent[] {
    const events: ImprovSerialEvent[] = [];
    const noise: number[] = [];
    const flushNoise = () => {
      if (noise.length === 0) return;
      this.counts.noiseBytes += noise.length;
      events.push({ kind: "noise", bytes: Uint8Array.from(noise) });
      noise.length = 0;
    };
    if (
      this.interByteTimeoutMs !== undefined &&
      nowMs !== undefined &&
      this.lastPushAt !== undefined &&
      this.length > 0 &&
      nowMs - this.lastPushAt > this.interByteTimeoutMs
    ) {
      for (let i = 0; i < this.length; i++) noise.push(this.candidate[i] as number);
      this.length = 0;
    }
    if (nowMs !== undefined) this.lastPushAt = nowMs;

    // Bytes to examine: the input, preceded by any bytes handed back by a failed candidate.
    const pending: number[] = [];
    let index = 0;
    const next = (): number | undefined => {
      if (pending.length > 0) return pending.shift();
      return index < chunk.length ? chunk[index++] : undefined;
    };
    // A failed candidate: its first byte is noise, the rest is rescanned.
    const giveBack = () => {
      noise.push(this.candidate[0] as number);
      const rest = Array.from(this.candidate.subarray(1, this.length));
      pending.unshift(...rest);
      this.length = 0;
    };

    for (let byte = next(); byte !== undefined; byte = next()) {
      const at = this.length;
      if (at < IMPROV_SERIAL_HEADER.length) {
        if (byte === IMPROV_SERIAL_HEADER[at]) {
          this.candidate[this.length++] = byte;
        } else if (at === 0) {
          noise.push(byte);
        } else {
          this.candidate[this.length++] = byte;
          giveBack();
        }
        continue;
      }
      this.candidate[this.length++] = byte;
      if (at === 6) {
        if (byte !== IMPROV_SERIAL_VERSION) giveBack();
        continue;
      }
      if (at < IMPROV_SERIAL_PREFIX_BYTES) continue;
      const dataLength = this.candidate[8] as number;
      if (this.length < IMPROV_SERIAL_PREFIX_BYTES + dataLength + 1) continue;
      // Complete: check it.
      const checksum = improvChecksum(this.candidate, this.length - 1);
      if (checksum !== byte) {
        this.counts.checksumErrors++;
        flushNoise();
        events.push({
          kind: "invalid",
          error: new TriadkitError("improv.checksum", "Improv packet checksum mismatch", {
            expected: checksum,
            got: byte,
          }),
        });
        giveBack();
        continue;
      }
      const type = this.candidate[7] as number;
      const data = this.candidate.slice(IMPROV_SERIAL_PREFIX_BYTES, IMPROV_SERIAL_PREFIX_BYTES + dataLength);
      this.length = 0;
      flushNoise();
      if (!isKnownPacketType(type)) {
        this.counts.badPackets++;
        events.push({
          kind: "invalid",
          error: new TriadkitError("improv.bad_packet", "unknown Improv packet type", { type }),
        });
        continue;
      }
      this.counts.packets++;
      events.push({ kind: "packet", packet: { type, data } });
    }
    flushNoise();
    return events;
  }
}
