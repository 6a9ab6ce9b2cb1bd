import {
  decodeRequest,
  encodeReply,
  encodeRequest,
  expectTriadkitError,
  expectTriadkitErrorAsync,
  FIXED_TIMESTAMP_MS,
  isTriadkitError,
  parseClientId,
  verifyConnect,
} from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { SeededRandom } from "../random.js";
import { createDevice, type Device } from "./device.js";
import { type FakeConnection, FakeNetwork } from "./fake-transport.js";
import type { DeviceOptions } from "./options.js";

const triad = { productKey: "a1B2c3D4e5F", deviceName: "dev001", deviceSecret: "abcdefghijklmnopqrstuvwxyz012345" };
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const flush = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
};

function setup(overrides: Partial<DeviceOptions> = {}) {
  const clock = new ManualClock();
  const network = new FakeNetwork();
  const device = createDevice({
    triad,
    clock,
    random: new SeededRandom(1),
    connector: network.connector,
    ntpResyncSec: 0,
    ...overrides,
  });
  return { clock, network, device };
}

/** Accepts the next connection and waits until the device is online. */
async function goOnline(network: FakeNetwork, device: Device): Promise<FakeConnection> {
  await flush();
  const conn = network.last!;
  conn.accept();
  await flush();
  expect(device.state).toBe("online");
  return conn;
}

/** Replies 200 to every request the device publishes on this connection. */

describe("options", () => {
  it("are validated once, with every problem and its range in the message", () => {
    const err = expectTriadkitError(
      () => createDevice({ triad, keepaliveSec: 10, requestTimeoutMs: 5 } as DeviceOptions),
      "config.invalid",
    );
    expect(err.message).toContain("keepaliveSec must be between 30 and 1200 seconds");
    expect(err.message).toContain("requestTimeoutMs must be between 100 and 300000 milliseconds");
    expect(err.message).not.toContain(triad.deviceSecret);
    expectTriadkitError(() => createDevice({ triad: { ...triad, deviceName: "x" } }), "triad.bad_device_name");
  });

  it("default to TLS on the classic endpoint (443 in C style, 1883 in Node style)", () => {
    const { network, device } = setup();
    void device.connect().catch(() => undefined);
    return flush().then(() => {
      expect(network.last?.url).toBe("mqtts://a1B2c3D4e5F.iot-as-mqtt.cn-shanghai.aliyuncs.com:443");
      const node = setup({ wireStyle: "node", region: "ap-southeast-1" });
      void node.device.connect().catch(() => undefined);
      return flush().then(() =>
        expect(node.network.last?.url).toBe("mqtts://a1B2c3D4e5F.iot-as-mqtt.ap-southeast-1.aliyuncs.com:1883"),
      );
    });
  });
});

describe("connect, time and credentials", () => {
  it("signs with the fixed timestamp before NTP, with the corrected clock after, re-signing every attempt", async () => {
    const { clock, network, device } = setup({ brokerUrl: "mqtt://127.0.0.1:18830", ntpResyncSec: 3600 });
    void device.connect();
    const first = await goOnline(network, device);
    expect(parseClientId(first.options.clientId).fields.get("timestamp")).toBe(FIXED_TIMESTAMP_MS);
    expect(() => verifyConnect({ ...first.options }, () => triad.deviceSecret)).not.toThrow();
    // The device asked for the time; the platform answers: it is 2026, the board thinks 1970.
    const ntp = first.published.find((p) => p.topic === "/ext/ntp/a1B2c3D4e5F/dev001/request");
    expect(ntp).toBeDefined();
    const sent = JSON.parse(text(ntp!.payload)) as { deviceSendTime: string };
    clock.advance(40);
    first.deliver(
      "/ext/ntp/a1B2c3D4e5F/dev001/response",
      JSON.stringify({
        deviceSendTime: sent.deviceSendTime,
        serverRecvTime: "1795000000020",
        serverSendTime: "1795000000021",
      }),
    );
    await flush();
    // Link SDK 4 formula: utc = (serverRecv + serverSend + deviceRecv - deviceSend) / 2, offset = utc - deviceRecv.
    expect(device.timeOffsetMs).toBe(Math.floor((1795000000020 + 1795000000021 + 40 - 0) / 2) - 40);
    first.close();
    await flush();
    expect(device.state).toBe("backoff");
    clock.advance(60_000);
    await flush();
    const second = network.last!;
    const ts = Number(parseClientId(second.options.clientId).fields.get("timestamp"));
    expect(ts).toBeGreaterThan(1795000000000);
    expect(second.options.password).not.toBe(first.options.password);
    expect(() => verifyConnect({ ...second.options }, () => triad.deviceSecret)).not.toThrow();
    await device.close();
  });

  it("backs off longer after an auth refusal, and does not reset for a connection that drops at once", async () => {
    const { clock, network, device } = setup({ brokerUrl: "mqtt://127.0.0.1:18830" });
    const delays: { delayMs: number; kind: string }[] = [];
    device.on("backoff", (b) => delays.push(b));
    const codes: string[] = [];
    device.on("connectError", (e) => codes.push(e.code));
    void device.connect();
    await flush();
    network.last!.refuse(5);
    await flush();
    expect(codes).toEqual(["session.auth_refused"]);
    expect(delays[0]?.kind).toBe("auth");
    expect(delays[0]!.delayMs).toBeGreaterThanOrEqual(30_000);
    clock.advance(delays[0]!.delayMs);
    await flush();
    // Accepted, then dropped right away, three times: the window keeps growing.
    for (let i = 0; i < 3; i++) {
      const conn = await goOnline(network, device);
      conn.close();
      await flush();
      clock.advance(delays.at(-1)!.delayMs);
      await flush();
    }
    expect(delays.slice(1).map((d) => d.kind)).toEqual(["network", "network", "network"]);
    expect(device.state).toBe("connecting");
    await device.close();
  });

  it("200 devices losing the broker together spread their reconnects (no storm)", async () => {
    const clock = new ManualClock();
    const network = new FakeNetwork();
    network.onConnect = (c) => c.accept();
    const random = new SeededRandom(42);
    const devices = Array.from({ length: 200 }, (_, i) =>
      createDevice({
        triad: { ...triad, deviceName: `dev${String(i).padStart(4, "0")}` },
        brokerUrl: "mqtt://127.0.0.1:18830",
        clock,
        random,
        connector: network.connector,
        ntpResyncSec: 0,
      }),
    );
    await Promise.all(devices.map((d) => d.connect()));
    const firstRetry = new Map<string, number>();
    network.onConnect = (c) => {
      if (!firstRetry.has(c.options.username)) firstRetry.set(c.options.username, clock.monotonicMs());
      c.refuse(3); // server unavailable: keep them failing so we see the first retry of each
    };
    const t0 = clock.monotonicMs();
    for (const c of [...network.connections]) c.close();
    await flush();
    for (let ms = 0; ms < 1_000; ms += 10) {
      clock.advance(10);
      await flush(1);
    }
    await flush();
    expect(firstRetry.size).toBe(200);
    const offsets = [...firstRetry.values()].map((t) => t - t0);
    // Full jitter over the first 1 s window: no 100 ms slot holds more than a fifth of the fleet,
    // and the retries cover most of the window instead of arriving together.
    const slots = new Array(10).fill(0) as number[];
    for (const o of offsets) slots[Math.min(9, Math.floor(o / 100))]!++;
    expect(Math.max(...slots)).toBeLessThanOrEqual(40);
    expect(Math.max(...offsets) - Math.min(...offsets)).toBeGreaterThan(800);
    await Promise.all(devices.map((d) => d.close()));
  });
});

describe("requests, queue and rate limits", () => {
  it("queues while offline, sends in order once online, and resolves with the replies", async () => {
    const { network, device } = setup({ brokerUrl: "mqtt://127.0.0.1:18830" });
    network.onPublish = (conn, topic, payload) => {
      if (!topic.endsWith("/post")) return;
      const req = decodeRequest(payload);
      queueMicrotask(() => conn.deliver(`${topic}_reply`, encodeReply({ id: req.id, code: 200, data: {} })));
    };
    const replies = [1, 2, 3].map((n) => device.postProperties({ n }));
    void device.connect();
    const conn = await goOnline(network, device);
    const results = await Promise.all(replies);
    expect(results.map((r) => r.code)).toEqual([200, 200, 200]);
    const sent = conn.published.filter((p) => p.topic.endsWith("property/post"));
    expect(sent.map((p) => (decodeRequest(p.payload).params as { n: number }).n)).toEqual([1, 2, 3]);
    expect(sent.every((p) => p.qos === 1)).toBe(true);
    expect(device.pendingRequests).toBe(0);
    await device.close();
  });

  it("times out a request from when it was sent, and leaves nothing pending", async () => {
    const { clock, network, device } = setup({ brokerUrl: "mqtt://127.0.0.1:18830", requestTimeoutMs: 5_000 });
    void device.connect();
    await goOnline(network, device);
    const p = device.postEvent("Alarm", { level: 1 });
    await flush();
    clock.advance(4_999);
    await flush();
    expect(device.pendingRequests).toBe(1);
    clock.advance(1);
    await expectTriadkitErrorAsync(() => p, "alink.reply_timeout");
    expect(device.pendingRequests).toBe(0);
    await device.close();
  });

  it("counts and reports what is dropped at the queue bound, rejecting those requests", async () => {
    const { device } = setup({ brokerUrl: "mqtt://127.0.0.1:18830", queueLimits: { maxMessages: 3 } });
    const dropped: { count: number; total: number }[] = [];
    device.on("dropped", (d) => dropped.push(d));
    const results = [1, 2, 3, 4, 5].map((n) =>
      device.postProperties({ n }).then(
        () => "sent",
        (e: unknown) => (isTriadkitError(e) ? e.code : "?"),
      ),
    );
    await flush();
    expect(device.queueStats()).toMatchObject({ messages: 3, dropped: 2 });
    expect(dropped.reduce((n, d) => n + d.count, 0)).toBe(2);
    await device.close();
    expect(await Promise.all(results)).toEqual([
      "queue.dropped",
      "queue.dropped",
      "session.closed",
      "session.closed",
      "session.closed",
    ]);
  });

  it("rejects at once when told not to queue", async () => {
    const { device } = setup({ brokerUrl: "mqtt://127.0.0.1:18830" });
    await expectTriadkitErrorAsync(
      () => device.postProperties({ a: 1 }, { whenOffline: "reject" }),
      "session.not_connected",
    );
    await device.close();
  });

  it("slows a message family down after a 429", async () => {
    const { clock, network, device } = setup({
      brokerUrl: "mqtt://127.0.0.1:18830",
      rateLimits: { property: { ratePerSec: 10, burst: 1 } },
    });
    let code = 429;
    network.onPublish = (conn, topic, payload) => {
      if (!topic.endsWith("/post")) return;
      const req = decodeRequest(payload);
      queueMicrotask(() => conn.deliver(`${topic}_reply`, encodeReply({ id: req.id, code, data: {} })));
    };
    void device.connect();
    const conn = await goOnline(network, device);
    expect((await device.postProperties({ a: 1 })).code).toBe(429);
    code = 200;
    const sentAt: number[] = [];
    network.onPublish = (c, topic, payload) => {
      if (!topic.endsWith("/post")) return;
      sentAt.push(clock.monotonicMs());
      const req = decodeRequest(payload);
      queueMicrotask(() => c.deliver(`${topic}_reply`, encodeReply({ id: req.id, code: 200, data: {} })));
    };
    const posts = [1, 2, 3].map((n) => device.postProperties({ n }));
    for (let i = 0; i < 100 && sentAt.length < 3; i++) {
      clock.advance(50);
      await flush(2);
    }
    await Promise.all(posts);
    // Halved to 5/s after the 429: at least ~200 ms between sends (10/s would be 100 ms).
    expect(sentAt[1]! - sentAt[0]!).toBeGreaterThanOrEqual(200);
    expect(sentAt[2]! - sentAt[1]!).toBeGreaterThanOrEqual(200);
    void conn;
    await device.close();
  });
});

describe("downstream", () => {
  it("answers property set, property get, async services and RRPC", async () => {
    const { network, device } = setup({ brokerUrl: "mqtt://127.0.0.1:18830" });
    const set: unknown[] = [];
    device.onPropertySet((p) => {
      set.push(p);
    });
    device.onPropertyGet((keys) => Object.fromEntries(keys.map((k) => [k, 42])));
    device.onService("reboot", (params, ctx) => ({ ok: true, sync: ctx.sync, params }));
    device.onService("fail", () => {
      throw new Error("boom");
    });
    void device.connect();
    const conn = await goOnline(network, device);
    const base = "/sys/a1B2c3D4e5F/dev001";
    conn.deliver(
      `${base}/thing/service/property/set`,
      encodeRequest({ id: "1", params: { Light: 1 }, method: "thing.service.property.set" }),
    );
    conn.deliver(
      `${base}/thing/service/property/get`,
      encodeRequest({ id: "2", params: ["Temp"], method: "thing.service.property.get" }),
    );
    conn.deliver(
      `${base}/thing/service/reboot`,
      encodeRequest({ id: "3", params: { delay: 5 }, method: "thing.service.reboot" }),
    );
    conn.deliver(`${base}/rrpc/request/998877`, encodeRequest({ id: "4", params: {}, method: "thing.service.reboot" }));
    conn.deliver(`${base}/thing/service/fail`, encodeRequest({ id: "5", params: {}, method: "thing.service.fail" }));
    conn.deliver(
      `${base}/thing/service/nobody`,
      encodeRequest({ id: "6", params: {}, method: "thing.service.nobody" }),
    );
    await flush();
    const byTopic = Object.fromEntries(conn.published.map((p) => [p.topic, JSON.parse(text(p.payload))]));
    expect(set).toEqual([{ Light: 1 }]);
    expect(byTopic[`${base}/thing/service/property/set_reply`]).toEqual({ id: "1", code: 200, data: {} });
    expect(byTopic[`${base}/thing/service/property/get_reply`]).toEqual({ id: "2", code: 200, data: { Temp: 42 } });
    expect(byTopic[`${base}/thing/service/reboot_reply`]).toEqual({
      id: "3",
      code: 200,
      data: { ok: true, sync: false, params: { delay: 5 } },
    });
    expect(byTopic[`${base}/rrpc/response/998877`]).toMatchObject({ id: "4", code: 200, data: { sync: true } });
    expect(byTopic[`${base}/thing/service/fail_reply`]).toMatchObject({ id: "5", code: 400 });
    expect(byTopic[`${base}/thing/service/nobody_reply`]).toMatchObject({ id: "6", code: 460 });
    await device.close();
  });

  it("turns platform control into status events and /ext/error into a coded error; garbage never crashes", async () => {
    const { network, device } = setup({ brokerUrl: "mqtt://127.0.0.1:18830" });
    const statuses: string[] = [];
    const errors: string[] = [];
    const bad: string[] = [];
    device.on("platformStatus", (s) => statuses.push(s));
    device.on("platformError", (e) => errors.push(e.code));
    device.on("badMessage", (b) => bad.push(b.error.code));
    void device.connect();
    const conn = await goOnline(network, device);
    const base = "/sys/a1B2c3D4e5F/dev001";
    conn.deliver(`${base}/thing/disable`, encodeRequest({ id: "1", params: {}, method: "thing.disable" }));
    await flush();
    expect(device.platformStatus).toBe("disabled");
    conn.deliver(`${base}/thing/enable`, encodeRequest({ id: "2", params: {}, method: "thing.enable" }));
    conn.deliver(
      "/ext/error/a1B2c3D4e5F/dev001",
      JSON.stringify({ id: "9", code: 520, message: "sub-device session error" }),
    );
    conn.deliver(`${base}/thing/service/property/set`, "{not json");
    await flush();
    expect(statuses).toEqual(["disabled", "enabled"]);
    expect(errors).toEqual(["alink.platform_error"]);
    expect(bad).toEqual(["alink.bad_payload"]);
    expect(conn.published.some((p) => p.topic === `${base}/thing/disable_reply`)).toBe(true);
    conn.deliver(`${base}/thing/delete`, encodeRequest({ id: "3", params: {}, method: "thing.delete" }));
    await flush();
    expect(device.state).toBe("closed");
  });
});

describe("secrets", () => {
  it("never reach the logs or events, whatever happens in a session", async () => {
    const { MemoryLogger } = await import("../logging/index.js");
    const logger = new MemoryLogger();
    const { clock, network, device } = setup({ brokerUrl: "mqtt://10.1.2.3:1883", logger, requestTimeoutMs: 1_000 });
    const events: unknown[] = [];
    for (const e of ["state", "connectError", "backoff", "reply", "platformError", "badMessage"] as const) {
      device.on(e, (...args: unknown[]) => events.push(args));
    }
    void device.connect();
    await flush();
    network.last!.refuse(4);
    await flush();
    clock.advance(600_000);
    const conn = await goOnline(network, device);
    void device.postProperties({ a: 1 }).catch(() => undefined);
    await flush();
    clock.advance(1_000);
    conn.deliver("/ext/error/a1B2c3D4e5F/dev001", JSON.stringify({ code: 400, message: `bad ${triad.deviceSecret}` }));
    conn.close();
    await flush();
    const passwords = network.connections.map((c) => c.options.password);
    const everything = `${logger.text()}\n${JSON.stringify(events, (_k, v) => (v instanceof Error ? { ...v, message: v.message } : v))}`;
    expect(logger.entries.length).toBeGreaterThan(3);
    expect(everything).toContain("plain TCP"); // the loud warning for plain TCP off loopback is there
    for (const secret of [triad.deviceSecret, ...passwords]) {
      expect(logger.text()).not.toContain(secret);
    }
    await device.close();
  });
});
