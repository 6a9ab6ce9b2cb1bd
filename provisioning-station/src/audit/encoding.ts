/**
 * Byte encodings of audit entries and checkpoints, and their MAC and signature.
 *
 * Entry MAC input (all integers big-endian, every text UTF-8 with a u32 byte-length prefix):
 *
 *   "triadkit/audit/v1" 0x00
 *   text stationId | u64 seq | u64 time (ms) | text operator | text fixture | text action
 *   text triadId | text identity | text details (canonical JSON) | prevMac (32 bytes)
 *
 *   mac = HMAC-SHA256(audit key, input)
 *
 * Checkpoint (and head file) signed message:
 *
 *   "triadkit/audit-checkpoint/v1" 0x00 | text stationId | u64 seq | headMac (32 bytes) | u64 time (ms)
 *
 *   signature = Ed25519(checkpoint seed, message)
 */
import { createHmac } from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519.js";
import { TriadkitError } from "@triadkit/protocol";
import type { AuditCheckpoint, AuditDetails, AuditEntry, AuditKeys } from "./types.js";

export const AUDIT_MAC_BYTES = 32;
/** prevMac of the first entry of a chain. */
export const GENESIS_MAC: Uint8Array = new Uint8Array(AUDIT_MAC_BYTES);

const ENTRY_DOMAIN = "triadkit/audit/v1";
const CHECKPOINT_DOMAIN = "triadkit/audit-checkpoint/v1";

/** Detail keys that could carry a secret: such details are refused outright. */
const SECRET_DETAIL_KEY = /secret|password|passwd|psk|token|private|plaintext/i;

class ByteWriter {
  private readonly parts: Buffer[] = [];

  text(value: string): this {
    const bytes = Buffer.from(value, "utf8");
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    this.parts.push(len, bytes);
    return this;
  }

  u64(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new TriadkitError("internal.unexpected", "audit integer out of range", { value });
    }
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(value));
    this.parts.push(b);
    return this;
  }

  raw(bytes: Uint8Array): this {
    this.parts.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return this;
  }

  domain(name: string): this {
    this.parts.push(Buffer.from(name, "utf8"), Buffer.from([0]));
    return this;
  }

  bytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.parts));
  }
}

function checkMac(mac: Uint8Array, what: string): void {
  if (mac.length !== AUDIT_MAC_BYTES) {
    throw new TriadkitError("internal.unexpected", `${what} must be ${AUDIT_MAC_BYTES} bytes`, { length: mac.length });
  }
}

/** JSON with object keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/** Canonical details text; refuses any key that names a secret (details are never secret). */
export function encodeDetails(details: AuditDetails | undefined): string {
  assertNoSecretKeys(details ?? {}, "details");
  return canonicalJson(details ?? {});
}

function assertNoSecretKeys(value: unknown, path: string): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      assertNoSecretKeys(v, `${path}[${i}]`);
    });
  } else if (value !== null && typeof value === "object") {
    for (const [key, v] of Object.entries(value)) {
      if (SECRET_DETAIL_KEY.test(key)) {
        throw new TriadkitError("config.invalid", "audit details must never carry a secret", { key: `${path}.${key}` });
      }
      assertNoSecretKeys(v, `${path}.${key}`);
    }
  }
}

export type UnsignedAuditEntry = Omit<AuditEntry, "mac">;

export function encodeAuditEntry(entry: UnsignedAuditEntry): Uint8Array {
  checkMac(entry.prevMac, "prevMac");
  return new ByteWriter()
    .domain(ENTRY_DOMAIN)
    .text(entry.stationId)
    .u64(entry.seq)
    .u64(entry.time)
    .text(entry.operator)
    .text(entry.fixture)
    .text(entry.action)
    .text(entry.triadId)
    .text(entry.identity)
    .text(entry.details)
    .raw(entry.prevMac)
    .bytes();
}

export function auditEntryMac(auditMacKey: Uint8Array, entry: UnsignedAuditEntry): Uint8Array {
  return new Uint8Array(createHmac("sha256", auditMacKey).update(encodeAuditEntry(entry)).digest());
}

export function encodeCheckpoint(c: Omit<AuditCheckpoint, "signature">): Uint8Array {
  checkMac(c.headMac, "headMac");
  return new ByteWriter().domain(CHECKPOINT_DOMAIN).text(c.stationId).u64(c.seq).raw(c.headMac).u64(c.time).bytes();
}

export function signCheckpoint(keys: AuditKeys, c: Omit<AuditCheckpoint, "signature" | "stationId">): AuditCheckpoint {
  const unsigned = { stationId: keys.stationId, seq: c.seq, headMac: c.headMac, time: c.time };
  return { ...unsigned, signature: ed25519.sign(encodeCheckpoint(unsigned), keys.signingSeed) };
}

export function checkpointSignatureValid(c: AuditCheckpoint, publicKey: Uint8Array): boolean {
  try {
    return ed25519.verify(c.signature, encodeCheckpoint(c), publicKey);
  } catch {
    return false;
  }
}

export function macEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}
