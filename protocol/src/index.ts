/**
 * @triadkit/protocol: pure codecs and rules. No I/O, no global state, Uint8Array for bytes.
 */

export * from "./alink/index.js";
export * from "./errors.js";
export * from "./factory/index.js";
export * from "./ids/index.js";
export * from "./improv/index.js";
export * from "./labels/index.js";
export * from "./products/index.js";
export * from "./provisioning/index.js";
export * from "./testing.js";
export * from "./top/index.js";
export * from "./triad/alibaba.js";
export * from "./triad/connect.js";
export * from "./triad/genie.js";
export * from "./triad/register.js";
export * from "./triad/signing.js";
export * from "./triad/verify.js";
export { concatBytes, constantTimeEqual, fromHex, fromUtf8, toHex, utf8 } from "./util/bytes.js";
export { crc32 } from "./util/crc32.js";
export {
  type Hmac,
  type HmacAlgorithm,
  type HmacKeyer,
  hmacText,
  isSignMethod,
  type KeyedHmac,
  keyerOf,
  nobleHmac,
  nobleKeyer,
  parseSignMethod,
  SIGN_METHOD_BYTES,
  SIGN_METHODS,
  type SignMethod,
  signMethodAlgorithm,
  WEAK_SIGN_METHODS,
} from "./util/hmac.js";
