/**
 * Dynamic registration (一型一密) against the emulator: over MQTT (`authType=register` → `/ext/register` with the
 * secret; `authType=regnwl` → `/ext/regnwl` with clientId + deviceToken, then an `authType=connwl` login), and over
 * HTTP and HTTPS (`POST /auth/register/device`). Every issued credential must then log in.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { PlatformEmulator, SqliteDeviceRegistry } from "@triadkit/firmware-sim";
import {
  decodeRegisterResult,
  decodeRegnwlResult,
  signConnect,
  signDynamicRegisterHttp,
  signDynamicRegisterMqtt,
} from "@triadkit/protocol";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTlsFixture, type TlsFixture } from "../helpers/tls-fixture.js";
import { ClientPool, closed, collect, newTriad, nextMessage, osRandom } from "./emulator-harness.js";

const PK = "a1DynReg0Pk";
const PK_OFF = "a1DynOff0Pk";
const productSecret = "Ps0123456789abcdefghijklmnopqrs";
const registry = new SqliteDeviceRegistry();
const pool = new ClientPool();
let fixture: TlsFixture;
let emulator: PlatformEmulator;

beforeAll(async () => {
  registry.addProduct({ productKey: PK, productSecret, dynamicRegister: true, regnwl: true });
  registry.addProduct({ productKey: PK_OFF, productSecret, dynamicRegister: false });
  fixture = await createTlsFixture();
  emulator = await PlatformEmulator.start({
    registry,
    random: osRandom,
    tls: { certPem: fixture.certPem, keyPem: fixture.keyPem },
    http: { port: 0 },
  });
});
afterEach(() => pool.endAll());
afterAll(async () => {
  await emulator?.close();
  registry.close();
  await fixture?.cleanup();
});

let counter = 0;
const newName = () => `reg-${Date.now().toString(36)}-${++counter}`;
const random = () => `r${Math.floor(Math.random() * 1e9)}`;

/** Registers over MQTT and returns what the platform pushed (resolves when the platform closed the connection). */
async function registerOverMqtt(url: string, productKey: string, deviceName: string, mode: "register" | "regnwl") {
  const creds = signDynamicRegisterMqtt({ productKey, deviceName, productSecret, random: random(), mode });
  const client = await pool.connect(url, creds, { ca: fixture.caPem });
  const result = await nextMessage(client, (t) => t === `/ext/${mode}`);
  await closed(client);
  return new Uint8Array(result.payload);
}

describe("MQTT dynamic registration", () => {
  it("authType=register pushes the secret on /ext/register, closes, and the secret then logs in", async () => {
    const registered = collect(emulator, "registered");
    const deviceName = newName();
    const result = decodeRegisterResult(await registerOverMqtt(emulator.tlsUrl as string, PK, deviceName, "register"));
    expect(result).toMatchObject({ productKey: PK, deviceName });
    expect(result.deviceSecret).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(registered.map(([r]) => r)).toEqual([
      { identity: { productKey: PK, deviceName }, mode: "register", via: "mqtt" },
    ]);
    expect(registry.get({ productKey: PK, deviceName })?.status).toBe("active");
    await pool.connect(emulator.url, signConnect({ triad: result, style: "c" }));
    // Issued once: the device is activated now, a second registration is refused.
    const again = signDynamicRegisterMqtt({
      productKey: PK,
      deviceName,
      productSecret,
      random: random(),
      mode: "register",
    });
    expect(await pool.refusal(emulator.url, again)).toBe(5);
  });

  it("a pre-registered device gets its own secret (plain TCP works too)", async () => {
    const triad = { ...newTriad(PK), deviceName: newName() };
    registry.add(triad);
    const result = decodeRegisterResult(await registerOverMqtt(emulator.url, PK, triad.deviceName, "register"));
    expect(result.deviceSecret === triad.deviceSecret).toBe(true);
  });

  it("authType=regnwl pushes clientId and deviceToken; the token logs in with authType=connwl", async () => {
    const deviceName = newName();
    const result = decodeRegnwlResult(await registerOverMqtt(emulator.tlsUrl as string, PK, deviceName, "regnwl"));
    expect(result).toMatchObject({ productKey: PK, deviceName, clientId: `${PK}.${deviceName}` });
    const login = {
      clientId: `${result.clientId}|securemode=-2,authType=connwl|`,
      username: `${deviceName}&${PK}`,
      password: result.deviceToken,
    };
    const online = collect(emulator, "online");
    await pool.connect(emulator.tlsUrl as string, login, { ca: fixture.caPem });
    await expect.poll(() => online.length).toBe(1);
    expect(await pool.refusal(emulator.url, { ...login, password: "nope" })).toBe(5);
  });

  it("refuses a wrong product secret, a product without dynamic registration, and regnwl where it is off", async () => {
    const rejected = collect(emulator, "rejected");
    const bad = signDynamicRegisterMqtt({
      productKey: PK,
      deviceName: newName(),
      productSecret: "not-the-product-secret",
      random: random(),
      mode: "register",
    });
    expect(await pool.refusal(emulator.url, bad)).toBe(5);
    const off = { productKey: PK_OFF, deviceName: newName(), productSecret, random: random() };
    expect(await pool.refusal(emulator.url, signDynamicRegisterMqtt({ ...off, mode: "register" }))).toBe(5);
    expect(await pool.refusal(emulator.url, signDynamicRegisterMqtt({ ...off, mode: "regnwl" }))).toBe(5);
    expect(rejected.map(([r]) => r.code)).toEqual([
      "triad.bad_signature",
      "emulator.registration_refused",
      "emulator.registration_refused",
    ]);
  });

  it("with strictPreRegistration and requireTls it behaves like the real platform", async () => {
    const strict = await PlatformEmulator.start({
      registry,
      tls: { certPem: fixture.certPem, keyPem: fixture.keyPem },
      registration: { strictPreRegistration: true, requireTls: true },
    });
    try {
      const unknown = {
        productKey: PK,
        deviceName: newName(),
        productSecret,
        random: random(),
        mode: "register" as const,
      };
      expect(await pool.refusal(strict.tlsUrl as string, signDynamicRegisterMqtt(unknown), { ca: fixture.caPem })).toBe(
        5,
      );
      const triad = { ...newTriad(PK), deviceName: newName() };
      registry.add(triad);
      const known = { ...unknown, deviceName: triad.deviceName };
      expect(await pool.refusal(strict.url, signDynamicRegisterMqtt(known))).toBe(5); // plain TCP
      const result = decodeRegisterResult(
        await registerOverMqtt(strict.tlsUrl as string, PK, triad.deviceName, "register"),
      );
      expect(result.deviceName).toBe(triad.deviceName);
    } finally {
      await pool.endAll();
      await strict.close();
    }
  });
});

interface RegisterResponse {
  code: number;
  message?: string;
  data: { productKey: string; deviceName: string; deviceSecret: string };
}

function post(
  url: string,
  path: string,
  body: string,
  ca?: string,
): Promise<{ status: number; json: RegisterResponse }> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith("https") ? httpsRequest : httpRequest)(
      `${url}${path}`,
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(body) },
        ...(ca === undefined ? {} : { ca }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("HTTP(S) dynamic registration", () => {
  it("POST /auth/register/device returns the secret as the platform does, and it logs in", async () => {
    expect(emulator.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const deviceName = newName();
    const form = signDynamicRegisterHttp({ productKey: PK, deviceName, productSecret, random: random() });
    const { status, json } = await post(emulator.httpUrl as string, form.path, form.body);
    expect(status).toBe(200);
    expect(json).toMatchObject({ code: 200, message: "success", data: { productKey: PK, deviceName } });
    expect(Object.keys(json.data).sort()).toEqual(["deviceName", "deviceSecret", "productKey"]);
    await pool.connect(emulator.url, signConnect({ triad: json.data, timestampMs: Date.now() }));
  });

  it("C SDK style (hmacsha256, uppercase) over HTTPS with the test CA", async () => {
    const https = await PlatformEmulator.start({
      registry,
      tls: { certPem: fixture.certPem, keyPem: fixture.keyPem },
      http: { tls: true },
    });
    try {
      expect(https.httpUrl).toMatch(/^https:\/\//);
      const deviceName = newName();
      const form = signDynamicRegisterHttp({ productKey: PK, deviceName, productSecret, random: random(), style: "c" });
      const { json } = await post(https.httpUrl as string, form.path, form.body, fixture.caPem);
      expect(json.code).toBe(200);
      await pool.connect(https.tlsUrl as string, signConnect({ triad: json.data, style: "c" }), { ca: fixture.caPem });
    } finally {
      await pool.endAll();
      await https.close();
    }
  });

  it("answers a bad sign 401, missing fields 460, a closed product 403, other paths 404", async () => {
    const deviceName = newName();
    const good = signDynamicRegisterHttp({ productKey: PK, deviceName, productSecret, random: "abc123" });
    const tampered = good.body.replace(/sign=[0-9a-f]+/, `sign=${"0".repeat(40)}`);
    const bad = await post(emulator.httpUrl as string, good.path, tampered);
    expect(bad.json.code).toBe(401);
    expect(JSON.stringify(bad.json)).not.toContain(productSecret);
    expect((await post(emulator.httpUrl as string, good.path, "productKey=x")).json.code).toBe(460);
    const off = signDynamicRegisterHttp({ productKey: PK_OFF, deviceName, productSecret, random: "abc123" });
    expect((await post(emulator.httpUrl as string, off.path, off.body)).json.code).toBe(403);
    expect((await post(emulator.httpUrl as string, "/other", good.body)).status).toBe(404);
    expect(registry.get({ productKey: PK, deviceName })).toBeUndefined();
  });
});
