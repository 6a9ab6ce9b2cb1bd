import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { claimText, FingerprintTable } from "../fingerprint-table.js";

const fp = (text: string) => createHash("sha256").update(text).digest();

describe("FingerprintTable", () => {
  it("returns the first row of a repeated fingerprint and keeps every distinct one, across growth", () => {
    const table = new FingerprintTable();
    for (let row = 1; row <= 5000; row++) expect(table.claim(fp(`secret-${row}`), row)).toBeUndefined();
    expect(table.size).toBe(5000);
    expect(table.claim(fp("secret-1"), 6000)).toBe(1);
    expect(table.claim(fp("secret-4321"), 6001)).toBe(4321);
    expect(table.claim(fp("secret-4321"), 6002)).toBe(4321);
    expect(table.size).toBe(5000);
  });

  it("tells apart fingerprints that differ only in their last word", () => {
    const table = new FingerprintTable();
    const a = new Uint8Array(12);
    const b = new Uint8Array(12);
    b[11] = 1;
    expect(table.claim(a, 2)).toBeUndefined();
    expect(table.claim(b, 3)).toBeUndefined();
    expect(table.claim(Uint8Array.from(b), 4)).toBe(3);
  });

  it("refuses a row that is not a positive int32 (0 marks an empty slot)", () => {
    expect(() => new FingerprintTable().claim(new Uint8Array(12), 0)).toThrow(RangeError);
  });
});

describe("claimText", () => {
  it("finds a repeated text and no false repeat among 100k distinct names", () => {
    const table = new FingerprintTable();
    for (let row = 1; row <= 100_000; row++) {
      expect(claimText(table, `a1B2c3D4e5F\u0000dev-${String(row).padStart(6, "0")}`, row)).toBeUndefined();
    }
    expect(claimText(table, "a1B2c3D4e5F\u0000dev-000042", 100_001)).toBe(42);
    expect(claimText(table, "a1B2c3D4e5F\u0000dev-00042", 100_002)).toBeUndefined();
  });
});
