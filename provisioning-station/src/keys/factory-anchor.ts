/**
 * The pool's factory anchor: one Ed25519 key per pool, generated the first time a station burns. Its public key
 * goes into every record the pool's stations write (`record.anchor`); devices accept `unlock` and `factory_reset`
 * only with its signature over their fresh challenge. The 32-byte seed is stored sealed under the pool data key
 * (keyring `sealAnchorSeed`, AD label "triadkit/anchor/v1"), so every station granted the pool can rework any of
 * its devices, and `keys rotate` re-seals it. The seed is opened only in memory, for one signature at a time.
 */
import {
  type FactoryAuthAction,
  factoryAnchorPublicKey,
  signFactoryAuth,
  signFactoryBleAuth,
  TriadkitError,
} from "@triadkit/protocol";
import type { Random } from "@triadkit/sdk";
import type { Actor, Ledger } from "../ledger/types.js";
import type { PoolKeyring } from "./pool-keyring.js";

export interface FactoryAnchor {
  readonly poolId: string;
  readonly publicKey: Uint8Array;
  /** Ed25519 signature authorising `action` on this chip for this challenge (from the device's last hello). */
  sign(action: FactoryAuthAction, chipId: string, challenge: Uint8Array): Uint8Array;
  /** Ed25519 signature of a factory BLE handshake (`factoryBleAuthMessage(transcriptHash)`, labelled). */
  signBleHandshake(transcriptHash: Uint8Array): Uint8Array;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The pool's anchor; created (audit `anchor.create`) when the pool has none and `create` is set. A concurrent
 * creator's anchor wins the race: what is stored is used.
 */
export async function obtainFactoryAnchor(
  ledger: Ledger,
  keyring: PoolKeyring,
  actor: Actor,
  deps: { readonly random: Random; readonly now: () => number; readonly create: boolean },
): Promise<FactoryAnchor> {
  let stored = await ledger.factoryAnchor();
  if (stored === undefined) {
    if (!deps.create) {
      throw new TriadkitError("keys.wrong_key", "this pool has no factory anchor yet: no device was ever burnt", {
        poolId: ledger.poolId,
      });
    }
    const seed = deps.random.bytes(32);
    await ledger.createFactoryAnchor(
      { publicKey: factoryAnchorPublicKey(seed), sealedSeed: keyring.sealAnchorSeed(seed), createdAt: deps.now() },
      actor,
    );
    seed.fill(0);
    stored = await ledger.factoryAnchor();
    if (stored === undefined) throw new TriadkitError("internal.unexpected", "the factory anchor was not stored");
  }
  const anchor = stored;
  return {
    poolId: ledger.poolId,
    publicKey: anchor.publicKey,
    sign(action, chipId, challenge) {
      return withSeed((seed) => signFactoryAuth(seed, action, chipId, challenge));
    },
    signBleHandshake(transcriptHash) {
      return withSeed((seed) => signFactoryBleAuth(seed, transcriptHash));
    },
  };

  function withSeed(use: (seed: Uint8Array) => Uint8Array): Uint8Array {
    const seed = keyring.openAnchorSeed(anchor.sealedSeed);
    try {
      if (!sameBytes(factoryAnchorPublicKey(seed), anchor.publicKey)) {
        throw new TriadkitError("keys.decrypt_failed", "the sealed anchor seed does not match its public key");
      }
      return use(seed);
    } finally {
      seed.fill(0);
    }
  }
}
