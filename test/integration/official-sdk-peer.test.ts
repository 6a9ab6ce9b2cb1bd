/**
 * Peer test: the official alibabacloud-iot-device-sdk (1.2.8) is the judge of our Node-style signing.
 * Nobody here wrote it. For hundreds of random triads, client ids and timestamps, its own connect-parameter
 * code and ours must agree byte for byte.
 */
import { createRequire } from "node:module";
import { signConnect, signSubDevice } from "@triadkit/protocol";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";

const require = createRequire(import.meta.url);
const sdkVersion: string = require("alibabacloud-iot-device-sdk/package.json").version;
const Model = require("alibabacloud-iot-device-sdk/lib/model.js") as new (
  config: Record<string, unknown>,
) => { timestamp: number | string; genConnectPrarms(): { clientId: string; username: string; password: string } };
const sdkUtils = require("alibabacloud-iot-device-sdk/lib/utils.js") as {
  signUtil(config: Record<string, string>, method?: string): Record<string, unknown>;
};

const productKey = fc.stringMatching(/^[A-Za-z0-9]{11}$/);
const deviceName = fc.stringMatching(/^[A-Za-z0-9_@.:-]{4,32}$/);
const deviceSecret = fc.stringMatching(/^[A-Za-z0-9]{32}$/);
const clientIdCore = fc.option(fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/), { nil: undefined });
const timestamp = fc.integer({ min: 0, max: 4_102_444_800_000 });

function theirs(config: Record<string, unknown>, ts: number) {
  const model = new Model(config);
  model.timestamp = ts; // Model.init() takes Date.now() once; we pin it to the generated value.
  return model.genConnectPrarms();
}

describe("official alibabacloud-iot-device-sdk as the judge", () => {
  afterEach(() => vi.restoreAllMocks());

  it(`is version 1.2.8 (got ${sdkVersion})`, () => {
    expect(sdkVersion).toBe("1.2.8");
  });

  it("connect clientId, username and password are byte-identical for 250 random cases", () => {
    let cases = 0;
    fc.assert(
      fc.property(
        productKey,
        deviceName,
        deviceSecret,
        clientIdCore,
        timestamp,
        fc.boolean(),
        (pk, dn, ds, cid, ts, tls) => {
          const config: Record<string, unknown> = { productKey: pk, deviceName: dn, deviceSecret: ds, tls };
          if (cid !== undefined) config.clientId = cid;
          const expected = theirs(config, ts);
          const ours = signConnect({
            triad: { productKey: pk, deviceName: dn, deviceSecret: ds },
            style: "node",
            signMethod: "hmacsha1",
            timestampMs: ts,
            secureMode: tls ? 2 : 3,
            ...(cid === undefined ? {} : { clientIdCore: cid }),
            extraFields: [
              ["lan", "NodeJS"],
              ["_v", sdkVersion],
            ],
          });
          expect(ours.password).toBe(expected.password);
          expect(ours.username).toBe(expected.username);
          expect(ours.clientId).toBe(expected.clientId);
          cases++;
        },
      ),
      { numRuns: 250, seed: 20261123 },
    );
    expect(cases).toBe(250);
  });

  it("the SDK's sha256 label still signs SHA-1 (its bug); ours signs what the label says", () => {
    const t = { productKey: "a1B2c3D4e5F", deviceName: "dev001", deviceSecret: "abcdefghijklmnopqrstuvwxyz012345" };
    const expected = theirs({ ...t, signAlgorithm: "sha256" }, 1700000000000);
    expect(expected.clientId).toContain("signmethod=hmacsha256");
    const oursSha1 = signConnect({ triad: t, signMethod: "hmacsha1", timestampMs: 1700000000000 });
    const oursSha256 = signConnect({ triad: t, signMethod: "hmacsha256", timestampMs: 1700000000000 });
    expect(expected.password).toBe(oursSha1.password);
    expect(expected.password).not.toBe(oursSha256.password);
  });

  it("sub-device sign params equal the SDK's signUtil for 100 random cases", () => {
    fc.assert(
      fc.property(productKey, deviceName, deviceSecret, timestamp, (pk, dn, ds, ts) => {
        vi.spyOn(Date, "now").mockReturnValue(ts);
        const expected = sdkUtils.signUtil({ productKey: pk, deviceName: dn, deviceSecret: ds }, "sha1");
        vi.restoreAllMocks();
        const ours = signSubDevice({ triad: { productKey: pk, deviceName: dn, deviceSecret: ds }, timestampMs: ts });
        expect({ ...ours, timestamp: Number(ours.timestamp) }).toEqual(expected);
      }),
      { numRuns: 100, seed: 7 },
    );
  });
});
