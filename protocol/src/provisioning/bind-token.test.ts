import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TriadkitError } from "../errors.js";
import { expectTriadkitError } from "../testing.js";
import { utf8 } from "../util/bytes.js";
import { byteMutation, decodesOrCodedError, mutate, range } from "./__tests__/helpers.js";
import {
  BIND_TOKEN_METHOD,
  bindTokenCarrier,
  bindTokenReplyTopic,
  bindTokenTopic,
  decodeBindTokenReport,
  encodeBindTokenReport,
} from "./bind-token.js";

const device = { productKey: "a1GQc8iJOWI", deviceName: "gateway_test01" };
const TOKEN = Uint8Array.from([
  0x47, 0x86, 0xf0, 0xf6, 0xe1, 0xcc, 0x7b, 0xf8, 0x60, 0x17, 0xfd, 0x4d, 0x14, 0x29, 0xee, 0x4f,
]);

describe("bind token carrier (thing.awss.enrollee.match)", () => {
  it("builds the awss topics", () => {
    expect(bindTokenTopic(device)).toBe("/sys/a1GQc8iJOWI/gateway_test01/thing/awss/enrollee/match");
    expect(bindTokenReplyTopic(device)).toBe("/sys/a1GQc8iJOWI/gateway_test01/thing/awss/enrollee/match_reply");
    expectTriadkitError(() => bindTokenTopic({ ...device, deviceName: "a/b" }), "alink.bad_topic");
    expect(bindTokenCarrier.method).toBe(BIND_TOKEN_METHOD);
  });

  it("encodes the Link Kit report shape with upper-case hex and decodes either case", () => {
    const bytes = encodeBindTokenReport({ id: "0", token: TOKEN });
    expect(new TextDecoder().decode(bytes)).toBe(
      '{"id":"0","version":"1.0","params":{"token":"4786F0F6E1CC7BF86017FD4D1429EE4F"},"method":"thing.awss.enrollee.match"}',
    );
    expect(decodeBindTokenReport(bytes)).toEqual({ id: "0", token: TOKEN });
    const lower = utf8(
      '{"id":"7","version":"1.0","params":{"token":"4786f0f6e1cc7bf86017fd4d1429ee4f","tokenType":1},"method":"thing.awss.enrollee.match"}',
    );
    expect(bindTokenCarrier.decode(lower)).toEqual({ id: "7", token: TOKEN });
  });

  it("refuses bad tokens and methods without echoing the token", () => {
    expectTriadkitError(() => encodeBindTokenReport({ id: "1", token: range(0, 15) }), "alink.bad_payload");
    for (const body of [
      '{"id":"1","version":"1.0","params":{"token":"4786F0F6"},"method":"thing.awss.enrollee.match"}',
      '{"id":"1","version":"1.0","params":{"token":"ZZ86F0F6E1CC7BF86017FD4D1429EE4F"},"method":"thing.awss.enrollee.match"}',
      '{"id":"1","version":"1.0","params":[],"method":"thing.awss.enrollee.match"}',
      '{"id":"1","version":"1.0","params":{"token":"4786F0F6E1CC7BF86017FD4D1429EE4F"},"method":"thing.event.x.post"}',
    ]) {
      const err = expectTriadkitError(() => decodeBindTokenReport(utf8(body)), "alink.bad_payload");
      expect(JSON.stringify(err) + err.message).not.toContain("4786");
    }
  });

  it("round-trips and decodes mutated input to a value or an alink.* error (property)", () => {
    const report = fc.record({
      id: fc.stringMatching(/^[0-9]{1,10}$/),
      token: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    });
    fc.assert(
      fc.property(report, (r) => {
        expect(decodeBindTokenReport(encodeBindTokenReport(r))).toEqual(r);
      }),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(report, byteMutation).map(([r, m]) => mutate(encodeBindTokenReport(r), m)),
          fc.uint8Array({ maxLength: 200 }),
        ),
        (bytes) => {
          const out = decodesOrCodedError(() => decodeBindTokenReport(bytes), ["alink.", "encoding."]);
          if (!(out instanceof TriadkitError)) expect(out.token.length).toBe(16);
        },
      ),
      { numRuns: 500 },
    );
  });
});
