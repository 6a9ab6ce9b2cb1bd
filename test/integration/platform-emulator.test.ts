/**
 * The platform emulator with real MQTT.js clients over loopback TCP: triad-signed logins in both wire
 * styles, refusal of bad credentials, per-device topic ACL, replies, and the binding carriers decoded.
 */
import { createVirtualIdentity, MemoryDeviceDirectory, PlatformEmulator } from "@triadkit/firmware-sim";
import {
  type BindingHeartbeat,
  bindingEventTopic,
  decodeReply,
  deviceinfoUpdateTopic,
  encodeBindingHeartbeat,
  encodeIdentityReport,
  signConnect,
} from "@triadkit/protocol";
import { SeededRandom } from "@triadkit/sdk";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const random = new SeededRandom(11);
const alice = createVirtualIdentity(random, { productKey: "a1B2c3D4e5F" });
const bob = createVirtualIdentity(random, { productKey: "a1B2c3D4e5F" });
let emulator: PlatformEmulator;
const clients: MqttClient[] = [];

beforeAll(async () => {
  emulator = await PlatformEmulator.start({ directory: new MemoryDeviceDirectory([alice.triad, bob.triad]) });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await emulator.close();
});

function connect(creds: { clientId: string; username: string; password: string }): Promise<MqttClient> {
  const client = mqtt.connect(emulator.url, { ...creds, reconnectPeriod: 0, connectTimeout: 5_000 });
  clients.push(client);
  return new Promise((resolve, reject) => {
    client.once("connect", () => resolve(client));
    client.once("error", reject);
  });
}

describe("platform emulator", () => {
  it("listens on a free loopback port, never 1883", () => {
    expect(emulator.port).not.toBe(1883);
    expect(emulator.url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
  });

  it("accepts Node-style and C-style triad logins", async () => {
    const online: string[] = [];
    emulator.on("online", (id) => online.push(id.deviceName));
    await connect(signConnect({ triad: alice.triad, timestampMs: Date.now(), secureMode: 3 }));
    await connect(signConnect({ triad: bob.triad, style: "c", secureMode: 3 }));
    await expect.poll(() => online.sort()).toEqual([alice.triad.deviceName, bob.triad.deviceName].sort());
  });

  it("refuses a wrong secret with CONNACK 5 (not authorized) and says why", async () => {
    const rejected: string[] = [];
    emulator.on("rejected", (r) => rejected.push(r.code));
    const wrong = { ...alice.triad, deviceSecret: "0".repeat(32) };
    const err = await connect(signConnect({ triad: wrong, timestampMs: Date.now() })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as { code?: number }).code).toBe(5);
    expect(rejected).toContain("triad.bad_signature");
  });

  it("answers requests, decodes identity reports and binding heartbeats", async () => {
    const client = await connect(
      signConnect({
        triad: alice.triad,
        timestampMs: Date.now(),
        clientIdCore: `${alice.triad.productKey}&${alice.triad.deviceName}`,
      }),
    );
    const device = alice.triad;
    await client.subscribeAsync(`/sys/${device.productKey}/${device.deviceName}/thing/#`);
    const replies: { topic: string; id: string; code: number }[] = [];
    client.on("message", (topic, payload) => {
      if (topic.endsWith("_reply")) replies.push({ topic, ...decodeReply(new Uint8Array(payload)) });
    });
    const reports: unknown[] = [];
    const heartbeats: unknown[] = [];
    emulator.on("identityReport", (r) => reports.push(r.value));
    emulator.on("bindingEvent", (e) => heartbeats.push(e.value));

    await client.publishAsync(
      deviceinfoUpdateTopic(device),
      Buffer.from(
        encodeIdentityReport({ imei: alice.imei, iccid: alice.iccid, imsi: alice.imsi, modem: "EC200U" }, "7"),
      ),
    );
    const hb: BindingHeartbeat = {
      imei: alice.imei,
      iccid: alice.iccid,
      imsi: alice.imsi,
      epoch: 1,
      bootId: "boot-1",
      seq: 3,
      uptimeS: 60,
      rssiDbm: -71,
      ts: 1_700_000_000_000,
    };
    await client.publishAsync(
      bindingEventTopic(device, "BindingHeartbeat"),
      Buffer.from(encodeBindingHeartbeat(hb, "8")),
    );
    await client.publishAsync(
      bindingEventTopic(device, "BindingHeartbeat"),
      Buffer.from(
        '{"id":"9","version":"1.0","params":{"value":{"imei":5}},"method":"thing.event.BindingHeartbeat.post"}',
      ),
    );

    await expect.poll(() => replies.length).toBe(3);
    expect(replies.find((r) => r.id === "7")).toMatchObject({
      code: 200,
      topic: `${deviceinfoUpdateTopic(device)}_reply`,
    });
    expect(replies.find((r) => r.id === "8")?.code).toBe(200);
    expect(replies.find((r) => r.id === "9")?.code).toBe(460);
    expect(reports).toEqual([{ imei: alice.imei, iccid: alice.iccid, imsi: alice.imsi, modem: "EC200U" }]);
    expect(heartbeats).toEqual([{ kind: "BindingHeartbeat", ...hb }]);
  });

  it("confines each device to its own topics", async () => {
    const eve = await connect(signConnect({ triad: bob.triad, timestampMs: Date.now() }));
    const seen: string[] = [];
    emulator.on("request", (r) => seen.push(r.identity.deviceName));
    // Bob may not subscribe to Alice's topics (SUBACK 0x80) nor publish as Alice (the broker drops it).
    const report = encodeIdentityReport({ imei: bob.imei, iccid: bob.iccid, imsi: bob.imsi, modem: "EC200U" }, "1");
    const refused = await eve.subscribeAsync(`/sys/${alice.triad.productKey}/${alice.triad.deviceName}/thing/#`).then(
      () => undefined,
      (e: unknown) => e as { packet?: { granted?: number[] } },
    );
    expect(refused?.packet?.granted).toEqual([128]);
    // Publishing as Alice gets Bob disconnected (MQTT 3.1.1 has no negative PUBACK) and reaches nobody.
    const closed = new Promise<void>((resolve) => eve.once("close", () => resolve()));
    eve.publish(deviceinfoUpdateTopic(alice.triad), Buffer.from(report), { qos: 1 });
    await closed;
    const again = await connect(signConnect({ triad: bob.triad, timestampMs: Date.now() }));
    await again.publishAsync(deviceinfoUpdateTopic(bob.triad), Buffer.from(report), { qos: 1 });
    await expect.poll(() => seen).toContain(bob.triad.deviceName);
    expect(seen).not.toContain(alice.triad.deviceName);
  });
});
