/**
 * Secure provisioning session v1: one round trip (Hello → Welcome), then AEAD records. Pure state machines for
 * the client (phone, station) and the device; randomness is injected. Full specification in docs/provisioning.md.
 *
 * Handshake:
 * - C→D `Hello   { t: "hello", versions: [uint], clientPub: bstr32, clientNonce: bstr16 }`
 * - D→C `Welcome { t: "welcome", version: uint, versions: [uint], devicePub: bstr32, deviceNonce: bstr16,
 *                  salt: bstr16, confirm: bstr32 }` (`versions` = what the device supports, for downgrade checks)
 * - transcript = SHA-256(canonical CBOR of ["triadkit-prov", 1, offeredVersions, deviceVersions, chosenVersion,
 *   clientPub, clientNonce, devicePub, deviceNonce, salt])
 * - shared = X25519(priv, peerPub), all-zero refused (low-order point); popKey = HKDF(PoP, salt, "triadkit/pop/v1")
 * - k_label = HKDF-SHA256(ikm = shared ‖ popKey, salt = transcript, info = "triadkit/prov/v1/" + label, 32) for
 *   `c2s`, `s2c`, `confirm-dev`, `confirm-cli`
 * - Welcome.confirm = HMAC-SHA256(k_confirm-dev, transcript); the client's first record carries
 *   HMAC-SHA256(k_confirm-cli, transcript) in clear after its header (and inside the AAD).
 *
 * Records: `[version u8][direction u8][counter u64 BE]` (+ `[proof 32]` on the client's record 0)
 * `[ChaCha20-Poly1305 ciphertext ‖ tag 16]`; nonce = `00 00 00 dir ‖ counter BE 8`; AAD = every byte before the
 * ciphertext. The receiver authenticates first, then requires the exact next counter (`prov.replay`).
 *
 * Any error raised while receiving (bad message, downgrade, PoP mismatch, tamper, replay) moves the session to
 * `failed` for good: start a new session (one round trip). `prov.session_state` (misuse) leaves the state alone.
 */

import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { fail, isTriadkitError, TriadkitError } from "../errors.js";
import { concatBytes, constantTimeEqual, utf8 } from "../util/bytes.js";
import { CborReader, canonicalCbor, decodeCborMap, encodeCbor } from "./cbor.js";
import { derivePopKey, POP_BYTES, POP_SALT_BYTES, type PopVerifier } from "./pop.js";

/** Session versions this implementation speaks. */
export const SESSION_VERSIONS: readonly number[] = [1];
export const X25519_KEY_BYTES = 32;
export const SESSION_NONCE_BYTES = 16;
export const CONFIRM_BYTES = 32;
export const RECORD_HEADER_BYTES = 10;
export const AEAD_TAG_BYTES = 16;
/** Largest plaintext of one record (bytes). */
export const MAX_RECORD_PLAINTEXT = 4096;
/** Default cap on records per direction; the counter never wraps (the session fails instead). */
export const DEFAULT_MAX_RECORDS = 2 ** 32;
/** Direction byte of a record (also the last byte of the 4-byte nonce prefix). */
export const RECORD_DIRECTION = { c2s: 0x01, s2c: 0x02 } as const;
export type RecordDirection = keyof typeof RECORD_DIRECTION;

export const TRANSCRIPT_LABEL = "triadkit-prov";
export const KEY_INFO_PREFIX = "triadkit/prov/v1/";

export type SessionState = "awaiting_hello" | "awaiting_welcome" | "awaiting_proof" | "ready" | "failed";

/** `(n) => n random bytes` from a CSPRNG. */
export type RandomSource = (n: number) => Uint8Array;

// ---------------------------------------------------------------------------------------------------------------
// Handshake messages

export interface Hello {
  readonly versions: readonly number[];
  readonly clientPub: Uint8Array;
  readonly clientNonce: Uint8Array;
}

export interface Welcome {
  readonly version: number;
  /** Versions the device supports (authenticated through the transcript). */
  readonly versions: readonly number[];
  readonly devicePub: Uint8Array;
  readonly deviceNonce: Uint8Array;
  readonly salt: Uint8Array;
  readonly confirm: Uint8Array;
}

const VERSION_RULE = { min: 1, max: 255 };
const MAX_VERSIONS = 8;

function checkVersionList(list: unknown, what: string, code: "prov.bad_message" | "config.invalid"): number[] {
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_VERSIONS) {
    fail(code, `${what}: versions must be 1-${MAX_VERSIONS} integers in [1, 255]`);
  }
  const seen = new Set<number>();
  for (const v of list) {
    if (typeof v !== "number" || !Number.isInteger(v) || v < VERSION_RULE.min || v > VERSION_RULE.max) {
      fail(code, `${what}: versions must be 1-${MAX_VERSIONS} integers in [1, 255]`);
    }
    if (seen.has(v)) fail(code, `${what}: a version is listed twice`, { version: v });
    seen.add(v);
  }
  return [...list] as number[];
}

function readHello(obj: Record<string, unknown>): Hello {
  const r = new CborReader(obj, "Hello");
  if (r.raw("t") !== "hello") r.bad("t", '"hello"');
  return {
    versions: checkVersionList(r.raw("versions"), "Hello", "prov.bad_message"),
    clientPub: r.bytes("clientPub", X25519_KEY_BYTES),
    clientNonce: r.bytes("clientNonce", SESSION_NONCE_BYTES),
  };
}

function readWelcome(obj: Record<string, unknown>): Welcome {
  const r = new CborReader(obj, "Welcome");
  if (r.raw("t") !== "welcome") r.bad("t", '"welcome"');
  return {
    version: r.uint("version", { min: 0, max: 0xffffffff }),
    versions: checkVersionList(r.raw("versions"), "Welcome", "prov.bad_message"),
    devicePub: r.bytes("devicePub", X25519_KEY_BYTES),
    deviceNonce: r.bytes("deviceNonce", SESSION_NONCE_BYTES),
    salt: r.bytes("salt", POP_SALT_BYTES),
    confirm: r.bytes("confirm", CONFIRM_BYTES),
  };
}

/** CBOR map `{t, versions, clientPub, clientNonce}` in that key order. */
export function encodeHello(hello: Hello): Uint8Array {
  const checked = readHello({ t: "hello", ...hello });
  return encodeCbor({ t: "hello", ...checked });
}

export function decodeHello(bytes: Uint8Array): Hello {
  return readHello(decodeCborMap(bytes, "Hello"));
}

/** CBOR map `{t, version, versions, devicePub, deviceNonce, salt, confirm}` in that key order. */
export function encodeWelcome(welcome: Welcome): Uint8Array {
  const checked = readWelcome({ t: "welcome", ...welcome });
  return encodeCbor({ t: "welcome", ...checked });
}

export function decodeWelcome(bytes: Uint8Array): Welcome {
  return readWelcome(decodeCborMap(bytes, "Welcome"));
}

// ---------------------------------------------------------------------------------------------------------------
// Version negotiation

/** The device's choice: the highest version both sides support. Throws `prov.version_unsupported`. */
export function chooseVersion(offered: readonly number[], supported: readonly number[]): number {
  const common = offered.filter((v) => supported.includes(v));
  if (common.length === 0) {
    fail("prov.version_unsupported", "no session version in common", {
      offered: [...offered],
      supported: [...supported],
    });
  }
  return Math.max(...common);
}

/**
 * The client's check of the device's choice: it must be offered, supported by the device, and the highest
 * common version. Throws `prov.downgrade`. (An attacker who edits either list changes the transcript, so the
 * confirm check catches that too; this check catches a device or relay that picks a lower version openly.)
 */
export function checkNegotiatedVersion(
  offered: readonly number[],
  deviceVersions: readonly number[],
  chosen: number,
): void {
  if (!offered.includes(chosen))
    fail("prov.downgrade", "the device chose a version the client did not offer", { chosen });
  if (!deviceVersions.includes(chosen))
    fail("prov.downgrade", "the device chose a version it does not list", { chosen });
  const best = Math.max(...offered.filter((v) => deviceVersions.includes(v)));
  if (chosen !== best)
    fail("prov.downgrade", "the device chose a lower version than the highest common one", { chosen, best });
}

// ---------------------------------------------------------------------------------------------------------------
// Key schedule

export interface TranscriptInput {
  readonly offeredVersions: readonly number[];
  readonly deviceVersions: readonly number[];
  readonly chosenVersion: number;
  readonly clientPub: Uint8Array;
  readonly clientNonce: Uint8Array;
  readonly devicePub: Uint8Array;
  readonly deviceNonce: Uint8Array;
  readonly salt: Uint8Array;
}

/** The transcript's CBOR bytes (before hashing). */
export function transcriptBytes(t: TranscriptInput): Uint8Array {
  return canonicalCbor([
    TRANSCRIPT_LABEL,
    1,
    [...t.offeredVersions],
    [...t.deviceVersions],
    t.chosenVersion,
    t.clientPub,
    t.clientNonce,
    t.devicePub,
    t.deviceNonce,
    t.salt,
  ]);
}

export function transcriptHashOf(t: TranscriptInput): Uint8Array {
  return sha256(transcriptBytes(t));
}

export interface SessionKeys {
  /** AEAD key, client → device. */
  readonly c2s: Uint8Array;
  /** AEAD key, device → client. */
  readonly s2c: Uint8Array;
  readonly confirmDev: Uint8Array;
  readonly confirmCli: Uint8Array;
}

/** X25519 with the all-zero (low-order peer key) result refused: `prov.bad_message`. */
export function x25519Shared(privateKey: Uint8Array, peerPublic: Uint8Array): Uint8Array {
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(privateKey, peerPublic);
  } catch {
    return fail("prov.bad_message", "peer public key is a low-order point (X25519 result is all zero)");
  }
  if (shared.every((b) => b === 0)) fail("prov.bad_message", "peer public key is a low-order point");
  return shared;
}

export function x25519PublicKey(privateKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(privateKey);
}

/** `HKDF-SHA256(ikm = shared ‖ popKey, salt = transcriptHash, info = "triadkit/prov/v1/" + label, 32)` per label. */
export function deriveSessionKeys(shared: Uint8Array, popKey: Uint8Array, transcriptHash: Uint8Array): SessionKeys {
  const ikm = concatBytes(shared, popKey);
  const k = (label: string) => hkdf(sha256, ikm, transcriptHash, utf8(KEY_INFO_PREFIX + label), 32);
  return { c2s: k("c2s"), s2c: k("s2c"), confirmDev: k("confirm-dev"), confirmCli: k("confirm-cli") };
}

export function confirmTag(key: Uint8Array, transcriptHash: Uint8Array): Uint8Array {
  return hmac(sha256, key, transcriptHash);
}

// ---------------------------------------------------------------------------------------------------------------
// Records

/** The 12-byte AEAD nonce: `00 00 00 dir ‖ counter (u64 BE)`. */
export function recordNonce(direction: RecordDirection, counter: number): Uint8Array {
  const nonce = new Uint8Array(12);
  nonce[3] = RECORD_DIRECTION[direction];
  new DataView(nonce.buffer).setBigUint64(4, BigInt(counter), false);
  return nonce;
}

/** The 10-byte record header: `version ‖ dir ‖ counter (u64 BE)`. */
export function recordHeader(version: number, direction: RecordDirection, counter: number): Uint8Array {
  const header = new Uint8Array(RECORD_HEADER_BYTES);
  header[0] = version;
  header[1] = RECORD_DIRECTION[direction];
  new DataView(header.buffer).setBigUint64(2, BigInt(counter), false);
  return header;
}

/**
 * Seals one record. `proof` (32 bytes) is only for the client's record 0; it sits after the header, in clear,
 * and is part of the AAD.
 */
export function sealRecord(
  key: Uint8Array,
  version: number,
  direction: RecordDirection,
  counter: number,
  plaintext: Uint8Array,
  proof?: Uint8Array,
): Uint8Array {
  if (!(plaintext instanceof Uint8Array)) fail("prov.bad_message", "record plaintext must be bytes");
  if (plaintext.length > MAX_RECORD_PLAINTEXT) {
    fail("prov.frame_too_large", `record plaintext is longer than ${MAX_RECORD_PLAINTEXT} bytes`, {
      length: plaintext.length,
    });
  }
  const aad =
    proof === undefined
      ? recordHeader(version, direction, counter)
      : concatBytes(recordHeader(version, direction, counter), proof);
  const sealed = chacha20poly1305(key, recordNonce(direction, counter), aad).encrypt(plaintext);
  return concatBytes(aad, sealed);
}

// ---------------------------------------------------------------------------------------------------------------
// State machines

export interface ProvSession {
  readonly role: "client" | "device";
  readonly state: SessionState;
  /** Negotiated version, once known. */
  readonly version: number | undefined;
  /** SHA-256 of the transcript, once both halves are known (for tests and diagnostics; not secret). */
  readonly transcriptHash: Uint8Array | undefined;
  /** Encrypts one message into a record. The client's first record carries its PoP proof. */
  seal(plaintext: Uint8Array): Uint8Array;
  /** Authenticates and decrypts the peer's next record. */
  open(record: Uint8Array): Uint8Array;
}

export interface ClientSession extends ProvSession {
  readonly role: "client";
  /** The encoded Hello to send (drawn at creation). */
  readonly hello: Uint8Array;
  /** Processes the device's Welcome; on success the state is `ready`. */
  receiveWelcome(welcome: Uint8Array): void;
}

export interface DeviceSession extends ProvSession {
  readonly role: "device";
  /** Processes the client's Hello and returns the Welcome to send; the state becomes `awaiting_proof`. */
  receiveHello(hello: Uint8Array): Uint8Array;
}

export interface ClientSessionOptions {
  /** The 16-byte PoP (from {@link parsePop} of the QR code). */
  readonly pop: Uint8Array;
  readonly random: RandomSource;
  /** Versions to offer (default {@link SESSION_VERSIONS}); each must be implemented. */
  readonly offeredVersions?: readonly number[];
  /** Records per direction before the session refuses to continue (default 2^32). */
  readonly maxRecords?: number;
}

export interface DeviceSessionOptions {
  readonly verifier: PopVerifier;
  readonly random: RandomSource;
  /** Versions the device accepts (default {@link SESSION_VERSIONS}); each must be implemented. */
  readonly supportedVersions?: readonly number[];
  readonly maxRecords?: number;
}

function draw(random: RandomSource, n: number): Uint8Array {
  const bytes = random(n);
  if (!(bytes instanceof Uint8Array) || bytes.length !== n) {
    fail("config.invalid", `the random source must return exactly ${n} bytes`);
  }
  return Uint8Array.from(bytes);
}

function implementedVersions(list: readonly number[] | undefined, what: string): number[] {
  const versions = checkVersionList(list ?? SESSION_VERSIONS, what, "config.invalid");
  for (const v of versions) {
    if (!SESSION_VERSIONS.includes(v))
      fail("prov.version_unsupported", `${what}: version ${v} is not implemented`, { version: v });
  }
  return versions;
}

function checkMaxRecords(max: number | undefined): number {
  const value = max ?? DEFAULT_MAX_RECORDS;
  if (!Number.isSafeInteger(value) || value < 1) fail("config.invalid", "maxRecords must be a positive safe integer");
  return value;
}

/** Shared record layer: counters, sealing, opening, failure latch. */
class RecordLayer {
  state: SessionState;
  version: number | undefined;
  transcriptHash: Uint8Array | undefined;
  keys: SessionKeys | undefined;
  sendCounter = 0;
  recvCounter = 0;

  constructor(
    readonly role: "client" | "device",
    initial: SessionState,
    readonly maxRecords: number,
  ) {
    this.state = initial;
  }

  /** Runs `fn`; any TriadkitError except `prov.session_state` (and any other error) fails the session. */
  guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (!isTriadkitError(err, "prov.session_state")) this.state = "failed";
      if (err instanceof TriadkitError) throw err;
      throw new TriadkitError("internal.unexpected", "provisioning session failed unexpectedly", undefined, {
        cause: err,
      });
    }
  }

  requireState(allowed: readonly SessionState[], action: string): void {
    if (!allowed.includes(this.state)) {
      fail("prov.session_state", `cannot ${action} in state ${this.state}`, { state: this.state, action });
    }
  }

  get sendDirection(): RecordDirection {
    return this.role === "client" ? "c2s" : "s2c";
  }

  get recvDirection(): RecordDirection {
    return this.role === "client" ? "s2c" : "c2s";
  }

  seal(plaintext: Uint8Array): Uint8Array {
    this.requireState(["ready"], "seal");
    return this.guard(() => {
      const keys = this.keys as SessionKeys;
      if (this.sendCounter >= this.maxRecords) {
        fail("prov.session_state", "record counter exhausted: start a new session", { state: this.state });
      }
      const counter = this.sendCounter;
      const proof =
        this.role === "client" && counter === 0
          ? confirmTag(keys.confirmCli, this.transcriptHash as Uint8Array)
          : undefined;
      const key = this.role === "client" ? keys.c2s : keys.s2c;
      const record = sealRecord(key, this.version as number, this.sendDirection, counter, plaintext, proof);
      this.sendCounter = counter + 1;
      return record;
    });
  }

  open(record: Uint8Array): Uint8Array {
    this.requireState(this.role === "client" ? ["ready"] : ["awaiting_proof", "ready"], "open");
    return this.guard(() => {
      const keys = this.keys as SessionKeys;
      if (!(record instanceof Uint8Array)) fail("prov.bad_message", "a record must be bytes");
      if (record.length < RECORD_HEADER_BYTES + AEAD_TAG_BYTES) {
        fail("prov.bad_message", "record shorter than header and tag", { length: record.length });
      }
      if (record.length > RECORD_HEADER_BYTES + CONFIRM_BYTES + MAX_RECORD_PLAINTEXT + AEAD_TAG_BYTES) {
        fail("prov.frame_too_large", "record longer than the largest allowed", { length: record.length });
      }
      const header = record.subarray(0, RECORD_HEADER_BYTES);
      const counter = new DataView(header.buffer, header.byteOffset, RECORD_HEADER_BYTES).getBigUint64(2, false);
      // The client's record 0 carries the PoP proof; the device checks it before anything else on its first record.
      const withProof = this.role === "device" && counter === 0n;
      const aadLength = withProof ? RECORD_HEADER_BYTES + CONFIRM_BYTES : RECORD_HEADER_BYTES;
      if (record.length < aadLength + AEAD_TAG_BYTES) {
        // Header and tag are there but not the proof a counter-0 record needs: it cannot authenticate.
        fail("prov.decrypt_failed", "record failed authentication (too short for a first record)", {
          direction: this.recvDirection,
        });
      }
      if (withProof && this.state === "awaiting_proof") {
        const expected = confirmTag(keys.confirmCli, this.transcriptHash as Uint8Array);
        if (!constantTimeEqual(record.subarray(RECORD_HEADER_BYTES, aadLength), expected)) {
          fail("prov.pop_mismatch", "the client did not prove knowledge of the PoP");
        }
      }
      const aad = record.subarray(0, aadLength);
      const key = this.role === "client" ? keys.s2c : keys.c2s;
      // The nonce uses the header's counter (so a replay authenticates and is then reported as one) and the
      // receiver's own direction constant (so a reflected or re-labelled record fails authentication).
      const nonce = new Uint8Array(12);
      nonce[3] = RECORD_DIRECTION[this.recvDirection];
      nonce.set(header.subarray(2), 4);
      let plaintext: Uint8Array;
      try {
        plaintext = chacha20poly1305(key, nonce, aad).decrypt(record.subarray(aadLength));
      } catch {
        return fail("prov.decrypt_failed", "record failed authentication (tampered, wrong key or wrong session)", {
          direction: this.recvDirection,
        });
      }
      if (counter !== BigInt(this.recvCounter)) {
        fail("prov.replay", "record counter is not the next expected one (replayed or reordered)", {
          expected: this.recvCounter,
          got: counter.toString(),
        });
      }
      if (header[0] !== this.version || header[1] !== RECORD_DIRECTION[this.recvDirection]) {
        fail("prov.bad_message", "record header does not match the session");
      }
      if (plaintext.length > MAX_RECORD_PLAINTEXT) {
        fail("prov.frame_too_large", "record plaintext too long", { length: plaintext.length });
      }
      this.recvCounter += 1;
      if (this.state === "awaiting_proof") this.state = "ready";
      return plaintext;
    });
  }
}

/** Creates the client side. The Hello is drawn now: 32 random bytes (X25519 private key), then 16 (nonce). */
export function createClientSession(options: ClientSessionOptions): ClientSession {
  if (!(options.pop instanceof Uint8Array) || options.pop.length !== POP_BYTES) {
    fail("prov.bad_pop", `a PoP must be exactly ${POP_BYTES} bytes`);
  }
  const pop = Uint8Array.from(options.pop);
  const offered = implementedVersions(options.offeredVersions, "offeredVersions");
  const layer = new RecordLayer("client", "awaiting_welcome", checkMaxRecords(options.maxRecords));
  const priv = draw(options.random, X25519_KEY_BYTES);
  const clientPub = x25519PublicKey(priv);
  const clientNonce = draw(options.random, SESSION_NONCE_BYTES);
  const hello = encodeHello({ versions: offered, clientPub, clientNonce });

  return {
    role: "client",
    hello,
    get state() {
      return layer.state;
    },
    get version() {
      return layer.version;
    },
    get transcriptHash() {
      return layer.transcriptHash?.slice();
    },
    receiveWelcome(bytes: Uint8Array): void {
      layer.requireState(["awaiting_welcome"], "receive Welcome");
      layer.guard(() => {
        const welcome = decodeWelcome(bytes);
        checkNegotiatedVersion(offered, welcome.versions, welcome.version);
        const shared = x25519Shared(priv, welcome.devicePub);
        const transcriptHash = transcriptHashOf({
          offeredVersions: offered,
          deviceVersions: welcome.versions,
          chosenVersion: welcome.version,
          clientPub,
          clientNonce,
          devicePub: welcome.devicePub,
          deviceNonce: welcome.deviceNonce,
          salt: welcome.salt,
        });
        const keys = deriveSessionKeys(shared, derivePopKey(pop, welcome.salt), transcriptHash);
        if (!constantTimeEqual(confirmTag(keys.confirmDev, transcriptHash), welcome.confirm)) {
          fail("prov.pop_mismatch", "the device did not prove knowledge of the PoP (wrong device or wrong PoP)");
        }
        layer.version = welcome.version;
        layer.transcriptHash = transcriptHash;
        layer.keys = keys;
        layer.state = "ready";
      });
    },
    seal: (plaintext) => layer.seal(plaintext),
    open: (record) => layer.open(record),
  };
}

/** Creates the device side from the stored verifier. */
export function createDeviceSession(options: DeviceSessionOptions): DeviceSession {
  const verifier = options.verifier;
  if (
    verifier?.v !== 1 ||
    !(verifier.salt instanceof Uint8Array) ||
    verifier.salt.length !== POP_SALT_BYTES ||
    !(verifier.key instanceof Uint8Array) ||
    verifier.key.length !== 32
  ) {
    fail("config.invalid", "the PoP verifier must be { v: 1, salt: 16 bytes, key: 32 bytes }");
  }
  const salt = Uint8Array.from(verifier.salt);
  const popKey = Uint8Array.from(verifier.key);
  const supported = implementedVersions(options.supportedVersions, "supportedVersions");
  const layer = new RecordLayer("device", "awaiting_hello", checkMaxRecords(options.maxRecords));

  return {
    role: "device",
    get state() {
      return layer.state;
    },
    get version() {
      return layer.version;
    },
    get transcriptHash() {
      return layer.transcriptHash?.slice();
    },
    receiveHello(bytes: Uint8Array): Uint8Array {
      layer.requireState(["awaiting_hello"], "receive Hello");
      return layer.guard(() => {
        const hello = decodeHello(bytes);
        const version = chooseVersion(hello.versions, supported);
        const priv = draw(options.random, X25519_KEY_BYTES);
        const deviceNonce = draw(options.random, SESSION_NONCE_BYTES);
        const shared = x25519Shared(priv, hello.clientPub);
        const devicePub = x25519PublicKey(priv);
        const transcriptHash = transcriptHashOf({
          offeredVersions: hello.versions,
          deviceVersions: supported,
          chosenVersion: version,
          clientPub: hello.clientPub,
          clientNonce: hello.clientNonce,
          devicePub,
          deviceNonce,
          salt,
        });
        const keys = deriveSessionKeys(shared, popKey, transcriptHash);
        const welcome = encodeWelcome({
          version,
          versions: supported,
          devicePub,
          deviceNonce,
          salt,
          confirm: confirmTag(keys.confirmDev, transcriptHash),
        });
        layer.version = version;
        layer.transcriptHash = transcriptHash;
        layer.keys = keys;
        layer.state = "awaiting_proof";
        return welcome;
      });
    },
    seal: (plaintext) => layer.seal(plaintext),
    open: (record) => layer.open(record),
  };
}
