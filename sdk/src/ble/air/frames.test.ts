import { isTriadkitError } from "@triadkit/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeFrame, type Frame, FrameKind, FrameReader, MAX_FRAME_BYTES } from "./frames.js";

const frame = fc.record({
  kind: fc.constantFrom(FrameKind.request, FrameKind.response, FrameKind.error, FrameKind.event),
  id: fc.nat({ max: 0xffffffff }),
  header: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.boolean())),
  data: fc.uint8Array({ maxLength: 600 }),
});

describe("air frames", () => {
  it("have the documented byte layout", () => {
    const bytes = encodeFrame({
      kind: FrameKind.event,
      id: 0x01020304,
      header: { op: "x" },
      data: new Uint8Array([9, 8]),
    });
    const header = new TextEncoder().encode('{"op":"x"}');
    expect([...bytes.slice(0, 12)]).toEqual([0, 0, 0, 8 + header.length + 2, 1, 4, 1, 2, 3, 4, 0, header.length]);
    expect(bytes.slice(12, 12 + header.length)).toEqual(header);
    expect([...bytes.slice(12 + header.length)]).toEqual([9, 8]);
  });

  it("round-trip through any chunking", () => {
    fc.assert(
      fc.property(
        fc.array(frame, { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1 }),
        (frames, cuts) => {
          const stream = Buffer.concat(frames.map((f) => encodeFrame(f as Frame)));
          const reader = new FrameReader();
          const out: Frame[] = [];
          let offset = 0;
          let i = 0;
          while (offset < stream.length) {
            const n = cuts[i++ % cuts.length] as number;
            out.push(...reader.push(stream.subarray(offset, offset + n)));
            offset += n;
          }
          expect(reader.pending).toBe(0);
          expect(out.map((f) => ({ ...f, data: [...f.data] }))).toEqual(
            frames.map((f) => ({ ...f, data: [...f.data] })),
          );
        },
      ),
    );
  });

  it("refuse malformed input with ble.bad_frame", () => {
    const bad = (bytes: number[]) => {
      try {
        new FrameReader().push(Uint8Array.from(bytes));
        return "accepted";
      } catch (err) {
        return isTriadkitError(err, "ble.bad_frame") ? "bad_frame" : String(err);
      }
    };
    expect(bad([0, 0, 0, 2, 1, 1])).toBe("bad_frame"); // length below the fixed part
    expect(bad([0xff, 0, 0, 0])).toBe("bad_frame"); // over the limit
    expect(bad([0, 0, 0, 10, 2, 1, 0, 0, 0, 1, 0, 2, 0x7b, 0x7d])).toBe("bad_frame"); // version 2
    expect(bad([0, 0, 0, 10, 1, 9, 0, 0, 0, 1, 0, 2, 0x7b, 0x7d])).toBe("bad_frame"); // kind 9
    expect(bad([0, 0, 0, 10, 1, 1, 0, 0, 0, 1, 0, 9, 0x7b, 0x7d])).toBe("bad_frame"); // header past the end
    expect(bad([0, 0, 0, 10, 1, 1, 0, 0, 0, 1, 0, 2, 0x5b, 0x5d])).toBe("bad_frame"); // [] is not an object
    expect(bad([0, 0, 0, 10, 1, 1, 0, 0, 0, 1, 0, 2, 0xff, 0x7d])).toBe("bad_frame"); // not UTF-8
    expect(bad([0, 0, 0, 10, 1, 1, 0, 0, 0, 1, 0, 2, 0x7b, 0x7d])).toBe("accepted");
    expect(() =>
      encodeFrame({ kind: FrameKind.event, id: 0, header: {}, data: new Uint8Array(MAX_FRAME_BYTES) }),
    ).toThrow(/size limit/);
  });
});
