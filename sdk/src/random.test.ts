import { describe, expect, it } from "vitest";
import { CryptoRandom, SeededRandom } from "./random.js";

describe("Random", () => {
  it("SeededRandom is reproducible per seed and differs between seeds", () => {
    expect(new SeededRandom(42).bytes(32)).toEqual(new SeededRandom(42).bytes(32));
    expect(new SeededRandom(42).bytes(32)).not.toEqual(new SeededRandom(43).bytes(32));
  });

  it("SeededRandom.int stays in range and covers it", () => {
    const r = new SeededRandom(1);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const v = r.int(10);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(10);
      seen.add(v);
    }
    expect(seen.size).toBe(10);
  });

  it("CryptoRandom returns fresh bytes of the requested length", () => {
    const r = new CryptoRandom();
    const a = r.bytes(16);
    expect(a).toBeInstanceOf(Uint8Array);
    expect(a).toHaveLength(16);
    expect(a).not.toEqual(r.bytes(16));
  });
});
