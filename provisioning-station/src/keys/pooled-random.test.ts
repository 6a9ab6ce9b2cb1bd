import { CryptoRandom, type Random, SeededRandom } from "@triadkit/sdk";
import { describe, expect, it } from "vitest";
import { pooledRandom } from "./pooled-random.js";

class CountingRandom extends CryptoRandom {
  calls = 0;
  override bytes(length: number): Uint8Array {
    this.calls++;
    return super.bytes(length);
  }
}

describe("pooledRandom", () => {
  it("draws the OS CSPRNG a block at a time and never hands out the same bytes twice", () => {
    const inner = new CountingRandom();
    const random = pooledRandom(inner);
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const b = random.bytes(12);
      expect(b).toHaveLength(12);
      seen.add(Buffer.from(b).toString("hex"));
    }
    expect(seen.size).toBe(1000);
    expect(inner.calls).toBeLessThan(10);
  });

  it("passes large requests through", () => {
    const inner = new CountingRandom();
    const random = pooledRandom(inner);
    expect(random.bytes(5000)).toHaveLength(5000);
    expect(inner.calls).toBe(1);
  });

  it("leaves any other Random as it is, so seeded sequences replay exactly", () => {
    const seeded: Random = new SeededRandom(7);
    expect(pooledRandom(seeded)).toBe(seeded);
  });
});
