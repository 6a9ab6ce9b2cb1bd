/**
 * The pool data key and what it does: sealing device secrets, opening them, fingerprinting them.
 *
 * Pool data key: 32 random bytes per key version. Per version, HKDF-SHA256(ikm = pool key, salt = pool id) gives
 *   info "triadkit/pool/secret-aead/v1"         the AES-256-GCM key for secrets
 *   info "triadkit/pool/secret-fingerprint/v1"  the HMAC-SHA256 key for secret fingerprints
 * so every station holding the pool key computes the same fingerprints.
 *
 * Sealed secret (65 bytes for a 32-character secret):
 *   version (1 byte, 0x01) | key version (u32 big-endian) | nonce (12 random bytes) | ciphertext | GCM tag (16)
 *   AD = "triadkit/secret/v1" 0x00 | u16 len | pool id (UTF-8) | u16 len | triad id (UTF-8) | the 5 header bytes
 * Moving a ciphertext to another row or pool, or editing any byte, fails with `keys.decrypt_failed`.
 *
 * The same sealed format, under the same pool key, holds two more things (schema v2), each with its own AD label
 * so that no ciphertext opens as another kind:
 *   a device's PoP (16 bytes)        AD = "triadkit/pop/v1" 0x00 | u16 len | pool id | u16 len | triad id | header
 *   the pool's factory anchor seed   AD = "triadkit/anchor/v1" 0x00 | u16 len | pool id | u16 len | "factory" | header
 *     (the Ed25519 seed whose public key devices trust for unlock and factory_reset, see ./factory-anchor.ts)
 *
 * Wrapped pool key (61 bytes), one per (key version, station):
 *   version (1 byte, 0x01) | nonce (12) | AES-256-GCM(station wrap key, pool key) (32) | tag (16)
 *   AD = "triadkit/poolkey/v1" 0x00 | u16 len | pool id | u32 key version | u16 len | station id
 */
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, hkdfSync, type KeyObject } from "node:crypto";
import { TriadkitError } from "@triadkit/protocol";
import type { Random } from "@triadkit/sdk";
import type { WrappedPoolKey } from "../ledger/types.js";
import { pooledRandom } from "./pooled-random.js";

export const SEALED_FORMAT_VERSION = 1;
const HEADER_BYTES = 5;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const POOL_KEY_BYTES = 32;

/** What an importer needs: seal one secret for one triad id, fingerprint it. */
export interface SecretSealer {
  readonly poolId: string;
  readonly keyVersion: number;
  seal(triadId: string, secret: string): Uint8Array;
  fingerprint(secret: string): string;
}

function text16(value: string): Buffer {
  const b = Buffer.from(value, "utf8");
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

/** What a sealed blob holds: its AD label. */
type SealedKind = "secret" | "pop" | "anchor";

function sealedAd(kind: SealedKind, poolId: string, subject: string, header: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`triadkit/${kind}/v1\0`), text16(poolId), text16(subject), header]);
}

const ANCHOR_SUBJECT = "factory";

function wrapAd(poolId: string, version: number, stationId: string): Buffer {
  const v = Buffer.alloc(4);
  v.writeUInt32BE(version);
  return Buffer.concat([Buffer.from("triadkit/poolkey/v1\0"), text16(poolId), v, text16(stationId)]);
}

function gcmSeal(key: Uint8Array, nonce: Uint8Array, plain: Uint8Array, ad: Uint8Array): Buffer {
  const c = createCipheriv("aes-256-gcm", key, nonce);
  c.setAAD(ad);
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
}

/** Returns undefined when authentication fails. */
function gcmOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Buffer | undefined {
  if (sealed.length < TAG_BYTES) return undefined;
  try {
    const d = createDecipheriv("aes-256-gcm", key, nonce);
    d.setAAD(ad);
    d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    return Buffer.concat([d.update(sealed.subarray(0, sealed.length - TAG_BYTES)), d.final()]);
  } catch {
    return undefined;
  }
}

export function wrapPoolKey(
  wrapKey: Uint8Array,
  target: { poolId: string; version: number; stationId: string },
  poolKey: Uint8Array,
  random: Random,
): Uint8Array {
  const nonce = random.bytes(NONCE_BYTES);
  const body = gcmSeal(wrapKey, nonce, poolKey, wrapAd(target.poolId, target.version, target.stationId));
  return new Uint8Array(Buffer.concat([Buffer.from([1]), nonce, body]));
}

/** `keys.wrong_key` when this station's wrap key does not open it. */
export function unwrapPoolKey(wrapKey: Uint8Array, poolId: string, w: WrappedPoolKey): Uint8Array {
  const ok = w.wrapped.length === 1 + NONCE_BYTES + POOL_KEY_BYTES + TAG_BYTES && w.wrapped[0] === 1;
  const plain = ok
    ? gcmOpen(wrapKey, w.wrapped.subarray(1, 13), w.wrapped.subarray(13), wrapAd(poolId, w.version, w.stationId))
    : undefined;
  if (plain === undefined) {
    throw new TriadkitError("keys.wrong_key", "this station key does not unwrap the pool data key", {
      stationId: w.stationId,
      keyVersion: w.version,
    });
  }
  return new Uint8Array(plain);
}

/** The key version a sealed secret names (its bytes 1–4). */
export function sealedKeyVersion(sealed: Uint8Array): number {
  if (sealed.length < HEADER_BYTES || sealed[0] !== SEALED_FORMAT_VERSION) {
    throw new TriadkitError("keys.decrypt_failed", "not a triadkit sealed secret (format version)");
  }
  return Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength).readUInt32BE(1);
}

interface VersionKeys {
  readonly poolKey: Uint8Array;
  readonly aead: Uint8Array;
  readonly fingerprint: Uint8Array;
  /** The same two keys as KeyObjects: no key copy per sealed secret or fingerprint. */
  readonly aeadKey: KeyObject;
  readonly fingerprintKey: KeyObject;
}

/** The unwrapped pool keys of one pool, as this station holds them. */
export class PoolKeyring implements SecretSealer {
  readonly keyVersion: number;
  private readonly versions = new Map<number, VersionKeys>();
  /** AES-GCM nonces (public, one per sealed thing): pooled, see ./pooled-random.ts. */
  private readonly nonces: Random;

  constructor(
    readonly poolId: string,
    poolKeys: ReadonlyMap<number, Uint8Array>,
    private readonly random: Random,
  ) {
    if (poolKeys.size === 0) throw new TriadkitError("keys.wrong_key", "no pool data key for this station");
    this.nonces = pooledRandom(random);
    for (const [version, poolKey] of poolKeys) {
      const hk = (info: string) => new Uint8Array(hkdfSync("sha256", poolKey, poolId, info, 32));
      const aead = hk("triadkit/pool/secret-aead/v1");
      const fingerprint = hk("triadkit/pool/secret-fingerprint/v1");
      this.versions.set(version, {
        poolKey,
        aead,
        fingerprint,
        aeadKey: createSecretKey(aead),
        fingerprintKey: createSecretKey(fingerprint),
      });
    }
    this.keyVersion = Math.max(...poolKeys.keys());
  }

  /** Key versions held, ascending. */
  get versionsHeld(): readonly number[] {
    return [...this.versions.keys()].sort((a, b) => a - b);
  }

  private version(v: number): VersionKeys {
    const k = this.versions.get(v);
    if (k === undefined) {
      throw new TriadkitError("keys.unknown_key_version", `pool key version ${v} is not held by this station`, {
        keyVersion: v,
      });
    }
    return k;
  }

  seal(triadId: string, secret: string): Uint8Array {
    return this.sealBytes("secret", triadId, Buffer.from(secret, "utf8"));
  }

  /** The clear secret. `keys.decrypt_failed` if it was edited or belongs to another triad or pool. */
  open(triadId: string, sealed: Uint8Array): string {
    const plain = this.openBytes("secret", triadId, sealed);
    if (plain === undefined) {
      throw new TriadkitError(
        "keys.decrypt_failed",
        `the stored secret of triad ${triadId} fails authentication: edited, or moved from another row or pool`,
        { triadId, keyVersion: sealedKeyVersion(sealed) },
      );
    }
    return plain.toString("utf8");
  }

  /** Seals a device's PoP (kept for its label); bound to the triad id and pool under its own AD label. */
  sealPop(triadId: string, pop: Uint8Array): Uint8Array {
    return this.sealBytes("pop", triadId, pop);
  }

  /** The PoP bytes. `keys.decrypt_failed` if edited, moved, or not a PoP ciphertext. */
  openPop(triadId: string, sealed: Uint8Array): Uint8Array {
    const plain = this.openBytes("pop", triadId, sealed);
    if (plain === undefined) {
      throw new TriadkitError("keys.decrypt_failed", `the stored PoP of triad ${triadId} fails authentication`, {
        triadId,
        keyVersion: sealedKeyVersion(sealed),
      });
    }
    return new Uint8Array(plain);
  }

  /** Seals the pool's factory anchor seed (Ed25519, 32 bytes). */
  sealAnchorSeed(seed: Uint8Array): Uint8Array {
    return this.sealBytes("anchor", ANCHOR_SUBJECT, seed);
  }

  openAnchorSeed(sealed: Uint8Array): Uint8Array {
    const plain = this.openBytes("anchor", ANCHOR_SUBJECT, sealed);
    if (plain === undefined) {
      throw new TriadkitError("keys.decrypt_failed", "the pool's factory anchor key fails authentication", {
        poolId: this.poolId,
        keyVersion: sealedKeyVersion(sealed),
      });
    }
    return new Uint8Array(plain);
  }

  /** Written straight into one output buffer (an import seals 100k secrets: fewer copies, less garbage). */
  private sealBytes(kind: SealedKind, subject: string, plain: Uint8Array): Uint8Array {
    const out = Buffer.alloc(HEADER_BYTES + NONCE_BYTES + plain.length + TAG_BYTES);
    out[0] = SEALED_FORMAT_VERSION;
    out.writeUInt32BE(this.keyVersion, 1);
    const header = out.subarray(0, HEADER_BYTES);
    const nonce = this.nonces.bytes(NONCE_BYTES);
    out.set(nonce, HEADER_BYTES);
    const c = createCipheriv("aes-256-gcm", this.version(this.keyVersion).aeadKey, nonce);
    c.setAAD(sealedAd(kind, this.poolId, subject, header));
    let at = HEADER_BYTES + NONCE_BYTES;
    at += c.update(plain).copy(out, at);
    at += c.final().copy(out, at);
    c.getAuthTag().copy(out, at);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }

  /** Undefined when authentication fails; `keys.unknown_key_version` for a version this keyring lacks. */
  private openBytes(kind: SealedKind, subject: string, sealed: Uint8Array): Buffer | undefined {
    const keys = this.version(sealedKeyVersion(sealed));
    if (sealed.length < HEADER_BYTES + NONCE_BYTES + TAG_BYTES) return undefined;
    return gcmOpen(
      keys.aead,
      sealed.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES),
      sealed.subarray(HEADER_BYTES + NONCE_BYTES),
      sealedAd(kind, this.poolId, subject, sealed.subarray(0, HEADER_BYTES)),
    );
  }

  /** Hex HMAC-SHA256 of the secret under the current version's fingerprint key. */
  fingerprint(secret: string): string {
    return createHmac("sha256", this.version(this.keyVersion).fingerprintKey).update(secret, "utf8").digest("hex");
  }

  /** This keyring's pool keys wrapped for a station (to grant it access). */
  wrapFor(station: { stationId: string; wrapKey: Uint8Array }, createdAt: number): WrappedPoolKey[] {
    return this.versionsHeld.map((version) => ({
      version,
      stationId: station.stationId,
      createdAt,
      wrapped: wrapPoolKey(
        station.wrapKey,
        { poolId: this.poolId, version, stationId: station.stationId },
        this.version(version).poolKey,
        this.random,
      ),
    }));
  }
}
