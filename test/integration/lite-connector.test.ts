/**
 * The SDK's light MQTT 3.1.1 connector (`liteConnector`) on real sockets: against the platform emulator's aedes
 * (TCP and TLS), against a scripted broker made of `mqtt-packet` (to withhold acks and pings), and against the
 * Mosquitto at 127.0.0.1:1883 (skipped loudly when absent; TRIADKIT_REQUIRE_SERVICES=1 makes that a failure).
 */
import { createServer, type Server, type Socket } from "node:net";
import { MemoryDeviceDirectory, PlatformEmulator } from "@triadkit/firmware-sim";
import { type AlibabaTriad, decodeReply, encodeRequest, signConnect } from "@triadkit/protocol";
import {
  createDevice,
  createLiteConnector,
  type Device,
  liteConnector,
  type MqttConnection,
  type MqttConnectOptions,
} from "@triadkit/sdk";
import mqttPacket, { type Packet } from "mqtt-packet";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MOSQUITTO, requireService } from "../helpers/services.js";
import { createTlsFixture, type TlsFixture } from "../helpers/tls-fixture.js";
import { newTriad } from "./emulator-harness.js";

const enc = (s: string) => new TextEncoder().encode(s);
const opened: MqttConnection[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => new Promise<void>((r) => c.end(true, () => r()))));
});

/** What one connection reported, in order. */
interface Trace {
  readonly conn: MqttConnection;
  readonly errors: (Error & { code?: number | string })[];
  readonly messages: { topic: string; payload: string }[];
  readonly closed: Promise<void>;
  /** Resolves on CONNACK 0, rejects with the first error (a refusal or a socket error). */
  readonly connected: Promise<void>;
}

function open(url: string, options: Partial<MqttConnectOptions> & { triad?: AlibabaTriad }, connector = liteConnector) {
  const creds = signConnect({
    triad: options.triad ?? newTriad(),
    style: "c",
    secureMode: url.startsWith("mqtts") ? 2 : 3,
  });
  const conn = connector(url, {
    ...creds,
    keepalive: 60,
    connectTimeout: 10_000,
    rejectUnauthorized: true,
    ...options,
  });
  opened.push(conn);
  const errors: Trace["errors"] = [];
  const messages: Trace["messages"] = [];
  const closed = new Promise<void>((resolve) => conn.on("close", resolve));
  const connected = new Promise<void>((resolve, reject) => {
    conn.on("connect", resolve);
    conn.on("error", (err) => {
      errors.push(err);
      reject(err);
    });
  });
  connected.catch(() => undefined);
  conn.on("message", (topic, payload) => messages.push({ topic, payload: Buffer.from(payload).toString("utf8") }));
  return { conn, errors, messages, closed, connected } satisfies Trace;
}

const subscribe = (conn: MqttConnection, filters: string[]) =>
  new Promise<{ topic: string; qos: number }[]>((resolve, reject) =>
    conn.subscribe(filters, { qos: 1 }, (err, granted) => (err ? reject(err) : resolve(granted ?? []))),
  );
const publish = (conn: MqttConnection, topic: string, payload: string, qos: 0 | 1) =>
  new Promise<void>((resolve, reject) =>
    conn.publish(topic, enc(payload), { qos }, (err) => (err ? reject(err) : resolve())),
  );

describe("liteConnector against the platform emulator (aedes)", () => {
  const triads = Array.from({ length: 4 }, () => newTriad());
  let tls: TlsFixture;
  let emulator: PlatformEmulator;
  beforeAll(async () => {
    tls = await createTlsFixture();
    emulator = await PlatformEmulator.start({
      directory: new MemoryDeviceDirectory(triads),
      tls: { certPem: tls.certPem, keyPem: tls.keyPem },
      rateLimit: false,
    });
  });
  afterAll(async () => {
    await emulator?.close();
    await tls?.cleanup();
  });

  it("logs in, subscribes, publishes QoS 1 (acked) and receives the platform's replies", async () => {
    const triad = triads[0] as AlibabaTriad;
    const t = open(emulator.url, { triad });
    await t.connected;
    const base = `/sys/${triad.productKey}/${triad.deviceName}`;
    const granted = await subscribe(t.conn, [
      `${base}/thing/event/+/post_reply`,
      `/ext/ntp/${triad.productKey}/${triad.deviceName}/response`,
    ]);
    expect(granted.map((g) => g.qos)).toEqual([1, 1]);
    const request = encodeRequest({ id: "41", params: { T: 1 }, method: "thing.event.property.post" });
    await new Promise<void>((resolve, reject) =>
      t.conn.publish(`${base}/thing/event/property/post`, request, { qos: 1 }, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    await publish(t.conn, `/ext/ntp/${triad.productKey}/${triad.deviceName}/request`, '{"deviceSendTime":"1"}', 0);
    await expect
      .poll(() => t.messages.map((m) => m.topic).sort())
      .toEqual([
        `/ext/ntp/${triad.productKey}/${triad.deviceName}/response`,
        `${base}/thing/event/property/post_reply`,
      ]);
    const reply = t.messages.find((m) => m.topic.endsWith("post_reply"));
    expect(decodeReply(enc(reply?.payload ?? ""))).toMatchObject({ id: "41", code: 200 });
    expect(t.errors).toEqual([]);
  });

  it("a wrong secret is CONNACK 5 with code 5, then close; an unknown device too", async () => {
    const wrong = open(emulator.url, { triad: { ...(triads[1] as AlibabaTriad), deviceSecret: "x".repeat(32) } });
    await expect(wrong.connected).rejects.toMatchObject({ code: 5, message: "Connection refused: Not authorized" });
    await wrong.closed;
    const unknown = open(emulator.url, {});
    await expect(unknown.connected).rejects.toMatchObject({ code: 5 });
    await unknown.closed;
  });

  it("a refused subscription (another device's topic) fails with code 0x80", async () => {
    const t = open(emulator.url, { triad: triads[1] as AlibabaTriad });
    await t.connected;
    const other = triads[2] as AlibabaTriad;
    await expect(
      subscribe(t.conn, [`/sys/${other.productKey}/${other.deviceName}/thing/service/+`]),
    ).rejects.toMatchObject({ code: 0x80 });
  });

  it("connects over TLS with the test CA (by IP and by name); another CA is refused by the client", async () => {
    const byIp = open(emulator.tlsUrl as string, { triad: triads[2] as AlibabaTriad, ca: tls.caPem });
    await byIp.connected;
    await expect.poll(() => emulator.onlineDevices().filter((d) => d.transport === "tls").length).toBe(1);
    const byName = open(`mqtts://localhost:${emulator.tlsPort}`, { triad: triads[3] as AlibabaTriad, ca: tls.caPem });
    await byName.connected;
    const bad = open(emulator.tlsUrl as string, { triad: triads[3] as AlibabaTriad, ca: tls.wrongCaPem });
    const err = await bad.connected.then(
      () => undefined,
      (e: unknown) => e as { code?: string },
    );
    expect(err?.code).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED_CERT_IN_CHAIN/);
    await bad.closed;
    const refused = open(emulator.tlsUrl as string, {
      triad: { ...(triads[3] as AlibabaTriad), deviceSecret: "y".repeat(32) },
      ca: tls.caPem,
    });
    await expect(refused.connected).rejects.toMatchObject({ code: 5 });
  });

  it("the broker going away closes the connection; later publishes fail", async () => {
    const triad = newTriad();
    const own = await PlatformEmulator.start({ directory: new MemoryDeviceDirectory([triad]), rateLimit: false });
    const t = open(own.url, { triad });
    await t.connected;
    await own.close();
    await t.closed;
    await expect(publish(t.conn, "/x", "late", 1)).rejects.toThrow("Connection closed");
    await expect(publish(t.conn, "/x", "late", 0)).rejects.toThrow("Connection closed");
  });
});

/** A broker scripted by the test: it answers CONNACK with `returnCode` and otherwise only what `onPacket` sends. */
class ScriptedBroker {
  readonly received: Packet[] = [];
  readonly sockets: Socket[] = [];
  returnCode = 0;
  onPacket: ((packet: Packet, socket: Socket) => void) | undefined;
  private constructor(private readonly server: Server) {}

  static async start(): Promise<ScriptedBroker> {
    const server = createServer();
    const broker = new ScriptedBroker(server);
    server.on("connection", (socket) => {
      broker.sockets.push(socket);
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      parser.on("packet", (packet: Packet) => {
        broker.received.push(packet);
        if (packet.cmd === "connect") {
          socket.write(mqttPacket.generate({ cmd: "connack", returnCode: broker.returnCode, sessionPresent: false }));
        } else broker.onPacket?.(packet, socket);
      });
      socket.on("data", (chunk) => parser.parse(chunk));
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return broker;
  }

  get url(): string {
    const address = this.server.address();
    return `mqtt://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
  }

  cmds(): string[] {
    return this.received.map((p) => p.cmd);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe("liteConnector against a scripted broker", () => {
  let broker: ScriptedBroker;
  beforeAll(async () => {
    broker = await ScriptedBroker.start();
  });
  afterEach(() => {
    broker.received.length = 0;
    broker.returnCode = 0;
    broker.onPacket = undefined;
  });
  afterAll(() => broker?.close());

  it("sends CONNECT 3.1.1 with the credentials, clean session and keepalive", async () => {
    const t = open(broker.url, { clientId: "c1", username: "u1", password: "p1", keepalive: 45 });
    await t.connected;
    expect(broker.received[0]).toMatchObject({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 4,
      clean: true,
      clientId: "c1",
      username: "u1",
      keepalive: 45,
    });
    expect((broker.received[0] as { password?: Buffer }).password?.toString()).toBe("p1");
  });

  it.each([
    [1, "Unacceptable protocol version"],
    [2, "Identifier rejected"],
    [3, "Server unavailable"],
    [4, "Bad username or password"],
    [5, "Not authorized"],
  ])("CONNACK %i is an error with that code, then close", async (code, reason) => {
    broker.returnCode = code;
    const t = open(broker.url, {});
    let connected = false;
    t.conn.on("connect", () => {
      connected = true;
    });
    await expect(t.connected).rejects.toMatchObject({ code, message: `Connection refused: ${reason}` });
    await t.closed;
    expect(connected).toBe(false);
  });

  it("no CONNACK within connectTimeout: error `connack timeout`, then close", async () => {
    const held: Socket[] = [];
    const silent = createServer((s) => {
      held.push(s);
      s.on("error", () => undefined);
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const address = silent.address() as { port: number };
    try {
      const t = open(`mqtt://127.0.0.1:${address.port}`, { connectTimeout: 300 });
      await expect(t.connected).rejects.toThrow("connack timeout");
      await t.closed;
    } finally {
      for (const s of held) s.destroy();
      silent.close();
    }
  });

  it("a refused TCP connection is an error with Node's code, then close", async () => {
    const t = open(`mqtt://127.0.0.1:1`, {});
    await expect(t.connected).rejects.toMatchObject({ code: "ECONNREFUSED" });
    await t.closed;
  });

  it("QoS 1 publishes get distinct packet ids and complete on their PUBACK, in any order", async () => {
    const t = open(broker.url, {});
    await t.connected;
    const held: number[] = [];
    broker.onPacket = (p) => {
      if (p.cmd === "publish") held.push(p.messageId as number);
    };
    const done: string[] = [];
    const a = publish(t.conn, "t/a", "A", 1).then(() => done.push("a"));
    const b = publish(t.conn, "t/b", "B", 1).then(() => done.push("b"));
    await expect.poll(() => held.length).toBe(2);
    expect(new Set(held).size).toBe(2);
    const socket = broker.sockets.at(-1) as Socket;
    socket.write(mqttPacket.generate({ cmd: "puback", messageId: held[1] as number }));
    await b;
    expect(done).toEqual(["b"]);
    socket.write(mqttPacket.generate({ cmd: "puback", messageId: held[0] as number }));
    await a;
    expect(done).toEqual(["b", "a"]);
  });

  it("inbound PUBLISH QoS 1 is delivered and acknowledged with its packet id; QoS 0 is not acknowledged", async () => {
    const t = open(broker.url, {});
    await t.connected;
    const socket = broker.sockets.at(-1) as Socket;
    socket.write(
      mqttPacket.generate({
        cmd: "publish",
        topic: "d/1",
        payload: "one",
        qos: 1,
        messageId: 321,
        dup: false,
        retain: false,
      }),
    );
    socket.write(
      mqttPacket.generate({ cmd: "publish", topic: "d/0", payload: "zero", qos: 0, dup: false, retain: false }),
    );
    await expect
      .poll(() => t.messages)
      .toEqual([
        { topic: "d/1", payload: "one" },
        { topic: "d/0", payload: "zero" },
      ]);
    await expect.poll(() => broker.received.filter((p) => p.cmd === "puback")).toMatchObject([{ messageId: 321 }]);
  });

  it("packets split across reads (byte by byte, the length field too) and several in one read all arrive", async () => {
    const t = open(broker.url, {});
    await t.connected;
    const socket = broker.sockets.at(-1) as Socket;
    const big = "x".repeat(300); // a two-byte remaining length
    const one = (topic: string, payload: string) =>
      mqttPacket.generate({ cmd: "publish", topic, payload, qos: 0, dup: false, retain: false });
    const split = one("s/1", big);
    for (const byte of split) {
      socket.write(Buffer.from([byte]));
      await new Promise((r) => setTimeout(r, 1));
    }
    socket.write(Buffer.concat([one("s/2", "a"), one("s/3", "b"), one("s/4", big).subarray(0, 5)]));
    await new Promise((r) => setTimeout(r, 10));
    socket.write(one("s/4", big).subarray(5));
    await expect
      .poll(() => t.messages.map((m) => `${m.topic}:${m.payload.length}`))
      .toEqual(["s/1:300", "s/2:1", "s/3:1", "s/4:300"]);
    expect(t.errors).toEqual([]);
  });

  it("SUBACK: granted QoS per filter; a 0x80 among them fails the subscribe with that code", async () => {
    const t = open(broker.url, {});
    await t.connected;
    let answer = [1, 0];
    broker.onPacket = (p, s) => {
      if (p.cmd === "subscribe")
        s.write(mqttPacket.generate({ cmd: "suback", messageId: p.messageId as number, granted: answer }));
    };
    expect(await subscribe(t.conn, ["a/+", "b/#"])).toEqual([
      { topic: "a/+", qos: 1 },
      { topic: "b/#", qos: 0 },
    ]);
    answer = [0, 0x80];
    await expect(subscribe(t.conn, ["c", "d"])).rejects.toMatchObject({ code: 0x80 });
  });

  it("pings on keepalive; an unanswered PINGREQ closes the connection with `Keepalive timeout`", async () => {
    broker.onPacket = (p, s) => {
      // Answers the first ping only.
      if (p.cmd === "pingreq" && broker.cmds().filter((c) => c === "pingreq").length === 1) {
        s.write(mqttPacket.generate({ cmd: "pingresp" }));
      }
    };
    const t = open(broker.url, { keepalive: 1 });
    await t.connected;
    await t.closed;
    expect(broker.cmds()).toEqual(["connect", "pingreq", "pingreq"]);
    expect(t.errors.map((e) => e.message)).toEqual(["Keepalive timeout"]);
  });

  it("the broker vanishing fails every pending QoS 1 publish and subscribe, then close", async () => {
    const t = open(broker.url, {});
    await t.connected;
    const p1 = publish(t.conn, "t/1", "1", 1);
    const p2 = publish(t.conn, "t/2", "2", 1);
    const s1 = subscribe(t.conn, ["t/#"]);
    await expect.poll(() => broker.cmds().filter((c) => c !== "connect").length).toBe(3);
    (broker.sockets.at(-1) as Socket).destroy();
    await expect(p1).rejects.toThrow("Connection closed");
    await expect(p2).rejects.toThrow("Connection closed");
    await expect(s1).rejects.toThrow("Connection closed");
    await t.closed;
  });

  it("end(false) sends DISCONNECT; end(true) does not; both call back once closed", async () => {
    const soft = open(broker.url, {});
    await soft.connected;
    await new Promise<void>((r) => soft.conn.end(false, r));
    await expect.poll(() => broker.cmds()).toEqual(["connect", "disconnect"]);
    broker.received.length = 0;
    const hard = open(broker.url, {});
    await hard.connected;
    await new Promise<void>((r) => hard.conn.end(true, r));
    await hard.closed;
    await new Promise<void>((r) => hard.conn.end(true, r)); // again: calls back at once
    expect(broker.cmds()).toEqual(["connect"]);
  });

  it("binds the source address it is given", async () => {
    const seen = new Promise<string | undefined>((resolve) => {
      const server = createServer((s) => {
        resolve(s.remoteAddress);
        s.destroy();
        server.close();
      });
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as { port: number }).port;
        open(`mqtt://127.0.0.1:${port}`, {}, createLiteConnector({ localAddress: "127.0.0.7" }));
      });
    });
    expect(await seen).toBe("127.0.0.7");
  });
});

const mosquitto = await requireService("Mosquitto", MOSQUITTO.host, MOSQUITTO.port);

describe.skipIf(!mosquitto)("liteConnector against Mosquitto", () => {
  const url = `mqtt://${MOSQUITTO.host}:${MOSQUITTO.port}`;
  const run = `${process.pid}x${Date.now().toString(36)}`.slice(-12);
  const devices: Device[] = [];
  afterAll(async () => {
    await Promise.all(devices.map((d) => d.close()));
  });

  it("subscribes, publishes QoS 1 (acked) and QoS 0, and receives both", async () => {
    const t = open(url, { clientId: `lite-${run}-a` });
    await t.connected;
    expect(await subscribe(t.conn, [`lite/${run}/#`])).toEqual([{ topic: `lite/${run}/#`, qos: 1 }]);
    await publish(t.conn, `lite/${run}/one`, "q1", 1);
    await publish(t.conn, `lite/${run}/zero`, "q0", 0);
    await expect
      .poll(() => t.messages)
      .toEqual([
        { topic: `lite/${run}/one`, payload: "q1" },
        { topic: `lite/${run}/zero`, payload: "q0" },
      ]);
  });

  it("keeps a quiet connection alive over several keepalive periods (PINGREQ answered)", async () => {
    const t = open(url, { clientId: `lite-${run}-k`, keepalive: 1 });
    await t.connected;
    let closed = false;
    void t.closed.then(() => {
      closed = true;
    });
    // Mosquitto drops a client silent for 1.5 keepalives; we drop it if a PINGRESP is missing.
    await new Promise((r) => setTimeout(r, 3_500));
    expect(closed).toBe(false);
    await publish(t.conn, `lite/${run}/alive`, "still", 1);
    expect(t.errors).toEqual([]);
  });

  it("a taken-over client id closes the first connection and fails its pending callbacks", async () => {
    const first = open(url, { clientId: `lite-${run}-dup` });
    await first.connected;
    const second = open(url, { clientId: `lite-${run}-dup` });
    await second.connected;
    await first.closed;
    await expect(publish(first.conn, `lite/${run}/x`, "late", 1)).rejects.toThrow("Connection closed");
  });

  it("carries a device session (createDevice with connector: liteConnector)", async () => {
    const triad = {
      productKey: "a1MosqTest0",
      deviceName: `lite-${run}`,
      deviceSecret: "abcdefghijklmnopqrstuvwxyz012345",
    };
    const base = `/sys/${triad.productKey}/${triad.deviceName}`;
    const platform = open(url, { clientId: `lite-${run}-platform` });
    await platform.connected;
    await subscribe(platform.conn, [`${base}/thing/event/property/post`]);
    platform.conn.on("message", (topic, payload) => {
      const req = JSON.parse(Buffer.from(payload).toString()) as { id: string };
      platform.conn.publish(
        `${topic}_reply`,
        enc(JSON.stringify({ id: req.id, code: 200, data: {} })),
        { qos: 0 },
        () => undefined,
      );
    });
    const device = createDevice({ triad, brokerUrl: url, ntpResyncSec: 0, connector: liteConnector });
    devices.push(device);
    await device.connect();
    expect((await device.postProperties({ Temperature: 20 })).code).toBe(200);
  });
});
