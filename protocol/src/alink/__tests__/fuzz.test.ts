import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fail } from "../../errors.js";
import { fromUtf8, utf8 } from "../../util/bytes.js";
import { assertDecoderTotal, damageBytes, decodesOrAlinkError, mutateJson } from "./fuzz.js";

const valid = fc.constant(utf8('{"id":"1","params":{"a":[1,2],"b":"x"}}'));

describe("fuzz helpers", () => {
  it("decodesOrAlinkError passes values and alink errors, rethrows the rest", () => {
    expect(decodesOrAlinkError(() => 5)).toBe(5);
    expect(decodesOrAlinkError(() => fail("alink.bad_payload", "x"))).toMatchObject({ code: "alink.bad_payload" });
    expect(() => decodesOrAlinkError(() => fail("config.invalid", "x"))).toThrow(/config.invalid/);
    expect(() => decodesOrAlinkError(() => JSON.parse("{"))).toThrow(SyntaxError);
  });

  it("mutateJson edits one member anywhere in the tree", () => {
    const bytes = utf8('{"a":{"b":"7"}}');
    // paths: [], [a], [a,b]
    expect(fromUtf8(mutateJson(bytes, 2, "delete", null))).toBe('{"a":{}}');
    expect(fromUtf8(mutateJson(bytes, 2, "numberify", null))).toBe('{"a":{"b":7}}');
    expect(fromUtf8(mutateJson(bytes, 1, "wrap", null))).toBe('{"a":[{"b":"7"}]}');
    expect(fromUtf8(mutateJson(bytes, 1, "replace", 3))).toBe('{"a":3}');
    expect(fromUtf8(mutateJson(bytes, 0, "wrap", null))).toBe('[{"a":{"b":"7"}}]');
  });

  it("damageBytes truncates, flips and inserts", () => {
    expect([...damageBytes(new Uint8Array([1, 2, 3]), 1, 9, "truncate")]).toEqual([1]);
    expect([...damageBytes(new Uint8Array([1, 2, 3]), 1, 1, "flip")]).toEqual([1, 3, 3]);
    expect([...damageBytes(new Uint8Array([1, 2, 3]), 4, 9, "insert")]).toEqual([1, 9, 2, 3]);
  });

  it("catches a decoder that crashes on mutated input", () => {
    const naive = (bytes: Uint8Array) => {
      const obj = JSON.parse(fromUtf8(bytes)) as { params: { a: number[] } };
      return obj.params.a.length;
    };
    expect(() => assertDecoderTotal(naive, valid, 50)).toThrow();
  });
});
