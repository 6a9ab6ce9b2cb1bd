import { createHmac, createSecretKey } from "node:crypto";
import type { Hmac, HmacKeyer } from "@triadkit/protocol";

/**
 * Native HMAC for protocol's signing functions (`signConnect({ hmac })`, `verifyConnect(…, { hmac })`): node:crypto,
 * byte-identical to protocol's default pure-JS `nobleHmac` and several times faster.
 */
export const nodeHmac: Hmac = (alg, key, data) => {
  const mac = createHmac(alg, key).update(data).digest();
  return new Uint8Array(mac.buffer, mac.byteOffset, mac.byteLength);
};

/**
 * Native per-key HMAC for protocol's `createConnectSigner({ keyer })`: the key is imported once into a node:crypto
 * secret `KeyObject` (held in native memory) and each message costs one `createHmac` on it. Byte-identical to
 * `nodeHmac` and `nobleHmac`. (Hashing the key's inner and outer pad blocks once and cloning the two hash states
 * per message with `hash.copy()` was measured too: slower on Node 20, two native objects per message instead of
 * one; see docs/benchmarks.md.)
 */
export const nodeKeyer: HmacKeyer = (alg, key) => {
  const secret = typeof key === "string" ? createSecretKey(key, "utf8") : createSecretKey(key);
  return (data) => {
    const mac = createHmac(alg, secret).update(data).digest();
    return new Uint8Array(mac.buffer, mac.byteOffset, mac.byteLength);
  };
};
