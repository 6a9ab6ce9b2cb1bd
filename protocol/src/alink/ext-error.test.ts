import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expectTriadkitError } from "../testing.js";
import { utf8 } from "../util/bytes.js";
import { assertDecoderTotal } from "./__tests__/fuzz.js";
import { decodeExtError } from "./ext-error.js";

describe("decodeExtError", () => {
  it("reads a sub-device session error", () => {
    const raw = {
      id: "123",
      code: 520,
      message: "device session error",
      data: { productKey: "a1SubPk0001", deviceName: "sub01" },
    };
    expect(decodeExtError(utf8(JSON.stringify(raw)))).toEqual({
      id: "123",
      code: 520,
      message: "device session error",
      data: raw.data,
      device: { productKey: "a1SubPk0001", deviceName: "sub01" },
      raw,
    });
  });

  it("is tolerant: wrong-typed members read as absent, numeric strings and ids are normalised", () => {
    expect(decodeExtError(utf8('{"id":7,"code":"427","message":5,"data":"x","extra":true}'))).toEqual({
      id: "7",
      code: 427,
      message: undefined,
      data: "x",
      device: undefined,
      raw: { id: 7, code: "427", message: 5, data: "x", extra: true },
    });
    expect(decodeExtError(utf8("{}"))).toEqual({
      id: undefined,
      code: undefined,
      message: undefined,
      data: undefined,
      device: undefined,
      raw: {},
    });
    const odd = decodeExtError(utf8('{"id":"","code":1.5,"data":{"productKey":"pk"}}'));
    expect([odd.id, odd.code, odd.device]).toEqual([undefined, undefined, undefined]);
  });

  it("still requires a JSON object", () => {
    for (const text of ["", "[]", "null", "520", "{"]) {
      expectTriadkitError(() => decodeExtError(utf8(text)), "alink.bad_payload");
    }
  });

  it("is total", () => {
    assertDecoderTotal(
      decodeExtError,
      fc
        .record({ id: fc.nat().map(String), code: fc.nat(), message: fc.string(), data: fc.jsonValue() })
        .map((o) => utf8(JSON.stringify(o))),
    );
  });
});
