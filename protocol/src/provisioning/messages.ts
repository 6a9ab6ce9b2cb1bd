/**
 * Provisioning messages, carried one per record of the secure session. Each is a CBOR map with a text type tag
 * `t` and a request id `id` (uint32; a response echoes its request's id), then the fields below, in this order.
 *
 * Requests (client → device) and their responses (device → client):
 * - `get_device_info` → `device_info { firmware, productKey, deviceName, capabilities, protocolVersion,
 *   securityVersions, state }` (never a secret)
 * - `scan { page, pageSize }` → `scan_result { networks: [{ ssid, bssid?, rssi, channel?, auth }], page, total }`
 * - `set_credentials { ssid, password, bssid? }` → `ok` (stored, not applied)
 * - `apply` → `status` (normally `connecting`)
 * - `get_status` → `status { state, reason?, attemptsLeft?, ip? }`
 * - `reset` → `status` (`idle`): forget the failed attempt and accept new credentials, without a reboot
 * - `bind_token { token: bstr16 }` → `ok`: the token the device reports to the cloud once online (bind-token.ts)
 * - any request → `error { code }` when it cannot be served
 *
 * Validation is identical on encode and decode, so whatever encodes also decodes. Unknown keys are ignored
 * (newer firmware may add optional fields); unknown type tags, enum values and out-of-range fields are refused
 * with `prov.bad_message`. The Wi-Fi password is a secret: errors about it name the field only, never the value.
 */

import { fail } from "../errors.js";
import { DEVICE_NAME_PATTERN } from "../triad/alibaba.js";
import { type CborObject, CborReader, decodeCborMap, encodeCbor, type TextRule, type UintRule } from "./cbor.js";

// ---------------------------------------------------------------------------------------------------------------
// Enums and limits

export const DEVICE_PROVISIONING_STATES = ["unprovisioned", "provisioning", "connected"] as const;
export type DeviceProvisioningState = (typeof DEVICE_PROVISIONING_STATES)[number];

export const WIFI_STATES = ["idle", "connecting", "connected", "failed"] as const;
export type WifiState = (typeof WIFI_STATES)[number];

export const WIFI_FAILURE_REASONS = ["auth_error", "ap_not_found", "dhcp_timeout", "timeout"] as const;
export type WifiFailureReason = (typeof WIFI_FAILURE_REASONS)[number];

export const WIFI_AUTH_MODES = [
  "open",
  "wep",
  "wpa_psk",
  "wpa2_psk",
  "wpa_wpa2_psk",
  "wpa2_wpa3_psk",
  "wpa3_psk",
  "wpa2_enterprise",
  "wpa3_enterprise",
  "wapi_psk",
  "owe",
  "other",
] as const;
export type WifiAuthMode = (typeof WIFI_AUTH_MODES)[number];

/** Capabilities a device may list; others matching {@link CAPABILITY_PATTERN} are accepted for forward compatibility. */
export const KNOWN_CAPABILITIES = ["wifi_scan", "softap", "ble", "improv", "bind_token", "reset"] as const;
export const CAPABILITY_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;
/** Known `error.code` values; others matching {@link ERROR_CODE_PATTERN} are accepted. */
export const PROV_ERROR_CODES = [
  "bad_request",
  "unknown_request",
  "no_credentials",
  "busy",
  "scan_failed",
  "not_supported",
  "internal",
] as const;
export const ERROR_CODE_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;

export const MAX_CAPABILITIES = 16;
export const MAX_SCAN_PAGE_SIZE = 16;
export const BIND_TOKEN_BYTES = 16;

const REQUEST_ID: UintRule = { min: 0, max: 0xffffffff };
const U16: UintRule = { min: 0, max: 0xffff };
const SECURITY_VERSION: UintRule = { min: 1, max: 255 };

/** SSID: 1–32 bytes of UTF-8 (hidden networks, empty SSID, appear only in scan results). */
const SSID: TextRule = { minBytes: 1, maxBytes: 32, describe: "1-32 bytes of UTF-8" };
const SCAN_SSID: TextRule = { minBytes: 0, maxBytes: 32, describe: "0-32 bytes of UTF-8" };
const FIRMWARE: TextRule = {
  minBytes: 1,
  maxBytes: 64,
  pattern: /^[\x20-\x7e]+$/,
  describe: "1-64 printable ASCII characters",
};
const IPV4 = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$/;
const IP: TextRule = { minBytes: 7, maxBytes: 15, pattern: IPV4, describe: "a dotted-quad IPv4 address" };
const PRODUCT_KEY: TextRule = {
  minBytes: 1,
  maxBytes: 64,
  pattern: /^[A-Za-z0-9_-]+$/,
  describe: "1-64 letters, digits, '_' or '-'",
};
const DEVICE_NAME: TextRule = {
  minBytes: 4,
  maxBytes: 32,
  pattern: DEVICE_NAME_PATTERN,
  describe: "a DeviceName (^[A-Za-z0-9_@.:-]{4,32}$)",
};

// ---------------------------------------------------------------------------------------------------------------
// Message types

interface Base {
  /** Request id (uint32); a response carries its request's id. */
  readonly id: number;
}

export interface GetDeviceInfo extends Base {
  readonly type: "get_device_info";
}
export interface ScanRequest extends Base {
  readonly type: "scan";
  /** 0-based page index. */
  readonly page: number;
  /** 1–16 networks per page (a BLE write is small; ESP pages 4 at a time). */
  readonly pageSize: number;
}
export interface SetCredentials extends Base {
  readonly type: "set_credentials";
  readonly ssid: string;
  /** Secret. `""` (open network), 8–63 printable ASCII (WPA passphrase) or 64 hex digits (raw PSK). */
  readonly password: string;
  /** Pin one access point (6 bytes). */
  readonly bssid?: Uint8Array;
}
export interface Apply extends Base {
  readonly type: "apply";
}
export interface GetStatus extends Base {
  readonly type: "get_status";
}
export interface Reset extends Base {
  readonly type: "reset";
}
export interface BindToken extends Base {
  readonly type: "bind_token";
  /** 16 random bytes chosen by the app; the device reports them to the cloud after joining. */
  readonly token: Uint8Array;
}

export interface DeviceInfo extends Base {
  readonly type: "device_info";
  readonly firmware: string;
  readonly productKey: string;
  readonly deviceName: string;
  readonly capabilities: readonly string[];
  /** Provisioning message protocol version (1). */
  readonly protocolVersion: number;
  /** Secure-session versions the device accepts. */
  readonly securityVersions: readonly number[];
  readonly state: DeviceProvisioningState;
}
export interface ScannedNetwork {
  readonly ssid: string;
  readonly bssid?: Uint8Array;
  /** dBm, −128…0. */
  readonly rssi: number;
  /** 1–233 (2.4, 5 and 6 GHz channel numbers). */
  readonly channel?: number;
  readonly auth: WifiAuthMode;
}
export interface ScanResult extends Base {
  readonly type: "scan_result";
  readonly networks: readonly ScannedNetwork[];
  readonly page: number;
  /** Networks in the whole scan (all pages). */
  readonly total: number;
}
export interface Ok extends Base {
  readonly type: "ok";
}
export interface Status extends Base {
  readonly type: "status";
  readonly state: WifiState;
  /** Only with `failed`. */
  readonly reason?: WifiFailureReason;
  /** Attempts the device will still make on its own (`connecting` or `failed`). */
  readonly attemptsLeft?: number;
  /** Only with `connected`. */
  readonly ip?: string;
}
export interface ErrorResponse extends Base {
  readonly type: "error";
  readonly code: string;
}

export type ProvRequest = GetDeviceInfo | ScanRequest | SetCredentials | Apply | GetStatus | Reset | BindToken;
export type ProvResponse = DeviceInfo | ScanResult | Ok | Status | ErrorResponse;
export type ProvMessage = ProvRequest | ProvResponse;
export type ProvMessageType = ProvMessage["type"];

export const PROV_REQUEST_TYPES = [
  "get_device_info",
  "scan",
  "set_credentials",
  "apply",
  "get_status",
  "reset",
  "bind_token",
] as const satisfies readonly ProvRequest["type"][];
export const PROV_RESPONSE_TYPES = [
  "device_info",
  "scan_result",
  "ok",
  "status",
  "error",
] as const satisfies readonly ProvResponse["type"][];
const ALL_TYPES: readonly string[] = [...PROV_REQUEST_TYPES, ...PROV_RESPONSE_TYPES];

// ---------------------------------------------------------------------------------------------------------------
// Field checks

const WHAT = "provisioning message";

/** True for a valid Wi-Fi password: empty, 8–63 printable ASCII, or 64 hex digits. */
export function isValidWifiPassword(password: string): boolean {
  if (typeof password !== "string") return false;
  if (password.length === 0) return true;
  if (password.length === 64) return /^[0-9A-Fa-f]{64}$/.test(password);
  return password.length >= 8 && password.length <= 63 && /^[\x20-\x7e]+$/.test(password);
}

function readPassword(r: CborReader): string {
  const value = r.raw("password");
  if (typeof value !== "string" || !isValidWifiPassword(value)) {
    // The value is never echoed, not even its length.
    r.bad("password", "empty, 8-63 printable ASCII characters, or 64 hex digits");
  }
  return value;
}

function readStringList(r: CborReader, key: string, max: number, pattern: RegExp): string[] {
  const list = r.array(key, max);
  const seen = new Set<string>();
  return list.map((item) => {
    if (typeof item !== "string" || !pattern.test(item)) return r.bad(key, `a list of identifiers matching ${pattern}`);
    if (seen.has(item)) r.bad(key, "a list without repeats");
    seen.add(item);
    return item;
  });
}

function readNetwork(parent: CborReader, value: unknown, index: number): ScannedNetwork {
  const r = parent.map(value, `networks[${index}]`);
  const ssid = r.text("ssid", SCAN_SSID);
  const bssid = r.optionalBytes("bssid", 6);
  const rssi = r.raw("rssi");
  if (typeof rssi !== "number" || !Number.isInteger(rssi) || rssi < -128 || rssi > 0) {
    return r.bad("rssi", "an integer in [-128, 0]");
  }
  const channel = r.optionalUint("channel", { min: 1, max: 233 });
  const auth = r.literal("auth", WIFI_AUTH_MODES);
  return {
    ssid,
    ...(bssid === undefined ? {} : { bssid }),
    rssi,
    ...(channel === undefined ? {} : { channel }),
    auth,
  };
}

/** Reads and validates one message map; returns it in canonical shape (fields in wire order, no extras). */
function readMessage(obj: CborObject): ProvMessage {
  const r = new CborReader(obj, WHAT);
  const type = r.raw("t");
  if (typeof type !== "string" || !ALL_TYPES.includes(type)) r.bad("t", "a known message type");
  const id = r.uint("id", REQUEST_ID);
  switch (type as ProvMessageType) {
    case "get_device_info":
    case "apply":
    case "get_status":
    case "reset":
    case "ok":
      return { type, id } as ProvMessage;
    case "scan":
      return {
        type: "scan",
        id,
        page: r.uint("page", U16),
        pageSize: r.uint("pageSize", { min: 1, max: MAX_SCAN_PAGE_SIZE }),
      };
    case "set_credentials": {
      const ssid = r.text("ssid", SSID);
      const password = readPassword(r);
      const bssid = r.optionalBytes("bssid", 6);
      return { type: "set_credentials", id, ssid, password, ...(bssid === undefined ? {} : { bssid }) };
    }
    case "bind_token":
      return { type: "bind_token", id, token: r.bytes("token", BIND_TOKEN_BYTES) };
    case "device_info": {
      const securityVersions = r.array("securityVersions", 8).map((v) => {
        if (typeof v !== "number" || !Number.isInteger(v) || v < SECURITY_VERSION.min || v > SECURITY_VERSION.max) {
          return r.bad("securityVersions", "a list of integers in [1, 255]");
        }
        return v;
      });
      if (securityVersions.length === 0 || new Set(securityVersions).size !== securityVersions.length) {
        r.bad("securityVersions", "a non-empty list without repeats");
      }
      return {
        type: "device_info",
        id,
        firmware: r.text("firmware", FIRMWARE),
        productKey: r.text("productKey", PRODUCT_KEY),
        deviceName: r.text("deviceName", DEVICE_NAME),
        capabilities: readStringList(r, "capabilities", MAX_CAPABILITIES, CAPABILITY_PATTERN),
        protocolVersion: r.uint("protocolVersion", { min: 1, max: 255 }),
        securityVersions,
        state: r.literal("state", DEVICE_PROVISIONING_STATES),
      };
    }
    case "scan_result": {
      const networks = r.array("networks", MAX_SCAN_PAGE_SIZE).map((n, i) => readNetwork(r, n, i));
      const page = r.uint("page", U16);
      const total = r.uint("total", U16);
      return { type: "scan_result", id, networks, page, total };
    }
    case "status": {
      const state = r.literal("state", WIFI_STATES);
      const reason = r.optionalLiteral("reason", WIFI_FAILURE_REASONS);
      const attemptsLeft = r.optionalUint("attemptsLeft", { min: 0, max: 255 });
      const ip = r.optionalText("ip", IP);
      if (reason !== undefined && state !== "failed") r.bad("reason", 'absent unless state is "failed"');
      if (ip !== undefined && state !== "connected") r.bad("ip", 'absent unless state is "connected"');
      if (attemptsLeft !== undefined && state !== "connecting" && state !== "failed") {
        r.bad("attemptsLeft", 'absent unless state is "connecting" or "failed"');
      }
      return {
        type: "status",
        id,
        state,
        ...(reason === undefined ? {} : { reason }),
        ...(attemptsLeft === undefined ? {} : { attemptsLeft }),
        ...(ip === undefined ? {} : { ip }),
      };
    }
    case "error": {
      const code = r.raw("code");
      if (typeof code !== "string" || !ERROR_CODE_PATTERN.test(code))
        return r.bad("code", `matching ${ERROR_CODE_PATTERN}`);
      return { type: "error", id, code };
    }
  }
}

/** The wire map of a validated message: `t`, `id`, then the fields in the documented order. */
function wireOf(message: ProvMessage): CborObject {
  const { type, ...rest } = message;
  return { t: type, ...rest };
}

function toReadable(message: ProvMessage): CborObject {
  if (typeof message !== "object" || message === null) return fail("prov.bad_message", `${WHAT}: not an object`);
  const { type, ...rest } = message as ProvMessage & Record<string, unknown>;
  return { t: type, ...rest };
}

/** Encodes a message (validated first). Throws `prov.bad_message`. */
export function encodeProvMessage(message: ProvMessage): Uint8Array {
  return encodeCbor(wireOf(readMessage(toReadable(message))));
}

/** Decodes any provisioning message. Throws `prov.bad_message`. */
export function decodeProvMessage(bytes: Uint8Array): ProvMessage {
  return readMessage(decodeCborMap(bytes, WHAT));
}

export function isProvRequest(message: ProvMessage): message is ProvRequest {
  return (PROV_REQUEST_TYPES as readonly string[]).includes(message.type);
}

/** Decodes a message the device receives; a response type is `prov.bad_message`. */
export function decodeProvRequest(bytes: Uint8Array): ProvRequest {
  const message = decodeProvMessage(bytes);
  if (!isProvRequest(message)) fail("prov.bad_message", `${WHAT}: expected a request`, { type: message.type });
  return message;
}

/** Decodes a message the client receives; a request type is `prov.bad_message`. */
export function decodeProvResponse(bytes: Uint8Array): ProvResponse {
  const message = decodeProvMessage(bytes);
  if (isProvRequest(message)) fail("prov.bad_message", `${WHAT}: expected a response`, { type: message.type });
  return message;
}
