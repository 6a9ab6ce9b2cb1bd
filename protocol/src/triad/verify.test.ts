import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isTriadkitError } from "../errors.js";
import { expectTriadkitError } from "../testing.js";
import { parseAlibabaTriad, parseDeviceName, parseDeviceSecret, parseProductKey } from "./alibaba.js";
import { signConnect } from "./connect.js";
import {
  parseRegisterConnect,
  signDynamicRegisterMqtt,
  signSubDevice,
  verifyRegisterConnect,
  verifySubDevice,
} from "./register.js";
import { parseClientId, parseConnect, verifyConnect } from "./verify.js";

const triad = { productKey: "a1B2c3D4e5F", deviceName: "dev001", deviceSecret: "abcdefghijklmnopqrstuvwxyz012345" };
const lookup = (id: { productKey: string; deviceName: string }) =>
  id.productKey === triad.productKey && id.deviceName === triad.deviceName ? triad.deviceSecret : undefined;

describe("triad validation", () => {
  it("DeviceName follows the documented rule as a hard error", () => {
    expect(parseDeviceName(" dev-01_@.: ")).toBe("dev-01_@.:");
    for (const bad of ["abc", "a".repeat(33), "dev 001", "dev/001", "设备0001", "dev&001"]) {
      expectTriadkitError(() => parseDeviceName(bad), "triad.bad_device_name");
    }
  });

  it("ProductKey and DeviceSecret conventions are warnings, strict makes them errors", () => {
    expect(parseProductKey("a1B2c3D4e5F").warnings).toEqual([]);
    expect(parseProductKey("a1B2c3D4").warnings.map((w) => w.code)).toEqual(["triad.unusual_product_key"]);
    expectTriadkitError(() => parseProductKey("a1B2c3D4", { strict: true }), "triad.bad_product_key");
    expectTriadkitError(() => parseProductKey("a1/B2"), "triad.bad_product_key");
    expect(parseDeviceSecret("short").warnings.map((w) => w.code)).toEqual(["triad.unusual_device_secret"]);
    expectTriadkitError(() => parseDeviceSecret("has space"), "triad.bad_device_secret");
  });

  it("a bad secret is never echoed in the error", () => {
    const err = expectTriadkitError(() => parseDeviceSecret("topsecret value"), "triad.bad_device_secret");
    expect(JSON.stringify(err)).not.toContain("topsecret");
    expect(err.message).not.toContain("topsecret");
    const strict = expectTriadkitError(
      () => parseDeviceSecret("topsecret", { strict: true }),
      "triad.bad_device_secret",
    );
    expect(JSON.stringify(strict) + strict.message).not.toContain("topsecret");
  });

  it("parses a whole triad and collects warnings", () => {
    const { value, warnings } = parseAlibabaTriad({ productKey: " a1B2 ", deviceName: "dev001", deviceSecret: "x1" });
    expect(value).toEqual({ productKey: "a1B2", deviceName: "dev001", deviceSecret: "x1" });
    expect(warnings.map((w) => w.code)).toEqual(["triad.unusual_product_key", "triad.unusual_device_secret"]);
  });
});

describe("platform verifier", () => {
  it("accepts both wire styles and reports which one", () => {
    const node = signConnect({ triad, timestampMs: 1700000000000 });
    expect(verifyConnect(node, lookup).style).toBe("node");
    const c = signConnect({ triad, style: "c" });
    const parsed = verifyConnect(c, lookup);
    expect(parsed.style).toBe("c");
    expect(parsed.signMethod).toBe("hmacsha256");
    expect(parsed.secureMode).toBe(2);
  });

  it("compares case-insensitively", () => {
    const creds = signConnect({ triad, style: "c" });
    expect(() => verifyConnect({ ...creds, password: creds.password.toLowerCase() }, lookup)).not.toThrow();
  });

  it("rejects a wrong password, a wrong secret and an unknown device with the same code", () => {
    const creds = signConnect({ triad, timestampMs: 1 });
    const flipped = (creds.password[0] === "0" ? "1" : "0") + creds.password.slice(1);
    expectTriadkitError(() => verifyConnect({ ...creds, password: flipped }, lookup), "triad.bad_signature");
    expectTriadkitError(() => verifyConnect(creds, () => "another-secret-another-secret-xx"), "triad.bad_signature");
    expectTriadkitError(() => verifyConnect(creds, () => undefined), "triad.bad_signature");
  });

  it("rejects a password that is not hex of the method's length", () => {
    const creds = signConnect({ triad, timestampMs: 1 });
    expectTriadkitError(() => verifyConnect({ ...creds, password: "zz" }, lookup), "triad.bad_password_format");
    expectTriadkitError(
      () => verifyConnect({ ...creds, password: `${creds.password}00` }, lookup),
      "triad.bad_password_format",
    );
  });

  it("binds the username to the clientId core", () => {
    const creds = signConnect({ triad, timestampMs: 1 });
    expectTriadkitError(
      () => verifyConnect({ ...creds, username: "dev002&a1B2c3D4e5F" }, lookup),
      "triad.identity_mismatch",
    );
    const custom = signConnect({ triad, timestampMs: 1, clientIdCore: "sn-12345" });
    expectTriadkitError(() => verifyConnect(custom, lookup), "triad.identity_mismatch");
    expect(verifyConnect(custom, lookup, { clientIdCore: "any" }).style).toBe("custom");
  });

  it("can refuse weak sign methods", () => {
    const sha1 = signConnect({ triad, timestampMs: 1, signMethod: "hmacsha1" });
    expect(() => verifyConnect(sha1, lookup)).not.toThrow();
    expectTriadkitError(() => verifyConnect(sha1, lookup, { refuseWeakSignMethods: true }), "triad.weak_sign_method");
    const md5 = signConnect({ triad, timestampMs: 1, signMethod: "hmacmd5" });
    expectTriadkitError(
      () => verifyConnect(md5, lookup, { acceptSignMethods: ["hmacsha256"] }),
      "triad.weak_sign_method",
    );
    expectTriadkitError(
      () => verifyConnect({ ...sha1, clientId: sha1.clientId.replace("hmacsha1", "hmacsha512") }, lookup),
      "triad.unknown_sign_method",
    );
  });

  it("checks securemode and an optional timestamp window", () => {
    const tcp = signConnect({ triad, timestampMs: 1000, secureMode: 3 });
    expectTriadkitError(() => verifyConnect(tcp, lookup, { acceptSecureModes: [2] }), "triad.unsupported_secure_mode");
    const window = { nowMs: 10_000, maxSkewMs: 5_000 };
    expectTriadkitError(() => verifyConnect(tcp, lookup, { timestampWindow: window }), "triad.timestamp_out_of_window");
    const fresh = signConnect({ triad, timestampMs: 9_000 });
    expect(() => verifyConnect(fresh, lookup, { timestampWindow: window })).not.toThrow();
    const fixed = signConnect({ triad, style: "c" });
    expect(() => verifyConnect(fixed, lookup, { timestampWindow: window })).not.toThrow();
    expectTriadkitError(
      () => verifyConnect(fixed, lookup, { timestampWindow: { ...window, allowFixed: false } }),
      "triad.timestamp_out_of_window",
    );
  });

  it("refuses a registration login where a device connect is expected, and verifies it on its own path", () => {
    const reg = signDynamicRegisterMqtt({
      productKey: triad.productKey,
      deviceName: triad.deviceName,
      productSecret: "productSecretXYZ",
      random: "r4nd0m",
      mode: "register",
    });
    expectTriadkitError(() => verifyConnect(reg, lookup), "triad.unsupported_auth_type");
    const parsed = parseRegisterConnect(reg);
    expect(parsed.mode).toBe("register");
    expect(() => verifyRegisterConnect(parsed, reg.password, "productSecretXYZ")).not.toThrow();
    expectTriadkitError(() => verifyRegisterConnect(parsed, reg.password, "productSecretXYy"), "triad.bad_signature");
  });

  it("verifies sub-device signs", () => {
    const params = signSubDevice({ triad, timestampMs: 42 });
    expect(() => verifySubDevice(params, triad.deviceSecret)).not.toThrow();
    expectTriadkitError(
      () => verifySubDevice({ ...params, timestamp: "43" }, triad.deviceSecret),
      "triad.bad_signature",
    );
  });

  it("parses clientIds strictly", () => {
    expect(parseClientId("plain").fields.size).toBe(0);
    expect([...parseClientId("a|x=1,y=|").fields]).toEqual([
      ["x", "1"],
      ["y", ""],
    ]);
    for (const bad of ["|a=1|", "a|x=1", "a|x=1|y|", "a|=1|", "a|x=1,X=2|", "a|novalue|", ""]) {
      expectTriadkitError(() => parseClientId(bad), "triad.bad_client_id");
    }
  });
});

describe("properties", () => {
  const deviceName = fc.stringMatching(/^[A-Za-z0-9_@.:-]{4,32}$/);
  const productKey = fc.stringMatching(/^[A-Za-z0-9]{11}$/);
  const secret = fc.stringMatching(/^[A-Za-z0-9]{32}$/);
  const method = fc.constantFrom("hmacsha256", "hmacsha1", "hmacmd5" as const);

  it("whatever is signed verifies, in both styles and every method", () => {
    fc.assert(
      fc.property(
        productKey,
        deviceName,
        secret,
        method,
        fc.constantFrom("node", "c" as const),
        fc.nat(),
        (pk, dn, ds, m, style, ts) => {
          const t = { productKey: pk, deviceName: dn, deviceSecret: ds };
          const creds = signConnect({ triad: t, signMethod: m, style, timestampMs: ts });
          const parsed = verifyConnect(creds, () => ds);
          expect(parsed.identity).toEqual({ productKey: pk, deviceName: dn });
          expect(parsed.signMethod).toBe(m);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("random and mutated CONNECT credentials never crash the verifier: valid, or a coded error", () => {
    const good = signConnect({ triad, timestampMs: 1700000000000 });
    const mutate = (s: string) =>
      fc
        .tuple(fc.nat({ max: Math.max(0, s.length - 1) }), fc.string({ maxLength: 3 }), fc.nat({ max: 3 }))
        .map(([i, ins, del]) => s.slice(0, i) + ins + s.slice(i + del));
    const field = (s: string) => fc.oneof(fc.string({ maxLength: 80 }), mutate(s));
    fc.assert(
      fc.property(field(good.clientId), field(good.username), field(good.password), (clientId, username, password) => {
        try {
          verifyConnect({ clientId, username, password }, lookup);
        } catch (err) {
          if (!isTriadkitError(err)) throw err;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("parseConnect never crashes on arbitrary input", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), fc.string({ maxLength: 60 }), (clientId, username) => {
        try {
          parseConnect({ clientId, username });
        } catch (err) {
          if (!isTriadkitError(err)) throw err;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
