import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { SeededRandom } from "@triadkit/sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FaultProxy } from "./fault-proxy.js";

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
