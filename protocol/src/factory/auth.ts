/**
 * Authorisation of `unlock` and `factory_reset` (rework): the device accepts them only with an Ed25519 signature,
 * by the factory anchor key written in its record (`record.anchor.publicKey`, the pool's factory key), over
 *
 *   utf8(FACTORY_AUTH_LABEL) ‖ 0x00 ‖ u8 len ‖ utf8(action) ‖ u8 len ‖ utf8(chipId) ‖ challenge(16)
 *
 * where `challenge` is the device's fresh nonce from its last `hello`, valid once. Verification is strict RFC 8032
 * (no ZIP-215 leniency), so a signature has one valid encoding.
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { fail } from "../errors.js";
import { concatBytes, utf8 } from "../util/bytes.js";
import { FACTORY_CODE, FACTORY_PUBLIC_KEY_BYTES, FACTORY_SIGNATURE_BYTES, NONCE_BYTES } from "./fields.js";
import { FACTORY_AUTH_LABEL } from "./types.js";
import { chipIdBytes } from "./verify.js";

export const FACTORY_AUTH_ACTIONS = ["unlock", "factory_reset"] as const;
export type FactoryAuthAction = (typeof FACTORY_AUTH_ACTIONS)[number];

/** The message the anchor key signs. Throws `factory.bad_message` on a bad action, chip id or challenge. */
export function factoryAuthMessage(action: FactoryAuthAction, chipId: string, challenge: Uint8Array): Uint8Array {
  if (!(FACTORY_AUTH_ACTIONS as readonly string[]).includes(action)) {
    fail(FACTORY_CODE, "factory auth: action must be unlock or factory_reset", { field: "action" });
  }
  if (!(challenge instanceof Uint8Array) || challenge.length !== NONCE_BYTES) {
    fail(FACTORY_CODE, `factory auth: challenge must be ${NONCE_BYTES} bytes`, { field: "challenge" });
  }
  const chip = chipIdBytes(chipId);
  const act = utf8(action);
  return concatBytes(
    utf8(FACTORY_AUTH_LABEL),
    Uint8Array.of(0, act.length),
    act,
    Uint8Array.of(chip.length),
    chip,
    challenge,
  );
}

/** Signs an authorisation with the anchor's 32-byte Ed25519 seed (private key). Returns 64 bytes. */
export function signFactoryAuth(
  seed32: Uint8Array,
  action: FactoryAuthAction,
  chipId: string,
  challenge: Uint8Array,
): Uint8Array {
  if (!(seed32 instanceof Uint8Array) || seed32.length !== 32) {
    fail("config.invalid", "factory auth: the signing seed must be 32 bytes");
  }
  return ed25519.sign(factoryAuthMessage(action, chipId, challenge), seed32);
}

/**
 * The device's check: true only for a valid Ed25519 signature by `publicKey` over this action, chip id and
 * challenge. Never throws on a malformed key or signature (false).
 */
export function checkFactoryAuth(
  publicKey: Uint8Array,
  action: FactoryAuthAction,
  chipId: string,
  challenge: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== FACTORY_PUBLIC_KEY_BYTES) return false;
  if (!(signature instanceof Uint8Array) || signature.length !== FACTORY_SIGNATURE_BYTES) return false;
  try {
    return ed25519.verify(signature, factoryAuthMessage(action, chipId, challenge), publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** The Ed25519 public key of a 32-byte seed (e.g. to put a pool's anchor into a record). */
export function factoryAnchorPublicKey(seed32: Uint8Array): Uint8Array {
  if (!(seed32 instanceof Uint8Array) || seed32.length !== 32) {
    fail("config.invalid", "factory auth: the signing seed must be 32 bytes");
  }
  return ed25519.getPublicKey(seed32);
}
