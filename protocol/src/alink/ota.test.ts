import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expectTriadkitError } from "../testing.js";
import { fromUtf8, utf8 } from "../util/bytes.js";
import { assertDecoderTotal } from "./__tests__/fuzz.js";
import {
  decodeOtaInform,
  decodeOtaProgress,
  encodeOtaInform,
  encodeOtaProgress,
  OTA_STEP,
  OTA_STEP_MAX,
  OTA_STEP_MIN,
} from "./ota.js";

describe("OTA inform", () => {
  it("encodes the reduced envelope", () => {
    expect(fromUtf8(encodeOtaInform({ version: "1.2.3" }, "1"))).toBe('{"id":"1","params":{"version":"1.2.3"}}');
    expect(fromUtf8(encodeOtaInform({ version: "v2.0.0-rc_1", module: "MCU" }, "8"))).toBe(
      '{"id":"8","params":{"version":"v2.0.0-rc_1","module":"MCU"}}',
    );
  });

  it("decodes string and C-SDK numeric ids", () => {
    expect(decodeOtaInform(utf8('{"id":"1","params":{"version":"1.0.0","extra":1}}'))).toEqual({
      id: "1",
      params: { version: "1.0.0" },
    });
    expect(decodeOtaInform(utf8('{"id":12,"params":{"version":"1.0.0","module":"wifi"}}'))).toEqual({
      id: "12",
      params: { version: "1.0.0", module: "wifi" },
    });
  });

  it("refuses bad versions, modules and ids", () => {
    for (const version of ["", "1.0 beta", "x".repeat(65), "版本"]) {
      expectTriadkitError(() => encodeOtaInform({ version }, "1"), "alink.bad_payload");
    }
    expectTriadkitError(() => encodeOtaInform({ version: "1", module: "" }, "1"), "alink.bad_payload");
    expectTriadkitError(() => encodeOtaInform({ version: "1" }, ""), "alink.bad_payload");
    for (const json of [
      '{"params":{"version":"1"}}',
      '{"id":-1,"params":{"version":"1"}}',
      '{"id":1.5,"params":{"version":"1"}}',
      '{"id":"1"}',
      '{"id":"1","params":[]}',
      '{"id":"1","params":{"version":1}}',
    ]) {
      expectTriadkitError(() => decodeOtaInform(utf8(json)), "alink.bad_payload");
    }
  });
});

describe("OTA progress", () => {
  it("encodes step as a decimal string and desc always", () => {
    expect(fromUtf8(encodeOtaProgress({ step: 50, desc: "downloading" }, "2"))).toBe(
      '{"id":"2","params":{"step":"50","desc":"downloading"}}',
    );
    expect(fromUtf8(encodeOtaProgress({ step: OTA_STEP.verifyFailed, module: "MCU" }, "3"))).toBe(
      '{"id":"3","params":{"step":"-3","desc":"","module":"MCU"}}',
    );
  });

  it("decodes step as string or number", () => {
    expect(decodeOtaProgress(utf8('{"id":5,"params":{"step":"100","desc":"done"}}'))).toEqual({
      id: "5",
      params: { step: 100, desc: "done" },
    });
    expect(decodeOtaProgress(utf8('{"id":"5","params":{"step":-4}}'))).toEqual({ id: "5", params: { step: -4 } });
  });

  it("refuses steps outside [-4, 100]", () => {
    for (const step of [-5, 101, 1.5]) {
      expectTriadkitError(() => encodeOtaProgress({ step }, "1"), "alink.bad_payload");
    }
    for (const step of ['"-5"', '"101"', '"5 "', '""', "null"]) {
      expectTriadkitError(() => decodeOtaProgress(utf8(`{"id":"1","params":{"step":${step}}}`)), "alink.bad_payload");
    }
  });
});

const id = fc.oneof(fc.nat().map(String), fc.string({ minLength: 1, maxLength: 20 }));
const name = fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/);

describe("properties", () => {
  it("encode → decode round-trips", () => {
    fc.assert(
      fc.property(id, name, fc.option(name, { nil: undefined }), (i, version, module) => {
        const inform = module === undefined ? { version } : { version, module };
        expect(decodeOtaInform(encodeOtaInform(inform, i))).toEqual({ id: i, params: inform });
      }),
    );
    fc.assert(
      fc.property(
        id,
        fc.integer({ min: OTA_STEP_MIN, max: OTA_STEP_MAX }),
        fc.string({ maxLength: 256 }),
        (i, step, desc) => {
          expect(decodeOtaProgress(encodeOtaProgress({ step, desc }, i))).toEqual({ id: i, params: { step, desc } });
        },
      ),
    );
  });

  it("decoders are total", () => {
    assertDecoderTotal(
      decodeOtaInform,
      fc.tuple(id, name, name).map(([i, v, m]) => encodeOtaInform({ version: v, module: m }, i)),
    );
    assertDecoderTotal(
      decodeOtaProgress,
      fc
        .tuple(id, fc.integer({ min: -4, max: 100 }), name)
        .map(([i, step, m]) => encodeOtaProgress({ step, desc: "d", module: m }, i)),
    );
  });
});
