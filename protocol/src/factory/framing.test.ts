import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../util/bytes.js";
import { crc32 } from "../util/crc32.js";
import { range } from "./__tests__/fixtures.js";
import { cobsDecode, cobsEncode, cobsMaxEncodedLength } from "./cobs.js";
import {
  decodeFactoryFrame,
  decodeFactoryPacket,
  encodeFactoryFrame,
  encodeFactoryPacket,
  FACTORY_MAX_BODY_BYTES,
  FACTORY_MAX_FRAME_BYTES,
  FactoryFrameDecoder,
} from "./framing.js";
import type { FactoryPacket } from "./types.js";

const cat = (...parts: (Uint8Array | number[])[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

describe("COBS", () => {
  // The examples of Cheshire & Baker / Wikipedia.
  const cases: [Uint8Array, Uint8Array][] = [
    [Uint8Array.of(), Uint8Array.of(0x01)],
    [Uint8Array.of(0x00), Uint8Array.of(0x01, 0x01)],
    [Uint8Array.of(0x00, 0x00), Uint8Array.of(0x01, 0x01, 0x01)],
    [Uint8Array.of(0x00, 0x11, 0x00), Uint8Array.of(0x01, 0x02, 0x11, 0x01)],
    [Uint8Array.of(0x11, 0x22, 0x00, 0x33), Uint8Array.of(0x03, 0x11, 0x22, 0x02, 0x33)],
    [Uint8Array.of(0x11, 0x22, 0x33, 0x44), Uint8Array.of(0x05, 0x11, 0x22, 0x33, 0x44)],
    [Uint8Array.of(0x11, 0x00, 0x00, 0x00), Uint8Array.of(0x02, 0x11, 0x01, 0x01, 0x01)],
    [range(1, 254), cat([0xff], range(1, 254))],
    [range(0, 255), cat([0x01, 0xff], range(1, 254))],
    [range(1, 255), cat([0xff], range(1, 254), [0x02, 0xff])],
    [cat(range(2, 254), [0x00]), cat([0xff], range(2, 254), [0x01, 0x01])],
    [cat(range(3, 253), [0x00, 0x01]), cat([0xfe], range(3, 253), [0x02, 0x01])],
  ];

  it.each(cases.map(([raw, enc]) => [toHex(raw).slice(0, 16), raw, enc] as const))("encodes %s…", (_, raw, enc) => {
    expect(toHex(cobsEncode(raw))).toBe(toHex(enc));
    expect(toHex(cobsDecode(enc) as Uint8Array)).toBe(toHex(raw));
  });

  it("round-trips any bytes, never emits 0x00 and stays within the bound", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), (raw) => {
        const enc = cobsEncode(raw);
        expect(enc.includes(0)).toBe(false);
        expect(enc.length).toBeLessThanOrEqual(cobsMaxEncodedLength(raw.length));
        expect(cobsDecode(enc)).toEqual(raw);
      }),
    );
  });

  it("refuses a zero inside a frame and a code past the end", () => {
    expect(cobsDecode(Uint8Array.of(0x03, 0x11, 0x00))).toBeUndefined();
    expect(cobsDecode(Uint8Array.of(0x05, 0x11, 0x22))).toBeUndefined();
    expect(cobsDecode(Uint8Array.of(0x00))).toBeUndefined();
  });
});

const body = fromHex("a1617465");
const packet = (over: Partial<FactoryPacket> = {}): FactoryPacket => ({
  version: 1,
  kind: "request",
  requestId: 0x1234,
  body,
  ...over,
});

describe("packets", () => {
  it("lays out version | kind | requestId BE | body | crc32 BE", () => {
    const bytes = encodeFactoryPacket(packet({ kind: "response" }));
    expect(toHex(bytes.subarray(0, 4))).toBe("01021234");
    expect(toHex(bytes.subarray(4, 8))).toBe("a1617465");
    expect(new DataView(bytes.buffer).getUint32(8, false)).toBe(crc32(bytes.subarray(0, 8)));
    expect(decodeFactoryPacket(bytes)).toEqual(packet({ kind: "response" }));
  });

  it("round-trips any packet, through COBS and the 0x00 delimiter", () => {
    fc.assert(
      fc.property(arbPacket, (p) => {
        const frame = encodeFactoryFrame(p);
        expect(frame.at(-1)).toBe(0);
        expect(frame.subarray(0, -1).includes(0)).toBe(false);
        expect(decodeFactoryFrame(frame.subarray(0, -1))).toEqual(p);
      }),
    );
  });

  it("refuses bad fields on encode", () => {
    expect(() => encodeFactoryPacket(packet({ requestId: 0x10000 }))).toThrow(/factory.bad_message/);
    expect(() => encodeFactoryPacket(packet({ version: 256 }))).toThrow(/factory.bad_message/);
    expect(() => encodeFactoryPacket(packet({ kind: "push" as never }))).toThrow(/factory.bad_message/);
    expect(() => encodeFactoryPacket(packet({ body: new Uint8Array(FACTORY_MAX_BODY_BYTES + 1) }))).toThrow(
      /framing.too_large/,
    );
    expect(encodeFactoryFrame(packet({ body: new Uint8Array(FACTORY_MAX_BODY_BYTES).fill(0xff) })).length).toBe(
      FACTORY_MAX_FRAME_BYTES + 1,
    );
  });

  it("reports CRC mismatch, short packets, bad version and bad kind with codes", () => {
    const good = encodeFactoryPacket(packet());
    const flipped = Uint8Array.from(good);
    flipped[5] = (flipped[5] as number) ^ 0x40;
    expect(() => decodeFactoryPacket(flipped)).toThrow(/framing.crc_mismatch/);
    expect(() => decodeFactoryPacket(good.subarray(0, 7))).toThrow(/framing.crc_mismatch/);
    const v2 = encodeFactoryPacket(packet({ version: 2 }));
    try {
      decodeFactoryPacket(v2);
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: "framing.bad_version", context: { version: 2, requestId: 0x1234 } });
    }
    const kind3 = Uint8Array.from(good);
    kind3[1] = 3;
    new DataView(kind3.buffer).setUint32(kind3.length - 4, crc32(kind3.subarray(0, -4)), false);
    expect(() => decodeFactoryPacket(kind3)).toThrow(/factory.bad_message/);
    expect(() => decodeFactoryFrame(Uint8Array.of(0x05, 0x01))).toThrow(/framing.bad_cobs/);
  });
});

const arbPacket: fc.Arbitrary<FactoryPacket> = fc.record({
  version: fc.constant(1),
  kind: fc.constantFrom("request" as const, "response" as const),
  requestId: fc.integer({ min: 0, max: 0xffff }),
  body: fc.uint8Array({ maxLength: 300 }),
});

/** Splits bytes into chunks at the given cut points. */
function chunked(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let last = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(last, p));
    last = p;
  }
  return out;
}

function pushAll(decoder: FactoryFrameDecoder, chunks: Uint8Array[]) {
  const packets: FactoryPacket[] = [];
  const errors: string[] = [];
  for (const c of chunks) {
    const r = decoder.push(c);
    packets.push(...r.packets);
    errors.push(...r.errors.map((e) => e.code));
  }
  return { packets, errors };
}

describe("FactoryFrameDecoder", () => {
  it("never throws on random bytes and keeps its buffer bounded", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 4 }), (chunks) => {
        const decoder = new FactoryFrameDecoder();
        for (const c of chunks) {
          const r = decoder.push(c);
          for (const e of r.errors) expect(e.code).toMatch(/^(framing|factory)\./);
          expect(decoder.pendingBytes).toBeLessThanOrEqual(FACTORY_MAX_FRAME_BYTES);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("decodes any packets under any chunking", () => {
    fc.assert(
      fc.property(fc.array(arbPacket, { minLength: 1, maxLength: 5 }), fc.array(fc.nat()), (packets, cuts) => {
        const stream = cat(...packets.map(encodeFactoryFrame));
        const r = pushAll(new FactoryFrameDecoder(), chunked(stream, cuts));
        expect(r.errors).toEqual([]);
        expect(r.packets).toEqual(packets);
      }),
    );
  });

  it("skips garbage between frames and decodes the next frame", () => {
    fc.assert(
      fc.property(arbPacket, arbPacket, fc.uint8Array({ maxLength: 4000 }), fc.array(fc.nat()), (a, b, junk, cuts) => {
        // Garbage is followed by a delimiter (as any frame would be); a sender may also flush with a lone 0x00.
        const stream = cat(encodeFactoryFrame(a), junk, [0x00], encodeFactoryFrame(b));
        const r = pushAll(new FactoryFrameDecoder(), chunked(stream, cuts));
        expect(r.packets[0]).toEqual(a);
        expect(r.packets.at(-1)).toEqual(b);
        for (const code of r.errors) expect(code).toMatch(/^(framing|factory)\./);
      }),
      { numRuns: 200 },
    );
  });

  it("reports each kind of bad frame with its code, then carries on", () => {
    const good = encodeFactoryFrame(packet());
    const corrupt = Uint8Array.from(good);
    corrupt[6] = (corrupt[6] as number) ^ 0x01;
    const badCobs = Uint8Array.of(0x09, 0x01, 0x02, 0x00);
    const v9 = encodeFactoryFrame(packet({ version: 9 }));
    const huge = cat(new Uint8Array(FACTORY_MAX_FRAME_BYTES + 10).fill(0x41), [0x00]);
    const decoder = new FactoryFrameDecoder();
    const r = pushAll(decoder, [Uint8Array.of(0, 0), corrupt, badCobs, v9, huge, good]);
    expect(r.errors).toEqual(["framing.crc_mismatch", "framing.bad_cobs", "framing.bad_version", "framing.too_large"]);
    expect(r.packets).toEqual([packet()]);
    expect(decoder.pendingBytes).toBe(0);
  });

  it("reports an over-long run once and resumes at the next delimiter", () => {
    const decoder = new FactoryFrameDecoder();
    const errors: string[] = [];
    for (let i = 0; i < 10; i++) errors.push(...decoder.push(new Uint8Array(1000).fill(7)).errors.map((e) => e.code));
    expect(errors).toEqual(["framing.too_large"]);
    expect(decoder.pendingBytes).toBe(0);
    const r = decoder.push(cat([0x00], encodeFactoryFrame(packet())));
    expect(r).toEqual({ packets: [packet()], errors: [] });
  });

  it("reset() forgets a partial frame", () => {
    const decoder = new FactoryFrameDecoder();
    const frame = encodeFactoryFrame(packet());
    decoder.push(frame.subarray(0, 5));
    expect(decoder.pendingBytes).toBe(5);
    decoder.reset();
    expect(decoder.push(frame)).toEqual({ packets: [packet()], errors: [] });
  });
});
