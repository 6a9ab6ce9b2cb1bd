import {
  createConnectSigner,
  type HmacAlgorithm,
  nobleHmac,
  nobleKeyer,
  signConnect,
  toHex,
  verifyConnect,
} from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { nodeHmac, nodeKeyer } from "./node-hmac.js";

// A seeded generator (xorshift32) so a failure reproduces.
function seeded(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

function bytes(next: () => number, max: number): Uint8Array {
  const out = new Uint8Array(Math.floor(next() * (max + 1)));
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(next() * 256);
  return out;
}

const ALGS: HmacAlgorithm[] = ["sha256", "sha1", "md5"];

/** String keys and messages: ASCII, non-ASCII, lone surrogates (UTF-8 encoders write U+FFFD), empty. */
const TEXT_CASES = [
  ["QjQDfDGNfQhzBylLdrZmP7n9oEmldTQx", "clientIda1&dndeviceNamedn"],
  ["密钥-ÄÖ-🔑", "内容 content 🙂"],
  ["bad\ud800key", "x\udc00y"],
  ["", ""],
] as const;

describe("nodeHmac", () => {
  it("agrees byte-for-byte with nobleHmac on random keys and messages (incl. empty and > block size keys)", () => {
    const next = seeded(0x7a1d);
    for (let i = 0; i < 300; i++) {
      const alg = ALGS[i % 3] as HmacAlgorithm;
      const key = bytes(next, 150);
      const data = bytes(next, 300);
      expect(toHex(nodeHmac(alg, key, data)), `case ${i} ${alg}`).toBe(toHex(nobleHmac(alg, key, data)));
    }
  });

  it("treats string keys and data as UTF-8, like nobleHmac and like the bytes (incl. non-ASCII, lone surrogate)", () => {
    const enc = new TextEncoder();
    for (const [key, data] of TEXT_CASES) {
      for (const alg of ALGS) {
        const fromBytes = toHex(nobleHmac(alg, enc.encode(key), enc.encode(data)));
        expect(toHex(nodeHmac(alg, key, data))).toBe(fromBytes);
        expect(toHex(nobleHmac(alg, key, data))).toBe(fromBytes);
      }
    }
  });

  it("returns a plain Uint8Array of the hash's length", () => {
    const mac = nodeHmac("sha1", new Uint8Array([1]), new Uint8Array([2]));
    expect(mac).toBeInstanceOf(Uint8Array);
    expect(mac.length).toBe(20);
    expect(nodeHmac("sha256", new Uint8Array(), new Uint8Array()).length).toBe(32);
    expect(nodeHmac("md5", new Uint8Array(), new Uint8Array()).length).toBe(16);
  });

  it("gives signConnect the same credentials as the default, and verifyConnect accepts them", () => {
    const triad = { productKey: "a1NodeHmac0", deviceName: "dev-01", deviceSecret: "s3cr3t-ÄÖ-key" };
    for (const signMethod of ["hmacsha256", "hmacsha1", "hmacmd5"] as const) {
      for (const style of ["node", "c"] as const) {
        const input = { triad, style, signMethod, timestampMs: 1_700_000_000_123 };
        const native = signConnect({ ...input, hmac: nodeHmac });
        expect(native).toEqual(signConnect(input));
        const parsed = verifyConnect(native, () => triad.deviceSecret, { hmac: nodeHmac });
        expect(parsed.identity.deviceName).toBe("dev-01");
        expect(() =>
          verifyConnect({ ...native, password: "0".repeat(native.password.length) }, () => triad.deviceSecret, {
            hmac: nodeHmac,
          }),
        ).toThrow(/does not match/);
      }
    }
  });
});

describe("nodeKeyer", () => {
  it("agrees byte-for-byte with nobleHmac and nobleKeyer, reusing one prepared key for many messages", () => {
    const next = seeded(0x4b3e);
    for (let i = 0; i < 150; i++) {
      const alg = ALGS[i % 3] as HmacAlgorithm;
      const key = bytes(next, 150);
      const native = nodeKeyer(alg, key);
      const pure = nobleKeyer(alg, key);
      for (let k = 0; k < 4; k++) {
        const data = bytes(next, 300);
        const expected = toHex(nobleHmac(alg, key, data));
        expect(toHex(native(data)), `case ${i}.${k} ${alg}`).toBe(expected);
        expect(toHex(pure(data)), `case ${i}.${k} ${alg} noble`).toBe(expected);
      }
    }
  });

  it("treats string keys and data as UTF-8 (incl. non-ASCII, lone surrogate, empty)", () => {
    const enc = new TextEncoder();
    for (const [key, data] of TEXT_CASES) {
      for (const alg of ALGS) {
        const fromBytes = toHex(nobleHmac(alg, enc.encode(key), enc.encode(data)));
        expect(toHex(nodeKeyer(alg, key)(data))).toBe(fromBytes);
        expect(toHex(nodeKeyer(alg, enc.encode(key))(enc.encode(data)))).toBe(fromBytes);
        expect(toHex(nobleKeyer(alg, key)(data))).toBe(fromBytes);
      }
    }
  });

  it("gives createConnectSigner the same credentials as signConnect, and verifyConnect accepts them", () => {
    const triad = { productKey: "a1NodeHmac0", deviceName: "dev-01", deviceSecret: "s3cr3t-ÄÖ-key" };
    for (const signMethod of ["hmacsha256", "hmacsha1", "hmacmd5"] as const) {
      for (const style of ["node", "c"] as const) {
        const sign = createConnectSigner({ triad, style, signMethod, keyer: nodeKeyer });
        for (const timestampMs of [1_700_000_000_123, 1_700_000_000_124, "2524608000000"]) {
          const creds = sign(timestampMs);
          expect(creds).toEqual(signConnect({ triad, style, signMethod, timestampMs }));
          expect(verifyConnect(creds, () => triad.deviceSecret, { hmac: nodeHmac }).identity.deviceName).toBe("dev-01");
        }
      }
    }
  });
});
