import { connect } from "node:net";
import { TriadkitError } from "@triadkit/protocol";
import type { BleCentralRef } from "@triadkit/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { connectAir, parseAirUrl, type RemoteAir } from "./air-client.js";
import { type AirServer, startAirServer } from "./air-server.js";

const SVC = "fff0";
let server: AirServer | undefined;
const clients: RemoteAir[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await server?.close();
  server = undefined;
});

async function setup(air: Parameters<typeof startAirServer>[0] = {}) {
  server = await startAirServer(air);
  const board = await connectAir(server.url);
  const station = await connectAir(server.url);
  clients.push(board, station);
  const writes: [number[], string][] = [];
  const peripheral = board.peripheral({ address: "c0ffee000001" });
  await peripheral.setServices([
    {
      uuid: SVC,
      characteristics: [
        {
          uuid: "fff1",
          properties: ["write", "writeWithoutResponse"],
          onWrite: (d, c: BleCentralRef) => void writes.push([[...d], c.address]),
        },
        { uuid: "fff2", properties: ["notify"] },
        { uuid: "fff3", properties: ["read"], onRead: async () => new Uint8Array([4, 5, 6]) },
        {
          uuid: "fff4",
          properties: ["write"],
          onWrite: () => {
            throw new Error("refused by the board");
          },
        },
      ],
    },
  ]);
  await peripheral.startAdvertising({
    localName: "triad",
    serviceUuids: [SVC],
    manufacturerData: new Uint8Array([0xa8, 1]),
  });
  return { board, station, peripheral, writes };
}

describe("air server and clients (in process, over TCP)", () => {
  it("parses air URLs, loopback by default", () => {
    expect(parseAirUrl("air://127.0.0.1:4000")).toEqual({ host: "127.0.0.1", port: 4000 });
    expect(parseAirUrl("air://[::1]:4000")).toEqual({ host: "::1", port: 4000 });
    expect(() => parseAirUrl("http://127.0.0.1:4000")).toThrow(TriadkitError);
    expect(() => parseAirUrl("air://127.0.0.1:0")).toThrow(TriadkitError);
  });

  it("a peripheral and a central on different links scan, connect, write, read, notify, disconnect", async () => {
    const { station, peripheral, writes } = await setup();
    expect(server?.url).toMatch(/^air:\/\/127\.0\.0\.1:\d+$/);
    expect(peripheral.address).toBe("c0ffee000001");
    const events: string[] = [];
    peripheral.on("connect", (c) => events.push(`connect ${c.address} ${c.mtu}`));
    peripheral.on("disconnect", (c) => events.push(`disconnect ${c.address}`));
    const central = station.central({ address: "0a0b0c0d0e0f" });
    const found: string[] = [];
    const controller = new AbortController();
    await central.scan({ serviceUuids: [SVC], timeoutMs: 5000, signal: controller.signal }, (p) => {
      found.push(
        `${p.address} ${p.rssi} ${p.advertisement.localName} ${[...(p.advertisement.manufacturerData ?? [])]}`,
      );
      controller.abort();
    });
    expect(found).toEqual(["c0ffee000001 -60 triad 168,1"]);
    const conn = await central.connect("C0:FF:EE:00:00:01", { mtu: 100 });
    expect(conn.mtu).toBe(100);
    await conn.write(SVC, "fff1", new Uint8Array([1, 2]));
    expect(writes).toEqual([[[1, 2], "0a0b0c0d0e0f"]]);
    expect(await conn.read(SVC, "fff3")).toEqual(new Uint8Array([4, 5, 6]));
    const failed = await conn.write(SVC, "fff4", new Uint8Array([1])).catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: "ble.gatt_error" });
    expect((failed as Error).message).toContain("refused by the board");
    expect(await conn.write(SVC, "fff1", new Uint8Array(98)).catch((e: TriadkitError) => e.code)).toBe(
      "ble.payload_too_large",
    );
    const notes: number[][] = [];
    const unsubscribe = await conn.subscribe(SVC, "fff2", (d) => notes.push([...d]));
    await peripheral.notify("fff2", new Uint8Array([7]));
    await expect.poll(() => notes).toEqual([[7]]);
    await unsubscribe();
    const other = station.central();
    expect(await other.connect("c0ffee000001").catch((e: TriadkitError) => e.code)).toBe("ble.busy");
    let down = false;
    conn.onDisconnect(() => {
      down = true;
    });
    await peripheral.disconnect();
    await expect.poll(() => down).toBe(true);
    expect(events).toEqual(["connect 0a0b0c0d0e0f 100", "disconnect 0a0b0c0d0e0f"]);
    expect(await conn.write(SVC, "fff1", new Uint8Array([1])).catch((e: TriadkitError) => e.code)).toBe(
      "ble.not_connected",
    );
  });

  it("a client that goes away takes its peripheral off the air: the central sees a disconnect", async () => {
    const { board, station } = await setup();
    const conn = await station.central().connect("c0ffee000001");
    let down = false;
    conn.onDisconnect(() => {
      down = true;
    });
    await board.close();
    await expect.poll(() => down).toBe(true);
    expect(
      await station
        .central()
        .connect("c0ffee000001")
        .catch((e: TriadkitError) => e.code),
    ).toBe("ble.not_found");
  });

  it("the server going away rejects pending calls with ble.not_connected", async () => {
    const { station } = await setup({ air: { latencyMs: 200 } });
    const central = station.central();
    const connecting = central.connect("c0ffee000001").catch((e: TriadkitError) => e.code);
    await new Promise((r) => setTimeout(r, 50));
    await server?.close();
    server = undefined;
    expect(await connecting).toBe("ble.not_connected");
    await expect(station.central().connect("c0ffee000001")).rejects.toMatchObject({ code: "ble.not_connected" });
  });

  it("refuses garbage on the socket without harming other clients", async () => {
    const { station } = await setup();
    const raw = connect(server?.port as number, "127.0.0.1");
    await new Promise((r) => raw.once("connect", r));
    const closed = new Promise((r) => raw.once("close", r));
    raw.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0]));
    await closed;
    const conn = await station.central().connect("c0ffee000001");
    expect(conn.mtu).toBe(247);
  });

  it("connectAir to nothing is ble.unavailable", async () => {
    const s = await startAirServer();
    const url = s.url;
    await s.close();
    await expect(connectAir(url)).rejects.toMatchObject({ code: "ble.unavailable" });
  });
});
