import { expectTriadkitError } from "@triadkit/protocol";
import { CryptoRandom } from "@triadkit/sdk";
import { describe, expect, it } from "vitest";
import { PoolKeyring, sealedKeyVersion, unwrapPoolKey, wrapPoolKey } from "./pool-keyring.js";

const random = new CryptoRandom();
const SECRET = "0123456789abcdef0123456789abcdef";

function ring(poolId = "pool-a", version = 1, key = random.bytes(32)) {
  return new PoolKeyring(poolId, new Map([[version, key]]), random);
}

describe("sealed secrets", () => {
  it("have the documented layout: version 1, u32 key version, 12-byte nonce, ciphertext, 16-byte tag", () => {
    const k = ring("pool-a", 7);
    const sealed = k.seal("t1", SECRET);
    expect(sealed).toHaveLength(1 + 4 + 12 + SECRET.length + 16);
    expect([...sealed.subarray(0, 5)]).toEqual([1, 0, 0, 0, 7]);
    expect(sealedKeyVersion(sealed)).toBe(7);
    expect(k.open("t1", sealed)).toBe(SECRET);
    expect(Buffer.from(k.seal("t1", SECRET)).equals(Buffer.from(sealed))).toBe(false); // fresh nonce
  });

  it("fail to open under another triad id, another pool, or with any byte changed", () => {
    const key = random.bytes(32);
    const k = ring("pool-a", 1, key);
    const sealed = k.seal("t1", SECRET);
    const e = expectTriadkitError(() => k.open("t2", sealed), "keys.decrypt_failed");
    expect(JSON.stringify(e)).not.toContain(SECRET);
    expectTriadkitError(() => ring("pool-b", 1, key).open("t1", sealed), "keys.decrypt_failed");
    for (const i of [0, 4, 5, 20, sealed.length - 1]) {
      const bad = new Uint8Array(sealed);
      bad[i] = (bad[i] as number) ^ 1;
      const code = i === 0 ? "keys.decrypt_failed" : i === 4 ? "keys.unknown_key_version" : "keys.decrypt_failed";
      expectTriadkitError(() => k.open("t1", bad), code);
    }
    expectTriadkitError(() => k.open("t1", sealed.subarray(0, 20)), "keys.decrypt_failed");
  });

  it("fingerprint per pool key: the same for every holder, different in another pool", () => {
    const key = random.bytes(32);
    expect(ring("pool-a", 1, key).fingerprint(SECRET)).toBe(ring("pool-a", 1, key).fingerprint(SECRET));
    expect(ring("pool-a", 1, key).fingerprint(SECRET)).not.toBe(ring("pool-b", 1, key).fingerprint(SECRET));
    expect(ring().fingerprint(SECRET)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("pool key wrapping", () => {
  it("unwraps only with the same station key, pool, version and station id", () => {
    const wrapKey = random.bytes(32);
    const poolKey = random.bytes(32);
    const target = { poolId: "pool-a", version: 3, stationId: "st-1" };
    const wrapped = wrapPoolKey(wrapKey, target, poolKey, random);
    expect(wrapped).toHaveLength(61);
    const w = { version: 3, stationId: "st-1", wrapped, createdAt: 0 };
    expect(Buffer.from(unwrapPoolKey(wrapKey, "pool-a", w)).equals(Buffer.from(poolKey))).toBe(true);
    expectTriadkitError(() => unwrapPoolKey(random.bytes(32), "pool-a", w), "keys.wrong_key");
    expectTriadkitError(() => unwrapPoolKey(wrapKey, "pool-b", w), "keys.wrong_key");
    expectTriadkitError(() => unwrapPoolKey(wrapKey, "pool-a", { ...w, version: 4 }), "keys.wrong_key");
    expectTriadkitError(() => unwrapPoolKey(wrapKey, "pool-a", { ...w, stationId: "st-2" }), "keys.wrong_key");
  });
});
