import { describe, expect, it } from "vitest";
import { utf8 } from "./bytes.js";
import { crc32 } from "./crc32.js";

describe("crc32", () => {
  it("matches the CRC-32/ISO-HDLC check value", () => {
    expect(crc32(utf8("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(utf8("6789"), crc32(utf8("12345")))).toBe(0xcbf43926);
  });
});
