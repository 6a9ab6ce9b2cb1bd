/**
 * The real SDK against the platform emulator over loopback (TCP and TLS), end to end: logins in every wire style
 * and sign method, TLS with a generated CA, refusals, property set, services, NTP from a 1970 clock, dynamic
 * registration, rate limiting, platform control, and an outage under steady posting.
 */
import { MemoryDeviceDirectory, PlatformEmulator } from "@triadkit/firmware-sim";
import { FIXED_TIMESTAMP_MS, isTriadkitError, parseClientId, type SignMethod } from "@triadkit/protocol";
import {
  type Clock,
  CryptoRandom,
  createDevice,
  type Device,
  type DeviceOptions,
  liteConnector,
  type MqttConnector,
  mqttJsConnector,
  registerOverHttps,
  registerOverMqtt,
  SystemClock,
} from "@triadkit/sdk";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTlsFixture, type TlsFixture } from "../helpers/tls-fixture.js";

const PK = "a1SdkEmuTst";
const triad = (n: number, secret = "abcdefghijklmnopqrstuvwxyz0123ab") => ({
  productKey: PK,
  deviceName: `sdk-dev-${n}`,
  deviceSecret: secret.slice(0, 30) + String(n).padStart(2, "0"),
});

let tls: TlsFixture;
let emulator: PlatformEmulator;
let directory: MemoryDeviceDirectory;
const devices: Device[] = [];
/** The device session's transport: the blocks marked so run once on MQTT.js (the default) and once on liteConnector. */
const CONNECTORS = [
  ["MQTT.js", mqttJsConnector],
  ["liteConnector", liteConnector],
] as const;
let connector: MqttConnector = mqttJsConnector;

beforeAll(async () => {
  tls = await createTlsFixture();
  directory = new MemoryDeviceDirectory(Array.from({ length: 20 }, (_, i) => triad(i)));
  emulator = await PlatformEmulator.start({
    directory,
    tls: { certPem: tls.certPem, keyPem: tls.keyPem },
    http: { port: 0 },
    rateLimit: false,
  });
});
afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.close()));
});
afterAll(async () => {
  await emulator.close();
  await tls.cleanup();
});

function device(options: Partial<DeviceOptions> & Pick<DeviceOptions, "triad">): Device {
  const d = createDevice({
    brokerUrl: emulator.url,
    connector,
    ntpResyncSec: 0,
    backoff: { baseMs: 100, capMs: 400 },
    ...options,
  });
  devices.push(d);
  return d;
}

describe.each(CONNECTORS)("SDK ↔ emulator (%s)", (_name, transport) => {
  beforeAll(() => {
    connector = transport;
  });
  afterAll(() => {
    connector = mqttJsConnector;
  });

  it("logs in with every wire style and sign method and gets 200 for a property post", async () => {
    let n = 0;
    for (const wireStyle of ["node", "c"] as const) {
      for (const signMethod of ["hmacsha256", "hmacsha1", "hmacmd5"] as SignMethod[]) {
        const d = device({ triad: triad(n++), wireStyle, signMethod });
        await d.connect();
        expect((await d.postProperties({ n })).code).toBe(200);
      }
    }
  });

  it("connects over TLS with the generated CA; a wrong CA is refused", async () => {
    const good = device({ triad: triad(6), brokerUrl: emulator.tlsUrl!, caPem: tls.caPem, servername: "localhost" });
    await good.connect();
    expect((await good.postProperties({ tls: 1 })).code).toBe(200);
    const bad = device({
      triad: triad(7),
      brokerUrl: emulator.tlsUrl!,
      caPem: tls.wrongCaPem,
      servername: "localhost",
    });
    const refused = new Promise<unknown>((resolve) => bad.once("connectError", resolve));
    void bad.connect().catch(() => undefined);
    const err = await refused;
    expect((err as Error).message).toMatch(/certificate/);
    expect(isTriadkitError(err, "session.not_connected")).toBe(true);
    expect(bad.state).not.toBe("online");
  });

  it("a wrong secret is refused as an auth failure and backs off in the longer class", async () => {
    const d = device({ triad: { ...triad(8), deviceSecret: "wrongwrongwrongwrongwrongwrong00" } });
    const backoff = new Promise<{ kind: string; delayMs: number }>((resolve) => d.once("backoff", resolve));
    const error = new Promise<unknown>((resolve) => d.once("connectError", resolve));
    void d.connect().catch(() => undefined);
    expect(isTriadkitError(await error, "session.auth_refused")).toBe(true);
    expect(await backoff).toMatchObject({ kind: "auth" });
  });

  it("property set reaches the handler and is answered; services reply async and sync", async () => {
    const d = device({ triad: triad(9) });
    const set: unknown[] = [];
    d.onPropertySet((p) => {
      set.push(p);
    });
    d.onService("Reboot", (params, ctx) => ({ accepted: true, sync: ctx.sync, params }));
    await d.connect();
    expect((await emulator.setProperty(d.identity, { LightSwitch: 1 })).code).toBe(200);
    expect(set).toEqual([{ LightSwitch: 1 }]);
    const asyncReply = await emulator.invokeService(d.identity, "Reboot", { delaySec: 3 });
    expect(asyncReply).toMatchObject({ code: 200, data: { accepted: true, sync: false, params: { delaySec: 3 } } });
    const syncReply = await emulator.invokeService(d.identity, "Reboot", {}, { sync: true });
    expect(syncReply).toMatchObject({ code: 200, data: { sync: true } });
  });

  it("signs with the fixed timestamp from a 1970 clock, then with the NTP-corrected clock", async () => {
    const boot = Date.now();
    const clock1970: Clock = {
      nowMs: () => Date.now() - boot, // an RTC-less board: wall clock starts at 0
      monotonicMs: () => performance.now(),
      setTimeout: (fn, ms) => new SystemClock().setTimeout(fn, ms),
    };
    const logins: string[] = [];
    emulator.on("online", (id, clientId) => {
      if (id.deviceName === "sdk-dev-10") logins.push(clientId);
    });
    const d = device({ triad: triad(10), clock: clock1970, ntpResyncSec: 60 });
    const synced = new Promise<{ offsetMs: number }>((resolve) => d.once("timeSynced", resolve));
    await d.connect();
    const { offsetMs } = await synced;
    expect(Math.abs(d.nowMs() - Date.now())).toBeLessThan(2_000);
    expect(offsetMs).toBeGreaterThan(1_700_000_000_000);
    // Log in again (a second session of the same device kicks the first, as the platform does).
    const reconnected = new Promise<void>((resolve) => d.once("offline", () => d.once("online", () => resolve())));
    const kicker = device({ triad: triad(10), brokerUrl: emulator.url });
    await kicker.connect();
    await kicker.close();
    await reconnected;
    expect(parseClientId(logins[0]!).fields.get("timestamp")).toBe(FIXED_TIMESTAMP_MS);
    const corrected = Number(parseClientId(logins.at(-1)!).fields.get("timestamp"));
    expect(Math.abs(corrected - Date.now())).toBeLessThan(10_000);
  });

  it("disable reaches the device as a status; the next login is refused", async () => {
    const d = device({ triad: triad(11) });
    await d.connect();
    const status = new Promise<string>((resolve) => d.once("platformStatus", resolve));
    const refused = new Promise<unknown>((resolve) => d.on("connectError", resolve));
    await emulator.disableDevice(d.identity);
    expect(await status).toBe("disabled");
    expect(d.platformStatus).toBe("disabled");
    expect(isTriadkitError(await refused, "session.auth_refused")).toBe(true);
    await emulator.enableDevice(d.identity);
  });
});

describe("rate limits", () => {
  it("a platform 429 slows the device down until its posts are accepted again", async () => {
    const limited = await PlatformEmulator.start({
      directory: new MemoryDeviceDirectory([triad(15)]),
      rateLimit: { messagesPerSecond: 5, burst: 2 },
    });
    try {
      const d = createDevice({
        triad: triad(15),
        brokerUrl: limited.url,
        ntpResyncSec: 0,
        rateLimits: { property: { ratePerSec: 40, burst: 5 } },
      });
      devices.push(d);
      await d.connect();
      const codes = await Promise.all(
        Array.from({ length: 16 }, (_, i) => d.postProperties({ i }).then((r) => r.code)),
      );
      expect(codes).toContain(429);
      const firstOk = codes.lastIndexOf(429) + 1;
      expect(firstOk).toBeLessThan(codes.length);
      expect(codes.slice(firstOk).every((c) => c === 200)).toBe(true);
    } finally {
      await limited.close();
    }
  });
});

describe.each(CONNECTORS)("outage (%s)", (_name, transport) => {
  it("broker stopped under steady posting and restarted: what fits the bound arrives once, in order; drops are exact", async () => {
    const dir = new MemoryDeviceDirectory([triad(16)]);
    let broker = await PlatformEmulator.start({ directory: dir, rateLimit: false });
    const port = broker.port;
    const received: number[] = [];
    const listen = (b: PlatformEmulator) =>
      b.on("request", ({ message }) => {
        if (message.method === "thing.event.property.post") received.push((message.params as { seq: number }).seq);
      });
    listen(broker);
    const d = createDevice({
      triad: triad(16),
      brokerUrl: broker.url,
      connector: transport,
      ntpResyncSec: 0,
      requestTimeoutMs: 60_000,
      backoff: { baseMs: 100, capMs: 300, stableAfterMs: 0 },
      queueLimits: { maxMessages: 25, overflow: "drop-oldest" },
      rateLimits: { property: { ratePerSec: 1000, burst: 1000 } },
    });
    devices.push(d);
    await d.connect();
    const outcomes: Promise<string>[] = [];
    const post = (seq: number) =>
      outcomes.push(
        d.postProperties({ seq }).then(
          () => "ok",
          (e: unknown) => (isTriadkitError(e) ? e.code : String(e)),
        ),
      );
    let seq = 0;
    const tick = () => new Promise((r) => setTimeout(r, 5));
    for (; seq < 30; seq++) {
      post(seq);
      await tick();
    }
    await broker.close(); // under steady posting
    for (; seq < 90; seq++) {
      post(seq);
      await tick();
    }
    broker = await PlatformEmulator.start({ directory: dir, port, rateLimit: false });
    listen(broker);
    for (; seq < 100; seq++) {
      post(seq);
      await tick();
    }
    const results = await Promise.all(outcomes);
    await broker.close();

    const dropped = results.flatMap((r, i) => (r === "queue.dropped" ? [i] : []));
    const delivered = results.flatMap((r, i) => (r === "ok" ? [i] : []));
    expect(dropped.length + delivered.length).toBe(100);
    expect(d.queueStats().dropped).toBe(dropped.length);
    expect(dropped.length).toBeGreaterThan(0);
    // Everything acknowledged arrived exactly once and in order; nothing that was dropped arrived.
    expect(received).toEqual(delivered);
    expect(new Set(received).size).toBe(received.length);
  });
});

// Registration keeps the registered names, and does not go through the device's connector: once per file.
describe("dynamic registration", () => {
  it("dynamic registration over MQTT and over HTTP yields a secret that then connects", async () => {
    emulator.registry.addProduct({ productKey: "a1DynRegPk1", productSecret: "productSecretXYZproductSecretXYZ" });
    const random = new CryptoRandom();
    const viaMqtt = await registerOverMqtt({
      brokerUrl: emulator.url,
      productKey: "a1DynRegPk1",
      deviceName: "dyn-mqtt-1",
      productSecret: "productSecretXYZproductSecretXYZ",
      random,
    });
    expect("deviceSecret" in viaMqtt).toBe(true);
    const viaHttp = await registerOverHttps({
      url: `${emulator.httpUrl}/auth/register/device`,
      productKey: "a1DynRegPk1",
      deviceName: "dyn-http-1",
      productSecret: "productSecretXYZproductSecretXYZ",
      random,
    });
    for (const [deviceName, deviceSecret] of [
      ["dyn-mqtt-1", (viaMqtt as { deviceSecret: string }).deviceSecret],
      ["dyn-http-1", viaHttp.deviceSecret],
    ] as const) {
      const d = device({ triad: { productKey: "a1DynRegPk1", deviceName, deviceSecret } });
      await d.connect();
      expect((await d.postProperties({ registered: 1 })).code).toBe(200);
    }
    await expect(
      registerOverHttps({
        url: `${emulator.httpUrl}/auth/register/device`,
        productKey: "a1DynRegPk1",
        deviceName: "dyn-http-2",
        productSecret: "not-the-product-secret-at-all-00",
        random,
      }),
    ).rejects.toMatchObject({ code: "session.registration_failed" });
  });
});
