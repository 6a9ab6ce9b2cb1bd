/**
 * Random bytes for many small public values in a row (triad ids, AES-GCM nonces during an import of 100k rows):
 * one call to the OS CSPRNG per block instead of one per value (each call costs a few microseconds, a sixth of a
 * 100k-row import's own time before this). Only the OS CSPRNG ({@link CryptoRandom}) is pooled; any other injected
 * Random (a seeded one in tests and simulations) is returned as is, so its sequence and replays stay exact. Never use
 * it for keys or secrets: the unused rest of a block stays in memory until it is handed out.
 */
import { CryptoRandom, type Random } from "@triadkit/sdk";

const BLOCK_BYTES = 4096;

class PooledRandom implements Random {
  #block: Uint8Array = new Uint8Array(0);
  #used = 0;

  constructor(private readonly inner: Random) {}

  bytes(length: number): Uint8Array {
    if (length > BLOCK_BYTES / 4) return this.inner.bytes(length);
    if (this.#used + length > this.#block.length) {
      this.#block = this.inner.bytes(BLOCK_BYTES);
      this.#used = 0;
    }
    const out = this.#block.slice(this.#used, this.#used + length);
    this.#block.fill(0, this.#used, this.#used + length); // handed-out bytes do not stay behind
    this.#used += length;
    return out;
  }
}

/** A pooling wrapper of the OS CSPRNG for public values; any other Random unchanged (see the module comment). */
export function pooledRandom(random: Random): Random {
  return random instanceof CryptoRandom ? new PooledRandom(random) : random;
}
