import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeCbor } from "../provisioning/cbor.js";
import { expectTriadkitError } from "../testing.js";
import { toHex } from "../util/bytes.js";
import { GENIE_TRIAD, range, VECTOR_RECORD, VECTOR_TRIAD } from "./__tests__/fixtures.js";
import { deterministicCbor } from "./canonical.js";
import {
  decodeFactoryRecord,
  encodeFactoryRecord,
  factoryIdentityOf,
  factoryRecordHash,
  factorySecretOf,
  sameFactoryIdentity,
} from "./record.js";
import type { FactoryRecord } from "./types.js";

const SECRET = VECTOR_TRIAD.deviceSecret;

function secretFree(fn: () => unknown): void {
  const err = expectTriadkitError(fn, "factory.bad_message");
  const text = JSON.stringify({ message: err.message, context: err.context });
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain(GENIE_TRIAD.secret);
}

describe("factory record", () => {
  it("round-trips, with and without the optional shelf, for both triad families", () => {
    const { shelf: _, ...noShelf } = VECTOR_RECORD;
    for (const record of [VECTOR_RECORD, noShelf, { ...VECTOR_RECORD, triad: GENIE_TRIAD }] as FactoryRecord[]) {
      const bytes = encodeFactoryRecord(record);
      expect(decodeFactoryRecord(bytes)).toEqual(record);
      expect(toHex(encodeFactoryRecord(decodeFactoryRecord(bytes)))).toBe(toHex(bytes));
    }
  });

  it("encodes deterministically: key order of the input object and extra fields do not matter", () => {
    const reversed = Object.fromEntries(Object.entries(VECTOR_RECORD).reverse());
    const shuffled = {
      ...reversed,
      triad: Object.fromEntries(Object.entries(VECTOR_TRIAD).reverse()),
      anchor: { publicKey: VECTOR_RECORD.anchor.publicKey, poolId: "pool-a" },
      extra: "ignored",
    } as unknown as FactoryRecord;
    expect(Object.keys(shuffled)[0]).toBe("writtenAt");
    expect(toHex(encodeFactoryRecord(shuffled))).toBe(toHex(encodeFactoryRecord(VECTOR_RECORD)));
    expect(factoryRecordHash(shuffled)).toEqual(factoryRecordHash(VECTOR_RECORD));
  });

  it("sorts map keys by RFC 8949 §4.2.1 (shorter first, then bytewise)", () => {
    expect(toHex(deterministicCbor({ bb: 1, a: 2, c: 3 }))).toBe("a361610261630362626201");
    expect(toHex(deterministicCbor({ n: 2 ** 40 }))).toBe("a1616e1b0000010000000000");
    expect(toHex(deterministicCbor({ n: 23, m: 24, k: 65536 }))).toBe("a3616b1a00010000616d1818616e17");
  });

  it("refuses any other byte form of the same record (key order, long heads, unknown keys)", () => {
    const canonical = encodeFactoryRecord(VECTOR_RECORD);
    const libraryOrder = encodeCbor({
      v: 1,
      triad: { ...VECTOR_TRIAD },
      pop: { ...VECTOR_RECORD.pop },
      shelf: { ...VECTOR_RECORD.shelf },
      anchor: { ...VECTOR_RECORD.anchor },
      stationId: VECTOR_RECORD.stationId,
      workOrderId: VECTOR_RECORD.workOrderId,
      triadId: VECTOR_RECORD.triadId,
      writtenAt: VECTOR_RECORD.writtenAt,
    });
    // The same fields in insertion order (what cbor-x writes): well-formed and valid, but not the one byte form.
    expect(toHex(libraryOrder)).not.toBe(toHex(canonical));
    expectTriadkitError(() => decodeFactoryRecord(libraryOrder), "factory.bad_message");
    expectTriadkitError(
      () => decodeFactoryRecord(encodeCbor({ ...decodeFactoryRecord(canonical), x: 1 })),
      "factory.bad_message",
    );
    // v as a one-byte head (0x18 0x01) instead of the shortest 0x01.
    const longHead = Uint8Array.from([...canonical.subarray(0, 3), 0x18, 0x01, ...canonical.subarray(4)]);
    expectTriadkitError(() => decodeFactoryRecord(longHead), "factory.bad_message");
  });

  it("accepts the 64-bit writtenAt cbor-x returns as a bigint, up to 2^53 - 1", () => {
    const late = { ...VECTOR_RECORD, writtenAt: Number.MAX_SAFE_INTEGER };
    expect(decodeFactoryRecord(encodeFactoryRecord(late)).writtenAt).toBe(Number.MAX_SAFE_INTEGER);
    expectTriadkitError(() => encodeFactoryRecord({ ...VECTOR_RECORD, writtenAt: 2 ** 53 }), "factory.bad_message");
  });

  it("validates every field without echoing a secret", () => {
    const bad: [string, unknown][] = [
      ["v", { v: 2 }],
      ["triad.family", { triad: { ...VECTOR_TRIAD, family: "tuya" } }],
      ["triad.productKey", { triad: { ...VECTOR_TRIAD, productKey: "a b" } }],
      ["triad.productKey", { triad: { ...VECTOR_TRIAD, productKey: " a1FacTest01" } }],
      ["triad.deviceName", { triad: { ...VECTOR_TRIAD, deviceName: "ab" } }],
      ["triad.deviceSecret", { triad: { ...VECTOR_TRIAD, deviceSecret: `${SECRET} x` } }],
      ["triad.deviceSecret", { triad: { ...VECTOR_TRIAD, deviceSecret: "" } }],
      ["triad.secret", { triad: { ...GENIE_TRIAD, secret: GENIE_TRIAD.secret.toUpperCase() } }],
      ["triad.secret", { triad: { ...GENIE_TRIAD, secret: `${GENIE_TRIAD.secret}00` } }],
      ["triad.mac", { triad: { ...GENIE_TRIAD, mac: "28:fa:7a:5c:00:01" } }],
      ["triad.productId", { triad: { ...GENIE_TRIAD, productId: -1 } }],
      ["pop.v", { pop: { ...VECTOR_RECORD.pop, v: 2 } }],
      ["pop.salt", { pop: { ...VECTOR_RECORD.pop, salt: range(0, 15) } }],
      ["pop.key", { pop: { ...VECTOR_RECORD.pop, key: range(0, 31) } }],
      ["shelf.storeId", { shelf: { storeId: 0, deviceCode: "X" } }],
      ["shelf.deviceCode", { shelf: { storeId: 1, deviceCode: "with space" } }],
      ["anchor.publicKey", { anchor: { poolId: "p", publicKey: range(0, 33) } }],
      ["anchor.poolId", { anchor: { poolId: "", publicKey: range(0, 32) } }],
      ["stationId", { stationId: "x".repeat(65) }],
      ["workOrderId", { workOrderId: "WO\n1" }],
      ["triadId", { triadId: 7 }],
      ["writtenAt", { writtenAt: -1 }],
    ];
    for (const [field, patch] of bad) {
      const record = { ...VECTOR_RECORD, ...(patch as object) } as FactoryRecord;
      secretFree(() => encodeFactoryRecord(record));
      const err = expectTriadkitError(() => encodeFactoryRecord(record), "factory.bad_message");
      expect(err.context).toEqual({ field });
    }
    secretFree(() => encodeFactoryRecord(null as never));
  });

  it("random and mutated bytes decode or fail with factory.bad_message", () => {
    const canonical = encodeFactoryRecord(VECTOR_RECORD);
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0, max: 255 }), (at, value) => {
        const bytes = Uint8Array.from(canonical);
        bytes[at % bytes.length] = value;
        try {
          decodeFactoryRecord(bytes);
        } catch (err) {
          expect(err).toMatchObject({ code: "factory.bad_message" });
          expect(String((err as Error).message)).not.toContain(SECRET);
        }
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        expect(() => decodeFactoryRecord(bytes)).toThrow(/factory.bad_message/);
      }),
    );
  });

  it("gives identities and secrets of both families", () => {
    expect(factoryIdentityOf(VECTOR_TRIAD)).toEqual({
      family: "alibaba",
      productKey: "a1FacTest01",
      deviceName: "factory-dev-001",
    });
    expect(factoryIdentityOf(GENIE_TRIAD)).toEqual({ family: "genie", productId: 5120345, mac: "28fa7a5c0001" });
    expect(factorySecretOf(VECTOR_TRIAD)).toBe(SECRET);
    expect(factorySecretOf(GENIE_TRIAD)).toBe(GENIE_TRIAD.secret);
    expect(sameFactoryIdentity(factoryIdentityOf(VECTOR_TRIAD), factoryIdentityOf(VECTOR_TRIAD))).toBe(true);
    expect(sameFactoryIdentity(factoryIdentityOf(VECTOR_TRIAD), factoryIdentityOf(GENIE_TRIAD))).toBe(false);
  });
});
