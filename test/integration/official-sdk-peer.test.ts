/**
 * Peer test: the official alibabacloud-iot-device-sdk (1.2.8) is the judge of our Node-style signing.
 * Nobody here wrote it. For hundreds of random triads, client ids and timestamps, its own connect-parameter
 * code and ours must agree byte for byte.
 */
import { createRequire } from "node:module";
import {
  type ConnectSignerOptions,
  createConnectSigner,
  nobleKeyer,
  signConnect,
  signSubDevice,
} from "@triadkit/protocol";
import { nodeKeyer } from "@triadkit/sdk";
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

/** The SDK's config and our signer options for the same device (HMAC-SHA1, the SDK's clientId fields). */
function sameDevice(pk: string, dn: string, ds: string, cid: string | undefined, tls: boolean) {
  const config: Record<string, unknown> = { productKey: pk, deviceName: dn, deviceSecret: ds, tls };
  if (cid !== undefined) config.clientId = cid;
  const options: ConnectSignerOptions = {
    triad: { productKey: pk, deviceName: dn, deviceSecret: ds },
    style: "node",
    signMethod: "hmacsha1",
    secureMode: tls ? 2 : 3,
    ...(cid === undefined ? {} : { clientIdCore: cid }),
    extraFields: [
      ["lan", "NodeJS"],
      ["_v", sdkVersion],
    ],
  };
  return { config, options };
}

const device = fc
  .tuple(productKey, deviceName, deviceSecret, clientIdCore, fc.boolean())
  .map(([pk, dn, ds, cid, tls]) => sameDevice(pk, dn, ds, cid, tls));

describe("official alibabacloud-iot-device-sdk as the judge", () => {
  afterEach(() => vi.restoreAllMocks());

  it(`is version 1.2.8 (got ${sdkVersion})`, () => {
    expect(sdkVersion).toBe("1.2.8");
  });

  it("connect clientId, username and password are byte-identical for 250 random cases", () => {
    let cases = 0;
    fc.assert(
      fc.property(device, timestamp, ({ config, options }, ts) => {
        const expected = theirs(config, ts);
        const ours = signConnect({ ...options, timestampMs: ts });
        expect(ours.password).toBe(expected.password);
        expect(ours.username).toBe(expected.username);
        expect(ours.clientId).toBe(expected.clientId);
        cases++;
      }),
      { numRuns: 250, seed: 20261123 },
    );
    expect(cases).toBe(250);
  });

  it("a per-device createConnectSigner (nodeKeyer and nobleKeyer) agrees over 100 random devices × 5 timestamps", () => {
    let cases = 0;
    fc.assert(
      fc.property(device, fc.array(timestamp, { minLength: 5, maxLength: 5 }), ({ config, options }, stamps) => {
        const native = createConnectSigner({ ...options, keyer: nodeKeyer });
        const pure = createConnectSigner({ ...options, keyer: nobleKeyer });
        for (const ts of stamps) {
          const { clientId, username, password } = theirs(config, ts);
          expect(native(ts)).toEqual({ clientId, username, password });
          expect(pure(ts)).toEqual({ clientId, username, password });
          cases++;
        }
      }),
      { numRuns: 100, seed: 20261124 },
    );
    expect(cases).toBe(500);
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
