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

/** The hash algorithm of each sign method, as named by an injected {@link Hmac}. */
export type HmacAlgorithm = "sha256" | "sha1" | "md5";

/**
 * An HMAC implementation: `(alg, key, data) => mac`. Protocol stays runtime-neutral and defaults to
 * {@link nobleHmac} (pure JS); a runtime may inject a native one (the sdk's `nodeHmac` uses node:crypto).
 * A string key or data means its UTF-8 bytes (a native implementation encodes it without a copy into a
 * `Uint8Array`). Every implementation must return the same bytes; only speed differs.
 */
export type Hmac = (alg: HmacAlgorithm, key: Uint8Array | string, data: Uint8Array | string) => Uint8Array;

const HASHES = { sha256, sha1, md5 } as const;

const ALGORITHMS: Readonly<Record<SignMethod, HmacAlgorithm>> = {
  hmacsha256: "sha256",
  hmacsha1: "sha1",
  hmacmd5: "md5",
};

/** The default {@link Hmac}: @noble/hashes, pure JS, any runtime. */
export const nobleHmac: Hmac = (alg, key, data) =>
  hmac(HASHES[alg], typeof key === "string" ? utf8(key) : key, typeof data === "string" ? utf8(data) : data);

/** An HMAC whose algorithm and key were prepared once: `(data) => mac` (see {@link HmacKeyer}). */
export type KeyedHmac = (data: Uint8Array | string) => Uint8Array;

/**
 * Prepares an HMAC for one algorithm and key, once, for a signer that signs many messages under the same key (a
 * device re-signing its connect credentials): `(alg, key) => (data) => mac`. A string means its UTF-8 bytes. The
 * result must equal `Hmac(alg, key, data)` byte for byte; only the per-call cost differs. The default is
 * {@link nobleKeyer}; the sdk injects a node:crypto one (`nodeKeyer`).
 */
export type HmacKeyer = (alg: HmacAlgorithm, key: Uint8Array | string) => KeyedHmac;

/** The default {@link HmacKeyer}: @noble/hashes with the key's pad states hashed once and cloned per message. */
export const nobleKeyer: HmacKeyer = (alg, key) => {
  const prepared = hmac.create(HASHES[alg], typeof key === "string" ? utf8(key) : key);
  return (data) =>
    prepared
      .clone()
      .update(typeof data === "string" ? utf8(data) : data)
      .digest();
};

/** An {@link HmacKeyer} over a plain {@link Hmac} (nothing prepared: each call is the whole HMAC). */
export function keyerOf(impl: Hmac): HmacKeyer {
  return (alg, key) => (data) => impl(alg, key, data);
}

/** The hash algorithm a sign method names. */
export function signMethodAlgorithm(method: SignMethod): HmacAlgorithm {
  return ALGORITHMS[method];
}

/** HMAC of UTF-8 text under a UTF-8 key, as every Alibaba sign string is computed. */
export function hmacText(method: SignMethod, key: string, message: string, impl: Hmac = nobleHmac): Uint8Array {
  return impl(ALGORITHMS[method], key, message);
}
