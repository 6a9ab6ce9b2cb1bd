/**
 * The factory record: everything a station writes into one device, as one deterministic CBOR map (RFC 8949
 * §4.2.1; see canonical.ts), so both sides compute the same `recordHash = SHA-256(record bytes)`. Decoding accepts
 * only that exact encoding (a re-encode must give the same bytes), so a record has one byte form and one hash.
 * The record carries the device secret and the PoP key: errors name fields, never values.
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { fail } from "../errors.js";
import type { CborReader } from "../provisioning/cbor.js";
import { decodeCborMap } from "../provisioning/cbor.js";
import { POP_SALT_BYTES, POP_VERIFIER_VERSION } from "../provisioning/pop.js";
import { constantTimeEqual } from "../util/bytes.js";
import { type DeterministicValue, deterministicCbor } from "./canonical.js";
import {
  FACTORY_CODE,
  FACTORY_PUBLIC_KEY_BYTES,
  factoryReader,
  objectArgument,
  REFERENCE,
  readTriad,
  readUint53,
  UINT53,
} from "./fields.js";
import type { FactoryIdentity, FactoryRecord, FactoryTriad } from "./types.js";

/** The record format version this codec writes and reads. */
export const FACTORY_RECORD_VERSION = 1;
/** PoP verifier key size (HKDF-SHA256 output). */
const POP_KEY_BYTES = 32;

const WHAT = "factory record";

function readRecord(r: CborReader): FactoryRecord {
  const v = r.uint("v", { min: 0, max: 0xffffffff });
  if (v !== FACTORY_RECORD_VERSION) r.bad("v", `${FACTORY_RECORD_VERSION} (the only record version)`);
  const triad = readTriad(r, r.raw("triad"), "triad");
  const pr = r.map(r.raw("pop"), "pop");
  const popV = pr.uint("v", { min: 0, max: 0xffffffff });
  if (popV !== POP_VERIFIER_VERSION) pr.bad("v", `${POP_VERIFIER_VERSION} (the PoP verifier version)`);
  const pop = { v: popV, salt: pr.bytes("salt", POP_SALT_BYTES), key: pr.bytes("key", POP_KEY_BYTES) };
  let shelf: FactoryRecord["shelf"];
  if (r.has("shelf")) {
    const sr = r.map(r.raw("shelf"), "shelf");
    shelf = {
      storeId: readUint53(sr, "storeId", { min: 1, max: UINT53.max }),
      deviceCode: sr.text("deviceCode", REFERENCE),
    };
  }
  const ar = r.map(r.raw("anchor"), "anchor");
  const anchor = { poolId: ar.text("poolId", REFERENCE), publicKey: ar.bytes("publicKey", FACTORY_PUBLIC_KEY_BYTES) };
  return {
    v,
    triad,
    pop,
    ...(shelf === undefined ? {} : { shelf }),
    anchor,
    stationId: r.text("stationId", REFERENCE),
    workOrderId: r.text("workOrderId", REFERENCE),
    triadId: r.text("triadId", REFERENCE),
    writtenAt: readUint53(r, "writtenAt", UINT53),
  };
}

function toDeterministic(record: FactoryRecord): DeterministicValue {
  return {
    v: record.v,
    triad: { ...record.triad },
    pop: { v: record.pop.v, salt: record.pop.salt, key: record.pop.key },
    shelf: record.shelf === undefined ? undefined : { ...record.shelf },
    anchor: { poolId: record.anchor.poolId, publicKey: record.anchor.publicKey },
    stationId: record.stationId,
    workOrderId: record.workOrderId,
    triadId: record.triadId,
    writtenAt: record.writtenAt,
  };
}

/** Validates a record (`factory.bad_message`) and returns a copy holding only its defined fields. */
export function checkFactoryRecord(record: FactoryRecord): FactoryRecord {
  return readRecord(factoryReader(objectArgument(record, WHAT), WHAT));
}

/** The record's deterministic CBOR bytes (validated first). Throws `factory.bad_message`. */
export function encodeFactoryRecord(record: FactoryRecord): Uint8Array {
  return deterministicCbor(toDeterministic(checkFactoryRecord(record)));
}

/**
 * Decodes and validates record bytes; they must be exactly the deterministic encoding (no other key order, no
 * longer integer heads, no unknown or duplicate keys). Throws `factory.bad_message`.
 */
export function decodeFactoryRecord(bytes: Uint8Array): FactoryRecord {
  const record = readRecord(factoryReader(decodeCborMap(bytes, WHAT, FACTORY_CODE), WHAT));
  if (!constantTimeEqual(deterministicCbor(toDeterministic(record)), bytes)) {
    fail(FACTORY_CODE, `${WHAT}: not in the deterministic encoding (key order, integer size, or unknown keys)`);
  }
  return record;
}

/** `SHA-256(encodeFactoryRecord(record))`, 32 bytes. */
export function factoryRecordHash(record: FactoryRecord): Uint8Array {
  return sha256(encodeFactoryRecord(record));
}

/** The public half of a triad (no secret). */
export function factoryIdentityOf(triad: FactoryTriad): FactoryIdentity {
  return triad.family === "alibaba"
    ? { family: "alibaba", productKey: triad.productKey, deviceName: triad.deviceName }
    : { family: "genie", productId: triad.productId, mac: triad.mac };
}

/** The triad's secret string (DeviceSecret, or the Tmall Genie secret): the input of {@link deriveVerifyKey}. */
export function factorySecretOf(triad: FactoryTriad): string {
  return triad.family === "alibaba" ? triad.deviceSecret : triad.secret;
}

/** True when two identities name the same device identity. */
export function sameFactoryIdentity(a: FactoryIdentity, b: FactoryIdentity): boolean {
  if (a.family === "alibaba" && b.family === "alibaba") {
    return a.productKey === b.productKey && a.deviceName === b.deviceName;
  }
  if (a.family === "genie" && b.family === "genie") return a.productId === b.productId && a.mac === b.mac;
  return false;
}
