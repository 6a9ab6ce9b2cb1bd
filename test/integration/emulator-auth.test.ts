/**
 * Platform emulator logins with real MQTT.js clients: both wire styles × every sign method, CONNACK 5 for every
 * refusal, one session per device (a second login kicks the first), and the disable / enable / delete lifecycle.
 */
import { MemoryDeviceDirectory, PlatformEmulator, SqliteDeviceRegistry } from "@triadkit/firmware-sim";
import {
  decodeRequest,
  encodeReply,
  SIGN_METHODS,
  type SignMethod,
  signConnect,
  thingDeleteTopic,
  thingDisableTopic,
  thingEnableTopic,
} from "@triadkit/protocol";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ClientPool, closed, collect, newTriad, nextMessage } from "./emulator-harness.js";

const registry = new SqliteDeviceRegistry();
const alice = newTriad();
const bob = newTriad();
const pool = new ClientPool();
let emulator: PlatformEmulator;

beforeAll(async () => {
  registry.add(alice);
  registry.add(bob);
  emulator = await PlatformEmulator.start({ registry, kickGraceMs: 300 });
});
afterEach(() => pool.endAll());
afterAll(async () => {
  await emulator.close();
  registry.close();
});

const styles = ["node", "c"] as const;
const cases = styles.flatMap((style) => SIGN_METHODS.map((signMethod) => ({ style, signMethod })));

describe("logins", () => {
  it.each(cases)("$style style with $signMethod logs in", async ({ style, signMethod }) => {
    const online = collect(emulator, "online");
    const creds = signConnect({ triad: alice, style, signMethod, secureMode: 3, timestampMs: Date.now() });
    await pool.connect(emulator.url, creds);
    await expect.poll(() => online.map(([id]) => id.deviceName)).toContain(alice.deviceName);
    expect(online[0]?.[1]).toBe(creds.clientId);
    expect(emulator.onlineDevices()).toMatchObject([
      { identity: { productKey: alice.productKey, deviceName: alice.deviceName }, transport: "tcp" },
    ]);
  });

  it("refuses a wrong secret with CONNACK 5 (not authorized)", async () => {
    const rejected = collect(emulator, "rejected");
    const wrong = { ...alice, deviceSecret: "0".repeat(32) };
    expect(await pool.refusal(emulator.url, signConnect({ triad: wrong, timestampMs: Date.now() }))).toBe(5);
    expect(rejected.map(([r]) => r)).toEqual([
      { code: "triad.bad_signature", username: `${alice.deviceName}&${alice.productKey}`, returnCode: 5 },
    ]);
  });

  it("refuses an unknown device with CONNACK 5", async () => {
    expect(await pool.refusal(emulator.url, signConnect({ triad: newTriad(), timestampMs: Date.now() }))).toBe(5);
  });

  it("refuses a clientId that names another device than the username", async () => {
    const rejected = collect(emulator, "rejected");
    const creds = signConnect({
      triad: alice,
      timestampMs: Date.now(),
      clientIdCore: `${bob.productKey}&${bob.deviceName}`,
    });
    expect(await pool.refusal(emulator.url, creds)).toBe(5);
    expect(rejected[0]?.[0].code).toBe("triad.identity_mismatch");
  });

  it("refuses weak sign methods when told to", async () => {
    const strict = await PlatformEmulator.start({ registry, refuseWeakSignMethods: true });
    try {
      const rejected = collect(strict, "rejected");
      for (const signMethod of ["hmacsha1", "hmacmd5"] satisfies SignMethod[]) {
        const creds = signConnect({ triad: bob, signMethod, timestampMs: Date.now() });
        expect(await pool.refusal(strict.url, creds)).toBe(5);
      }
      expect(rejected.map(([r]) => r.code)).toEqual(["triad.weak_sign_method", "triad.weak_sign_method"]);
      await pool.connect(strict.url, signConnect({ triad: bob, signMethod: "hmacsha256", timestampMs: Date.now() }));
    } finally {
      await pool.endAll();
      await strict.close();
    }
  });

  it("keeps working with a MemoryDeviceDirectory (the first version's API)", async () => {
    const directory = new MemoryDeviceDirectory([alice]);
    const old = await PlatformEmulator.start({ directory });
    try {
      await pool.connect(old.url, signConnect({ triad: alice, style: "c" }));
      expect(await pool.refusal(old.url, signConnect({ triad: bob, style: "c" }))).toBe(5);
    } finally {
      await pool.endAll();
      await old.close();
    }
  });
});

describe("one session per device", () => {
  it("a second login of the same device kicks the first", async () => {
    const kicked = collect(emulator, "kicked");
    const offline = collect(emulator, "offline");
    const first = await pool.connect(emulator.url, signConnect({ triad: bob, timestampMs: Date.now() - 1000 }));
    const firstClosed = closed(first);
    const secondCreds = signConnect({ triad: bob, style: "c" });
    const second = await pool.connect(emulator.url, secondCreds);
    await firstClosed;
    expect(kicked.map(([k]) => ({ reason: k.reason, by: k.byClientId }))).toEqual([
      { reason: "duplicate_login", by: secondCreds.clientId },
    ]);
    await expect.poll(() => offline.length).toBe(1);
    expect(second.connected).toBe(true);
    await expect.poll(() => emulator.onlineDevices().map((d) => d.clientId)).toEqual([secondCreds.clientId]);
  });

  it("the same clientId twice also leaves one session", async () => {
    const kicked = collect(emulator, "kicked");
    const creds = signConnect({ triad: bob, style: "c" });
    const first = await pool.connect(emulator.url, creds);
    const firstClosed = closed(first);
    await pool.connect(emulator.url, creds);
    await firstClosed;
    expect(kicked).toHaveLength(1);
    await expect.poll(() => emulator.onlineDevices()).toHaveLength(1);
  });
});

describe("disable, enable, delete", () => {
  it("disable sends thing/disable, closes the session and refuses logins until enabled", async () => {
    const device = newTriad();
    registry.add(device);
    const client = await pool.connect(emulator.url, signConnect({ triad: device, style: "c" }));
    await client.subscribeAsync([thingDisableTopic(device), thingEnableTopic(device)]);
    const notice = nextMessage(client, (t) => t === thingDisableTopic(device));
    client.on("message", (topic, payload) => {
      if (topic !== thingDisableTopic(device)) return;
      const { id } = decodeRequest(new Uint8Array(payload));
      client.publish(`${topic}_reply`, Buffer.from(encodeReply({ id, code: 200 })));
    });
    const kicked = collect(emulator, "kicked");
    const gone = closed(client);

    const record = await emulator.disableDevice(device);
    expect(record.status).toBe("disabled");
    const request = decodeRequest(new Uint8Array((await notice).payload));
    expect(request).toMatchObject({ method: "thing.disable", params: {} });
    await gone;
    expect(kicked.map(([k]) => k.reason)).toEqual(["disabled"]);
    expect(emulator.isOnline(device)).toBe(false);

    const rejected = collect(emulator, "rejected");
    expect(await pool.refusal(emulator.url, signConnect({ triad: device, style: "c" }))).toBe(5);
    expect(rejected[0]?.[0].code).toBe("emulator.device_disabled");

    expect((await emulator.enableDevice(device)).status).toBe("active");
    await pool.connect(emulator.url, signConnect({ triad: device, style: "c" }));
    expect(registry.get(device)?.status).toBe("active");
  });

  it("delete sends thing/delete, closes the session, and the device can neither log in nor be enabled", async () => {
    const device = newTriad();
    registry.add(device);
    const client = await pool.connect(emulator.url, signConnect({ triad: device, style: "c" }));
    await client.subscribeAsync(thingDeleteTopic(device));
    const notice = nextMessage(client, (t) => t === thingDeleteTopic(device));
    const gone = closed(client);
    const started = Date.now();
    await emulator.deleteDevice(device); // the client does not answer: the grace period runs out
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(decodeRequest(new Uint8Array((await notice).payload)).method).toBe("thing.delete");
    await gone;
    const rejected = collect(emulator, "rejected");
    expect(await pool.refusal(emulator.url, signConnect({ triad: device, style: "c" }))).toBe(5);
    expect(rejected[0]?.[0].code).toBe("emulator.device_deleted");
    await expect(emulator.enableDevice(device)).rejects.toMatchObject({ code: "emulator.device_deleted" });
    expect(registry.get(device)?.status).toBe("deleted");
  });

  it("disabling an offline device only changes its status; an unknown device is an error", async () => {
    const device = newTriad();
    registry.add(device);
    expect((await emulator.disableDevice(device)).status).toBe("disabled");
    await expect(emulator.disableDevice(newTriad())).rejects.toMatchObject({ code: "emulator.unknown_device" });
  });
});
