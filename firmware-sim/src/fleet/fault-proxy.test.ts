import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { ManualClock, SeededRandom } from "@triadkit/sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connectKeepaliveSec, FaultProxy } from "./fault-proxy.js";

/** An echo server behind the proxy; clients bound to chosen 127.x addresses. */
let echo: Server;
let proxy: FaultProxy;
const sockets: Socket[] = [];

beforeEach(async () => {
  echo = createServer((s) => {
    s.on("error", () => {}); // the proxy resets the upstream leg in the outage test
    s.pipe(s);
  });
  echo.listen(0, "127.0.0.1");
  await once(echo, "listening");
  const port = (echo.address() as { port: number }).port;
  proxy = await FaultProxy.start({ target: { host: "127.0.0.1", port }, random: new SeededRandom(1) });
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await proxy.close();
  await new Promise((resolve) => echo.close(resolve));
});

async function client(localAddress: string): Promise<Socket> {
  const s = connect({ host: "127.0.0.1", port: proxy.port, localAddress });
  sockets.push(s);
  await once(s, "connect");
  return s;
}

/** Sends `text` and collects what comes back within `ms` real milliseconds. */
async function roundTrip(s: Socket, text: string, ms = 150): Promise<string> {
  let got = "";
  const onData = (b: Buffer) => {
    got += b.toString();
  };
  s.on("data", onData);
  s.write(text);
  await new Promise((r) => setTimeout(r, ms));
  s.off("data", onData);
  return got;
}

describe("FaultProxy", () => {
  it("forwards bytes both ways when no rule matches", async () => {
    expect(await roundTrip(await client("127.1.0.1"), "hello")).toBe("hello");
  });

  it("drops the traffic of a partitioned address only, and lets it through once healed", async () => {
    const a = await client("127.1.0.1");
    const b = await client("127.1.0.2");
    proxy.setRule("p", { mode: "drop" }, ["127.1.0.1"]);
    expect(await roundTrip(a, "lost")).toBe("");
    expect(await roundTrip(b, "kept")).toBe("kept");
    proxy.healAddress("127.1.0.1");
    expect(await roundTrip(a, "back")).toBe("back");
    expect(proxy.figures().droppedBytes).toBe(4);
  });

  it("holds paused bytes and delivers them in order when the rule is lifted", async () => {
    const a = await client("127.1.0.3");
    proxy.setRule("pause", { mode: "pause" });
    expect(await roundTrip(a, "one,")).toBe("");
    let got = "";
    a.on("data", (d: Buffer) => {
      got += d.toString();
    });
    a.write("two");
    await new Promise((r) => setTimeout(r, 50));
    proxy.removeRule("pause");
    await new Promise((r) => setTimeout(r, 150));
    expect(got).toBe("one,two");
  });

  it("resets live connections and refuses new ones during an outage", async () => {
    const a = await client("127.1.0.4");
    a.on("error", () => {});
    const closed = new Promise((resolve) => a.once("close", resolve));
    proxy.setRule("outage", { mode: "reset" });
    await closed;
    const refused = connect({ host: "127.0.0.1", port: proxy.port, localAddress: "127.1.0.5" });
    sockets.push(refused);
    refused.on("error", () => {});
    await new Promise((resolve) => refused.once("close", resolve));
    expect(proxy.figures().resets).toBeGreaterThanOrEqual(2);
    proxy.clearRules();
    expect(await roundTrip(await client("127.1.0.6"), "up")).toBe("up");
  });

  it("delays bytes and keeps their order under jitter", async () => {
    const a = await client("127.1.0.7");
    proxy.setRule("lag", { mode: "delay", delayMs: 40, jitterMs: 30 });
    let got = "";
    a.on("data", (d: Buffer) => {
      got += d.toString();
    });
    for (const part of ["a", "b", "c", "d"]) a.write(part);
    await new Promise((r) => setTimeout(r, 400));
    expect(got).toBe("abcd");
  });
});

/** An MQTT 3.1.1 CONNECT with the given keepalive (client id "d"). */
function connectPacket(keepaliveSec: number): Buffer {
  const body = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, keepaliveSec >> 8, keepaliveSec & 0xff, 0, 1, 0x64]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

describe("connectKeepaliveSec", () => {
  it("reads the keepalive of a CONNECT, and nothing from other or short packets", () => {
    expect(connectKeepaliveSec(connectPacket(300))).toBe(300);
    expect(connectKeepaliveSec(connectPacket(60).subarray(0, 10))).toBeUndefined();
    expect(connectKeepaliveSec(Buffer.from([0xc0, 0]))).toBeUndefined(); // PINGREQ
  });
});

describe("FaultProxy with a clock: the broker's keepalive", () => {
  let clock: ManualClock;
  let sink: Server;
  let target: Socket[];
  let timed: FaultProxy;

  beforeEach(async () => {
    clock = new ManualClock();
    target = [];
    sink = createServer((s) => {
      s.on("error", () => {});
      target.push(s);
    });
    sink.listen(0, "127.0.0.1");
    await once(sink, "listening");
    const port = (sink.address() as { port: number }).port;
    timed = await FaultProxy.start({ target: { host: "127.0.0.1", port }, random: new SeededRandom(1), clock });
  });

  afterEach(async () => {
    await timed.close();
    for (const s of target) s.destroy();
    await new Promise((resolve) => sink.close(resolve));
  });

  /** A client through `timed` that sent a CONNECT with a 10 s keepalive, and the broker's end of it. */
  async function session(): Promise<{ device: Socket; broker: Socket }> {
    const device = connect({ host: "127.0.0.1", port: timed.port, localAddress: "127.1.0.9" });
    sockets.push(device);
    device.on("error", () => {});
    await once(device, "connect");
    device.write(connectPacket(10));
    while (target.length === 0) await sleep(5);
    const broker = target[0] as Socket;
    await once(broker, "data");
    return { device, broker };
  }

  it("closes the broker's leg 1.5 keepalives of clock time after the last packet got through, not before", async () => {
    const { device, broker } = await session();
    clock.advance(5_000);
    device.write(Buffer.from([0xc0, 0])); // a PINGREQ at 5 s still reaches the broker
    await once(broker, "data");
    timed.setRule("p", { mode: "drop" }, ["127.1.0.9"]);
    clock.advance(14_999); // 14.999 s since the last packet got through
    await sleep(50);
    expect(broker.destroyed || broker.readableEnded).toBe(false);
    expect(timed.figures().keepaliveExpired).toBe(0);
    const closed = once(broker, "close");
    clock.advance(1); // 20 s = 5 s + 1.5 × 10 s
    await closed;
    expect(timed.figures().keepaliveExpired).toBe(1);
    // The device is not told (a partition): its socket is still open until the network is back.
    await sleep(50);
    expect(device.destroyed).toBe(false);
    const reset = new Promise<Error | undefined>((resolve) => {
      device.once("error", resolve);
      device.once("close", () => resolve(undefined));
    });
    timed.healAddress("127.1.0.9"); // the broker no longer knows the connection: reset
    expect((await reset) as NodeJS.ErrnoException | undefined).toMatchObject({ code: "ECONNRESET" });
  });

  it("never expires a link that passes traffic, however long it is quiet on the clock", async () => {
    const { broker } = await session();
    clock.advance(3_600_000);
    await sleep(50);
    expect(broker.destroyed || broker.readableEnded).toBe(false);
    expect(timed.figures().keepaliveExpired).toBe(0);
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
