import { describe, expect, it } from "vitest";
import { toHex } from "../util/bytes.js";
import { hmacText, keyerOf, nobleHmac, nobleKeyer } from "../util/hmac.js";
import {
  type ConnectSignerOptions,
  connectSignContent,
  createConnectSigner,
  FIXED_TIMESTAMP_MS,
  signConnect,
} from "./connect.js";
import { genieAuthString, genieAuthValue, genieDeviceUuid, parseGenieTriad } from "./genie.js";
import { signDynamicRegisterHttp, signDynamicRegisterMqtt, signSubDevice } from "./register.js";

// Vectors from ../shared/reference/alibaba-protocol.md, produced by the official SDKs' own code.
const triad = { productKey: "a1B2c3D4e5F", deviceName: "dev001", deviceSecret: "abcdefghijklmnopqrstuvwxyz012345" };
const TS = "1700000000000";
const NODE_EXTRA = [
  ["lan", "NodeJS"],
  ["_v", "1.2.8"],
] as const;

describe("connect signing: Node SDK style (alibabacloud-iot-device-sdk 1.2.8)", () => {
  it("custom clientId dev001, TCP, hmacsha1", () => {
    const creds = signConnect({
      triad,
      style: "node",
      signMethod: "hmacsha1",
      timestampMs: TS,
      secureMode: 3,
      clientIdCore: "dev001",
      extraFields: NODE_EXTRA,
    });
    expect(connectSignContent("dev001", triad.productKey, triad.deviceName, TS)).toBe(
      "clientIddev001deviceNamedev001productKeya1B2c3D4e5Ftimestamp1700000000000",
    );
    expect(creds.clientId).toBe("dev001|securemode=3,signmethod=hmacsha1,timestamp=1700000000000,lan=NodeJS,_v=1.2.8|");
    expect(creds.username).toBe("dev001&a1B2c3D4e5F");
    expect(creds.password).toBe("64bf41eb98a0e7d77a503b61d745cca40266720f");
  });

  it("TLS sets securemode=2 and nothing else", () => {
    const creds = signConnect({
      triad,
      signMethod: "hmacsha1",
      timestampMs: 1700000000000,
      secureMode: 2,
      clientIdCore: "dev001",
      extraFields: NODE_EXTRA,
    });
    expect(creds.clientId).toBe("dev001|securemode=2,signmethod=hmacsha1,timestamp=1700000000000,lan=NodeJS,_v=1.2.8|");
    expect(creds.password).toBe("64bf41eb98a0e7d77a503b61d745cca40266720f");
  });

  it("default clientId core pk&dn", () => {
    const creds = signConnect({ triad, signMethod: "hmacsha1", timestampMs: TS, secureMode: 3 });
    expect(creds.clientId).toBe("a1B2c3D4e5F&dev001|securemode=3,signmethod=hmacsha1,timestamp=1700000000000|");
    expect(creds.password).toBe("36ab2cb893736a3a91af40746ae2adf527553ade");
  });

  it("hmacsha256 really signs with SHA-256 (the 1.2.8 SDK labels sha256 but signs sha1)", () => {
    const sha256 = signConnect({ triad, signMethod: "hmacsha256", timestampMs: TS });
    expect(sha256.clientId).toContain("signmethod=hmacsha256");
    expect(sha256.password).toHaveLength(64);
    expect(sha256.password).not.toBe("36ab2cb893736a3a91af40746ae2adf527553ade");
    expect(sha256.password).toBe(sha256.password.toLowerCase());
    const md5 = signConnect({ triad, signMethod: "hmacmd5", timestampMs: TS });
    expect(md5.password).toHaveLength(32);
  });
});

/** Link SDK C 3.0.1's connect: C style, `_v` head field, `lan=C,gw=0,ext=0`, default (fixed) timestamp. */
const C_301 = {
  triad,
  style: "c",
  headFields: [["_v", "sdk-c-3.0.1"]],
  extraFields: [
    ["lan", "C"],
    ["gw", "0"],
    ["ext", "0"],
  ],
} as const;

describe("connect signing: Link SDK C style", () => {
  it("3.0.1 clientId and uppercase HMAC-SHA256 over the fixed timestamp", () => {
    const creds = signConnect(C_301);
    expect(creds.clientId).toBe(
      "a1B2c3D4e5F.dev001|timestamp=2524608000000,_v=sdk-c-3.0.1,securemode=2,signmethod=hmacsha256,lan=C,gw=0,ext=0|",
    );
    expect(creds.username).toBe("dev001&a1B2c3D4e5F");
    expect(creds.password).toBe("AF7310DF8662ABE1AC336827B03C928EA1D4F1ACA8CCC5B408FEC1BAF46F98D8");
    expect(connectSignContent("a1B2c3D4e5F.dev001", triad.productKey, triad.deviceName, FIXED_TIMESTAMP_MS)).toBe(
      "clientIda1B2c3D4e5F.dev001deviceNamedev001productKeya1B2c3D4e5Ftimestamp2524608000000",
    );
  });

  it("4.1.0 clientId shape with _ss and ext=3 over TCP", () => {
    const creds = signConnect({
      triad,
      style: "c",
      secureMode: 3,
      headFields: [
        ["_ss", "1"],
        ["_v", "sdk-c-4.1.0"],
      ],
      extraFields: [["ext", "3"]],
    });
    expect(creds.clientId).toBe(
      "a1B2c3D4e5F.dev001|timestamp=2524608000000,_ss=1,_v=sdk-c-4.1.0,securemode=3,signmethod=hmacsha256,ext=3|",
    );
    expect(creds.password).toBe("AF7310DF8662ABE1AC336827B03C928EA1D4F1ACA8CCC5B408FEC1BAF46F98D8");
  });
});

describe("createConnectSigner: a per-device signer, byte-identical to signConnect", () => {
  it("gives the Node SDK vectors for every timestamp form, re-signing with the same signer", () => {
    const sign = createConnectSigner({
      triad,
      style: "node",
      signMethod: "hmacsha1",
      secureMode: 3,
      clientIdCore: "dev001",
      extraFields: NODE_EXTRA,
    });
    for (const ts of [TS, 1700000000000, 1700000000000n, ` ${TS} `]) {
      const creds = sign(ts);
      expect(creds.clientId).toBe(
        "dev001|securemode=3,signmethod=hmacsha1,timestamp=1700000000000,lan=NodeJS,_v=1.2.8|",
      );
      expect(creds.username).toBe("dev001&a1B2c3D4e5F");
      expect(creds.password).toBe("64bf41eb98a0e7d77a503b61d745cca40266720f");
    }
    expect(sign(1700000000001).password).not.toBe("64bf41eb98a0e7d77a503b61d745cca40266720f");
    expect(sign(TS).password).toBe("64bf41eb98a0e7d77a503b61d745cca40266720f");
  });

  it("gives the Link SDK C 3.0.1 vector on the fixed timestamp by default", () => {
    const sign = createConnectSigner(C_301);
    const expected = {
      clientId:
        "a1B2c3D4e5F.dev001|timestamp=2524608000000,_v=sdk-c-3.0.1,securemode=2,signmethod=hmacsha256,lan=C,gw=0,ext=0|",
      username: "dev001&a1B2c3D4e5F",
      password: "AF7310DF8662ABE1AC336827B03C928EA1D4F1ACA8CCC5B408FEC1BAF46F98D8",
    };
    expect(sign()).toEqual(expected);
    expect(sign(FIXED_TIMESTAMP_MS)).toEqual(expected);
    expect(sign(1700000000000).clientId).toContain("|timestamp=1700000000000,_v=sdk-c-3.0.1,");
    expect(sign()).toEqual(expected);
  });

  it("equals signConnect over random triads, styles, methods, fields, hex cases and timestamps", () => {
    let x = 0x5eed;
    const next = (n: number) => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const word = (len: number) => Array.from({ length: len }, () => alnum[next(alnum.length)]).join("");
    for (let i = 0; i < 200; i++) {
      const t = { productKey: word(11), deviceName: `d-${word(1 + next(20))}`, deviceSecret: word(1 + next(80)) };
      // Sign method names are parsed case-insensitively ("hmacSha256" in Link SDK 4).
      const methods = ["hmacsha256", "hmacsha1", "hmacmd5", "HmacSha256" as "hmacsha256"] as const;
      const options: ConnectSignerOptions = {
        triad: t,
        style: next(2) === 0 ? "node" : "c",
        signMethod: methods[next(4)],
        secureMode: next(2) === 0 ? 2 : 3,
        ...(next(3) === 0 ? { clientIdCore: word(1 + next(64)) } : {}),
        ...(next(2) === 0 ? { headFields: [["_v", word(5)]] as const } : {}),
        extraFields: next(2) === 0 ? [] : ([["lan", word(3)]] as const),
        ...(next(3) === 0 ? { hexCase: next(2) === 0 ? "upper" : "lower" } : {}),
      };
      const keyer = [undefined, nobleKeyer, keyerOf(nobleHmac)][next(3)];
      const sign = createConnectSigner({ ...options, ...(keyer === undefined ? {} : { keyer }) });
      for (let k = 0; k < 3; k++) {
        const timestampMs = next(4) === 0 ? String(next(2 ** 30)) : 1_600_000_000_000 + next(2 ** 30);
        expect(sign(timestampMs), `case ${i}.${k}`).toEqual(signConnect({ ...options, timestampMs }));
      }
    }
  });

  it("validates once at creation and the timestamp at each call, with the same error codes as signConnect", () => {
    expect(() => createConnectSigner({ triad, signMethod: "hmacsha512" as "hmacsha1" })).toThrow(
      expect.objectContaining({ code: "triad.unknown_sign_method" }),
    );
    expect(() => createConnectSigner({ triad, secureMode: 8 as 2 })).toThrow(
      expect.objectContaining({ code: "triad.unsupported_secure_mode" }),
    );
    expect(() => createConnectSigner({ triad, clientIdCore: "a|b" })).toThrow(
      expect.objectContaining({ code: "triad.bad_client_id" }),
    );
    expect(() => createConnectSigner({ triad, extraFields: [["timestamp", "1"]] })).toThrow(
      expect.objectContaining({ code: "triad.bad_client_id" }),
    );
    const sign = createConnectSigner({ triad });
    for (const bad of [undefined, -1, 1.5, Number.NaN, 2 ** 60, "12a", "", -1n]) {
      expect(() => sign(bad), String(bad)).toThrow(expect.objectContaining({ code: "triad.bad_timestamp" }));
    }
  });

  it("prepares the key once through the keyer and never puts the secret in the credentials", () => {
    const prepared: string[] = [];
    const sign = createConnectSigner({
      triad,
      signMethod: "hmacsha1",
      keyer: (alg, key) => {
        prepared.push(`${alg}:${typeof key === "string" ? key : "bytes"}`);
        return nobleKeyer(alg, key);
      },
    });
    const all = [1, 2, 3].map((n) => sign(1_700_000_000_000 + n));
    expect(prepared).toEqual([`sha1:${triad.deviceSecret}`]);
    expect(all[0]?.password).toBe(
      toHex(
        hmacText(
          "hmacsha1",
          triad.deviceSecret,
          connectSignContent(
            `${triad.productKey}&${triad.deviceName}`,
            triad.productKey,
            triad.deviceName,
            "1700000000001",
          ),
        ),
      ),
    );
    expect(JSON.stringify(all)).not.toContain(triad.deviceSecret);
  });
});

describe("dynamic registration", () => {
  const reg = { productKey: "a1B2c3D4e5F", deviceName: "dev001", productSecret: "productSecretXYZ" };

  it("HTTPS, Node SDK variant: hmacsha1 lowercase", () => {
    const req = signDynamicRegisterHttp({ ...reg, random: "abc123" });
    expect(req.sign).toBe("47eff7e16d5cb3e2f1b414197c156f80029133d5");
    expect(req.body).toBe(
      "productKey=a1B2c3D4e5F&deviceName=dev001&random=abc123&sign=47eff7e16d5cb3e2f1b414197c156f80029133d5&signMethod=hmacsha1",
    );
  });

  it("HTTPS, C SDK 3.0.1 variant: hmacsha256 uppercase", () => {
    const req = signDynamicRegisterHttp({ ...reg, random: "8Ygb7ULYh53B6OA", style: "c" });
    expect(req.sign).toBe("A5E8E44A9283A3522EC3050CE1FB1ABF5CF90EE3944F5987FCA07FED1DB38CCA");
    expect(req.body).toContain("&signMethod=hmacsha256");
  });

  it("MQTT authType=register", () => {
    const creds = signDynamicRegisterMqtt({ ...reg, random: "abc123", mode: "register", signMethod: "hmacsha1" });
    expect(creds.clientId).toBe("a1B2c3D4e5F.dev001|securemode=2,authType=register,signmethod=hmacsha1,random=abc123|");
    expect(creds.username).toBe("dev001&a1B2c3D4e5F");
    // Same sign string as the HTTPS form, uppercase.
    expect(creds.password).toBe("47EFF7E16D5CB3E2F1B414197C156F80029133D5");
  });

  it("MQTT authType=regnwl (免预注册)", () => {
    const creds = signDynamicRegisterMqtt({ ...reg, random: "8Ygb7ULYh53B6OA", mode: "regnwl" });
    expect(creds.clientId).toBe(
      "a1B2c3D4e5F.dev001|securemode=-2,authType=regnwl,random=8Ygb7ULYh53B6OA,signmethod=hmacsha256|",
    );
    expect(creds.password).toBe("A5E8E44A9283A3522EC3050CE1FB1ABF5CF90EE3944F5987FCA07FED1DB38CCA");
  });
});

describe("sub-device sign", () => {
  it("Node SDK gateway topo/login params", () => {
    const params = signSubDevice({ triad, timestampMs: TS });
    expect(params).toEqual({
      productKey: "a1B2c3D4e5F",
      deviceName: "dev001",
      clientId: "a1B2c3D4e5F&dev001",
      timestamp: "1700000000000",
      signMethod: "hmacsha1",
      sign: "36ab2cb893736a3a91af40746ae2adf527553ade",
    });
  });

  it("C SDK style uses pk.dn, uptime ms and uppercase", () => {
    const params = signSubDevice({ triad, timestampMs: 123456, style: "c" });
    expect(params.clientId).toBe("a1B2c3D4e5F.dev001");
    expect(params.timestamp).toBe("123456");
    expect(params.sign).toMatch(/^[0-9A-F]{40}$/);
  });
});

describe("Tmall Genie mesh triad", () => {
  const genie = parseGenieTriad({
    productId: 602,
    mac: "11:8B:12:4D:23:DC",
    secret: "1565D0497400C999E984CFFA4DA4FDF9",
  });

  it("normalises to lowercase hex", () => {
    expect(genie).toEqual({ productId: 602, mac: "118b124d23dc", secret: "1565d0497400c999e984cffa4da4fdf9" });
  });

  it("static OOB AuthValue (GENIE_OLD_AUTH)", () => {
    expect(genieAuthString(genie)).toBe("0000025a,118b124d23dc,1565d0497400c999e984cffa4da4fdf9");
    expect(toHex(genieAuthValue(genie))).toBe("b64783f314ac6f08f6dcaff77f47da43");
  });

  it("device UUID", () => {
    expect(toHex(genieDeviceUuid(genie))).toBe("a801715a020000dc234d128b11021000");
  });

  it("newer variant appends the provisioning random", () => {
    const random = new Uint8Array(16).fill(0xab);
    expect(genieAuthString(genie, random)).toBe(
      `0000025a,118b124d23dc,1565d0497400c999e984cffa4da4fdf9,${"ab".repeat(16)}`,
    );
    expect(toHex(genieAuthValue(genie, random))).not.toBe("b64783f314ac6f08f6dcaff77f47da43");
  });
});
