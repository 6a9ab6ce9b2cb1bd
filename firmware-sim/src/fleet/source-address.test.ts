import { describe, expect, it } from "vitest";
import { sourceAddress } from "./source-address.js";
import { percentile, summariseLatency } from "./stats.js";

describe("sourceAddress", () => {
  it("spreads devices over 127.0.0.0/8, perAddress each", () => {
    expect(sourceAddress(0)).toBe("127.1.0.1");
    expect(sourceAddress(9_999)).toBe("127.1.0.1");
    expect(sourceAddress(10_000)).toBe("127.1.0.2");
    expect(sourceAddress(0, 1)).toBe("127.1.0.1");
    expect(sourceAddress(255, 1)).toBe("127.1.1.0");
    expect(sourceAddress(65_535, 1)).toBe("127.2.0.0");
  });

  it("gives every device its own address with perAddress 1", () => {
    const seen = new Set(Array.from({ length: 70_000 }, (_, i) => sourceAddress(i, 1)));
    expect(seen.size).toBe(70_000);
  });

  it("refuses a negative index", () => {
    expect(() => sourceAddress(-1)).toThrow(RangeError);
  });
});

describe("latency summary", () => {
  it("uses nearest-rank percentiles", () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100, unsorted
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 90)).toBe(90);
    expect(percentile(samples, 99)).toBe(99);
    expect(summariseLatency(samples)).toEqual({ count: 100, p50Ms: 50, p90Ms: 90, p99Ms: 99, maxMs: 100 });
  });

  it("is null without samples", () => {
    expect(summariseLatency([])).toEqual({ count: 0, p50Ms: null, p90Ms: null, p99Ms: null, maxMs: null });
  });
});
