/**
 * Proof of possession (PoP): a 128-bit random secret printed on the device (QR code) and checked by the
 * secure session (session.ts).
 *
 * Rules:
 * - Exactly 16 bytes from a CSPRNG ({@link generatePop}); fewer are refused (`prov.bad_pop`), and so is a
 *   constant buffer (all bytes equal: the signature of a broken or unseeded generator).
 * - Text form `TKP1-` + RFC 4648 base32 (alphabet `A-Z2-7`, upper case, no padding) of the 16 bytes: always
 *   31 characters, e.g. `TKP1-AAAQEAYEAUDAOCAJBIFQYDIOB4`. 128 bits give 26 base32 digits whose last one carries
 *   3 bits and 2 zero bits; parsing requires those 2 bits to be zero so each PoP has exactly one text form.
 * - {@link parsePop} is case-insensitive and ignores spaces and dashes anywhere (people copy it from labels).
 * - There is no short, human-typable form: a short PoP is what makes ESP sec1 brute-forceable offline. Typing
 *   26 base32 characters is possible but the QR code is the intended path. A short code would need a PAKE.
 * - The device stores a verifier ({@link derivePopVerifier}: salt + HKDF key), never the PoP text.
 *
 * The PoP is a secret: no function here puts it (or its length, or a prefix) into an error or a context.
 */

import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { fail } from "../errors.js";
import { DEVICE_NAME_PATTERN } from "../triad/alibaba.js";
import { utf8 } from "../util/bytes.js";
import { CborReader, decodeCborMap, encodeCbor } from "./cbor.js";

/** PoP size in bytes (128 bits). */
export const POP_BYTES = 16;
/** Prefix of the text form; the digit is the PoP format version. */
export const POP_TEXT_PREFIX = "TKP1";
/** Base32 digits of a 128-bit PoP. */
export const POP_BASE32_LENGTH = 26;
/** Length of the canonical text form `TKP1-` + 26 base32 digits. */
export const POP_TEXT_LENGTH = POP_TEXT_PREFIX.length + 1 + POP_BASE32_LENGTH;

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function badPop(message: string): never {
  return fail("prov.bad_pop", message);
}

function checkPopBytes(pop: Uint8Array): Uint8Array {
  if (!(pop instanceof Uint8Array) || pop.length !== POP_BYTES) {
    badPop(`a PoP must be exactly ${POP_BYTES} bytes (128 bits)`);
  }
  return pop;
}

/**
 * Makes a PoP from 16 random bytes (the caller's CSPRNG output). Refuses any other length and a constant
 * buffer (e.g. all zero). Returns a copy.
 */
export function generatePop(random16: Uint8Array): Uint8Array {
  checkPopBytes(random16);
  if (random16.every((b) => b === random16[0])) badPop("PoP random bytes are constant: the random source is broken");
  return Uint8Array.from(random16);
}

/** RFC 4648 base32, upper case, no padding. */
export function base32Encode(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const b of bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/** Canonical text form: `TKP1-` + 26 upper-case base32 digits. */
export function formatPop(pop: Uint8Array): string {
  checkPopBytes(pop);
  return `${POP_TEXT_PREFIX}-${base32Encode(pop)}`;
}

/**
 * Parses the text form. Case-insensitive; spaces, tabs and dashes are ignored anywhere. After removing them the
 * text must be `TKP1` followed by exactly 26 base32 digits whose final 2 padding bits are zero.
 * Throws `prov.bad_pop` (the message never echoes the input).
 */
export function parsePop(text: string): Uint8Array {
  if (typeof text !== "string" || text.length > 128) badPop("PoP text is not a string of at most 128 characters");
  const compact = text.replace(/[\s-]/g, "").toUpperCase();
  if (!compact.startsWith(POP_TEXT_PREFIX)) badPop(`PoP text must start with ${POP_TEXT_PREFIX}`);
  const digits = compact.slice(POP_TEXT_PREFIX.length);
  if (digits.length !== POP_BASE32_LENGTH) badPop(`PoP text must have ${POP_BASE32_LENGTH} base32 digits`);
  const out = new Uint8Array(POP_BYTES);
  let buffer = 0;
  let bits = 0;
  let index = 0;
  for (const ch of digits) {
    const v = BASE32.indexOf(ch);
    if (v < 0) badPop("PoP text has a character outside the base32 alphabet A-Z 2-7");
    buffer = (buffer << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out[index++] = (buffer >> (bits - 8)) & 0xff;
      bits -= 8;
    }
    buffer &= (1 << bits) - 1;
  }
  if (buffer !== 0) badPop("PoP text is not canonical: the last base32 digit has non-zero padding bits");
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// QR payload

export const PROVISIONING_TRANSPORTS = ["ble", "softap", "improv"] as const;
export type ProvisioningTransport = (typeof PROVISIONING_TRANSPORTS)[number];

/** Version of the QR URI (`v=`). */
export const PROVISIONING_QR_VERSION = 1;

export interface ProvisioningQr {
  readonly productKey: string;
  readonly deviceName: string;
  /** The PoP bytes (16). */
  readonly pop: Uint8Array;
  /** Transports the device offers, in the order the app should try them (non-empty, no repeats). */
  readonly transports: readonly ProvisioningTransport[];
}

const PRODUCT_KEY_QR = /^[A-Za-z0-9_-]{1,64}$/;

function badQr(message: string, context?: Record<string, unknown>): never {
  return fail("prov.bad_message", `provisioning QR: ${message}`, context);
}

function checkQrFields(qr: ProvisioningQr): void {
  if (typeof qr.productKey !== "string" || !PRODUCT_KEY_QR.test(qr.productKey)) {
    fail("triad.bad_product_key", "provisioning QR: ProductKey must be 1-64 letters, digits, '_' or '-'");
  }
  if (typeof qr.deviceName !== "string" || !DEVICE_NAME_PATTERN.test(qr.deviceName)) {
    fail("triad.bad_device_name", "provisioning QR: DeviceName must match ^[A-Za-z0-9_@.:-]{4,32}$");
  }
  checkPopBytes(qr.pop);
  if (!Array.isArray(qr.transports) || qr.transports.length === 0) badQr("at least one transport is required");
  const seen = new Set<string>();
  for (const t of qr.transports) {
    if (!(PROVISIONING_TRANSPORTS as readonly string[]).includes(t)) badQr("unknown transport", { transport: t });
    if (seen.has(t)) badQr("a transport is listed twice", { transport: t });
    seen.add(t);
  }
}

/**
 * Encodes the QR payload URI:
 * `triadkit://prov?v=1&pk=<productKey>&dn=<deviceName>&pop=<TKP1-…>&t=<ble,softap,improv>`.
 * Parameter order is fixed; `t` is a comma-separated preference list. Every character used is URI-safe in a
 * query (RFC 3986 pchar), so nothing is percent-encoded.
 */
export function encodeProvisioningQr(qr: ProvisioningQr): string {
  checkQrFields(qr);
  return (
    `triadkit://prov?v=${PROVISIONING_QR_VERSION}&pk=${qr.productKey}&dn=${qr.deviceName}` +
    `&pop=${formatPop(qr.pop)}&t=${qr.transports.join(",")}`
  );
}

function percentDecode(value: string, key: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return badQr("bad percent-encoding", { field: key });
  }
}

/**
 * Parses the QR payload URI. The scheme and host are case-insensitive; parameters may come in any order and may be
 * percent-encoded; unknown parameters are ignored (a later version may add some), a repeated parameter is refused.
 * `v` must be `1` (else `prov.version_unsupported`). Errors: `prov.bad_message` (structure), `prov.bad_pop`,
 * `triad.bad_product_key`, `triad.bad_device_name`.
 */
export function parseProvisioningQr(uri: string): ProvisioningQr {
  if (typeof uri !== "string" || uri.length > 512) badQr("not a string of at most 512 characters");
  const text = uri.trim();
  const match = /^triadkit:\/\/prov\?([^#]*)$/i.exec(text);
  if (match === null) badQr("not a triadkit://prov? URI");
  const params = new Map<string, string>();
  for (const part of (match[1] as string).split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const key = percentDecode(eq < 0 ? part : part.slice(0, eq), "key");
    const value = eq < 0 ? "" : part.slice(eq + 1);
    if (params.has(key)) badQr("a parameter appears twice", { field: key });
    params.set(key, value);
  }
  const get = (key: string): string => {
    const value = params.get(key);
    if (value === undefined) badQr(`parameter ${key} is missing`, { field: key });
    return percentDecode(value, key);
  };
  const v = get("v");
  if (v !== String(PROVISIONING_QR_VERSION)) {
    fail("prov.version_unsupported", "provisioning QR: unsupported version", { version: v.slice(0, 8) });
  }
  const transports = get("t").split(",") as ProvisioningTransport[];
  const qr: ProvisioningQr = {
    productKey: get("pk"),
    deviceName: get("dn"),
    pop: parsePop(get("pop")),
    transports,
  };
  checkQrFields(qr);
  return qr;
}

// ---------------------------------------------------------------------------------------------------------------
// Verifier stored on the device

/** Salt size of the verifier (bytes). */
export const POP_SALT_BYTES = 16;
/** HKDF info of the verifier key. */
export const POP_VERIFIER_INFO = "triadkit/pop/v1";
export const POP_VERIFIER_VERSION = 1;

/**
 * What the device stores instead of the PoP: `key = HKDF-SHA256(ikm = PoP, salt, info = "triadkit/pop/v1", 32)`.
 * The key is password-equivalent for session v1 (whoever holds it can run either side of the session), so it
 * must be kept like any device secret (encrypted flash); what it protects is the PoP text printed on the label.
 */
export interface PopVerifier {
  readonly v: 1;
  readonly salt: Uint8Array;
  readonly key: Uint8Array;
}

/** The 32-byte PoP key for a salt: the client computes this from the scanned PoP and the salt in `Welcome`. */
export function derivePopKey(pop: Uint8Array, salt: Uint8Array): Uint8Array {
  checkPopBytes(pop);
  if (!(salt instanceof Uint8Array) || salt.length !== POP_SALT_BYTES) {
    fail("prov.bad_message", `the PoP salt must be ${POP_SALT_BYTES} bytes`);
  }
  return hkdf(sha256, pop, salt, utf8(POP_VERIFIER_INFO), 32);
}

/** Derives the verifier the factory writes to the device (salt = 16 fresh random bytes per device). */
export function derivePopVerifier(pop: Uint8Array, salt16: Uint8Array): PopVerifier {
  return { v: 1, salt: Uint8Array.from(salt16), key: derivePopKey(pop, salt16) };
}

/** CBOR `{ "v": 1, "salt": bstr(16), "key": bstr(32) }` (64 bytes). */
export function encodePopVerifier(verifier: PopVerifier): Uint8Array {
  const checked = readVerifier(verifier as unknown as Record<string, unknown>);
  return encodeCbor({ v: checked.v, salt: checked.salt, key: checked.key });
}

/** Decodes a stored verifier. Throws `prov.bad_message`, or `prov.version_unsupported` for `v` other than 1. */
export function decodePopVerifier(bytes: Uint8Array): PopVerifier {
  return readVerifier(decodeCborMap(bytes, "PoP verifier"));
}

function readVerifier(obj: Record<string, unknown>): PopVerifier {
  const reader = new CborReader(obj, "PoP verifier");
  const v = reader.uint("v", { min: 0, max: 0xffffffff });
  if (v !== POP_VERIFIER_VERSION) fail("prov.version_unsupported", "PoP verifier: unsupported version", { v });
  return { v: 1, salt: reader.bytes("salt", POP_SALT_BYTES), key: reader.bytes("key", 32) };
}
