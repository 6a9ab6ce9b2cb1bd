import { crc32 as zlibCrc32 } from "node:zlib";
import { utf8 } from "@triadkit/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32 } from "./crc32.js";

describe("crc32", () => {
  it("matches the CRC-32/ISO-HDLC check value and known vectors", () => {
    expect(crc32(utf8("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(utf8("The quick brown fox jumps over the lazy dog"))).toBe(0x414fa339);
    expect(crc32(new Uint8Array(32).fill(0xff))).toBe(0xff6cab0b);
  });

  it("agrees with node:zlib's crc32 on random input", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        expect(crc32(bytes)).toBe(zlibCrc32(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it("continues across pieces and honours start/end", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const i = a % (bytes.length + 1);
        const j = i + (b % (bytes.length - i + 1));
        expect(crc32(bytes, crc32(bytes.subarray(0, i)), i)).toBe(crc32(bytes));
        expect(crc32(bytes, 0, i, j)).toBe(zlibCrc32(bytes.subarray(i, j)));
      }),
    );
  });
});
