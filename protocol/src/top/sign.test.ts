import { createHash, createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expectTriadkitError } from "../testing.js";
import { buildTopRequest } from "./request.js";
import { signTopRequest, type TopSignMethod, topSignString, verifyTopSignature } from "./sign.js";
import { parseTopTimestamp } from "./timestamp.js";

/** The official example of "API调用方法详解" (TOP docId 101617). */
const SECRET = "helloworld";
const OFFICIAL = {
  method: "taobao.item.seller.get",
  app_key: "12345678",
  session: "test",
  timestamp: "2016-01-01 12:00:00",
  format: "json",
  v: "2.0",
  sign_method: "md5",
  fields: "num_iid,title,nick,price,num",
  num_iid: "11223344",
};
const OFFICIAL_STRING =
  "app_key12345678fieldsnum_iid,title,nick,price,numformatjsonmethodtaobao.item.seller.getnum_iid11223344" +
  "sessiontestsign_methodmd5timestamp2016-01-01 12:00:00v2.0";

/** The same digests computed with node:crypto, independently of @noble/hashes. */
function nodeSign(text: string, secret: string, method: TopSignMethod): string {
  const hex =
    method === "md5"
      ? createHash("md5")
          .update(secret + text + secret, "utf8")
          .digest("hex")
      : createHmac(method === "hmac" ? "md5" : "sha256", secret)
          .update(text, "utf8")
          .digest("hex");
  return hex.toUpperCase();
}

describe("signTopRequest", () => {
  it("reproduces the official md5 vector", () => {
    expect(topSignString(OFFICIAL)).toBe(OFFICIAL_STRING);
    expect(signTopRequest(OFFICIAL, SECRET, "md5")).toBe("66987CB115214E59E6EC978214934FB8");
    expect(nodeSign(OFFICIAL_STRING, SECRET, "md5")).toBe("66987CB115214E59E6EC978214934FB8");
  });

  it("hmac and hmac-sha256 of the same request (sign_method changed) match node:crypto and the reference", () => {
    const hmacParams = { ...OFFICIAL, sign_method: "hmac" };
    const shaParams = { ...OFFICIAL, sign_method: "hmac-sha256" };
    expect(signTopRequest(hmacParams, SECRET, "hmac")).toBe("D56D7858309C31B6251083A874D48273");
    expect(signTopRequest(shaParams, SECRET, "hmac-sha256")).toBe(
      "04DB15AD0774D5CFCE2C837DE43E3FCEA9011ED74F3038FB6AB5F3C4CEA119E8",
    );
    expect(nodeSign(topSignString(hmacParams), SECRET, "hmac")).toBe("D56D7858309C31B6251083A874D48273");
    expect(nodeSign(topSignString(shaParams), SECRET, "hmac-sha256")).toBe(
      "04DB15AD0774D5CFCE2C837DE43E3FCEA9011ED74F3038FB6AB5F3C4CEA119E8",
    );
  });

  it("signs sign_method itself: the same method with another sign_method value gives another sign", () => {
    const other = { ...OFFICIAL, sign_method: "hmac" };
    expect(signTopRequest(other, SECRET, "md5")).not.toBe("66987CB115214E59E6EC978214934FB8");
    expect(topSignString(other)).toContain("sign_methodhmac");
  });

  it("leaves out sign and empty values, sorts by key in ASCII order (upper case before lower)", () => {
    const withNoise = { ...OFFICIAL, sign: "FFFF", empty: "" };
    expect(signTopRequest(withNoise, SECRET, "md5")).toBe("66987CB115214E59E6EC978214934FB8");
    expect(topSignString({ b: "2", B: "1", a: "3", _: "0" })).toBe("B1_0a3b2");
  });

  it("appends the body after the parameters (string or bytes) for every method", () => {
    const body = '{"k":"值"}';
    for (const method of ["md5", "hmac", "hmac-sha256"] as const) {
      const params = { ...OFFICIAL, sign_method: method };
      const expected = nodeSign(topSignString(params) + body, SECRET, method);
      expect(signTopRequest(params, SECRET, method, body)).toBe(expected);
      expect(signTopRequest(params, SECRET, method, new TextEncoder().encode(body))).toBe(expected);
      expect(expected).not.toBe(signTopRequest(params, SECRET, method));
    }
  });

  it("hashes UTF-8 (a Chinese value) like node:crypto", () => {
    const params = { method: "x.y", 名称: "智能云货架", sign_method: "hmac-sha256" };
    expect(signTopRequest(params, "秘密", "hmac-sha256")).toBe(nodeSign(topSignString(params), "秘密", "hmac-sha256"));
  });

  it("refuses an unknown sign method", () => {
    expectTriadkitError(() => signTopRequest(OFFICIAL, SECRET, "sha1" as TopSignMethod), "top.unknown_sign_method");
    expectTriadkitError(() => signTopRequest(OFFICIAL, SECRET, "HMAC" as TopSignMethod), "top.unknown_sign_method");
  });

  it("matches node:crypto for random parameters", () => {
    const key = fc.string({ minLength: 0, maxLength: 8 });
    fc.assert(
      fc.property(
        fc.dictionary(key, fc.string({ maxLength: 12 })),
        fc.constantFrom<TopSignMethod>("md5", "hmac", "hmac-sha256"),
        fc.string({ minLength: 1, maxLength: 16 }),
        (params, method, secret) => {
          const signed = { ...params, sign_method: method };
          return signTopRequest(signed, secret, method) === nodeSign(topSignString(signed), secret, method);
        },
      ),
    );
  });
});

describe("verifyTopSignature", () => {
  const signed = { ...OFFICIAL, sign: "66987CB115214E59E6EC978214934FB8" };

  it("accepts the right sign in either case and refuses anything else", () => {
    expect(verifyTopSignature(signed, SECRET)).toBe(true);
    expect(verifyTopSignature({ ...signed, sign: signed.sign.toLowerCase() }, SECRET)).toBe(true);
    expect(verifyTopSignature(signed, "helloworle")).toBe(false);
    expect(verifyTopSignature({ ...signed, num_iid: "11223345" }, SECRET)).toBe(false);
    expect(verifyTopSignature({ ...signed, sign_method: "hmac" }, SECRET)).toBe(false);
    expect(verifyTopSignature({ ...signed, sign: `${signed.sign}00` }, SECRET)).toBe(false);
    const { sign: _, ...unsigned } = signed;
    expect(verifyTopSignature(unsigned, SECRET)).toBe(false);
    expect(verifyTopSignature({ ...signed, sign_method: "sha1" }, SECRET)).toBe(false);
  });

  it("checks the body when one was signed", () => {
    const body = "batch-body";
    const withBody = { ...OFFICIAL, sign: signTopRequest(OFFICIAL, SECRET, "md5", body) };
    expect(verifyTopSignature(withBody, SECRET, body)).toBe(true);
    expect(verifyTopSignature(withBody, SECRET)).toBe(false);
  });
});

describe("buildTopRequest", () => {
  const timestampMs = parseTopTimestamp("2016-01-01 12:00:00");

  it("builds the official request (format json, v 2.0) with the official sign", () => {
    const params = buildTopRequest({
      method: "taobao.item.seller.get",
      appKey: "12345678",
      appSecret: SECRET,
      session: "test",
      timestampMs,
      signMethod: "md5",
      params: { fields: "num_iid,title,nick,price,num", num_iid: "11223344", empty: "" },
    });
    expect(params).toEqual({ ...OFFICIAL, sign: "66987CB115214E59E6EC978214934FB8" });
  });

  it("signs with hmac-sha256 and leaves the session out when there is none", () => {
    const params = buildTopRequest({
      method: "taobao.time.get",
      appKey: "12345678",
      appSecret: SECRET,
      timestampMs,
      signMethod: "hmac-sha256",
    });
    expect(params.session).toBeUndefined();
    expect(params.sign).toMatch(/^[0-9A-F]{64}$/);
    expect(verifyTopSignature(params, SECRET)).toBe(true);
  });

  it("refuses a malformed method name and API parameters that shadow system ones", () => {
    const base = { appKey: "1", appSecret: SECRET, timestampMs, signMethod: "md5" as const };
    expectTriadkitError(() => buildTopRequest({ ...base, method: "time get" }), "config.invalid");
    expectTriadkitError(
      () => buildTopRequest({ ...base, method: "taobao.time.get", params: { sign: "x" } }),
      "config.invalid",
    );
    expectTriadkitError(() => buildTopRequest({ ...base, method: "taobao.time.get", appKey: "" }), "config.invalid");
  });
});
