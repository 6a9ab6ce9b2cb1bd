import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TriadkitError } from "../errors.js";
import { expectTriadkitError } from "../testing.js";
import { fromUtf8, utf8 } from "../util/bytes.js";
import { assertDecoderTotal, decodesOrAlinkError, mutateJson } from "./__tests__/fuzz.js";
import { decodeRegisterResult, decodeRegnwlResult, encodeRegisterResult, encodeRegnwlResult } from "./registration.js";

const SECRET = "abcdefghijklmnopqrstuvwxyz012345";
const TOKEN = "tok-9f8e7d6c5b4a39281706f5e4d3c2b1a0";

describe("/ext/register", () => {
  it("round-trips the result", () => {
    const result = { productKey: "a1B2c3D4e5F", deviceName: "dev001", deviceSecret: SECRET };
    const bytes = encodeRegisterResult(result);
    expect(fromUtf8(bytes)).toBe(
      '{"productKey":"a1B2c3D4e5F","deviceName":"dev001","deviceSecret":"abcdefghijklmnopqrstuvwxyz012345"}',
    );
    expect(decodeRegisterResult(bytes)).toEqual(result);
    expect(decodeRegisterResult(utf8(`{"deviceSecret":"${SECRET}","deviceName":"d","productKey":"p","x":1}`))).toEqual({
      productKey: "p",
      deviceName: "d",
      deviceSecret: SECRET,
    });
  });

  it("is strict and never puts the secret in the error", () => {
    const cases = [
      `{"productKey":"p","deviceName":"d"}`,
      `{"productKey":"p","deviceName":"d","deviceSecret":""}`,
      `{"productKey":"p","deviceName":"d","deviceSecret":7}`,
      `{"productKey":"p","deviceName":"d","deviceSecret":"${SECRET} "}`,
      `{"productKey":"p","deviceName":"d","deviceSecret":"${SECRET}${"x".repeat(40)}"}`,
      `{"productKey":1,"deviceName":"d","deviceSecret":"${SECRET}"}`,
      `{"productKey":"p","deviceName":"d","deviceSecret":"${SECRET}"`, // truncated JSON
      `{"productKey":"p","deviceName":"d","deviceSecret":"${SECRET}\u0001"}`,
    ];
    for (const text of cases) {
      const err = expectTriadkitError(() => decodeRegisterResult(utf8(text)), "alink.bad_payload");
      const everything = JSON.stringify({ json: err.toJSON(), stack: err.stack, cause: String(err.cause) });
      expect(everything).not.toContain(SECRET);
    }
    const err = expectTriadkitError(
      () => encodeRegisterResult({ productKey: "p", deviceName: "d", deviceSecret: `${SECRET} x` }),
      "alink.bad_payload",
    );
    expect(err.message).toBe(
      "register result: deviceSecret must be printable ASCII without spaces (alink.bad_payload)",
    );
    expect(err.context).toEqual({ field: "deviceSecret", expected: "printable ASCII without spaces" });
  });
});

describe("/ext/regnwl", () => {
  it("round-trips the result", () => {
    const result = {
      productKey: "a1B2c3D4e5F",
      deviceName: "dev001",
      clientId: "a1B2c3D4e5F.dev001|authType=connwl,securemode=-2|",
      deviceToken: TOKEN,
    };
    expect(fromUtf8(encodeRegnwlResult(result))).toBe(
      `{"productKey":"a1B2c3D4e5F","deviceName":"dev001","clientId":"a1B2c3D4e5F.dev001|authType=connwl,securemode=-2|","deviceToken":"${TOKEN}"}`,
    );
    expect(decodeRegnwlResult(encodeRegnwlResult(result))).toEqual(result);
  });

  it("is strict and never puts the token in the error", () => {
    for (const text of [
      `{"productKey":"p","deviceName":"d","clientId":"c"}`,
      `{"productKey":"p","deviceName":"d","clientId":"","deviceToken":"${TOKEN}"}`,
      `{"productKey":"p","deviceName":"d","clientId":"c","deviceToken":["${TOKEN}"]}`,
      `{"productKey":"p","deviceName":"d","clientId":"c","deviceToken":"${TOKEN} "}`,
      `["${TOKEN}"]`,
    ]) {
      const err = expectTriadkitError(() => decodeRegnwlResult(utf8(text)), "alink.bad_payload");
      expect(JSON.stringify({ json: err.toJSON(), stack: err.stack, cause: String(err.cause) })).not.toContain(TOKEN);
    }
  });
});

const printable = fc.stringMatching(/^[\x21-\x7e]{1,64}$/);

describe("properties", () => {
  it("decoders are total", () => {
    assertDecoderTotal(
      decodeRegisterResult,
      fc
        .tuple(printable, printable, printable)
        .map(([productKey, deviceName, deviceSecret]) =>
          encodeRegisterResult({ productKey, deviceName, deviceSecret }),
        ),
    );
    assertDecoderTotal(
      decodeRegnwlResult,
      fc
        .tuple(printable, printable, printable, printable)
        .map(([productKey, deviceName, clientId, deviceToken]) =>
          encodeRegnwlResult({ productKey, deviceName, clientId, deviceToken }),
        ),
    );
  });

  it("no mutation of a valid payload leaks the secret into an error", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9]{24,32}$/),
        fc.nat(),
        fc.constantFrom("delete", "replace", "stringify", "numberify", "wrap", "null", "duplicate" as const),
        fc.jsonValue({ maxDepth: 1 }),
        (secret, pick, mutation, replacement) => {
          const bytes = encodeRegisterResult({ productKey: "p", deviceName: "d", deviceSecret: secret });
          const mutated = mutateJson(bytes, pick, mutation, replacement);
          const outcome = decodesOrAlinkError(() => decodeRegisterResult(mutated));
          if (outcome instanceof TriadkitError) {
            expect(JSON.stringify(outcome.toJSON()) + String(outcome.stack)).not.toContain(secret);
          }
        },
      ),
    );
  });
});
