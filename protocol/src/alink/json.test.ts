import { describe, expect, it } from "vitest";
import { expectTriadkitError } from "../testing.js";
import { fromUtf8, utf8 } from "../util/bytes.js";
import {
  assertJsonValue,
  badField,
  encodeJson,
  isJsonObject,
  JsonReader,
  MAX_JSON_DEPTH,
  parseJsonObject,
} from "./json.js";

describe("parseJsonObject", () => {
  it("returns the top-level object", () => {
    expect(parseJsonObject(utf8('{"a":1}'), "x")).toEqual({ a: 1 });
    expect(parseJsonObject(utf8('\ufeff {"a":[]} '), "x")).toEqual({ a: [] });
  });

  it("refuses non-bytes, bad UTF-8, bad JSON and non-objects without quoting the input", () => {
    const cases: [unknown, string][] = [
      ["{}", "x: payload must be a Uint8Array (alink.bad_payload)"],
      [new Uint8Array([0xc3, 0x28]), "x: payload is not valid UTF-8 (alink.bad_payload)"],
      [utf8('{"secret":"hunter2"'), "x: payload is not valid JSON (alink.bad_payload)"],
      [utf8("[1]"), "x: payload must be a JSON object (alink.bad_payload)"],
      [utf8("null"), "x: payload must be a JSON object (alink.bad_payload)"],
    ];
    for (const [input, message] of cases) {
      const err = expectTriadkitError(() => parseJsonObject(input as Uint8Array, "x"), "alink.bad_payload");
      expect(err.message).toBe(message);
      expect(err.cause).toBeUndefined();
    }
  });

  it("survives deep nesting", () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    expectTriadkitError(() => parseJsonObject(utf8(deep), "x"), "alink.bad_payload");
  });
});

describe("assertJsonValue", () => {
  it("accepts JSON, refuses the rest with the path", () => {
    assertJsonValue({ a: [1, "x", null, true, { b: Object.create(null) }], c: undefined }, "x");
    const err = expectTriadkitError(() => assertJsonValue({ a: [1, { b: Number.NaN }] }, "x"), "alink.bad_payload");
    expect(err.context).toEqual({ field: "params.a[1].b" });
    let nested: unknown = 1;
    for (let i = 0; i <= MAX_JSON_DEPTH; i++) nested = [nested];
    expectTriadkitError(() => assertJsonValue(nested, "x"), "alink.bad_payload");
    expectTriadkitError(() => assertJsonValue(new Map(), "x"), "alink.bad_payload");
  });

  it("encodeJson", () => {
    expect(fromUtf8(encodeJson({ a: "é" }))).toBe('{"a":"é"}');
    expect(isJsonObject([])).toBe(false);
    expect(isJsonObject({})).toBe(true);
  });
});

describe("JsonReader", () => {
  const r = new JsonReader(
    { s: "abc", e: "", n: 5, neg: -0, big: 2 ** 53, w: "42", o: { x: 1 }, a: [1] },
    "thing",
    "p.",
  );

  it("reads typed members and names the field on failure", () => {
    expect(r.string("s", { maxLength: 3, pattern: /^[a-c]+$/ })).toBe("abc");
    expect(r.string("e", { allowEmpty: true })).toBe("");
    expect(r.optionalString("missing")).toBeUndefined();
    expect(r.integer("n", { min: 0, max: 5 })).toBe(5);
    expect(Object.is(r.integer("neg", { min: 0, max: 1 }), 0)).toBe(true);
    expect(r.wireInteger("w", { min: 0, max: 100 })).toBe(42);
    expect(r.wireInteger("n", { min: 0, max: 100 })).toBe(5);
    expect(r.object("o").integer("x", { min: 0, max: 1 })).toBe(1);
    expect(r.array("a")).toEqual([1]);
    expect(r.literal("s", ["abc", "def"])).toBe("abc");

    const checks: [() => unknown, string, string][] = [
      [() => r.string("missing"), "p.missing", "thing: p.missing must be present (alink.bad_payload)"],
      [() => r.string("e"), "p.e", "thing: p.e must be a non-empty string (alink.bad_payload)"],
      [() => r.string("s", { maxLength: 2 }), "p.s", "thing: p.s must be at most 2 characters (alink.bad_payload)"],
      [() => r.string("s", { pattern: /^x$/, describe: "x" }), "p.s", "thing: p.s must be x (alink.bad_payload)"],
      [() => r.string("n"), "p.n", "thing: p.n must be a string (alink.bad_payload)"],
      [() => r.integer("n", { min: 6, max: 9 }), "p.n", "thing: p.n must be an integer in [6, 9] (alink.bad_payload)"],
      [() => r.integer("big", { min: 0, max: 1 }), "p.big", "thing: p.big must be a safe integer (alink.bad_payload)"],
      [() => r.integer("s", { min: 0, max: 1 }), "p.s", "thing: p.s must be a safe integer (alink.bad_payload)"],
      [
        () => r.wireInteger("s", { min: 0, max: 1 }),
        "p.s",
        "thing: p.s must be an integer or a decimal string (alink.bad_payload)",
      ],
      [() => r.object("a"), "p.a", "thing: p.a must be a JSON object (alink.bad_payload)"],
      [() => r.array("o"), "p.o", "thing: p.o must be a JSON array (alink.bad_payload)"],
      [() => r.literal("s", ["x"]), "p.s", 'thing: p.s must be one of "x" (alink.bad_payload)'],
    ];
    for (const [fn, field, message] of checks) {
      const err = expectTriadkitError(fn, "alink.bad_payload");
      expect(err.message).toBe(message);
      expect(err.context?.["field"]).toBe(field);
    }
  });

  it("can report under another code, and badField matches the reader", () => {
    expectTriadkitError(
      () => new JsonReader({}, "r", "", "alink.bad_reply_code").integer("code", { min: 0, max: 1 }),
      "alink.bad_reply_code",
    );
    const err = expectTriadkitError(() => badField("w", "f", "g"), "alink.bad_payload");
    expect(err.message).toBe("w: f must be g (alink.bad_payload)");
    expect(err.context).toEqual({ field: "f", expected: "g" });
  });
});
