/**
 * Connect-signing throughput: protocol's per-device `createConnectSigner` (and the one-shot `signConnect`) against the official alibabacloud-iot-device-sdk 1.2.8's own
 * connect-parameter code (`Model#genConnectPrarms`, crypto-js HMAC), the same internal function the peer test
 * (test/integration/official-sdk-peer.test.ts) uses as its judge. Both sign the same node-style clientId with
 * HMAC-SHA1 (the SDK's only working method); ours is also measured with HMAC-SHA256 (our default). The signer is
 * prepared once per device with the sdk's `nodeKeyer` (node:crypto key object), as the SDK's device session does;
 * `signConnect` with the native `nodeHmac` (what the emulator's verifier uses per login) and with the protocol
 * default (pure-JS @noble/hashes) are kept as further lines, a signer on a pad-state-copy HMAC (the alternative
 * that was measured slower) and `node:crypto` HMAC alone as references. Every variant's output is checked equal to
 * the official SDK's before timing.
 */
import { createHash, createHmac } from "node:crypto";
import { createRequire } from "node:module";
import { createConnectSigner, type HmacKeyer, signConnect } from "@triadkit/protocol";
import { nodeHmac, nodeKeyer } from "@triadkit/sdk";
import { type Benchmark, figure, interleavedRate } from "./types.js";

const require = createRequire(import.meta.url);

interface OfficialModel {
  timestamp: number | string;
  genConnectPrarms(): { clientId: string; username: string; password: string };
}

const triad = {
  productKey: "a1BenchSgn0",
  deviceName: "bench-device-0001",
  deviceSecret: "QjQDfDGNfQhzBylLdrZmP7n9oEmldTQx",
};
const TIMESTAMP = 1_700_000_000_000;

/**
 * The alternative to `nodeKeyer` that was measured: the key's inner and outer pad blocks hashed once, both hash
 * states cloned per message with `hash.copy()` (RFC 2104; block size 64 for md5, sha1 and sha256).
 */
const padStateKeyer: HmacKeyer = (alg, key) => {
  let k = Buffer.from(typeof key === "string" ? Buffer.from(key, "utf8") : key);
  if (k.length > 64) k = createHash(alg).update(k).digest();
  const ipad = Buffer.alloc(64, 0x36);
  const opad = Buffer.alloc(64, 0x5c);
  for (let i = 0; i < k.length; i++) {
    ipad[i] = (ipad[i] as number) ^ (k[i] as number);
    opad[i] = (opad[i] as number) ^ (k[i] as number);
  }
  const inner = createHash(alg).update(ipad);
  const outer = createHash(alg).update(opad);
  return (data) => {
    const mac = outer.copy().update(inner.copy().update(data).digest()).digest();
    return new Uint8Array(mac.buffer, mac.byteOffset, mac.byteLength);
  };
};

export const signing: Benchmark = {
  name: "signing",
  title: "Connect-signing throughput vs the official SDK's signing code",
  async run(ctx) {
    const Model = require("alibabacloud-iot-device-sdk/lib/model.js") as new (
      c: Record<string, unknown>,
    ) => OfficialModel;
    const model = new Model({ ...triad, tls: true });
    model.timestamp = TIMESTAMP;
    const version = (require("alibabacloud-iot-device-sdk/package.json") as { version: string }).version;
    const extraFields = [
      ["lan", "NodeJS"],
      ["_v", version],
    ] as const;
    // Same job, same output: the peer test proves these are byte-identical.
    const signerOptions = { triad, style: "node", extraFields, keyer: nodeKeyer } as const;
    const signerSha1 = createConnectSigner({ ...signerOptions, signMethod: "hmacsha1" });
    const signerSha256 = createConnectSigner({ ...signerOptions, signMethod: "hmacsha256" });
    const signerPadState = createConnectSigner({ ...signerOptions, signMethod: "hmacsha1", keyer: padStateKeyer });
    for (const sign of [signerSha1, signerPadState]) {
      const expected = model.genConnectPrarms();
      const got = sign(TIMESTAMP);
      if (
        got.clientId !== expected.clientId ||
        got.username !== expected.username ||
        got.password !== expected.password
      ) {
        throw new Error("a signer's credentials differ from the official SDK's");
      }
    }
    let ts = TIMESTAMP;
    const signedSha1 = () => {
      signerSha1(ts++);
    };
    const signedSha256 = () => {
      signerSha256(ts++);
    };
    const signedPadState = () => {
      signerPadState(ts++);
    };
    const oursSha1 = () => {
      signConnect({ triad, style: "node", signMethod: "hmacsha1", timestampMs: ts++, extraFields, hmac: nodeHmac });
    };
    const oursSha1PureJs = () => {
      signConnect({ triad, style: "node", signMethod: "hmacsha1", timestampMs: ts++, extraFields });
    };
    const theirs = () => {
      model.timestamp = ts++;
      model.genConnectPrarms();
    };
    const nodeCrypto = () => {
      createHmac("sha1", triad.deviceSecret).update(`clientIda1deviceName${ts++}`).digest("hex");
    };
    const rounds = ctx.quick ? 3 : 9;
    const roundMs = ctx.quick ? 150 : 600;
    ctx.log(`signing: ${rounds} interleaved rounds of ${roundMs} ms each`);
    const [signer1, signer256, padState, sha1, sha1PureJs, official, native] = interleavedRate(
      [signedSha1, signedSha256, signedPadState, oursSha1, oursSha1PureJs, theirs, nodeCrypto],
      { rounds, roundMs },
    ) as [number, number, number, number, number, number, number];
    const baseline = { label: `alibabacloud-iot-device-sdk ${version} genConnectPrarms (crypto-js)`, value: official };
    return {
      sizes: { rounds, roundMs },
      figures: [
        figure({
          label: "createConnectSigner hmacsha1, per device with nodeKeyer (same output as the SDK)",
          unit: "signatures/s",
          value: signer1,
          baseline,
          goal: { kind: "min", ratio: 10 },
        }),
        figure({
          label: "createConnectSigner hmacsha256 (our default), per device with nodeKeyer",
          unit: "signatures/s",
          value: signer256,
          baseline,
          goal: { kind: "min", ratio: 10 },
        }),
        figure({
          label: "createConnectSigner hmacsha1 on a pad-state-copy HMAC (hash.copy() per message; not used)",
          unit: "signatures/s",
          value: padState,
          baseline,
        }),
        figure({
          label: "signConnect hmacsha1 one-shot, native nodeHmac (validates and builds everything per call)",
          unit: "signatures/s",
          value: sha1,
          baseline,
        }),
        figure({
          label: "signConnect hmacsha1, pure-JS @noble/hashes (protocol default)",
          unit: "signatures/s",
          value: sha1PureJs,
          baseline,
        }),
        figure({ label: "node:crypto HMAC-SHA1 alone (reference)", unit: "signatures/s", value: native, baseline }),
      ],
    };
  },
};
