import { isTriadkitError, TriadkitError } from "@triadkit/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { type Random, SeededRandom } from "../random.js";
import type { BleCentralRef, BleConnection, BlePeripheral, GattServiceSpec } from "./ble.js";
import { createAir } from "./virtual-radio.js";

const SVC = "0000fff0-0000-1000-8000-00805f9b34fb"; // normalises to "fff0"
const RX = "fff1"; // write
const TX = "fff2"; // notify
const RO = "fff3"; // read
const WNR = "fff4"; // write without response
const PERIPHERAL = "c0ffee000001";

const flush = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

async function rejection(p: Promise<unknown>): Promise<TriadkitError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TriadkitError) return err;
    throw err;
  }
  throw new Error("expected a rejection");
}

interface Device {
  readonly peripheral: BlePeripheral;
  readonly writes: { data: Uint8Array; central: BleCentralRef }[];
  readonly events: string[];
}

async function device(peripheral: BlePeripheral, extra: Partial<{ failWrites: boolean; readValue: Uint8Array }> = {}) {
  const d: Device = { peripheral, writes: [], events: [] };
  const services: GattServiceSpec[] = [
    {
      uuid: SVC,
      characteristics: [
        {
          uuid: RX,
          properties: ["write"],
          onWrite(data, central) {
            if (extra.failWrites) throw new Error("handler refused");
            d.writes.push({ data, central });
          },
        },
        { uuid: TX, properties: ["notify"] },
        { uuid: RO, properties: ["read"], onRead: () => extra.readValue ?? new Uint8Array([1, 2, 3]) },
        {
          uuid: WNR,
          properties: ["writeWithoutResponse"],
          onWrite: (data, central) => void d.writes.push({ data, central }),
        },
      ],
    },
  ];
  await peripheral.setServices(services);
  peripheral.on("connect", (c) => d.events.push(`connect ${c.address} ${c.mtu}`));
  peripheral.on("disconnect", (c) => d.events.push(`disconnect ${c.address}`));
  await peripheral.startAdvertising({
    localName: "triad-01",
    serviceUuids: [SVC],
    manufacturerData: new Uint8Array([0xa8, 0x01, 7]),
  });
  return d;
}

describe("virtual radio: scan and connect", () => {
  it("scans advertisements with RSSI, filters by service UUID, ends at the timeout", async () => {
    const clock = new ManualClock();
    const air = createAir({ clock });
    await device(air.peripheral({ address: "C0:FF:EE:00:00:01", rssi: -42 }));
    const other = air.peripheral({ address: "c0ffee000002" });
    await other.startAdvertising({ serviceUuids: ["180d"] });
    const central = air.central();
    const found: string[] = [];
    let done = false;
    const scan = central
      .scan({ serviceUuids: ["FFF0"], timeoutMs: 1000 }, (p) => {
        found.push(`${p.address} ${p.rssi} ${p.advertisement.localName} ${p.advertisement.serviceUuids.join(",")}`);
        expect(p.advertisement.manufacturerData).toEqual(new Uint8Array([0xa8, 0x01, 7]));
      })
      .then(() => {
        done = true;
      });
    await flush();
    expect(found).toEqual(["c0ffee000001 -42 triad-01 fff0"]);
    expect(done).toBe(false);
    clock.advance(1000);
    await scan;
    expect(done).toBe(true);
    const all: string[] = [];
    const zero = central.scan({ timeoutMs: 0 }, (p) => all.push(p.address));
    clock.advance(0);
    await zero;
    expect(all).toEqual([]); // a zero-length scan ends before any report arrives
    const controller = new AbortController();
    const aborted = central.scan({ timeoutMs: 60_000, signal: controller.signal }, (p) => {
      all.push(p.address);
      if (all.length === 2) controller.abort();
    });
    await aborted;
    expect(all.sort()).toEqual(["c0ffee000001", "c0ffee000002"]);
  });

  it("reports a peripheral that starts advertising during a scan, and refuses an oversized advertisement", async () => {
    const air = createAir();
    const central = air.central();
    const found: string[] = [];
    const controller = new AbortController();
    const scan = central.scan({ timeoutMs: 60_000, signal: controller.signal }, (p) => found.push(p.address));
    const p = air.peripheral({ address: PERIPHERAL });
    await flush();
    expect(found).toEqual([]);
    const tooLong = await rejection(p.startAdvertising({ serviceUuids: [], localName: "x".repeat(30) }));
    expect(tooLong.code).toBe("ble.payload_too_large");
    const manyUuids = await rejection(
      p.startAdvertising({
        serviceUuids: [SVC.replace("0000fff0", "12345678"), "0000aaaa-1111-2222-3333-444455556666"],
      }),
    );
    expect(manyUuids.code).toBe("ble.payload_too_large");
    await p.startAdvertising({ serviceUuids: ["fff0"], localName: "x".repeat(29) });
    await flush();
    expect(found).toEqual([PERIPHERAL]);
    controller.abort();
    await scan;
  });

  it("negotiates the MTU: min(central, peripheral, air), 23–517", async () => {
    const cases: [air: number | undefined, peripheral: number | undefined, central: number | undefined, mtu: number][] =
      [
        [undefined, undefined, undefined, 247],
        [undefined, undefined, 23, 23],
        [undefined, 185, undefined, 185],
        [517, undefined, undefined, 517],
        [517, 517, 300, 300],
        [23, 517, 517, 23],
      ];
    for (const [airMtu, maxMtu, requested, expected] of cases) {
      const air = createAir(airMtu === undefined ? {} : { mtu: airMtu });
      const d = await device(air.peripheral({ address: PERIPHERAL, ...(maxMtu === undefined ? {} : { maxMtu }) }));
      const conn = await air
        .central({ address: "0a0b0c0d0e0f" })
        .connect(PERIPHERAL, requested === undefined ? {} : { mtu: requested });
      expect(conn.mtu).toBe(expected);
      expect(d.events).toEqual([`connect 0a0b0c0d0e0f ${expected}`]);
      await air.close();
    }
    const air = createAir();
    await device(air.peripheral({ address: PERIPHERAL }));
    expect((await rejection(air.central().connect(PERIPHERAL, { mtu: 22 }))).code).toBe("config.invalid");
    expect((await rejection(air.central().connect(PERIPHERAL, { mtu: 518 }))).code).toBe("config.invalid");
    expect(() => createAir({ mtu: 600 })).toThrow(TriadkitError);
    expect((await rejection(air.central().connect("c0ffee00ffff"))).code).toBe("ble.not_found");
    expect((await rejection(air.central().connect("not an address"))).code).toBe("config.invalid");
  });

  it("allows one connection per peripheral, which stops advertising until it is free again", async () => {
    const air = createAir();
    const d = await device(air.peripheral({ address: PERIPHERAL }));
    const a = air.central();
    const b = air.central({ address: "0b0b0b0b0b0b" });
    const conn = await a.connect(PERIPHERAL);
    const busy = await rejection(b.connect(PERIPHERAL));
    expect(busy.code).toBe("ble.busy");
    const seen: string[] = [];
    await b.scan({ timeoutMs: 0 }, (p) => seen.push(p.address));
    const controller = new AbortController();
    const scanning = b.scan({ timeoutMs: 60_000, signal: controller.signal }, (p) => seen.push(p.address));
    await flush();
    expect(seen).toEqual([]);
    await conn.disconnect();
    await flush();
    expect(seen).toEqual([PERIPHERAL]); // advertising resumed
    controller.abort();
    await scanning;
    const second = await b.connect(PERIPHERAL);
    await second.write(SVC, RX, new Uint8Array([9]));
    expect(d.writes.map((w) => w.central.address)).toEqual(["0b0b0b0b0b0b"]);
    expect(d.events.filter((e) => e.startsWith("connect")).length).toBe(2);
  });
});

describe("virtual radio: GATT", () => {
  it("writes up to MTU−3 and refuses more (ble.payload_too_large), at MTU 23 and 247", async () => {
    for (const mtu of [23, 247]) {
      const air = createAir();
      const d = await device(air.peripheral({ address: PERIPHERAL }));
      const conn = await air.central().connect(PERIPHERAL, { mtu });
      expect(conn.mtu).toBe(mtu);
      await conn.write(SVC, RX, new Uint8Array(mtu - 3).fill(1));
      const err = await rejection(conn.write(SVC, RX, new Uint8Array(mtu - 2)));
      expect(err.code).toBe("ble.payload_too_large");
      expect(err.context).toMatchObject({ length: mtu - 2, limit: mtu - 3, mtu });
      expect((await rejection(conn.write(SVC, WNR, new Uint8Array(mtu - 2), false))).code).toBe(
        "ble.payload_too_large",
      );
      expect(d.writes.map((w) => w.data.length)).toEqual([mtu - 3]);
      // notifications obey the same bound
      const got: number[] = [];
      await conn.subscribe(SVC, TX, (data) => got.push(data.length));
      await d.peripheral.notify(TX, new Uint8Array(mtu - 3));
      expect((await rejection(d.peripheral.notify(TX, new Uint8Array(mtu - 2)))).code).toBe("ble.payload_too_large");
      await flush();
      expect(got).toEqual([mtu - 3]);
      await air.close();
    }
  });

  it("reads (at most MTU−1 bytes), writes without response, and maps GATT failures to ble.gatt_error", async () => {
    const air = createAir();
    const d = await device(air.peripheral({ address: PERIPHERAL }), { readValue: new Uint8Array(40).fill(7) });
    const conn = await air.central().connect(PERIPHERAL, { mtu: 23 });
    expect(await conn.read(SVC, RO)).toEqual(new Uint8Array(22).fill(7));
    await conn.write("FFF0", WNR, new Uint8Array([5]), false);
    await flush();
    expect(d.writes.map((w) => [...w.data])).toEqual([[5]]);
    const unknown = await rejection(conn.write(SVC, "abcd", new Uint8Array([1])));
    expect(unknown.code).toBe("ble.gatt_error");
    expect(unknown.context).toMatchObject({ attError: "attribute_not_found" });
    expect((await rejection(conn.write(SVC, RO, new Uint8Array([1])))).context).toMatchObject({
      attError: "write_not_permitted",
    });
    expect((await rejection(conn.read(SVC, RX))).context).toMatchObject({ attError: "read_not_permitted" });
    expect((await rejection(conn.subscribe(SVC, RX, () => {}))).code).toBe("ble.gatt_error");
    await air.close();

    const air2 = createAir();
    await device(air2.peripheral({ address: PERIPHERAL }), { failWrites: true });
    const c2 = await air2.central().connect(PERIPHERAL);
    const failed = await rejection(c2.write(SVC, RX, new Uint8Array([1])));
    expect(failed.code).toBe("ble.gatt_error");
    expect(failed.message).toContain("handler refused");
  });

  it("delivers notifications to subscribers only, until they unsubscribe", async () => {
    const air = createAir();
    const d = await device(air.peripheral({ address: PERIPHERAL }));
    const conn = await air.central().connect(PERIPHERAL);
    await d.peripheral.notify(TX, new Uint8Array([0])); // nobody subscribed: nothing sent
    const a: number[] = [];
    const b: number[] = [];
    const unsubA = await conn.subscribe(SVC, TX, (data) => a.push(data[0] as number));
    const unsubB = await conn.subscribe(SVC, TX, (data) => b.push(data[0] as number));
    await d.peripheral.notify(TX, new Uint8Array([1]));
    await flush();
    await unsubA();
    await d.peripheral.notify(TX, new Uint8Array([2]));
    await flush();
    await unsubB();
    await d.peripheral.notify(TX, new Uint8Array([3]));
    await flush();
    expect(a).toEqual([1]);
    expect(b).toEqual([1, 2]);
    expect((await rejection(d.peripheral.notify("9999", new Uint8Array([1])))).code).toBe("ble.gatt_error");
  });

  it("disconnects from either side: events on both, pending requests rejected, nothing delivered afterwards", async () => {
    const clock = new ManualClock();
    const air = createAir({ clock, latencyMs: 10 });
    const d = await device(air.peripheral({ address: PERIPHERAL }));
    const central = air.central({ address: "0a0b0c0d0e0f" });
    const connecting = central.connect(PERIPHERAL);
    clock.advance(20);
    const conn = await connecting;
    let downs = 0;
    conn.onDisconnect(() => downs++);
    const inflight = conn.write(SVC, RX, new Uint8Array([1]));
    const queued = conn.write(SVC, RX, new Uint8Array([2]));
    await flush(); // the first write is on air, the second waits behind it
    await conn.disconnect();
    expect((await rejection(inflight)).code).toBe("ble.not_connected");
    expect((await rejection(queued)).code).toBe("ble.not_connected");
    await flush();
    expect(downs).toBe(1); // the side that hung up hears it at once
    expect(d.events).toEqual(["connect 0a0b0c0d0e0f 247"]);
    clock.advance(10);
    expect(d.events).toEqual(["connect 0a0b0c0d0e0f 247", "disconnect 0a0b0c0d0e0f"]); // the peer after one packet
    clock.advance(100);
    await flush();
    expect(d.writes).toEqual([]); // the in-flight write was discarded with its link
    expect(air.stats().discarded).toBeGreaterThan(0);
    expect((await rejection(conn.write(SVC, RX, new Uint8Array([3])))).code).toBe("ble.not_connected");
    await expect(d.peripheral.notify(TX, new Uint8Array([1]))).rejects.toMatchObject({ code: "ble.not_connected" });

    // peripheral side
    const again = central.connect(PERIPHERAL);
    clock.advance(20);
    const conn2 = await again;
    let down2 = false;
    conn2.onDisconnect(() => {
      down2 = true;
    });
    await d.peripheral.disconnect();
    await flush();
    expect(d.events.at(-1)).toBe("disconnect 0a0b0c0d0e0f");
    expect(down2).toBe(false);
    clock.advance(10);
    expect(down2).toBe(true);
  });
});

describe("virtual radio: latency and loss", () => {
  it("spends one latency per packet on a ManualClock; requests on a link are sequential", async () => {
    const clock = new ManualClock();
    const air = createAir({ clock, latencyMs: 30 });
    const d = await device(air.peripheral({ address: PERIPHERAL }));
    let connected = false;
    const connecting = air
      .central()
      .connect(PERIPHERAL)
      .then((c) => {
        connected = true;
        return c;
      });
    clock.advance(29);
    await flush();
    expect(d.events).toEqual([]);
    clock.advance(1);
    expect(d.events).toHaveLength(1); // CONNECT_IND + MTU request arrived
    await flush();
    expect(connected).toBe(false);
    clock.advance(30);
    const conn = await connecting;
    expect(clock.monotonicMs()).toBe(60);
    const order: string[] = [];
    const w1 = conn.write(SVC, RX, new Uint8Array([1])).then(() => order.push(`w1@${clock.monotonicMs()}`));
    const w2 = conn.write(SVC, RX, new Uint8Array([2])).then(() => order.push(`w2@${clock.monotonicMs()}`));
    for (let i = 0; i < 4; i++) {
      await flush();
      clock.advance(30);
    }
    await Promise.all([w1, w2]);
    expect(order).toEqual(["w1@120", "w2@180"]);
    expect(d.writes.map((w) => w.data[0])).toEqual([1, 2]);
    const notes: number[] = [];
    await Promise.all([
      conn.subscribe(SVC, TX, () => notes.push(clock.monotonicMs())),
      (async () => {
        for (let i = 0; i < 3; i++) {
          await flush();
          clock.advance(30);
        }
      })(),
    ]);
    await d.peripheral.notify(TX, new Uint8Array([1]));
    const at = clock.monotonicMs();
    clock.advance(29);
    expect(notes).toEqual([]);
    clock.advance(1);
    expect(notes).toEqual([at + 30]);
  });

  it("a lost request or response surfaces as ble.timeout after the ATT timeout; lost commands vanish", async () => {
    const clock = new ManualClock();
    const air = createAir({ clock, attTimeoutMs: 5000 });
    const d = await device(air.peripheral({ address: PERIPHERAL }));
    const conn = await air.central().connect(PERIPHERAL);
    air.setConditions({ lossRate: 1 });
    let settled = false;
    const lost = rejection(conn.write(SVC, RX, new Uint8Array([1]))).finally(() => {
      settled = true;
    });
    await flush();
    clock.advance(4999);
    await flush();
    expect(settled).toBe(false);
    clock.advance(1);
    const err = await lost;
    expect(err.code).toBe("ble.timeout");
    expect(err.context).toMatchObject({ op: "write", timeoutMs: 5000 });
    await conn.write(SVC, WNR, new Uint8Array([2]), false); // resolves: a Write Command has no response
    const readLost = rejection(conn.read(SVC, RO));
    await flush();
    clock.advance(5000);
    expect((await readLost).code).toBe("ble.timeout");
    await flush();
    expect(d.writes).toEqual([]);
    expect(air.stats().lost).toBeGreaterThanOrEqual(3);
  });

  it("a lost response leaves the write done on the peripheral but timed out on the central", async () => {
    // Scripted draws: the request gets through (draw ≈ 1), the response is lost (draw 0).
    const draws = [0xff, 0x00];
    const random: Random = {
      bytes: (n) => new Uint8Array(n).fill(draws.shift() ?? 0xff),
    };
    const clock = new ManualClock();
    const air = createAir({ clock, attTimeoutMs: 1000, random });
    const d = await device(air.peripheral({ address: PERIPHERAL }));
    const conn = await air.central({ address: "0a0b0c0d0e0f" }).connect(PERIPHERAL);
    air.setConditions({ lossRate: 0.5 });
    const pending = rejection(conn.write(SVC, RX, new Uint8Array([7])));
    await flush();
    expect(d.writes.map((w) => w.data[0])).toEqual([7]);
    clock.advance(1000);
    expect((await pending).code).toBe("ble.timeout");
  });

  it("a lost connection request times out with ble.timeout and frees the peripheral", async () => {
    const clock = new ManualClock();
    const air = createAir({ clock, lossRate: 1 });
    const d = await device(air.peripheral({ address: PERIPHERAL }));
    const attempt = rejection(air.central().connect(PERIPHERAL, { timeoutMs: 2000 }));
    clock.advance(2000);
    expect((await attempt).code).toBe("ble.timeout");
    expect(d.events).toEqual([]);
    air.setConditions({ lossRate: 0 });
    await air.central().connect(PERIPHERAL);
    expect(d.events).toHaveLength(1);
  });

  it("is deterministic with a seeded random", async () => {
    async function run(seed: number): Promise<string> {
      const clock = new ManualClock();
      const air = createAir({ clock, lossRate: 0.3, random: new SeededRandom(seed), attTimeoutMs: 100 });
      const d = await device(air.peripheral());
      const c = air.central();
      let conn: BleConnection | undefined;
      for (let i = 0; i < 10 && conn === undefined; i++) {
        const p = c.connect(d.peripheral.address as string, { timeoutMs: 50 }).catch(() => undefined);
        await flush();
        clock.advance(50);
        conn = await p;
      }
      const outcomes: string[] = [];
      for (let i = 0; i < 20; i++) {
        const w = (conn as BleConnection).write(SVC, RX, new Uint8Array([i])).then(
          () => "ok",
          (e: TriadkitError) => e.code,
        );
        await flush();
        clock.advance(100);
        outcomes.push(await w);
      }
      return `${d.peripheral.address} ${outcomes.join(",")} ${d.writes.length}`;
    }
    expect(await run(42)).toBe(await run(42));
    expect(await run(42)).not.toBe(await run(43));
  });
});

describe("virtual radio: properties", () => {
  type Op =
    | { kind: "connect"; central: number; mtu: number }
    | { kind: "write"; central: number; size: number; withResponse: boolean }
    | { kind: "read"; central: number }
    | { kind: "subscribe"; central: number }
    | { kind: "notify"; size: number }
    | { kind: "disconnectCentral"; central: number }
    | { kind: "disconnectPeripheral" }
    | { kind: "advance"; ms: number }
    | { kind: "conditions"; lossRate: number; latencyMs: number };

  const central = fc.integer({ min: 0, max: 2 });
  const size = fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 520 }));
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant("connect" as const), central, mtu: fc.integer({ min: 23, max: 517 }) }),
    },
    {
      weight: 5,
      arbitrary: fc.record({ kind: fc.constant("write" as const), central, size, withResponse: fc.boolean() }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("read" as const), central }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("subscribe" as const), central }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("notify" as const), size }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("disconnectCentral" as const), central }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("disconnectPeripheral" as const) }) },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 200 }) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("conditions" as const),
        lossRate: fc.constantFrom(0, 0.1, 0.5, 1),
        latencyMs: fc.constantFrom(0, 5, 50),
      }),
    },
  );

  it("random operation sequences never crash and never deliver to a disconnected peer", async () => {
    const tally = { writes: 0, notifications: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 20, maxLength: 80 }), fc.integer(), async (ops, seed) => {
        const clock = new ManualClock();
        const unexpected: unknown[] = [];
        const air = createAir({
          clock,
          random: new SeededRandom(seed),
          attTimeoutMs: 300,
          onError: (e) => unexpected.push(e),
        });
        const peripheral = air.peripheral({ address: PERIPHERAL });
        let peerOfPeripheral: BleCentralRef | undefined; // the central the peripheral believes is connected
        const violations: string[] = [];
        await peripheral.setServices([
          {
            uuid: SVC,
            characteristics: [
              {
                uuid: RX,
                properties: ["write", "writeWithoutResponse"],
                onWrite: (_data, central) => {
                  tally.writes++;
                  if (central !== peerOfPeripheral)
                    violations.push("write delivered to a peripheral not connected to its sender");
                },
              },
              { uuid: TX, properties: ["notify"] },
              { uuid: RO, properties: ["read"], onRead: () => new Uint8Array(600) },
            ],
          },
        ]);
        peripheral.on("connect", (c) => {
          if (peerOfPeripheral !== undefined) violations.push("two connections at once");
          peerOfPeripheral = c;
        });
        peripheral.on("disconnect", (c) => {
          if (c !== peerOfPeripheral) violations.push("disconnect for a central that was not connected");
          peerOfPeripheral = undefined;
        });
        await peripheral.startAdvertising({ serviceUuids: [SVC] });
        const centrals = [air.central(), air.central(), air.central()];
        const conns: (BleConnection | undefined)[] = [undefined, undefined, undefined];
        const down = new WeakMap<BleConnection, boolean>();
        const promises: Promise<unknown>[] = [];
        const expectCoded = (p: Promise<unknown>) =>
          promises.push(
            p.catch((e: unknown) => {
              if (!isTriadkitError(e) || !e.code.startsWith("ble.")) unexpected.push(e);
            }),
          );
        for (const o of ops) {
          switch (o.kind) {
            case "connect":
              expectCoded(
                centrals[o.central]!.connect(PERIPHERAL, { mtu: o.mtu, timeoutMs: 500 }).then((c) => {
                  conns[o.central] = c;
                  down.set(c, false);
                  c.onDisconnect(() => {
                    if (down.get(c)) violations.push("two disconnects");
                    down.set(c, true);
                  });
                }),
              );
              break;
            case "write": {
              const c = conns[o.central];
              if (c) expectCoded(c.write(SVC, RX, new Uint8Array(o.size), o.withResponse));
              break;
            }
            case "read": {
              const c = conns[o.central];
              if (c) expectCoded(c.read(SVC, RO).then((v) => v.length <= c.mtu - 1 || violations.push("long read")));
              break;
            }
            case "subscribe": {
              const c = conns[o.central];
              if (c) {
                expectCoded(
                  c.subscribe(SVC, TX, (data) => {
                    tally.notifications++;
                    if (down.get(c)) violations.push("notification delivered after disconnect");
                    if (data.length > c.mtu - 3) violations.push("oversized notification");
                  }),
                );
              }
              break;
            }
            case "notify":
              expectCoded(peripheral.notify(TX, new Uint8Array(o.size)));
              break;
            case "disconnectCentral":
              expectCoded(conns[o.central]?.disconnect() ?? Promise.resolve());
              break;
            case "disconnectPeripheral":
              expectCoded(peripheral.disconnect());
              break;
            case "advance":
              clock.advance(o.ms);
              break;
            case "conditions":
              air.setConditions(o);
              break;
          }
          await flush();
        }
        clock.advance(10_000);
        await flush();
        await air.close();
        clock.advance(10_000);
        await Promise.all(promises);
        expect(violations).toEqual([]);
        expect(unexpected).toEqual([]);
      }),
      { numRuns: 150 },
    );
    expect(tally.writes).toBeGreaterThan(50); // the sequences did exercise live connections
    expect(tally.notifications).toBeGreaterThan(10);
  });
});
