import { expectTriadkitError, fromHex, toHex, utf8 } from "@triadkit/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32 } from "./crc32.js";
import {
  decodeRecord,
  encodeRecord,
  inspectRecord,
  isNewerGeneration,
  nextGeneration,
  RECORD_HEADER_BYTES,
  recordBytes,
} from "./record-format.js";

// The worked example of docs/storage.md: key "demo", generation 2, value "hello".
const EXAMPLE_HEX = "544b01040200000005000000" + "86a61036" + "b6ea3e9b" + "64656d6f" + "68656c6c6f";

const keyArb = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,63}$/);
const recordArb = fc.record({
  key: keyArb,
  generation: fc.integer({ min: 0, max: 0xffff_ffff }),
  value: fc.uint8Array({ maxLength: 300 }),
});

describe("record format v1", () => {
  it("lays out the documented bytes", () => {
    const bytes = encodeRecord({ key: "demo", generation: 2, value: utf8("hello") });
    expect(toHex(bytes)).toBe(EXAMPLE_HEX);
    expect(bytes.length).toBe(recordBytes(4, 5));
    const view = new DataView(bytes.buffer);
    expect(view.getUint32(12, true)).toBe(crc32(utf8("hello")));
    expect(view.getUint32(16, true)).toBe(crc32(bytes.subarray(0, 24).filter((_, i) => i < 16 || i >= 20)));
    expect(decodeRecord(fromHex(EXAMPLE_HEX))).toEqual({ key: "demo", generation: 2, value: utf8("hello") });
  });

  it("round-trips any record, ignoring trailing erased flash", () => {
    fc.assert(
      fc.property(recordArb, fc.nat({ max: 64 }), (record, pad) => {
        const encoded = encodeRecord(record);
        const slot = new Uint8Array(encoded.length + pad).fill(0xff);
        slot.set(encoded);
        expect(decodeRecord(slot)).toEqual(record);
        const inspection = inspectRecord(slot);
        expect(inspection.status === "valid" && inspection.byteLength).toBe(encoded.length);
      }),
    );
  });

  it("returns a value that does not alias the input", () => {
    const encoded = encodeRecord({ key: "k", generation: 1, value: utf8("abc") });
    const { value } = decodeRecord(encoded);
    value[0] = 0;
    expect(decodeRecord(encoded).value).toEqual(utf8("abc"));
  });

  it("detects every single-bit flip of a record", () => {
    const encoded = encodeRecord({ key: "triad", generation: 0x01020304, value: utf8('{"pk":"a1B2c3D4e5F"}') });
    for (let i = 0; i < encoded.length * 8; i++) {
      const mutated = encoded.slice();
      mutated[i >> 3] = (mutated[i >> 3] as number) ^ (1 << (i & 7));
      const inspection = inspectRecord(mutated);
      // A flip in the version byte may read as a verified header of another version only if the CRC matched;
      // it cannot, since the version byte is covered by the header CRC.
      expect(inspection.status, `bit ${i}`).toBe("damaged");
      expectTriadkitError(() => decodeRecord(mutated), "store.corrupt_record");
    }
  });

  it("attributes value damage to the key, but not header damage", () => {
    const encoded = encodeRecord({ key: "wifi", generation: 9, value: utf8("secret-psk") });
    const valueFlip = encoded.slice();
    valueFlip[encoded.length - 1] = (valueFlip[encoded.length - 1] as number) ^ 1;
    expect(inspectRecord(valueFlip)).toEqual({
      status: "damaged",
      reason: "value checksum mismatch",
      header: { version: 1, key: "wifi", generation: 9, valueLength: 10 },
    });
    const headerFlip = encoded.slice();
    headerFlip[5] = (headerFlip[5] as number) ^ 1;
    expect(inspectRecord(headerFlip)).toEqual({ status: "damaged", reason: "header checksum mismatch" });
    expect(inspectRecord(encoded.subarray(0, encoded.length - 1))).toMatchObject({ reason: "truncated value" });
    expect(inspectRecord(encoded.subarray(0, RECORD_HEADER_BYTES + 2))).toMatchObject({ reason: "truncated key" });
    expect(inspectRecord(new Uint8Array(64).fill(0xff))).toMatchObject({ reason: "bad magic" });
    expect(inspectRecord(new Uint8Array(3))).toMatchObject({ reason: "shorter than a header" });
  });

  it("reports a verified header of another version as store.unsupported_version", () => {
    const encoded = encodeRecord({ key: "wifi", generation: 3, value: utf8("x") });
    encoded[2] = 2;
    // Re-seal the header CRC as a version-2 writer would (bytes [0,20) are frozen across versions).
    const view = new DataView(encoded.buffer);
    view.setUint32(16, crc32(encoded, crc32(encoded, 0, 0, 16), 20, 24), true);
    expect(inspectRecord(encoded)).toEqual({
      status: "unsupported",
      header: { version: 2, key: "wifi", generation: 3, valueLength: 1 },
    });
    const err = expectTriadkitError(() => decodeRecord(encoded), "store.unsupported_version");
    expect(err.context).toMatchObject({ key: "wifi", version: 2, supported: 1 });
  });

  it("refuses a verified header whose key breaks the key pattern", () => {
    const encoded = encodeRecord({ key: "abc", generation: 1, value: new Uint8Array(0) });
    encoded[20] = 0x41; // "A"
    const view = new DataView(encoded.buffer);
    view.setUint32(16, crc32(encoded, crc32(encoded, 0, 0, 16), 20, 23), true);
    expect(inspectRecord(encoded)).toMatchObject({ status: "damaged", reason: "key has forbidden characters" });
  });

  it("never crashes on random or mutated bytes: decodes or throws a store error", () => {
    const check = (bytes: Uint8Array) => {
      try {
        const record = decodeRecord(bytes);
        expect(encodeRecord(record)).toEqual(bytes.subarray(0, recordBytes(record.key.length, record.value.length)));
      } catch (err) {
        expect((err as { code?: string }).code).toMatch(/^store\.(corrupt_record|unsupported_version)$/);
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), check), { numRuns: 500 });
    fc.assert(
      fc.property(
        recordArb,
        fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { maxLength: 4 }),
        fc.nat(),
        (record, edits, cut) => {
          const bytes = encodeRecord(record);
          for (const { at, byte } of edits) bytes[at % bytes.length] = byte;
          check(bytes.subarray(0, cut % (bytes.length + 1)));
          check(bytes);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("refuses to encode bad keys, generations and values", () => {
    expectTriadkitError(() => encodeRecord({ key: "Bad", generation: 1, value: new Uint8Array(0) }), "store.bad_key");
    for (const generation of [-1, 1.5, 2 ** 32, Number.NaN]) {
      expectTriadkitError(() => encodeRecord({ key: "k", generation, value: new Uint8Array(0) }), "config.invalid");
    }
    expectTriadkitError(
      () => encodeRecord({ key: "k", generation: 1, value: [1] as unknown as Uint8Array }),
      "config.invalid",
    );
  });
});

describe("generations", () => {
  it("compare in serial-number arithmetic, so wrap-around keeps the order", () => {
    expect(isNewerGeneration(2, 1)).toBe(true);
    expect(isNewerGeneration(1, 2)).toBe(false);
    expect(isNewerGeneration(5, 5)).toBe(false);
    expect(isNewerGeneration(0, 0xffff_ffff)).toBe(true);
    expect(isNewerGeneration(0xffff_ffff, 0)).toBe(false);
    expect(nextGeneration(0xffff_ffff)).toBe(0);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), (g) => {
        expect(isNewerGeneration(nextGeneration(g), g)).toBe(true);
        expect(isNewerGeneration(g, nextGeneration(g))).toBe(false);
      }),
    );
  });
});
