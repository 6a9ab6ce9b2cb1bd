/**
 * Field rules shared by the factory record and the factory messages. Every check names the field, never its
 * value (a record carries a secret); the protocol's own validators (triads, IMEI/ICCID/IMSI) are applied and their
 * errors replaced by `factory.bad_message`, so not even a secret's length escapes.
 */

import { fail } from "../errors.js";
import { parseIccid } from "../ids/iccid.js";
import { parseImei } from "../ids/imei.js";
import { parseImsi } from "../ids/imsi.js";
import { CborReader, type TextRule, type UintRule } from "../provisioning/cbor.js";
import { parseDeviceName, parseDeviceSecret, parseProductKey } from "../triad/alibaba.js";
import { parseGenieProductId, parseGenieTriad } from "../triad/genie.js";
import { FACTORY_NONCE_BYTES, type FactoryIdentity, type FactoryTriad, type ModemIdentity } from "./types.js";

export const FACTORY_CODE = "factory.bad_message";
/** SHA-256 (record hash) and HMAC-SHA256 (verify MAC) sizes. */
export const FACTORY_HASH_BYTES = 32;
export const FACTORY_MAC_BYTES = 32;
export const FACTORY_SIGNATURE_BYTES = 64;
export const FACTORY_PUBLIC_KEY_BYTES = 32;
export const NONCE_BYTES = FACTORY_NONCE_BYTES;

export const CHIP_ID_PATTERN = /^[0-9a-f]{8,64}$/;
export const MAC_ADDRESS_PATTERN = /^[0-9a-f]{12}$/;

export const CHIP_ID: TextRule = {
  minBytes: 8,
  maxBytes: 64,
  pattern: CHIP_ID_PATTERN,
  describe: "8-64 lower-case hex digits",
};
export const MAC_ADDRESS: TextRule = {
  minBytes: 12,
  maxBytes: 12,
  pattern: MAC_ADDRESS_PATTERN,
  describe: "12 lower-case hex digits",
};
/** Model and firmware version. */
export const PRINTABLE: TextRule = {
  minBytes: 1,
  maxBytes: 64,
  pattern: /^[\x20-\x7e]+$/,
  describe: "1-64 printable ASCII characters",
};
/** Ledger references (work order, triad, station, pool ids) and the shelf device code. */
export const REFERENCE: TextRule = {
  minBytes: 1,
  maxBytes: 256,
  pattern: /^[^\s\p{C}]{1,64}$/u,
  describe: "1-64 characters without spaces or control characters",
};
/** The optional human text of an `error` response. */
export const ERROR_TEXT: TextRule = {
  minBytes: 1,
  maxBytes: 256,
  pattern: /^[^\p{Cc}]+$/u,
  describe: "1-256 bytes of UTF-8 without control characters",
};
export const UINT53: UintRule = { min: 0, max: Number.MAX_SAFE_INTEGER };

/** A reader for `factory.bad_message`. */
export function factoryReader(obj: Record<string, unknown>, what: string): CborReader {
  return new CborReader(obj, what, "", FACTORY_CODE);
}

/** Like {@link CborReader.uint} but also accepts a bigint (how cbor-x returns a 64-bit head) within the rule. */
export function readUint53(r: CborReader, key: string, rule: UintRule): number {
  const raw = r.raw(key);
  const value = typeof raw === "bigint" && raw <= BigInt(Number.MAX_SAFE_INTEGER) && raw >= 0n ? Number(raw) : raw;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < rule.min || value > rule.max) {
    return r.bad(key, `an integer in [${rule.min}, ${rule.max}]`);
  }
  return value;
}

/**
 * A text field that one of the protocol's validators must accept unchanged (already in its normal form). Any
 * error from the validator becomes `factory.bad_message` naming the field only.
 */
export function readValidated(
  r: CborReader,
  key: string,
  describe: string,
  normalise: (value: string) => string,
): string {
  const value = r.raw(key);
  if (typeof value !== "string") return r.bad(key, describe);
  let normal: string;
  try {
    normal = normalise(value);
  } catch {
    return r.bad(key, describe);
  }
  if (normal !== value) r.bad(key, `${describe}, in normal form`);
  return value;
}

function readOptionalValidated(
  r: CborReader,
  key: string,
  describe: string,
  normalise: (value: string) => string,
): string | undefined {
  return r.has(key) ? readValidated(r, key, describe, normalise) : undefined;
}

const FAMILIES = ["alibaba", "genie"] as const;

function readGenieProductId(r: CborReader): number {
  const productId = r.uint("productId", { min: 0, max: 0xffffffff });
  try {
    parseGenieProductId(productId);
  } catch {
    r.bad("productId", "an integer in [0, 4294967295]");
  }
  return productId;
}

/** The public fields of an identity or triad map (family first; the secret is read by {@link readTriad}). */
function readPublic(r: CborReader): FactoryIdentity {
  const family = r.literal("family", FAMILIES);
  if (family === "genie") return { family, productId: readGenieProductId(r), mac: r.text("mac", MAC_ADDRESS) };
  const productKey = readValidated(
    r,
    "productKey",
    "a ProductKey (1-64 letters, digits, '_' or '-')",
    (v) => parseProductKey(v).value,
  );
  const deviceName = readValidated(r, "deviceName", "a DeviceName (4-32 of A-Z a-z 0-9 _ @ . : -)", parseDeviceName);
  return { family, productKey, deviceName };
}

/** A triad map: `{ family: "alibaba", productKey, deviceName, deviceSecret }` or `{ family: "genie", productId, mac, secret }`. */
export function readTriad(parent: CborReader, value: unknown, key: string): FactoryTriad {
  const r = parent.map(value, key);
  const identity = readPublic(r);
  if (identity.family === "alibaba") {
    const deviceSecret = readValidated(
      r,
      "deviceSecret",
      "a DeviceSecret (1-128 printable ASCII characters without spaces)",
      (v) => parseDeviceSecret(v).value,
    );
    return { ...identity, deviceSecret };
  }
  const secret = readValidated(
    r,
    "secret",
    "32 lower-case hex digits",
    (v) => parseGenieTriad({ ...identity, secret: v }).secret,
  );
  return { ...identity, secret };
}

/** An identity map: the triad map without its secret. */
export function readIdentity(parent: CborReader, value: unknown, key: string): FactoryIdentity {
  return readPublic(parent.map(value, key));
}

/** `{ imei?, iccid?, imsi? }`, at least one, each in the normal form of its protocol validator. */
export function readModem(parent: CborReader, value: unknown, key: string): ModemIdentity {
  const r = parent.map(value, key);
  const imei = readOptionalValidated(r, "imei", "an IMEI (15 digits, Luhn)", (v) => parseImei(v).value);
  const iccid = readOptionalValidated(
    r,
    "iccid",
    "an ICCID (18-20 characters: 89 and upper-case hex, no F padding)",
    (v) => parseIccid(v).value.iccid,
  );
  const imsi = readOptionalValidated(r, "imsi", "an IMSI (6-15 digits)", (v) => parseImsi(v).value.imsi);
  if (imei === undefined && iccid === undefined && imsi === undefined) {
    parent.bad(key, "a map with at least one of imei, iccid, imsi (omit it when there is no modem)");
  }
  return {
    ...(imei === undefined ? {} : { imei }),
    ...(iccid === undefined ? {} : { iccid }),
    ...(imsi === undefined ? {} : { imsi }),
  };
}

/** Guards an encoder's argument: a plain object, or `factory.bad_message`. */
export function objectArgument(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    return fail(FACTORY_CODE, `${what}: not an object`);
  }
  return value as Record<string, unknown>;
}
