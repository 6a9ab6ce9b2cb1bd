/**
 * TOP (Taobao Open Platform) request signing, as the official SDKs' `TaobaoUtils.signTopRequest` does it:
 *
 * 1. every parameter except `sign`, with a non-empty key and value, sorted by key in ASCII order;
 * 2. concatenated as key + value with no separators;
 * 3. the request body appended, for a request that has one;
 * 4. hashed: `md5` = MD5(secret + string + secret), `hmac` = HMAC-MD5(secret, string),
 *    `hmac-sha256` = HMAC-SHA256(secret, string), all over UTF-8;
 * 5. written as uppercase hex.
 *
 * `sign_method` is an ordinary parameter, so it is signed too. Worked example: docs/top.md.
 */
import { hmac } from "@noble/hashes/hmac.js";
import { md5 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { fail } from "../errors.js";
import { concatBytes, constantTimeEqual, toHex, utf8 } from "../util/bytes.js";

/** The sign methods of the TOP gateway. */
export const TOP_SIGN_METHODS = ["md5", "hmac", "hmac-sha256"] as const;
export type TopSignMethod = (typeof TOP_SIGN_METHODS)[number];

export function isTopSignMethod(value: unknown): value is TopSignMethod {
  return typeof value === "string" && (TOP_SIGN_METHODS as readonly string[]).includes(value);
}

/** Throws `top.unknown_sign_method` unless `value` is one of {@link TOP_SIGN_METHODS} (exact, lower case). */
export function parseTopSignMethod(value: string): TopSignMethod {
  if (isTopSignMethod(value)) return value;
  return fail(
    "top.unknown_sign_method",
    `unknown TOP sign_method "${value}"; expected ${TOP_SIGN_METHODS.join(", ")}`,
    {
      signMethod: value,
    },
  );
}

/** The parameters of a request: names to values, as they travel in the query or form. */
export type TopParams = Readonly<Record<string, string>>;

/** Step 1 and 2: the string that is hashed (without the body and, for md5, without the secret around it). */
export function topSignString(params: TopParams): string {
  return Object.keys(params)
    .filter((key) => key !== "sign" && key !== "" && params[key] !== undefined && params[key] !== "")
    .sort()
    .map((key) => key + params[key])
    .join("");
}

function bodyBytes(body: Uint8Array | string | undefined): Uint8Array {
  if (body === undefined) return new Uint8Array(0);
  return typeof body === "string" ? utf8(body) : body;
}

function digest(params: TopParams, secret: string, method: TopSignMethod, body?: Uint8Array | string): Uint8Array {
  const message = concatBytes(utf8(topSignString(params)), bodyBytes(body));
  const key = utf8(secret);
  switch (method) {
    case "md5":
      return md5(concatBytes(key, message, key));
    case "hmac":
      return hmac(md5, key, message);
    case "hmac-sha256":
      return hmac(sha256, key, message);
  }
}

/**
 * The `sign` of a request: uppercase hex of the digest above. `method` must match the request's own `sign_method`
 * parameter (the gateway hashes with the method the request names); the caller puts both in the same params.
 */
export function signTopRequest(
  params: TopParams,
  secret: string,
  method: TopSignMethod,
  body?: Uint8Array | string,
): string {
  return toHex(digest(params, secret, parseTopSignMethod(method), body), true);
}

/**
 * Checks a request's `sign` (hex of either case) against `secret`, hashing with the request's own `sign_method`.
 * False for a missing or malformed sign or an unknown sign method; the comparison takes time that depends only on
 * the lengths. A gateway tells those cases apart before calling this (they have their own error codes).
 */
export function verifyTopSignature(params: TopParams, secret: string, body?: Uint8Array | string): boolean {
  const sign = params.sign;
  const method = params.sign_method;
  if (sign === undefined || !isTopSignMethod(method)) return false;
  const expected = utf8(toHex(digest(params, secret, method, body), true));
  return constantTimeEqual(utf8(sign.toUpperCase()), expected);
}
