/**
 * The factory protocol (issue 7): what a provisioning station says to a blank board over its console UART (or, in a
 * later issue, over an authenticated BLE channel). This file is the contract shared by the codec (this folder), the
 * device responder (@triadkit/sdk) and the burner (@triadkit/provisioning-station). Byte layouts: docs/factory-protocol.md.
 *
 * Wire: each packet is COBS-encoded and followed by one 0x00 delimiter (resynchronises after noise: a receiver
 * drops bytes up to the next 0x00). A decoded packet is
 *
 *   version u8 (= 1) | kind u8 (1 request, 2 response) | requestId u16 BE | body (CBOR map, `t` = type tag) | crc32 u32 BE
 *
 * with the CRC-32 (IEEE 802.3, as zlib) over every byte before it. At most {@link FACTORY_MAX_PACKET_BYTES} decoded.
 * A response echoes its request's id. Every response body is either the success shape of its request or `error`.
 */

export const FACTORY_PROTOCOL_VERSION = 1;
export const FACTORY_MAX_PACKET_BYTES = 2048;
export const FACTORY_NONCE_BYTES = 16;
/** HKDF-SHA256 info for the verify key: K_verify = HKDF(ikm = UTF-8 secret, salt = "triadkit", info, 32). */
export const FACTORY_VERIFY_INFO = "triadkit/verify/v1";
/** Domain-separation prefix of the verify MAC input. */
export const FACTORY_VERIFY_LABEL = "triadkit/factory-verify/v1";
/** Domain-separation prefix of the Ed25519 message authorising `unlock` / `factory_reset`. */
export const FACTORY_AUTH_LABEL = "triadkit/factory-auth/v1";

export type FactoryPacketKind = "request" | "response";

export interface FactoryPacket {
  readonly version: number;
  readonly kind: FactoryPacketKind;
  readonly requestId: number;
  /** The CBOR body, still encoded. */
  readonly body: Uint8Array;
}

export type DeviceFactoryState = "blank" | "provisioned" | "locked";

/** The triad as burnt: the full secret travels only inside `write_record`. */
export type FactoryTriad =
  | {
      readonly family: "alibaba";
      readonly productKey: string;
      readonly deviceName: string;
      readonly deviceSecret: string;
    }
  | { readonly family: "genie"; readonly productId: number; readonly mac: string; readonly secret: string };

/** The public half of a FactoryTriad (what `hello` reports; never the secret). */
export type FactoryIdentity =
  | { readonly family: "alibaba"; readonly productKey: string; readonly deviceName: string }
  | { readonly family: "genie"; readonly productId: number; readonly mac: string };

/**
 * Everything the station writes into one device, stored atomically under one FlashStore key. Encoded with the
 * deterministic encoder (fixed key order, shortest form) so `recordHash = SHA-256(encodeFactoryRecord(record))`
 * is the same on both sides.
 */
export interface FactoryRecord {
  /** Record format version (1). */
  readonly v: number;
  readonly triad: FactoryTriad;
  /** PoP verifier from the provisioning scheme (protocol/src/provisioning/pop.ts `derivePopVerifier`). */
  readonly pop: { readonly v: number; readonly salt: Uint8Array; readonly key: Uint8Array };
  /** Smart-shelf store id (门店码, integer) and device code (设备码, opaque). */
  readonly shelf?: { readonly storeId: number; readonly deviceCode: string };
  /**
   * The factory trust anchor: the pool's Ed25519 factory public key (checks unlock/reset signatures). The private
   * half is generated once per pool and kept sealed in the ledger, so any station granted the pool can rework.
   */
  readonly anchor: { readonly poolId: string; readonly publicKey: Uint8Array };
  /** The station that burnt it. */
  readonly stationId: string;
  /** Ledger references, for reconcile and rework. */
  readonly workOrderId: string;
  readonly triadId: string;
  /** Milliseconds since the epoch, station clock. */
  readonly writtenAt: number;
}

export interface ModemIdentity {
  readonly imei?: string;
  readonly iccid?: string;
  readonly imsi?: string;
}

export type FactoryRequest =
  /** Who are you? `stationNonce` is echoed into nothing; it only makes the answer fresh. */
  | { readonly t: "hello"; readonly stationNonce: Uint8Array }
  | { readonly t: "write_record"; readonly record: FactoryRecord }
  | { readonly t: "verify"; readonly stationNonce: Uint8Array }
  | { readonly t: "lock" }
  /** Signature: Ed25519(station key, authMessage("unlock", chipId, challenge)) — see {@link FactoryHello.challenge}. */
  | { readonly t: "unlock"; readonly signature: Uint8Array }
  | { readonly t: "factory_reset"; readonly signature: Uint8Array };

export interface FactoryHello {
  readonly t: "hello";
  readonly protocolVersion: number;
  /** Stable chip id, lower-case hex (e.g. the eFuse/OTP unique id). */
  readonly chipId: string;
  /** 12 lower-case hex digits. */
  readonly wifiMac: string;
  readonly bleMac?: string;
  readonly model: string;
  readonly firmware: string;
  readonly state: DeviceFactoryState;
  /** Present unless blank. */
  readonly identity?: FactoryIdentity;
  readonly recordHash?: Uint8Array;
  readonly workOrderId?: string;
  readonly triadId?: string;
  readonly modem?: ModemIdentity;
  /**
   * A fresh device nonce for `unlock`/`factory_reset`: valid until the next `hello`, a reboot, or its first use
   * (single use), so a captured signature cannot be replayed.
   */
  readonly challenge: Uint8Array;
}

export type FactoryResponse =
  | FactoryHello
  | { readonly t: "written"; readonly recordHash: Uint8Array }
  | {
      readonly t: "verified";
      readonly deviceNonce: Uint8Array;
      readonly recordHash: Uint8Array;
      /** HMAC-SHA256(K_verify, verifyMacInput(...)). */
      readonly mac: Uint8Array;
    }
  | { readonly t: "ok"; readonly state: DeviceFactoryState }
  | { readonly t: "error"; readonly code: FactoryErrorCode; readonly message?: string };

export const FACTORY_ERROR_CODES = [
  "bad_request",
  "unknown_request",
  "unsupported_version",
  "locked",
  "not_blank",
  "no_record",
  "bad_record",
  "bad_signature",
  "no_challenge",
  "storage_failed",
] as const;
export type FactoryErrorCode = (typeof FACTORY_ERROR_CODES)[number];

/*
 * Functions the codec exports (implemented in this folder):
 *
 *   encodeFactoryFrame(packet: FactoryPacket): Uint8Array                 // COBS(packet bytes) ‖ 0x00
 *   class FactoryFrameDecoder { push(chunk: Uint8Array): FactoryPacket[]; errors via onError or returned list }
 *     // resynchronises on 0x00; bad CRC → `framing.crc_mismatch`, bad COBS → `framing.bad_cobs`,
 *     // too long → `framing.too_large`, version ≠ 1 → `framing.bad_version` (reported, packet dropped, never throws)
 *   encodeFactoryRequest(req: FactoryRequest): Uint8Array   / decodeFactoryRequest(body): FactoryRequest     (`factory.bad_message`)
 *   encodeFactoryResponse(res: FactoryResponse): Uint8Array / decodeFactoryResponse(body): FactoryResponse
 *   encodeFactoryRecord(rec: FactoryRecord): Uint8Array     / decodeFactoryRecord(bytes): FactoryRecord
 *   factoryRecordHash(rec: FactoryRecord): Uint8Array        // SHA-256 of encodeFactoryRecord
 *   factoryIdentityOf(triad: FactoryTriad): FactoryIdentity
 *   deriveVerifyKey(secret: string): Uint8Array              // HKDF-SHA256(utf8(secret), "triadkit", FACTORY_VERIFY_INFO, 32)
 *   verifyMacInput(deviceNonce, stationNonce, chipId, recordHash): Uint8Array
 *     // utf8(FACTORY_VERIFY_LABEL) ‖ 0x00 ‖ deviceNonce(16) ‖ stationNonce(16) ‖ u8 len ‖ utf8(chipId) ‖ recordHash(32)
 *   computeVerifyMac(secret, deviceNonce, stationNonce, chipId, recordHash): Uint8Array
 *   checkVerifyMac(...same..., mac): boolean                 // constant time
 *   factoryAuthMessage(action: "unlock" | "factory_reset", chipId: string, challenge: Uint8Array): Uint8Array
 *     // utf8(FACTORY_AUTH_LABEL) ‖ 0x00 ‖ u8 len ‖ utf8(action) ‖ u8 len ‖ utf8(chipId) ‖ challenge(16)
 */
