/**
 * Connect-signing throughput: protocol's `signConnect` against the official alibabacloud-iot-device-sdk 1.2.8's own
 * connect-parameter code (`Model#genConnectPrarms`, crypto-js HMAC), the same internal function the peer test
 * (test/integration/official-sdk-peer.test.ts) uses as its judge. Both sign the same node-style clientId with
 * HMAC-SHA1 (the SDK's only working method); ours is also measured with HMAC-SHA256 (our default). Ours is signed
 * with the sdk's injected native `nodeHmac` (node:crypto), as the SDK's device session and the emulator do; the
 * protocol default (pure-JS @noble/hashes) is kept as a second line, and `node:crypto` HMAC alone as a reference.
 */
import { createHmac } from "node:crypto";
import { createRequire } from "node:module";
import { signConnect } from "@triadkit/protocol";
import { nodeHmac } from "@triadkit/sdk";
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
    let ts = TIMESTAMP;
    const oursSha1 = () => {
      signConnect({ triad, style: "node", signMethod: "hmacsha1", timestampMs: ts++, extraFields, hmac: nodeHmac });
    };
    const oursSha256 = () => {
      signConnect({ triad, style: "node", signMethod: "hmacsha256", timestampMs: ts++, extraFields, hmac: nodeHmac });
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
    const [sha1, sha256, sha1PureJs, official, native] = interleavedRate(
      [oursSha1, oursSha256, oursSha1PureJs, theirs, nodeCrypto],
      { rounds, roundMs },
    ) as [number, number, number, number, number];
    const baseline = { label: `alibabacloud-iot-device-sdk ${version} genConnectPrarms (crypto-js)`, value: official };
    return {
      sizes: { rounds, roundMs },
      figures: [
        figure({
          label: "signConnect hmacsha1 with native nodeHmac (same output as the SDK)",
          unit: "signatures/s",
          value: sha1,
          baseline,
          goal: { kind: "min", ratio: 10 },
        }),
        figure({
          label: "signConnect hmacsha256 (our default), native nodeHmac",
          unit: "signatures/s",
          value: sha256,
          baseline,
          goal: { kind: "min", ratio: 10 },
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
