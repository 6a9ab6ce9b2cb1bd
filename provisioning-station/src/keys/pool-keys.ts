/**
 * Pool key operations on top of any Ledger: load (or create on a new pool) this station's keyring, rotate the pool
 * data key, grant another station.
 *
 * Rotation re-seals every secret and recomputes every fingerprint under a new key version in one transaction. This
 * station can wrap the new version only for itself (it holds no other station's wrap key), so the wraps of the
 * older versions are dropped and every other station that held them is listed in the `keys.rotate` audit entry and
 * the result as needing a new grant (`grantStation`, with that station's key).
 */
import { TriadkitError } from "@triadkit/protocol";
import type { Random } from "@triadkit/sdk";
import type { Actor, Ledger, StationRecord } from "../ledger/types.js";
import { POOL_KEY_BYTES, PoolKeyring, unwrapPoolKey, wrapPoolKey } from "./pool-keyring.js";
import type { StationKey } from "./station-key.js";

export interface KeyDeps {
  readonly random: Random;
  readonly now: () => number;
}

/** This station's keyring for the ledger's pool; on a pool with no key yet, creates version 1 (`keys.create`). */
export async function openPoolKeyring(
  ledger: Ledger,
  station: StationKey,
  actor: Actor,
  deps: KeyDeps,
): Promise<PoolKeyring> {
  let wraps = await ledger.poolKeys();
  if (wraps.length === 0) {
    const poolKey = deps.random.bytes(POOL_KEY_BYTES);
    const target = { poolId: ledger.poolId, version: 1, stationId: station.stationId };
    await ledger.createPoolKey(
      { ...target, createdAt: deps.now(), wrapped: wrapPoolKey(station.wrapKey, target, poolKey, deps.random) },
      actor,
    );
    wraps = await ledger.poolKeys(); // another process may have won the race: use what is stored
  }
  const mine = wraps.filter((w) => w.stationId === station.stationId);
  if (mine.length === 0) {
    throw new TriadkitError(
      "keys.wrong_key",
      `station ${station.stationId} holds no key of this pool: another station's key file, or never granted`,
      { stationId: station.stationId, poolId: ledger.poolId },
    );
  }
  const keys = new Map(mine.map((w) => [w.version, unwrapPoolKey(station.wrapKey, ledger.poolId, w)]));
  return new PoolKeyring(ledger.poolId, keys, deps.random);
}

export interface RotationResult {
  readonly keyring: PoolKeyring;
  readonly resealed: number;
  /** Device PoPs re-sealed (the factory anchor seed is re-sealed too). */
  readonly resealedPops: number;
  /** Stations that held the older key and must be granted the new one by a station holding their key. */
  readonly stationsToRegrant: readonly string[];
}

/** New pool key version; every secret, PoP and the anchor seed re-sealed; older wraps dropped (`keys.rotate`). */
export async function rotatePoolKey(
  ledger: Ledger,
  keyring: PoolKeyring,
  station: StationKey,
  actor: Actor,
  deps: KeyDeps,
): Promise<RotationResult> {
  const stored = await ledger.poolKeys();
  const latest = Math.max(0, ...stored.map((w) => w.version));
  if (latest !== keyring.keyVersion) {
    throw new TriadkitError(
      "keys.stale_key_version",
      `the pool key was rotated to version ${latest} since this keyring was loaded; reopen the ledger`,
      { keyVersion: keyring.keyVersion, latest },
    );
  }
  const version = latest + 1;
  const poolKey = deps.random.bytes(POOL_KEY_BYTES);
  const next = new PoolKeyring(ledger.poolId, new Map([[version, poolKey]]), deps.random);
  const target = { poolId: ledger.poolId, version, stationId: station.stationId };
  const wrapped = {
    ...target,
    createdAt: deps.now(),
    wrapped: wrapPoolKey(station.wrapKey, target, poolKey, deps.random),
  };
  const result = await ledger.rekey(
    wrapped,
    {
      secret(triadId, sealedSecret) {
        const secret = keyring.open(triadId, sealedSecret);
        return { sealedSecret: next.seal(triadId, secret), secretFingerprint: next.fingerprint(secret) };
      },
      pop: (triadId, sealedPop) => next.sealPop(triadId, keyring.openPop(triadId, sealedPop)),
      anchorSeed: (sealedSeed) => next.sealAnchorSeed(keyring.openAnchorSeed(sealedSeed)),
    },
    actor,
  );
  return { keyring: next, ...result };
}

/** Grants another station (whose key the caller holds, e.g. from its key file) this pool's keys (`keys.grant`). */
export async function grantStation(
  ledger: Ledger,
  keyring: PoolKeyring,
  other: Pick<StationKey, "stationId" | "wrapKey" | "publicKey">,
  actor: Actor,
  deps: Pick<KeyDeps, "now">,
  options: { readonly line?: string } = {},
): Promise<void> {
  const record: StationRecord = { stationId: other.stationId, publicKey: other.publicKey, createdAt: deps.now() };
  await ledger.grantStation(record, keyring.wrapFor(other, deps.now()), actor, options);
}
