import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expectTriadkitError } from "../testing.js";
import { fromUtf8, utf8 } from "../util/bytes.js";
import { assertDecoderTotal } from "./__tests__/fuzz.js";
import {
  ALINK_ID_MAX_LENGTH,
  ALINK_ID_MAX_NUMERIC,
  createIdGenerator,
  decodeReply,
  decodeRequest,
  decodeRequestFor,
  describeReplyCode,
  encodeReply,
  encodeRequest,
  isAlinkId,
  isReplyOk,
  REPLY_CODES,
  replyCodeName,
} from "./envelope.js";

const text = (bytes: Uint8Array) => fromUtf8(bytes);

describe("requests", () => {
  it("encode with the Node SDK key order and version 1.0", () => {
    expect(text(encodeRequest({ id: "1", params: { LightSwitch: 1 }, method: "thing.event.property.post" }))).toBe(
      '{"id":"1","version":"1.0","params":{"LightSwitch":1},"method":"thing.event.property.post"}',
    );
    expect(
      text(
        encodeRequest({
          id: "123",
          version: "1.0",
          sys: { ack: 0 },
          params: [{ attrKey: "Temperature", attrValue: "36.8" }],
          method: "thing.deviceinfo.update",
        }),
      ),
    ).toBe(
      '{"id":"123","version":"1.0","sys":{"ack":0},"params":[{"attrKey":"Temperature","attrValue":"36.8"}],"method":"thing.deviceinfo.update"}',
    );
    expect(text(encodeRequest({ id: "2", params: {}, method: "thing.config.get", sys: {} }))).toBe(
      '{"id":"2","version":"1.0","sys":{},"params":{},"method":"thing.config.get"}',
    );
  });

  it("drop undefined object members like JSON.stringify, refuse everything JSON cannot carry", () => {
    expect(text(encodeRequest({ id: "1", params: { a: 1, b: undefined }, method: "m.n" }))).toBe(
      '{"id":"1","version":"1.0","params":{"a":1},"method":"m.n"}',
    );
    const bad: unknown[] = [
      "string",
      42,
      null,
      { a: Number.NaN },
      { a: Number.POSITIVE_INFINITY },
      { a: 1n },
      { a: () => 1 },
      { a: Symbol("x") },
      { a: new Date(0) },
      { a: new Uint8Array(2) },
      [undefined],
    ];
    for (const params of bad) {
      expectTriadkitError(() => encodeRequest({ id: "1", params, method: "m.n" }), "alink.bad_payload");
    }
    const cyclic: Record<string, unknown> = {};
    cyclic["self"] = cyclic;
    expectTriadkitError(() => encodeRequest({ id: "1", params: cyclic, method: "m.n" }), "alink.bad_payload");
  });

  it("refuse bad ids, methods, versions and sys", () => {
    const ok = { id: "1", params: {}, method: "thing.event.property.post" };
    expectTriadkitError(() => encodeRequest({ ...ok, id: "" }), "alink.bad_payload");
    expectTriadkitError(() => encodeRequest({ ...ok, id: "x".repeat(ALINK_ID_MAX_LENGTH + 1) }), "alink.bad_payload");
    expectTriadkitError(() => encodeRequest({ ...ok, id: 1 as never }), "alink.bad_payload");
    for (const method of ["", "a..b", ".a", "a b", "thing/event"]) {
      expectTriadkitError(() => encodeRequest({ ...ok, method }), "alink.bad_payload");
    }
    expectTriadkitError(() => encodeRequest({ ...ok, version: "2.0" as never }), "alink.bad_payload");
    expectTriadkitError(() => encodeRequest({ ...ok, sys: { ack: 2 as never } }), "alink.bad_payload");
    expectTriadkitError(() => encodeRequest({ ...ok, sys: [] as never }), "alink.bad_payload");
  });

  it("decode strictly, tolerating unknown fields", () => {
    const req = decodeRequest(
      utf8(
        '{"id":"7","version":"1.0","sys":{"ack":1,"other":true},"params":{"Power":"on"},"method":"thing.service.property.set","extra":[1]}',
      ),
    );
    expect(req).toEqual({
      id: "7",
      version: "1.0",
      sys: { ack: 1 },
      params: { Power: "on" },
      method: "thing.service.property.set",
    });
    // The Node SDK's exp-topic ids (67 characters here) and its empty combine/login method.
    const nodeId = "1|exp-topic|/sys/a1B2c3D4e5F/dev001/thing/event/property/post_reply";
    expect(nodeId.length).toBe(67);
    expect(decodeRequest(utf8(`{"id":"${nodeId}","version":"1.0","params":[],"method":""}`))).toEqual({
      id: nodeId,
      version: "1.0",
      params: [],
      method: "",
    });
  });

  it("decode failures are alink.bad_payload and name the field", () => {
    const cases: [string, string | undefined][] = [
      ["", undefined],
      ["{", undefined],
      ["[]", undefined],
      ['"x"', undefined],
      ['{"version":"1.0","params":{},"method":"a"}', "id"],
      ['{"id":"","version":"1.0","params":{},"method":"a"}', "id"],
      ['{"id":7,"version":"1.0","params":{},"method":"a"}', "id"],
      [`{"id":"${"9".repeat(257)}","version":"1.0","params":{},"method":"a"}`, "id"],
      ['{"id":"1","params":{},"method":"a"}', "version"],
      ['{"id":"1","version":"2.0","params":{},"method":"a"}', "version"],
      ['{"id":"1","version":"1.0","params":{}}', "method"],
      ['{"id":"1","version":"1.0","params":{},"method":5}', "method"],
      ['{"id":"1","version":"1.0","params":{},"method":"a b"}', "method"],
      ['{"id":"1","version":"1.0","method":"a"}', "params"],
      ['{"id":"1","version":"1.0","params":"x","method":"a"}', "params"],
      ['{"id":"1","version":"1.0","params":null,"method":"a"}', "params"],
      ['{"id":"1","version":"1.0","params":{},"method":"a","sys":1}', "sys"],
      ['{"id":"1","version":"1.0","params":{},"method":"a","sys":{"ack":"1"}}', "sys.ack"],
    ];
    for (const [json, field] of cases) {
      const err = expectTriadkitError(() => decodeRequest(utf8(json)), "alink.bad_payload");
      if (field !== undefined) expect(err.context?.["field"], json).toBe(field);
    }
    expectTriadkitError(() => decodeRequest(new Uint8Array([0x7b, 0xff, 0x7d])), "alink.bad_payload");
    expectTriadkitError(() => decodeRequest("{}" as never), "alink.bad_payload");
  });

  it("decodeRequestFor also checks the method", () => {
    const bytes = encodeRequest({ id: "1", params: {}, method: "thing.config.get" });
    expect(decodeRequestFor(bytes, "thing.config.get").method).toBe("thing.config.get");
    expect(decodeRequestFor(bytes, ["a.b", "thing.config.get"]).id).toBe("1");
    const err = expectTriadkitError(() => decodeRequestFor(bytes, "thing.config.push"), "alink.bad_payload");
    expect(err.message).toBe('alink request: method must be "thing.config.push" (alink.bad_payload)');
  });
});

describe("replies", () => {
  it("encode id, code, data and the optional members in a fixed order", () => {
    expect(text(encodeReply({ id: "1", code: 200 }))).toBe('{"id":"1","code":200,"data":{}}');
    expect(
      text(
        encodeReply({
          id: "3",
          code: 460,
          data: { field: "x" },
          message: "request parameter error",
          method: "thing.event.property.post",
          version: "1.0",
        }),
      ),
    ).toBe(
      '{"id":"3","code":460,"data":{"field":"x"},"message":"request parameter error","method":"thing.event.property.post","version":"1.0"}',
    );
    expectTriadkitError(() => encodeReply({ id: "1", code: 200.5 }), "alink.bad_reply_code");
    expectTriadkitError(() => encodeReply({ id: "1", code: -1 }), "alink.bad_reply_code");
    expectTriadkitError(() => encodeReply({ id: "1", code: "200" as never }), "alink.bad_reply_code");
    expectTriadkitError(() => encodeReply({ id: "", code: 200 }), "alink.bad_payload");
    expectTriadkitError(() => encodeReply({ id: "1", code: 200, message: 5 as never }), "alink.bad_payload");
    expectTriadkitError(() => encodeReply({ id: "1", code: 200, data: { x: Number.NaN } }), "alink.bad_payload");
  });

  it("decode the platform's reply and the SDK's service reply", () => {
    expect(
      decodeReply(
        utf8(
          '{"code":200,"data":{},"id":"123","message":"success","method":"thing.event.property.post","version":"1.0"}',
        ),
      ),
    ).toEqual({
      id: "123",
      code: 200,
      data: {},
      message: "success",
      method: "thing.event.property.post",
      version: "1.0",
    });
    expect(decodeReply(utf8('{"code":200,"data":{"output":1},"id":"4"}'))).toEqual({
      id: "4",
      code: 200,
      data: { output: 1 },
    });
    expect(decodeReply(utf8('{"id":"5","code":6100}'))).toEqual({ id: "5", code: 6100, data: undefined });
  });

  it("a bad code is alink.bad_reply_code, other defects alink.bad_payload", () => {
    for (const json of ['{"id":"1"}', '{"id":"1","code":"200"}', '{"id":"1","code":200.5}', '{"id":"1","code":-3}']) {
      expectTriadkitError(() => decodeReply(utf8(json)), "alink.bad_reply_code");
    }
    for (const json of ['{"code":200}', '{"id":"1","code":200,"message":1}', '{"id":"1","code":200,"version":[]}']) {
      expectTriadkitError(() => decodeReply(utf8(json)), "alink.bad_payload");
    }
  });

  it("reply codes", () => {
    expect(REPLY_CODES).toEqual({
      ok: 200,
      internalError: 400,
      tooFrequent: 429,
      badParams: 460,
      subDeviceSessionNotFound: 520,
    });
    expect(describeReplyCode(200)).toBe("200 success");
    expect(describeReplyCode(429)).toBe("429 requests too frequent (rate limited)");
    expect(describeReplyCode(520)).toBe("520 sub-device session does not exist");
    expect(describeReplyCode(6100)).toBe("6100 unknown reply code");
    expectTriadkitError(() => describeReplyCode(1.5), "alink.bad_reply_code");
    expect(replyCodeName(460)).toBe("badParams");
    expect(replyCodeName(201)).toBeUndefined();
    expect(isReplyOk({ code: 200 })).toBe(true);
    expect(isReplyOk({ code: 429 })).toBe(false);
  });
});

describe("ids", () => {
  it("each generator counts on its own from its start", () => {
    const a = createIdGenerator();
    const b = createIdGenerator(100);
    expect([a.next(), a.next(), b.next(), a.next(), b.next()]).toEqual(["1", "2", "100", "3", "101"]);
    expect(createIdGenerator(0).next()).toBe("0");
  });

  it("wraps after 4294967295 to 0", () => {
    const gen = createIdGenerator(ALINK_ID_MAX_NUMERIC - 1);
    expect([gen.next(), gen.next(), gen.next()]).toEqual(["4294967294", "4294967295", "0"]);
  });

  it("refuses a bad start", () => {
    for (const start of [-1, 1.5, ALINK_ID_MAX_NUMERIC + 1, Number.NaN]) {
      expectTriadkitError(() => createIdGenerator(start), "config.invalid");
    }
  });

  it("isAlinkId", () => {
    expect(isAlinkId("1")).toBe(true);
    expect(isAlinkId("")).toBe(false);
    expect(isAlinkId(1)).toBe(false);
    expect(isAlinkId("x".repeat(ALINK_ID_MAX_LENGTH))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------------

const id = fc.string({ minLength: 1, maxLength: ALINK_ID_MAX_LENGTH });
const method = fc.stringMatching(/^[A-Za-z0-9_:]{1,12}(?:\.[A-Za-z0-9_:]{1,12}){0,4}$/);
const params = fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.array(fc.jsonValue()));
const sys = fc.option(fc.record({ ack: fc.constantFrom(0 as const, 1 as const) }, { requiredKeys: [] }), {
  nil: undefined,
});

describe("properties", () => {
  it("request encode → decode round-trips", () => {
    fc.assert(
      fc.property(id, method, params, sys, (i, m, p, s) => {
        const request = s === undefined ? { id: i, params: p, method: m } : { id: i, params: p, method: m, sys: s };
        const decoded = decodeRequest(encodeRequest(request));
        expect(decoded).toEqual({ ...request, version: "1.0", params: JSON.parse(JSON.stringify(p)) });
      }),
    );
  });

  it("reply encode → decode round-trips", () => {
    fc.assert(
      fc.property(
        id,
        fc.integer({ min: 0, max: 2147483647 }),
        fc.jsonValue(),
        fc.option(fc.string(), { nil: undefined }),
        (i, code, data, message) => {
          const reply = message === undefined ? { id: i, code, data } : { id: i, code, data, message };
          expect(decodeReply(encodeReply(reply))).toEqual({ ...reply, data: JSON.parse(JSON.stringify(data)) });
        },
      ),
    );
  });

  it("ids are unique over a long run", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: ALINK_ID_MAX_NUMERIC }), fc.integer({ min: 1, max: 500 }), (start, n) => {
        const gen = createIdGenerator(start);
        const seen = new Set(Array.from({ length: n }, () => gen.next()));
        expect(seen.size).toBe(n);
        for (const value of seen) expect(value).toMatch(/^(0|[1-9][0-9]{0,9})$/);
      }),
    );
  });

  it("decodeRequest is total", () => {
    assertDecoderTotal(
      decodeRequest,
      fc.tuple(id, method, params, sys).map(([i, m, p, s]) => encodeRequest({ id: i, params: p, method: m, sys: s })),
    );
  });

  it("decodeReply is total", () => {
    assertDecoderTotal(
      decodeReply,
      fc
        .tuple(id, fc.nat(), fc.jsonValue())
        .map(([i, code, data]) => encodeReply({ id: i, code, data, message: "m", method: "a.b", version: "1.0" })),
    );
  });
});
