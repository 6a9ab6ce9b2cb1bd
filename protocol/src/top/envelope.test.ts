import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isTriadkitError } from "../errors.js";
import { expectTriadkitError } from "../testing.js";
import { fromUtf8 } from "../util/bytes.js";
import {
  decodeTopResponse,
  encodeTopError,
  encodeTopResponse,
  isTopSessionError,
  isTopTimestampError,
  parseTopResponse,
  TOP_ERRORS,
  topResponseKey,
} from "./envelope.js";
import { encodeTopTokenResult, parseTopTokenResult } from "./methods.js";
import { parseShelfCodes, SHELF_TAG_KEYS, shelfCodesOfTags, shelfTags } from "./shelf-tags.js";

describe("TOP response envelopes", () => {
  it("names the success wrapper after the method without its taobao. prefix", () => {
    expect(topResponseKey("taobao.time.get")).toBe("time_get_response");
    expect(topResponseKey("taobao.top.auth.token.refresh")).toBe("top_auth_token_refresh_response");
    expect(topResponseKey("taobao.smartstore.device.status.feedback")).toBe(
      "smartstore_device_status_feedback_response",
    );
    expect(topResponseKey("tmall.device.carturl.get")).toBe("tmall_device_carturl_get_response");
  });

  it("returns the inner object of a success (either spelling of the key)", () => {
    const body = '{"time_get_response":{"time":"2016-01-01 12:00:00","request_id":"rq1"}}';
    expect(parseTopResponse("taobao.time.get", body)).toEqual({ time: "2016-01-01 12:00:00", request_id: "rq1" });
    expect(parseTopResponse("taobao.time.get", '{"taobao_time_get_response":{"time":"x"}}')).toEqual({ time: "x" });
    const encoded = encodeTopResponse("taobao.time.get", { time: "t" }, "rq2");
    expect(fromUtf8(encoded)).toBe('{"time_get_response":{"time":"t","request_id":"rq2"}}');
  });

  it("turns error_response into top.error_response with the codes (the observed sample)", () => {
    const sample =
      '{"error_response":{"code":15,"msg":"Remote service error","sub_code":"isv.MOBILE_NUMBER_ILLEGAL",' +
      '"sub_msg":"号码格式错误","request_id":"rxn0m6mwsjqy"}}';
    const err = expectTriadkitError(() => parseTopResponse("taobao.x.y", sample), "top.error_response");
    expect(err.context).toEqual({
      method: "taobao.x.y",
      code: 15,
      msg: "Remote service error",
      subCode: "isv.MOBILE_NUMBER_ILLEGAL",
      subMsg: "号码格式错误",
      requestId: "rxn0m6mwsjqy",
    });
    expect(decodeTopResponse("taobao.x.y", '{"error_response":{"code":"27","msg":"Invalid session"}}')).toEqual({
      ok: false,
      error: { code: 27, msg: "Invalid session" },
    });
  });

  it("encodes errors as the gateway does and classifies session and timestamp codes", () => {
    const { code, msg } = TOP_ERRORS.invalidSignature;
    expect(fromUtf8(encodeTopError({ code, msg, request_id: "r" }))).toBe(
      '{"error_response":{"code":25,"msg":"Invalid signature","request_id":"r"}}',
    );
    expect([26, 27].every(isTopSessionError)).toBe(true);
    expect(isTopSessionError(25)).toBe(false);
    expect(isTopTimestampError(31)).toBe(true);
    expect(isTopTimestampError(43)).toBe(false);
  });

  it("refuses what is neither", () => {
    for (const bad of ["", "<xml/>", "[]", "{}", '{"other_response":{}}', '{"error_response":{"msg":"x"}}']) {
      expectTriadkitError(() => parseTopResponse("taobao.time.get", bad), "top.bad_response");
    }
  });

  it("never throws anything but a TriadkitError on random input", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        try {
          decodeTopResponse("taobao.time.get", text);
        } catch (err) {
          return isTriadkitError(err, "top.bad_response");
        }
        return true;
      }),
    );
  });
});

describe("shelf tags", () => {
  it("builds and reads the two tags", () => {
    const tags = shelfTags({ storeId: 184454101, deviceCode: "8F6A77C73E" });
    expect(tags).toEqual({ shelfStoreId: "184454101", shelfDeviceCode: "8F6A77C73E" });
    const params = Object.entries({ imei: "490154203237518", ...tags }).map(([attrKey, attrValue]) => ({
      attrKey,
      attrValue,
    }));
    expect(shelfCodesOfTags(params)).toEqual({ storeId: 184454101, deviceCode: "8F6A77C73E" });
    expect(SHELF_TAG_KEYS).toEqual({ storeId: "shelfStoreId", deviceCode: "shelfDeviceCode" });
  });

  it("ignores lists without both tags or with malformed values", () => {
    expect(shelfCodesOfTags([{ attrKey: "shelfStoreId", attrValue: "1" }])).toBeUndefined();
    expect(
      shelfCodesOfTags([
        { attrKey: "shelfStoreId", attrValue: "0" },
        { attrKey: "shelfDeviceCode", attrValue: "X" },
      ]),
    ).toBeUndefined();
    expect(shelfCodesOfTags({})).toBeUndefined();
    expect(shelfCodesOfTags([null, 3, { attrKey: 1 }])).toBeUndefined();
  });

  it("refuses bad codes with alink.bad_payload", () => {
    expectTriadkitError(() => parseShelfCodes(0, "X"), "alink.bad_payload");
    expectTriadkitError(() => parseShelfCodes("12a", "X"), "alink.bad_payload");
    expectTriadkitError(() => parseShelfCodes(1, "with space"), "alink.bad_payload");
    expectTriadkitError(() => parseShelfCodes(1, ""), "alink.bad_payload");
    expect(parseShelfCodes("184454101", "8F6A77C73E")).toEqual({ storeId: 184454101, deviceCode: "8F6A77C73E" });
  });
});

describe("token_result", () => {
  const now = Date.UTC(2026, 0, 1);

  it("round-trips what the emulator encodes and reads the observed field names", () => {
    const text = encodeTopTokenResult({
      accessToken: "S2",
      refreshToken: "R2",
      expiresAtMs: now + 3_600_000,
      refreshTokenExpiresAtMs: now + 7_200_000,
      nowMs: now,
      userNick: "店铺",
    });
    expect(JSON.parse(text)).toMatchObject({ expires_in: 3600, re_expires_in: 7200, token_type: "Bearer" });
    expect(parseTopTokenResult(text, now)).toEqual({
      accessToken: "S2",
      refreshToken: "R2",
      expiresAtMs: now + 3_600_000,
      refreshTokenExpiresAtMs: now + 7_200_000,
    });
    // An object (already decoded), numbers as strings, and expires_in alone.
    expect(parseTopTokenResult({ access_token: "S", expires_in: "60" }, now)).toEqual({
      accessToken: "S",
      expiresAtMs: now + 60_000,
    });
  });

  it("refuses a token_result without access_token", () => {
    for (const bad of ["{", "null", '{"refresh_token":"R"}', 5, undefined]) {
      expectTriadkitError(() => parseTopTokenResult(bad, now), "top.bad_response");
    }
  });
});
