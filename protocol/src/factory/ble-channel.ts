/**
 * Factory BLE channel v1: the factory protocol over BLE, on an authenticated, encrypted channel bound to the
 * device's BLE MAC (docs/factory-protocol.md, "Over BLE"). Pure state machines; randomness and the anchor
 * signature are injected. After the handshake each side holds a {@link FactoryBleRecords} and carries the
 * unchanged factory byte stream (COBS frames) inside its records.
 *
 * Handshake (S = station, the central; D = device, the peripheral), each message one CBOR map:
 * - S→D `{ t: "fble_hello", v: 1, stationPub: bstr32, stationNonce: bstr16 }`
 * - D→S `{ t: "fble_device", v: 1, devicePub: bstr32, deviceNonce: bstr16, chipId: tstr, bleMac: tstr }`
 * - S: refuses unless `bleMac` is the MAC it scanned (`station.ble_wrong_device`); else
 *   S→D `{ t: "fble_auth", expectedMac: tstr, anchor: bstr32, signature: bstr64 }` where `signature` is the
 *   anchor's Ed25519 signature over `utf8("triadkit/factory-ble/v1/auth") ‖ 0x00 ‖ transcriptHash`
 * - D: refuses (`{ t: "fble_refused", reason }`) when `expectedMac` is not its own MAC, when it holds a record whose
 *   anchor is another key, or when the signature does not verify; else D→S `{ t: "fble_ok", confirm: bstr32 }`
 * - transcriptHash = SHA-256(canonical CBOR `["triadkit/factory-ble", 1, stationPub, stationNonce, devicePub,
 *   deviceNonce, chipId, bleMac, expectedMac, anchor]`)
 * - k_label = HKDF-SHA256(ikm = X25519 shared, salt = transcriptHash, info = "triadkit/factory-ble/v1/" + label)
 *   for `s2d`, `d2s`, `confirm`; confirm = HMAC-SHA256(k_confirm, transcriptHash)
 *
 * Records: the provisioning session's record layout (`[1][dir][counter u64 BE][ChaCha20-Poly1305 ‖ tag]`, nonce
 * `00 00 00 dir ‖ counter`, AAD the header), direction 0x01 station→device and 0x02 device→station, keys above.
 */

import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { type ErrorCode, fail, isTriadkitError, TriadkitError } from "../errors.js";
import { normalizeMac } from "../ids/mac.js";
import { CborReader, canonicalCbor, decodeCborMap, encodeCbor } from "../provisioning/cbor.js";
import {
  AEAD_TAG_BYTES,
  type RandomSource,
  RECORD_DIRECTION,
  RECORD_HEADER_BYTES,
  sealRecord,
  x25519PublicKey,
  x25519Shared,
} from "../provisioning/session.js";
import { concatBytes, constantTimeEqual, utf8 } from "../util/bytes.js";
import { CHIP_ID, FACTORY_PUBLIC_KEY_BYTES, FACTORY_SIGNATURE_BYTES, MAC_ADDRESS } from "./fields.js";

export const FACTORY_BLE_VERSION = 1;
export const FACTORY_BLE_TRANSCRIPT_LABEL = "triadkit/factory-ble";
export const FACTORY_BLE_KEY_INFO_PREFIX = "triadkit/factory-ble/v1/";
export const FACTORY_BLE_AUTH_LABEL = "triadkit/factory-ble/v1/auth";
/** Largest plaintext of one factory BLE record: a record then fits one 4096-byte BLE framing message. */
export const FACTORY_BLE_MAX_RECORD_PLAINTEXT = 2048;

/** The factory GATT service: the station writes requests on `rx`, the device notifies on `tx`. */
export const FACTORY_BLE_SERVICE_UUID = "83c4e646-7cb5-4efc-9670-4eaad2ef4200";
export const FACTORY_BLE_RX_CHAR_UUID = "83c4e646-7cb5-4efc-9670-4eaad2ef4201";
export const FACTORY_BLE_TX_CHAR_UUID = "83c4e646-7cb5-4efc-9670-4eaad2ef4202";

export const FACTORY_BLE_REFUSALS = ["wrong_mac", "anchor_mismatch", "bad_signature", "bad_message", "busy"] as const;
export type FactoryBleRefusal = (typeof FACTORY_BLE_REFUSALS)[number];

const KEY_BYTES = 32;
const NONCE_BYTES = 16;
const BAD: ErrorCode = "factory.ble_bad_message";

// ---------------------------------------------------------------------------------------------------------------
// Messages

export interface FactoryBleHello {
  readonly stationPub: Uint8Array;
  readonly stationNonce: Uint8Array;
}

export interface FactoryBleDeviceHello {
  readonly devicePub: Uint8Array;
  readonly deviceNonce: Uint8Array;
  readonly chipId: string;
  readonly bleMac: string;
}

export interface FactoryBleAuth {
  readonly expectedMac: string;
  readonly anchor: Uint8Array;
  readonly signature: Uint8Array;
}

export type FactoryBleAnswer =
  | { readonly t: "fble_ok"; readonly confirm: Uint8Array }
  | { readonly t: "fble_refused"; readonly reason: FactoryBleRefusal };

function reader(bytes: Uint8Array, what: string, t: string): CborReader {
  const r = new CborReader(decodeCborMap(bytes, what, BAD), what, "", BAD);
  if (r.raw("t") !== t) r.bad("t", `"${t}"`);
  return r;
}

function version(r: CborReader): void {
  r.uint("v", { min: FACTORY_BLE_VERSION, max: FACTORY_BLE_VERSION });
}

export function encodeFactoryBleHello(m: FactoryBleHello): Uint8Array {
  return encodeCbor({ t: "fble_hello", v: FACTORY_BLE_VERSION, ...decodeFactoryBleHelloFields(m) });
}

function decodeFactoryBleHelloFields(obj: object): FactoryBleHello {
  const r = new CborReader(obj as Record<string, unknown>, "fble_hello", "", BAD);
  return { stationPub: r.bytes("stationPub", KEY_BYTES), stationNonce: r.bytes("stationNonce", NONCE_BYTES) };
}

export function decodeFactoryBleHello(bytes: Uint8Array): FactoryBleHello {
  const r = reader(bytes, "fble_hello", "fble_hello");
  version(r);
  return decodeFactoryBleHelloFields(r.obj);
}

function deviceHelloFields(obj: object): FactoryBleDeviceHello {
  const r = new CborReader(obj as Record<string, unknown>, "fble_device", "", BAD);
  return {
    devicePub: r.bytes("devicePub", KEY_BYTES),
    deviceNonce: r.bytes("deviceNonce", NONCE_BYTES),
    chipId: r.text("chipId", CHIP_ID),
    bleMac: r.text("bleMac", MAC_ADDRESS),
  };
}

export function encodeFactoryBleDeviceHello(m: FactoryBleDeviceHello): Uint8Array {
  return encodeCbor({ t: "fble_device", v: FACTORY_BLE_VERSION, ...deviceHelloFields(m) });
}

export function decodeFactoryBleDeviceHello(bytes: Uint8Array): FactoryBleDeviceHello {
  const r = reader(bytes, "fble_device", "fble_device");
  version(r);
  return deviceHelloFields(r.obj);
}

function authFields(obj: object): FactoryBleAuth {
  const r = new CborReader(obj as Record<string, unknown>, "fble_auth", "", BAD);
  return {
    expectedMac: r.text("expectedMac", MAC_ADDRESS),
    anchor: r.bytes("anchor", FACTORY_PUBLIC_KEY_BYTES),
    signature: r.bytes("signature", FACTORY_SIGNATURE_BYTES),
  };
}

export function encodeFactoryBleAuth(m: FactoryBleAuth): Uint8Array {
  return encodeCbor({ t: "fble_auth", ...authFields(m) });
}

export function decodeFactoryBleAuth(bytes: Uint8Array): FactoryBleAuth {
  return authFields(reader(bytes, "fble_auth", "fble_auth").obj);
}

export function encodeFactoryBleAnswer(m: FactoryBleAnswer): Uint8Array {
  return m.t === "fble_ok"
    ? encodeCbor({ t: "fble_ok", confirm: checkedConfirm(m.confirm) })
    : encodeCbor({ t: "fble_refused", reason: checkedRefusal(m.reason) });
}

function checkedConfirm(confirm: unknown): Uint8Array {
  return new CborReader({ confirm }, "fble_ok", "", BAD).bytes("confirm", KEY_BYTES);
}

function checkedRefusal(reason: unknown): FactoryBleRefusal {
  return new CborReader({ reason }, "fble_refused", "", BAD).literal("reason", FACTORY_BLE_REFUSALS);
}

export function decodeFactoryBleAnswer(bytes: Uint8Array): FactoryBleAnswer {
  const obj = decodeCborMap(bytes, "fble answer", BAD);
  if (obj.t === "fble_ok") return { t: "fble_ok", confirm: checkedConfirm(obj.confirm) };
  if (obj.t === "fble_refused") return { t: "fble_refused", reason: checkedRefusal(obj.reason) };
  return fail(BAD, 'fble answer: t must be "fble_ok" or "fble_refused"', { field: "t" });
}

// ---------------------------------------------------------------------------------------------------------------
// Transcript, signature, keys

export interface FactoryBleTranscript {
  readonly stationPub: Uint8Array;
  readonly stationNonce: Uint8Array;
  readonly devicePub: Uint8Array;
  readonly deviceNonce: Uint8Array;
  readonly chipId: string;
  /** The MAC the device reports. */
  readonly bleMac: string;
  /** The MAC the station scanned and expects. */
  readonly expectedMac: string;
  /** The station's Ed25519 anchor public key. */
  readonly anchor: Uint8Array;
}

export function factoryBleTranscriptBytes(t: FactoryBleTranscript): Uint8Array {
  return canonicalCbor([
    FACTORY_BLE_TRANSCRIPT_LABEL,
    FACTORY_BLE_VERSION,
    t.stationPub,
    t.stationNonce,
    t.devicePub,
    t.deviceNonce,
    t.chipId,
    t.bleMac,
    t.expectedMac,
    t.anchor,
  ]);
}

export function factoryBleTranscriptHash(t: FactoryBleTranscript): Uint8Array {
  return sha256(factoryBleTranscriptBytes(t));
}

/** What the anchor signs: `utf8("triadkit/factory-ble/v1/auth") ‖ 0x00 ‖ transcriptHash`. */
export function factoryBleAuthMessage(transcriptHash: Uint8Array): Uint8Array {
  if (!(transcriptHash instanceof Uint8Array) || transcriptHash.length !== 32) {
    fail(BAD, "factory BLE auth: the transcript hash must be 32 bytes", { field: "transcriptHash" });
  }
  return concatBytes(utf8(FACTORY_BLE_AUTH_LABEL), Uint8Array.of(0), transcriptHash);
}

/** Signs a handshake with the anchor's 32-byte Ed25519 seed. */
export function signFactoryBleAuth(seed32: Uint8Array, transcriptHash: Uint8Array): Uint8Array {
  if (!(seed32 instanceof Uint8Array) || seed32.length !== 32) {
    fail("config.invalid", "factory BLE auth: the signing seed must be 32 bytes");
  }
  return ed25519.sign(factoryBleAuthMessage(transcriptHash), seed32);
}

/** Strict RFC 8032 check; never throws (false). */
export function checkFactoryBleAuth(publicKey: Uint8Array, transcriptHash: Uint8Array, signature: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, factoryBleAuthMessage(transcriptHash), publicKey, { zip215: false });
  } catch {
    return false;
  }
}

export interface FactoryBleKeys {
  /** AEAD key, station → device. */
  readonly s2d: Uint8Array;
  /** AEAD key, device → station. */
  readonly d2s: Uint8Array;
  readonly confirm: Uint8Array;
}

export function deriveFactoryBleKeys(shared: Uint8Array, transcriptHash: Uint8Array): FactoryBleKeys {
  const k = (label: string) => hkdf(sha256, shared, transcriptHash, utf8(FACTORY_BLE_KEY_INFO_PREFIX + label), 32);
  return { s2d: k("s2d"), d2s: k("d2s"), confirm: k("confirm") };
}

export function factoryBleConfirm(keys: FactoryBleKeys, transcriptHash: Uint8Array): Uint8Array {
  return hmac(sha256, keys.confirm, transcriptHash);
}

function shared(priv: Uint8Array, peer: Uint8Array): Uint8Array {
  try {
    return x25519Shared(priv, peer);
  } catch {
    return fail(BAD, "the peer's X25519 key is a low-order point");
  }
}

function draw(random: RandomSource, n: number): Uint8Array {
  const bytes = random(n);
  if (!(bytes instanceof Uint8Array) || bytes.length !== n) {
    fail("config.invalid", `the random source must return exactly ${n} bytes`);
  }
  return Uint8Array.from(bytes);
}

// ---------------------------------------------------------------------------------------------------------------
// Records

/**
 * The record layer after the handshake. `seal` numbers records from 0; `open` authenticates first, then requires
 * the exact next counter. Any error while opening fails the channel for good (`failed`).
 */
export class FactoryBleRecords {
  private sendCounter = 0;
  private recvCounter = 0;
  private broken = false;

  constructor(
    readonly role: "station" | "device",
    private readonly keys: FactoryBleKeys,
  ) {}

  get failed(): boolean {
    return this.broken;
  }

  private get sendDirection(): "c2s" | "s2c" {
    return this.role === "station" ? "c2s" : "s2c";
  }

  seal(plaintext: Uint8Array): Uint8Array {
    if (this.broken) fail("factory.ble_bad_message", "the factory BLE channel has failed");
    if (plaintext.length > FACTORY_BLE_MAX_RECORD_PLAINTEXT) {
      fail("factory.ble_bad_message", `a record carries at most ${FACTORY_BLE_MAX_RECORD_PLAINTEXT} bytes`, {
        length: plaintext.length,
      });
    }
    const key = this.role === "station" ? this.keys.s2d : this.keys.d2s;
    const record = sealRecord(key, FACTORY_BLE_VERSION, this.sendDirection, this.sendCounter, plaintext);
    this.sendCounter += 1;
    return record;
  }

  open(record: Uint8Array): Uint8Array {
    if (this.broken) fail("factory.ble_bad_message", "the factory BLE channel has failed");
    try {
      return this.openChecked(record);
    } catch (err) {
      this.broken = true;
      if (isTriadkitError(err)) throw err;
      throw new TriadkitError("internal.unexpected", "factory BLE record failed unexpectedly", undefined, {
        cause: err,
      });
    }
  }

  private openChecked(record: Uint8Array): Uint8Array {
    const max = RECORD_HEADER_BYTES + FACTORY_BLE_MAX_RECORD_PLAINTEXT + AEAD_TAG_BYTES;
    if (record.length < RECORD_HEADER_BYTES + AEAD_TAG_BYTES || record.length > max) {
      fail("factory.ble_bad_message", "a factory BLE record has the wrong size", { length: record.length });
    }
    const direction = this.role === "station" ? RECORD_DIRECTION.s2c : RECORD_DIRECTION.c2s;
    const header = record.subarray(0, RECORD_HEADER_BYTES);
    // The receiver's own direction constant goes into the nonce: a reflected record fails authentication.
    const nonce = new Uint8Array(12);
    nonce[3] = direction;
    nonce.set(header.subarray(2), 4);
    const key = this.role === "station" ? this.keys.d2s : this.keys.s2d;
    let plaintext: Uint8Array;
    try {
      plaintext = chacha20poly1305(key, nonce, header).decrypt(record.subarray(RECORD_HEADER_BYTES));
    } catch {
      return fail("factory.ble_decrypt_failed", "factory BLE record failed authentication (tampered or wrong key)");
    }
    const counter = new DataView(header.buffer, header.byteOffset, RECORD_HEADER_BYTES).getBigUint64(2, false);
    if (counter !== BigInt(this.recvCounter)) {
      fail("factory.ble_replay", "factory BLE record counter is not the next one (replayed or reordered)", {
        expected: this.recvCounter,
        got: counter.toString(),
      });
    }
    if (header[0] !== FACTORY_BLE_VERSION || header[1] !== direction) {
      fail("factory.ble_bad_message", "factory BLE record header does not match the channel");
    }
    this.recvCounter += 1;
    return plaintext;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Station side

export interface FactoryBleStationOptions {
  readonly random: RandomSource;
  /** The BLE MAC the station scanned (any usual notation; normalised). */
  readonly expectedMac: string;
  /** The anchor's Ed25519 public key. */
  readonly anchor: Uint8Array;
  /** Signs `factoryBleAuthMessage(transcriptHash)` with the anchor (e.g. {@link signFactoryBleAuth}). */
  readonly sign: (transcriptHash: Uint8Array) => Uint8Array;
}

export interface FactoryBleStation {
  /** The `fble_hello` to send (drawn at creation). */
  readonly hello: Uint8Array;
  /**
   * Checks the device's `fble_device` (its MAC against the expected one: `station.ble_wrong_device`) and returns
   * the `fble_auth` to send and the device's chip id.
   */
  receiveDeviceHello(bytes: Uint8Array): {
    readonly auth: Uint8Array;
    readonly chipId: string;
    readonly bleMac: string;
  };
  /** The device's answer: the record layer, or `factory.ble_refused` (context `reason`). */
  receiveAnswer(bytes: Uint8Array): FactoryBleRecords;
}

export function createFactoryBleStation(options: FactoryBleStationOptions): FactoryBleStation {
  let expectedMac: string;
  try {
    expectedMac = normalizeMac(options.expectedMac);
  } catch {
    return fail("config.invalid", "the expected BLE MAC must be 12 hex digits (separators allowed)");
  }
  const anchor = Uint8Array.from(options.anchor);
  if (anchor.length !== FACTORY_PUBLIC_KEY_BYTES) fail("config.invalid", "the anchor public key must be 32 bytes");
  const priv = draw(options.random, KEY_BYTES);
  const stationPub = x25519PublicKey(priv);
  const stationNonce = draw(options.random, NONCE_BYTES);
  let pending: { keys: FactoryBleKeys; transcriptHash: Uint8Array } | undefined;
  let step: "device" | "answer" | "done" = "device";
  const turn = (want: typeof step) => {
    if (step !== want) fail(BAD, `factory BLE handshake: a ${want} message is out of turn`);
  };
  return {
    hello: encodeFactoryBleHello({ stationPub, stationNonce }),
    receiveDeviceHello(bytes) {
      turn("device");
      step = "done";
      const device = decodeFactoryBleDeviceHello(bytes);
      if (device.bleMac !== expectedMac) {
        fail(
          "station.ble_wrong_device",
          `the board that answered is ${device.bleMac}, not the scanned ${expectedMac}`,
          {
            expectedMac,
            bleMac: device.bleMac,
            chipId: device.chipId,
          },
        );
      }
      const transcriptHash = factoryBleTranscriptHash({ stationPub, stationNonce, ...device, expectedMac, anchor });
      const keys = deriveFactoryBleKeys(shared(priv, device.devicePub), transcriptHash);
      const signature = options.sign(transcriptHash);
      pending = { keys, transcriptHash };
      step = "answer";
      return {
        auth: encodeFactoryBleAuth({ expectedMac, anchor, signature }),
        chipId: device.chipId,
        bleMac: device.bleMac,
      };
    },
    receiveAnswer(bytes) {
      turn("answer");
      step = "done";
      const answer = decodeFactoryBleAnswer(bytes);
      if (answer.t === "fble_refused") {
        fail("factory.ble_refused", `the device refused the factory BLE handshake: ${answer.reason}`, {
          reason: answer.reason,
        });
      }
      const { keys, transcriptHash } = pending as { keys: FactoryBleKeys; transcriptHash: Uint8Array };
      if (!constantTimeEqual(factoryBleConfirm(keys, transcriptHash), answer.confirm)) {
        fail("factory.ble_refused", "the device's key confirmation does not match (tampered handshake)", {
          reason: "bad_confirm",
        });
      }
      return new FactoryBleRecords("station", keys);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Device side

export interface FactoryBleDeviceOptions {
  readonly random: RandomSource;
  readonly chipId: string;
  /** This device's own BLE MAC (12 lower-case hex). */
  readonly bleMac: string;
  /** The anchor public key of the record the device holds, if any: only that anchor may open a channel. */
  readonly anchor?: Uint8Array;
}

export interface FactoryBleDevice {
  /** Answers `fble_hello` with `fble_device`. */
  receiveHello(bytes: Uint8Array): Uint8Array;
  /**
   * Checks `fble_auth`: the answer to send, and the record layer when accepted (else the refusal reason).
   * A malformed message is answered `bad_message`.
   */
  receiveAuth(bytes: Uint8Array):
    | {
        readonly answer: Uint8Array;
        readonly records: FactoryBleRecords;
        /** The anchor key the station proved it holds: the only anchor a record written on this channel may name. */
        readonly anchor: Uint8Array;
      }
    | {
        readonly answer: Uint8Array;
        readonly refused: FactoryBleRefusal;
      };
}

export function createFactoryBleDevice(options: FactoryBleDeviceOptions): FactoryBleDevice {
  const chipId = new CborReader({ chipId: options.chipId }, "device", "", "config.invalid").text("chipId", CHIP_ID);
  const bleMac = new CborReader({ bleMac: options.bleMac }, "device", "", "config.invalid").text("bleMac", MAC_ADDRESS);
  const held = options.anchor === undefined ? undefined : Uint8Array.from(options.anchor);
  let step: "hello" | "auth" | "done" = "hello";
  let pending: { priv: Uint8Array; hello: FactoryBleHello; devicePub: Uint8Array; deviceNonce: Uint8Array };
  const refuse = (reason: FactoryBleRefusal) => ({
    answer: encodeFactoryBleAnswer({ t: "fble_refused", reason }),
    refused: reason,
  });
  return {
    receiveHello(bytes) {
      if (step !== "hello") fail(BAD, "factory BLE handshake: fble_hello is out of turn");
      step = "done";
      const hello = decodeFactoryBleHello(bytes);
      const priv = draw(options.random, KEY_BYTES);
      const devicePub = x25519PublicKey(priv);
      const deviceNonce = draw(options.random, NONCE_BYTES);
      pending = { priv, hello, devicePub, deviceNonce };
      step = "auth";
      return encodeFactoryBleDeviceHello({ devicePub, deviceNonce, chipId, bleMac });
    },
    receiveAuth(bytes) {
      if (step !== "auth") fail(BAD, "factory BLE handshake: fble_auth is out of turn");
      step = "done";
      let auth: FactoryBleAuth;
      try {
        auth = decodeFactoryBleAuth(bytes);
      } catch {
        return refuse("bad_message");
      }
      if (auth.expectedMac !== bleMac) return refuse("wrong_mac");
      if (held !== undefined && !constantTimeEqual(held, auth.anchor)) return refuse("anchor_mismatch");
      const { priv, hello, devicePub, deviceNonce } = pending;
      const transcriptHash = factoryBleTranscriptHash({
        ...hello,
        devicePub,
        deviceNonce,
        chipId,
        bleMac,
        expectedMac: auth.expectedMac,
        anchor: auth.anchor,
      });
      if (!checkFactoryBleAuth(auth.anchor, transcriptHash, auth.signature)) return refuse("bad_signature");
      let keys: FactoryBleKeys;
      try {
        keys = deriveFactoryBleKeys(shared(priv, hello.stationPub), transcriptHash);
      } catch {
        return refuse("bad_message");
      }
      return {
        answer: encodeFactoryBleAnswer({ t: "fble_ok", confirm: factoryBleConfirm(keys, transcriptHash) }),
        records: new FactoryBleRecords("device", keys),
        anchor: auth.anchor,
      };
    },
  };
}
