/**
 * Read-back verify without a signing oracle. The device proves it holds the record by answering
 *
 *   mac = HMAC-SHA256(K_verify, verifyMacInput(deviceNonce, stationNonce, chipId, recordHash))
 *   K_verify = HKDF-SHA256(ikm = UTF-8 secret, salt = "triadkit", info = "triadkit/verify/v1", L = 32)
 *
 * Why this cannot serve as an MQTT password (or any other signature made with the secret):
 * - the MAC key is K_verify, a key derived for this purpose only; the platform's signatures use the raw secret
 *   as the HMAC key, and HKDF output is unrelated to it;
 * - the MAC input always starts with the fixed label `triadkit/factory-verify/v1` ‖ 0x00 and has a fixed layout
 *   (16 + 16 bytes of nonces, a length-prefixed chip id, a 32-byte hash); no caller chooses its prefix;
 * - half the freshness is the device's own nonce, so a station cannot make the device MAC a chosen message.
 */

import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { fail } from "../errors.js";
import { concatBytes, constantTimeEqual, utf8 } from "../util/bytes.js";
import { CHIP_ID_PATTERN, FACTORY_CODE, FACTORY_HASH_BYTES, FACTORY_MAC_BYTES, NONCE_BYTES } from "./fields.js";
import { FACTORY_VERIFY_INFO, FACTORY_VERIFY_LABEL } from "./types.js";

/** HKDF salt of the verify key. */
export const FACTORY_VERIFY_SALT = "triadkit";

/** `K_verify = HKDF-SHA256(ikm = UTF-8 secret, salt = "triadkit", info = "triadkit/verify/v1", 32)`. */
export function deriveVerifyKey(secret: string): Uint8Array {
  if (typeof secret !== "string" || secret.length === 0)
    fail(FACTORY_CODE, "verify key: the secret must be a non-empty string");
  return hkdf(sha256, utf8(secret), utf8(FACTORY_VERIFY_SALT), utf8(FACTORY_VERIFY_INFO), 32);
}

function checkBytes(value: Uint8Array, length: number, field: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    fail(FACTORY_CODE, `verify: ${field} must be ${length} bytes`, { field });
  }
  return value;
}

/** Checks a chip id (8–64 lower-case hex digits); returns its UTF-8 bytes. Throws `factory.bad_message`. */
export function chipIdBytes(chipId: string): Uint8Array {
  if (typeof chipId !== "string" || !CHIP_ID_PATTERN.test(chipId)) {
    fail(FACTORY_CODE, "chipId must be 8-64 lower-case hex digits", { field: "chipId" });
  }
  return utf8(chipId);
}

/**
 * `utf8(FACTORY_VERIFY_LABEL) ‖ 0x00 ‖ deviceNonce(16) ‖ stationNonce(16) ‖ u8 len ‖ utf8(chipId) ‖ recordHash(32)`.
 * Throws `factory.bad_message` on a wrong length or chip id.
 */
export function verifyMacInput(
  deviceNonce: Uint8Array,
  stationNonce: Uint8Array,
  chipId: string,
  recordHash: Uint8Array,
): Uint8Array {
  const chip = chipIdBytes(chipId);
  return concatBytes(
    utf8(FACTORY_VERIFY_LABEL),
    Uint8Array.of(0),
    checkBytes(deviceNonce, NONCE_BYTES, "deviceNonce"),
    checkBytes(stationNonce, NONCE_BYTES, "stationNonce"),
    Uint8Array.of(chip.length),
    chip,
    checkBytes(recordHash, FACTORY_HASH_BYTES, "recordHash"),
  );
}

/** `HMAC-SHA256(deriveVerifyKey(secret), verifyMacInput(...))`: what the device answers to `verify`. */
export function computeVerifyMac(
  secret: string,
  deviceNonce: Uint8Array,
  stationNonce: Uint8Array,
  chipId: string,
  recordHash: Uint8Array,
): Uint8Array {
  return hmac(sha256, deriveVerifyKey(secret), verifyMacInput(deviceNonce, stationNonce, chipId, recordHash));
}

/**
 * The station's check of a `verified` answer, in constant time. False for a MAC of the wrong length; throws
 * `factory.bad_message` only for malformed nonces, chip id or hash (which a decoded message never has).
 */
export function checkVerifyMac(
  secret: string,
  deviceNonce: Uint8Array,
  stationNonce: Uint8Array,
  chipId: string,
  recordHash: Uint8Array,
  mac: Uint8Array,
): boolean {
  const expected = computeVerifyMac(secret, deviceNonce, stationNonce, chipId, recordHash);
  return mac instanceof Uint8Array && mac.length === FACTORY_MAC_BYTES && constantTimeEqual(expected, mac);
}
