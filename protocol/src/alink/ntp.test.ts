import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expectTriadkitError } from "../testing.js";
import { fromUtf8, utf8 } from "../util/bytes.js";
import { assertDecoderTotal } from "./__tests__/fuzz.js";
import {
  decodeNtpRequest,
  decodeNtpResponse,
  encodeNtpRequest,
  encodeNtpResponse,
  ntpRoundTripMs,
  ntpUtcMs,
} from "./ntp.js";

describe("ntp payloads", () => {
  it("encode times as decimal strings, like the C SDK", () => {
    expect(fromUtf8(encodeNtpRequest({ deviceSendTime: 1700000000000 }))).toBe('{"deviceSendTime":"1700000000000"}');
    expect(
      fromUtf8(
        encodeNtpResponse({ deviceSendTime: 5000, serverRecvTime: 1700000000100, serverSendTime: 1700000000102 }),
      ),
    ).toBe('{"deviceSendTime":"5000","serverRecvTime":"1700000000100","serverSendTime":"1700000000102"}');
  });

  it("decode strings or numbers", () => {
    expect(decodeNtpRequest(utf8('{"deviceSendTime":"1700000000000"}'))).toEqual({ deviceSendTime: 1700000000000 });
    expect(decodeNtpRequest(utf8('{"deviceSendTime":1700000000000,"x":1}'))).toEqual({ deviceSendTime: 1700000000000 });
    expect(
      decodeNtpResponse(
        utf8('{"deviceSendTime":"5000","serverRecvTime":1700000000100,"serverSendTime":"1700000000102"}'),
      ),
    ).toEqual({ deviceSendTime: 5000, serverRecvTime: 1700000000100, serverSendTime: 1700000000102 });
  });

  it("refuse malformed times", () => {
    for (const value of ['""', '" 5"', '"5e3"', '"0x10"', '"-1"', "-1", "1.5", '"1.5"', "null", "true", '"01"']) {
      const err = expectTriadkitError(() => decodeNtpRequest(utf8(`{"deviceSendTime":${value}}`)), "alink.bad_payload");
      expect(err.context?.["field"]).toBe("deviceSendTime");
    }
    expectTriadkitError(() => decodeNtpRequest(utf8("{}")), "alink.bad_payload");
    expectTriadkitError(
      () => decodeNtpResponse(utf8('{"deviceSendTime":"1","serverRecvTime":"2"}')),
      "alink.bad_payload",
    );
    expectTriadkitError(() => decodeNtpRequest(utf8('{"deviceSendTime":"99999999999999999"}')), "alink.bad_payload");
    expectTriadkitError(() => encodeNtpRequest({ deviceSendTime: -1 }), "alink.bad_payload");
    expectTriadkitError(() => encodeNtpRequest({ deviceSendTime: 1.5 }), "alink.bad_payload");
    expectTriadkitError(
      () => encodeNtpResponse({ deviceSendTime: 1, serverRecvTime: Number.NaN, serverSendTime: 1 }),
      "alink.bad_payload",
    );
  });
});

describe("ntpUtcMs (Link SDK C 4.1.0)", () => {
  it("computes (serverRecv + serverSend + deviceRecv - deviceSend) / 2", () => {
    // Device clock is uptime; 40 ms each way, 2 ms in the server.
    const sample = {
      deviceSendTime: 10_000,
      serverRecvTime: 1700000000040,
      serverSendTime: 1700000000042,
      deviceRecvTime: 10_082,
    };
    expect(ntpUtcMs(sample)).toBe(1700000000082);
    expect(ntpRoundTripMs(sample)).toBe(80);
  });

  it("rounds half milliseconds down", () => {
    expect(ntpUtcMs({ deviceSendTime: 0, serverRecvTime: 100, serverSendTime: 100, deviceRecvTime: 1 })).toBe(100);
    expect((100 + 100 + 1 - 0) / 2).toBe(100.5);
  });

  it("refuses bad samples", () => {
    const ok = { deviceSendTime: 1, serverRecvTime: 2, serverSendTime: 3, deviceRecvTime: 4 };
    expectTriadkitError(() => ntpUtcMs({ ...ok, deviceRecvTime: 0 }), "alink.bad_payload");
    expectTriadkitError(() => ntpUtcMs({ ...ok, serverSendTime: 1.5 }), "alink.bad_payload");
    expectTriadkitError(() => ntpRoundTripMs({ ...ok, serverRecvTime: -1 }), "alink.bad_payload");
  });

  it("recovers the true time under symmetric delay (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_500_000_000_000, max: 4_000_000_000_000 }), // true UTC when the device sends
        fc.integer({ min: 0, max: 1_000_000_000 }), // device clock offset (uptime-style)
        fc.integer({ min: 0, max: 5_000 }), // one-way delay
        fc.integer({ min: 0, max: 100 }), // server processing
        (utcSend, deviceSendTime, delay, processing) => {
          const serverRecvTime = utcSend + delay;
          const serverSendTime = serverRecvTime + processing;
          const deviceRecvTime = deviceSendTime + 2 * delay + processing;
          const sample = { deviceSendTime, serverRecvTime, serverSendTime, deviceRecvTime };
          expect(ntpUtcMs(sample)).toBe(serverSendTime + delay);
          expect(ntpRoundTripMs(sample)).toBe(2 * delay);
        },
      ),
    );
  });
});

const ms = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

describe("properties", () => {
  it("encode → decode round-trips", () => {
    fc.assert(
      fc.property(ms, ms, ms, (a, b, c) => {
        expect(decodeNtpRequest(encodeNtpRequest({ deviceSendTime: a }))).toEqual({ deviceSendTime: a });
        const response = { deviceSendTime: a, serverRecvTime: b, serverSendTime: c };
        expect(decodeNtpResponse(encodeNtpResponse(response))).toEqual(response);
      }),
    );
  });

  it("decoders are total", () => {
    assertDecoderTotal(
      decodeNtpRequest,
      ms.map((t) => encodeNtpRequest({ deviceSendTime: t })),
    );
    assertDecoderTotal(
      decodeNtpResponse,
      fc
        .tuple(ms, ms, ms)
        .map(([a, b, c]) => encodeNtpResponse({ deviceSendTime: a, serverRecvTime: b, serverSendTime: c })),
    );
  });
});
