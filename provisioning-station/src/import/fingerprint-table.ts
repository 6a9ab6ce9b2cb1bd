/**
 * The in-file duplicate check's memory: 96-bit fingerprints (the first 12 bytes of a hash) → the first row that had
 * each, in an open-addressing table of typed arrays. No object per entry, so 100k rows add two arrays for the garbage
 * collector instead of 100k strings and Map entries (which made GC the largest item of the reader's profile).
 */
export class FingerprintTable {
  /** Three 32-bit words per slot. */
  #keys = new Uint32Array(3 * 1024);
  /** The row per slot; 0 is an empty slot (sheet rows start at 1). */
  #rows = new Int32Array(1024);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /**
   * Records `row` (≥ 1) for the fingerprint `fp` (at least 12 bytes; the first 12 are used) and returns undefined,
   * or returns the first row recorded for it and records nothing.
   */
  claim(fp: Uint8Array, row: number): number | undefined {
    const view = new DataView(fp.buffer, fp.byteOffset, 12);
    return this.claimWords(view.getUint32(0, true), view.getUint32(4, true), view.getUint32(8, true), row);
  }

  /** {@link claim} with the fingerprint as three unsigned 32-bit words. */
  claimWords(a: number, b: number, c: number, row: number): number | undefined {
    if (!Number.isInteger(row) || row < 1 || row > 0x7fffffff) throw new RangeError("row must be a positive int32");
    if ((this.#size + 1) * 2 > this.#rows.length) this.#grow();
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    const slot = this.#find(a, b, c);
    const first = this.#rows[slot] as number;
    if (first !== 0) return first;
    this.#put(slot, a, b, c, row);
    return undefined;
  }

  /** The slot holding (a, b, c), or the empty slot where it belongs. */
  #find(a: number, b: number, c: number): number {
    const keys = this.#keys;
    const rows = this.#rows;
    const mask = rows.length - 1;
    for (let i = (a ^ Math.imul(c, 0x9e3779b1)) & mask; ; i = (i + 1) & mask) {
      if (rows[i] === 0) return i;
      if (keys[3 * i] === a && keys[3 * i + 1] === b && keys[3 * i + 2] === c) return i;
    }
  }

  #put(slot: number, a: number, b: number, c: number, row: number): void {
    this.#keys[3 * slot] = a;
    this.#keys[3 * slot + 1] = b;
    this.#keys[3 * slot + 2] = c;
    this.#rows[slot] = row;
    this.#size++;
  }

  #grow(): void {
    const keys = this.#keys;
    const rows = this.#rows;
    this.#keys = new Uint32Array(keys.length * 2);
    this.#rows = new Int32Array(rows.length * 2);
    this.#size = 0;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as number;
      if (row === 0) continue;
      const a = keys[3 * i] as number;
      const b = keys[3 * i + 1] as number;
      const c = keys[3 * i + 2] as number;
      this.#put(this.#find(a, b, c), a, b, c, row);
    }
  }
}

function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A fast 96-bit fingerprint of text that is not secret (a ProductKey and DeviceName): three 32-bit multiplicative
 * hashes with different multipliers over the UTF-16 code units, each finished with murmur3's fmix32, claimed in the
 * table as three words. Not for secrets (not a cryptographic hash); a collision would only report a false repeat.
 */
export function claimText(table: FingerprintTable, text: string, row: number): number | undefined {
  let a = 0x811c9dc5;
  let b = 0x2545f491;
  let c = 0x6a09e667;
  for (let i = 0; i < text.length; i++) {
    const u = text.charCodeAt(i);
    a = Math.imul(a ^ u, 0x01000193);
    b = Math.imul(b ^ u, 0x5bd1e995);
    c = Math.imul(c ^ u, 0x9e3779b1);
  }
  const n = text.length;
  return table.claimWords(fmix32(a ^ n), fmix32(b ^ n), fmix32(c ^ n), row);
}
