/**
 * The emulator's cloud-side API and behaviours against real MQTT.js devices: property set/get and service calls
 * (async and RRPC) answered by a device, NTP, the per-device rate limit (429), the topic ACL with its event, and the
 * ring buffer of received messages.
 */

import { PlatformEmulator, SqliteDeviceRegistry } from "@triadkit/firmware-sim";
import {
  type AlibabaTriad,
  decodeNtpResponse,
  decodeReply,
  encodeNtpRequest,
  encodeRequest,
  ntpRequestTopic,
  ntpResponseTopic,
  ntpUtcMs,
  propertyPostTopic,
  signConnect,
} from "@triadkit/protocol";
import type { Clock } from "@triadkit/sdk";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { autoRespond, ClientPool, collect, newTriad, nextMessage } from "./emulator-harness.js";

const registry = new SqliteDeviceRegistry();
const pool = new ClientPool();
const alice = newTriad();
const bob = newTriad();
let emulator: PlatformEmulator;

/** A wall clock that reads 1_700_000_000_000 and moves 7 ms on every read (so recv and send times differ). */
function steppingClock(): Clock & { reads: number } {
  const clock = {
    reads: 0,
    nowMs: () => 1_700_000_000_000 + 7 * clock.reads++,
    monotonicMs: () => performance.now(),
    setTimeout: (fn: () => void, ms: number) => {
      const t = setTimeout(fn, ms);
      return { cancel: () => clearTimeout(t) };
    },
  };
  return clock;
}

beforeAll(async () => {
  registry.add(alice);
  registry.add(bob);
  emulator = await PlatformEmulator.start({ registry, clock: steppingClock(), replyTimeoutMs: 2_000 });
});
afterEach(() => pool.endAll());
afterAll(async () => {
  await emulator.close();
  registry.close();
});

async function firmware(triad: AlibabaTriad) {
  const client = await pool.connect(emulator.url, signConnect({ triad, style: "c" }));
  const calls: { method: string; params: unknown }[] = [];
  await autoRespond(client, triad, (method, params) => {
    calls.push({ method, params });
    if (method === "thing.service.property.get") return { code: 200, data: { Power: 1, Temp: 21.5 } };
    if (method === "thing.service.Reboot") return { code: 200, data: { rebootIn: 3 } };
    if (method === "thing.service.Refuse") return { code: 6100, data: {} };
    return { code: 200, data: {} };
  });
  return { client, calls };
}

describe("calls into the device", () => {
  it("setProperty waits for the set_reply", async () => {
    const { calls } = await firmware(alice);
    const reply = await emulator.setProperty(alice, { Power: 0, Label: "kitchen" });
    expect(reply.code).toBe(200);
    expect(calls).toEqual([{ method: "thing.service.property.set", params: { Power: 0, Label: "kitchen" } }]);
  });

  it("getProperty returns the values in the reply's data", async () => {
    const { calls } = await firmware(alice);
    const reply = await emulator.getProperty(alice, ["Power", "Temp"]);
    expect(reply).toMatchObject({ code: 200, data: { Power: 1, Temp: 21.5 } });
    expect(calls[0]?.params).toEqual(["Power", "Temp"]);
  });

  it("invokeService, asynchronous and synchronous (RRPC), returns the device's reply", async () => {
    const { client, calls } = await firmware(alice);
    const seenTopics: string[] = [];
    client.on("message", (topic) => {
      if (!topic.endsWith("_reply") && !topic.includes("/rrpc/response/")) seenTopics.push(topic);
    });
    expect(await emulator.invokeService(alice, "Reboot", { delayS: 3 })).toMatchObject({
      code: 200,
      data: { rebootIn: 3 },
    });
    const sync = await emulator.invokeService(alice, "Reboot", { delayS: 1 }, { sync: true, timeoutMs: 2_000 });
    expect(sync).toMatchObject({ code: 200, data: { rebootIn: 3 } });
    expect(await emulator.invokeService(alice, "Refuse", {})).toMatchObject({ code: 6100 });
    expect(calls.map((c) => c.method)).toEqual([
      "thing.service.Reboot",
      "thing.service.Reboot",
      "thing.service.Refuse",
    ]);
    expect(seenTopics[0]).toBe(`/sys/${alice.productKey}/${alice.deviceName}/thing/service/Reboot`);
    expect(seenTopics[1]).toMatch(new RegExp(`^/sys/${alice.productKey}/${alice.deviceName}/rrpc/request/\\d+$`));
  });

  it("an offline device, a silent device and a bad service name are errors", async () => {
    await expect(emulator.setProperty(bob, { Power: 1 })).rejects.toMatchObject({ code: "emulator.device_offline" });
    await pool.connect(emulator.url, signConnect({ triad: bob, style: "c" })); // subscribes to nothing, answers nothing
    await expect(emulator.invokeService(bob, "Reboot", {}, { timeoutMs: 100 })).rejects.toMatchObject({
      code: "alink.reply_timeout",
    });
    await expect(emulator.invokeService(bob, "bad/name", {})).rejects.toMatchObject({ code: "alink.bad_topic" });
  });
});

describe("NTP", () => {
  it("answers /ext/ntp/…/request with deviceSendTime echoed and the server times of the injected clock", async () => {
    const client = await pool.connect(emulator.url, signConnect({ triad: alice, style: "c" }));
    await client.subscribeAsync(ntpResponseTopic(alice));
    const response = nextMessage(client, (t) => t === ntpResponseTopic(alice));
    client.publish(ntpRequestTopic(alice), Buffer.from(encodeNtpRequest({ deviceSendTime: 5_000 })));
    const ntp = decodeNtpResponse(new Uint8Array((await response).payload));
    expect(ntp.deviceSendTime).toBe(5_000);
    expect(ntp.serverRecvTime % 7).toBe(1_700_000_000_000 % 7);
    expect(ntp.serverSendTime).toBeGreaterThan(ntp.serverRecvTime);
    // With 40 ms on the device's own clock for the round trip, the formula lands between the two server times + 40.
    const utc = ntpUtcMs({ ...ntp, deviceRecvTime: 5_040 });
    expect(utc).toBe(Math.floor((ntp.serverRecvTime + ntp.serverSendTime + 40) / 2));
  });
});

describe("topic ACL", () => {
  it("refuses another device's topics, logs and emits aclDenied", async () => {
    const denied = collect(emulator, "aclDenied");
    const warnings: Record<string, unknown>[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (obj: Record<string, unknown>) => warnings.push(obj) };
    const strict = await PlatformEmulator.start({ registry, logger });
    try {
      const deniedHere = collect(strict, "aclDenied");
      const eve = await pool.connect(strict.url, signConnect({ triad: bob, style: "c" }));
      const foreign = `/sys/${alice.productKey}/${alice.deviceName}/thing/service/+`;
      const own = `/sys/${bob.productKey}/${bob.deviceName}/#`;
      const suback = await eve.subscribeAsync([foreign, "/sys/+/+/thing/#", own]).then(
        () => undefined,
        (e: { packet?: { granted?: number[] } }) => e.packet?.granted,
      );
      expect(suback).toEqual([128, 128, 0]);
      const cut = new Promise<void>((resolve) => eve.once("close", () => resolve()));
      eve.publish(
        propertyPostTopic(alice),
        Buffer.from(encodeRequest({ id: "1", params: {}, method: "thing.event.property.post" })),
      );
      await cut;
      expect(deniedHere.map(([d]) => [d.action, d.topic])).toEqual([
        ["subscribe", foreign],
        ["subscribe", "/sys/+/+/thing/#"],
        ["publish", propertyPostTopic(alice)],
      ]);
      expect(warnings.map((w) => w.event)).toEqual(["aclDenied", "aclDenied", "aclDenied"]);
      expect(JSON.stringify(warnings)).not.toContain(bob.deviceSecret);
      expect(denied).toEqual([]);
    } finally {
      await pool.endAll();
      await strict.close();
    }
  });
});

describe("rate limit", () => {
  it("answers 429 instead of processing once a device exceeds its bucket", async () => {
    const limited = await PlatformEmulator.start({ registry, rateLimit: { messagesPerSecond: 1, burst: 3 } });
    try {
      const events = collect(limited, "rateLimited");
      const requests = collect(limited, "request");
      const client = await pool.connect(limited.url, signConnect({ triad: alice, style: "c" }));
      await client.subscribeAsync(`${propertyPostTopic(alice)}_reply`);
      const codes = new Map<string, number>();
      client.on("message", (_t, payload) => {
        const reply = decodeReply(new Uint8Array(payload));
        codes.set(reply.id, reply.code);
      });
      for (let i = 1; i <= 6; i++) {
        const body = encodeRequest({ id: String(i), params: { n: i }, method: "thing.event.property.post" });
        client.publish(propertyPostTopic(alice), Buffer.from(body));
      }
      await expect.poll(() => codes.size).toBe(6);
      expect([...codes.entries()].sort()).toEqual([
        ["1", 200],
        ["2", 200],
        ["3", 200],
        ["4", 429],
        ["5", 429],
        ["6", 429],
      ]);
      expect(events).toHaveLength(3);
      expect(requests).toHaveLength(3);
      expect(limited.messages({ deviceName: alice.deviceName }).map((m) => m.rateLimited)).toEqual([
        false,
        false,
        false,
        true,
        true,
        true,
      ]);
    } finally {
      await pool.endAll();
      await limited.close();
    }
  });
});

describe("received messages", () => {
  it("keeps the newest messages in a bounded ring buffer, filterable by device and topic", async () => {
    const small = await PlatformEmulator.start({ registry, messageBufferSize: 3, rateLimit: false });
    try {
      const client = await pool.connect(small.url, signConnect({ triad: alice, style: "c" }));
      for (let i = 1; i <= 5; i++) {
        const body = encodeRequest({ id: String(i), params: { i }, method: "thing.event.property.post" });
        await client.publishAsync(propertyPostTopic(alice), Buffer.from(body), { qos: 1 });
      }
      await client.publishAsync(`/${alice.productKey}/${alice.deviceName}/user/note`, Buffer.from("hi"), { qos: 1 });
      const all = small.messages();
      expect(all.map((m) => m.seq)).toEqual([4, 5, 6]);
      expect(small.messages({ topic: `/${alice.productKey}/${alice.deviceName}/user/#` })).toHaveLength(1);
      expect(small.messages({ deviceName: bob.deviceName })).toEqual([]);
      expect(small.messages({ afterSeq: 5 }).map((m) => new TextDecoder().decode(m.payload))).toEqual(["hi"]);
    } finally {
      await pool.endAll();
      await small.close();
    }
  });
});
