import { hmac } from "@noble/hashes/hmac.js";
import { md5, sha1 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { fail } from "../errors.js";
import { utf8 } from "./bytes.js";

/** The HMAC sign methods of the Alibaba connect and registration signatures. */
export const SIGN_METHODS = ["hmacsha256", "hmacsha1", "hmacmd5"] as const;
export type SignMethod = (typeof SIGN_METHODS)[number];

/** Sign methods whose hash is broken for collision resistance; a platform may refuse them. */
export const WEAK_SIGN_METHODS: readonly SignMethod[] = ["hmacmd5", "hmacsha1"];

const HASHES = { hmacsha256: sha256, hmacsha1: sha1, hmacmd5: md5 } as const;

/** Output length in bytes of each sign method. */
export const SIGN_METHOD_BYTES: Readonly<Record<SignMethod, number>> = {
  hmacsha256: 32,
  hmacsha1: 20,
  hmacmd5: 16,
};

export function isSignMethod(value: unknown): value is SignMethod {
  return typeof value === "string" && (SIGN_METHODS as readonly string[]).includes(value);
}

/** Parses a sign method name case-insensitively (`hmacSha256` is seen in Link SDK 4 batch login). */
export function parseSignMethod(value: string): SignMethod {
  const lower = value.toLowerCase();
  if (isSignMethod(lower)) return lower;
  return fail(
    "triad.unknown_sign_method",
    `unknown sign method "${value}"; expected one of ${SIGN_METHODS.join(", ")}`,
    {
      signMethod: value,
    },
  );
}

/** HMAC of UTF-8 text under a UTF-8 key, as every Alibaba sign string is computed. */
export function hmacText(method: SignMethod, key: string, message: string): Uint8Array {
  return hmac(HASHES[method], utf8(key), utf8(message));
}
