import {
  createFactoryBleStation,
  encodeFactoryRequestFrame,
  FACTORY_BLE_RX_CHAR_UUID,
  FACTORY_BLE_SERVICE_UUID,
  FACTORY_BLE_TX_CHAR_UUID,
  factoryAnchorPublicKey,
  signFactoryBleAuth,
} from "@triadkit/protocol";
import { afterEach, describe, expect, it } from "vitest";
import type { BleConnection } from "../ble/ble.js";
import { type Air, createAir } from "../ble/virtual-radio.js";
import { ManualClock } from "../clock.js";
import { CryptoRandom } from "../random.js";
import { MemoryFlashStore } from "../storage/memory-flash-store.js";
import { ANCHOR_SEED, expectType, FactoryTestClient, OTHER_SEED, testRecord } from "./__tests__/factory-test-client.js";
import { type BleFactoryService, createBleFactoryService } from "./ble-factory-service.js";
import { BleMessageSender, BleRecordLink, messageReceiver } from "./ble-record-link.js";
import { FactoryCredentialStore } from "./credential-store.js";

const MAC = "0a1b2c3d4e5f";
const CHIP = "a1b2c3d4e5f60718";
const random = new CryptoRandom();

let air: Air;
let service: BleFactoryService;
afterEach(async () => {
  await service?.stop();
});

interface Events {
  readonly closed: { code?: string }[];
  readonly refused: string[];
  readonly channels: number;
}

async function start(credentials = new FactoryCredentialStore(new MemoryFlashStore())) {
  air = createAir();
  service = createBleFactoryService({
    peripheral: air.peripheral({ address: MAC }),
    store: credentials,
    chip: { chipId: CHIP, wifiMac: "0a1b2c3d4e00", bleMac: MAC, model: "lamp", firmware: "1.0.0" },
    random,
  });
  const events = { closed: [] as { code?: string }[], refused: [] as string[], channels: 0 };
  service.on("channelClosed", ({ code }) => events.closed.push(code === undefined ? {} : { code }));
  service.on("handshakeRefused", ({ reason }) => events.refused.push(reason));
  service.on("channel", () => events.channels++);
  await service.start();
  return { credentials, events: events as Events };
}

/** A minimal station: handshake by hand, then a record link; `sent` keeps every message it sent. */
async function openChannel(options: { seed?: Uint8Array; expectedMac?: string } = {}) {
  const seed = options.seed ?? ANCHOR_SEED;
  const conn: BleConnection = await air.central().connect(MAC);
  const inbox: Uint8Array[] = [];
  let link: BleRecordLink | undefined;
  const receiver = messageReceiver(
    () => Date.now(),
    (m) => (link === undefined ? inbox.push(m) : link.deliver(m)),
    () => undefined,
  );
  await conn.subscribe(FACTORY_BLE_SERVICE_UUID, FACTORY_BLE_TX_CHAR_UUID, (d) => receiver.push(d));
  const sent: Uint8Array[] = [];
  const tamper = { next: false };
  const sender = new BleMessageSender(
    () => conn.mtu,
    (f) => conn.write(FACTORY_BLE_SERVICE_UUID, FACTORY_BLE_RX_CHAR_UUID, f),
  );
  const send = (m: Uint8Array) => {
    sent.push(m);
    if (!tamper.next) return sender.send(m);
    tamper.next = false;
    const copy = Uint8Array.from(m);
    copy[copy.length - 1] = (copy[copy.length - 1] as number) ^ 0x01; // one bit of the AEAD tag
    return sender.send(copy);
  };
  const next = async () => {
    for (let i = 0; i < 200 && inbox.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    const m = inbox.shift();
    if (m === undefined) throw new Error("no answer");
    return m;
  };
  const station = createFactoryBleStation({
    random: (n) => random.bytes(n),
    expectedMac: options.expectedMac ?? MAC,
    anchor: factoryAnchorPublicKey(seed),
    sign: (hash) => signFactoryBleAuth(seed, hash),
  });
  await send(station.hello);
  const { auth } = station.receiveDeviceHello(await next());
  await send(auth);
  const records = station.receiveAnswer(await next());
  link = new BleRecordLink(records, send, () => conn.disconnect());
  return { conn, link, sent, send, tamper, client: new FactoryTestClient(link) };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
}

/** Retries while the radio still holds the previous connection (`ble.busy`). */
async function eventually<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i > 100 || (err as { code?: string }).code !== "ble.busy") throw err;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

describe("BLE factory service", () => {
  it("serves the unchanged factory protocol over the encrypted channel; a write lands", async () => {
    const { credentials, events } = await start();
    const { client, link } = await openChannel();
    const hello = expectType(await client.request({ t: "hello", stationNonce: random.bytes(16) }), "hello");
    expect(hello).toMatchObject({ chipId: CHIP, bleMac: MAC, state: "blank" });
    expectType(await client.request({ t: "write_record", record: testRecord() }), "written");
    expect(await credentials.state()).toBe("provisioned");
    expect(events.channels).toBe(1);
    await link.close();
    await until(() => events.closed.length === 1);
    expect(events.closed).toEqual([{}]);
  });

  it("a blank board takes only a record naming the anchor that opened the channel", async () => {
    const { credentials } = await start();
    const { client } = await openChannel({ seed: OTHER_SEED });
    const foreign = testRecord();
    const refused = expectType(await client.request({ t: "write_record", record: foreign }), "error");
    expect(refused.code).toBe("bad_record");
    expect(await credentials.state()).toBe("blank");
    const own = testRecord({ anchor: { poolId: "pool-1", publicKey: factoryAnchorPublicKey(OTHER_SEED) } });
    expectType(await client.request({ t: "write_record", record: own }), "written");
    expect(await credentials.state()).toBe("provisioned");
  });

  it("refuses a replayed record and a tampered one: the channel closes and nothing is written", async () => {
    const { credentials, events } = await start();
    const first = await openChannel();
    expectType(await first.client.request({ t: "hello", stationNonce: random.bytes(16) }), "hello");
    const replay = first.sent[first.sent.length - 1] as Uint8Array;
    await first.send(replay).catch(() => undefined); // the device drops the connection while answering
    await until(() => events.closed.length === 1);
    expect(events.closed).toEqual([{ code: "factory.ble_replay" }]);
    await first.conn.disconnect().catch(() => undefined);

    const second = await eventually(() => openChannel());
    second.tamper.next = true;
    await second.link
      .write(encodeFactoryRequestFrame(1, { t: "write_record", record: testRecord() }))
      .catch(() => undefined); // the device drops the connection on the tampered record
    await until(() => events.closed.length === 2);
    expect(events.closed[1]).toEqual({ code: "factory.ble_decrypt_failed" });
    expect(await credentials.state()).toBe("blank");
    expect(events.channels).toBe(2);
  });

  it("refuses a station holding another anchor than the record's; the right anchor gets in", async () => {
    const credentials = new FactoryCredentialStore(new MemoryFlashStore());
    await credentials.write(testRecord());
    const { events } = await start(credentials);
    await expect(openChannel({ seed: OTHER_SEED })).rejects.toMatchObject({
      code: "factory.ble_refused",
      context: { reason: "anchor_mismatch" },
    });
    await until(() => events.refused.length === 1);
    // The radio frees the peripheral once the device drops the refused central.
    const ok = await eventually(() => openChannel());
    expect(expectType(await ok.client.request({ t: "hello", stationNonce: random.bytes(16) }), "hello").state).toBe(
      "provisioned",
    );
    expect(events.refused).toEqual(["anchor_mismatch"]);
  });

  it("one central at a time: a second central is refused by the radio while the first holds the channel", async () => {
    await start();
    const first = await openChannel();
    await expect(air.central().connect(MAC)).rejects.toMatchObject({ code: "ble.busy" });
    await first.link.close();
    const again = await eventually(() => openChannel());
    expect(again.link.isOpen).toBe(true);
  });

  it("drops a central that does not complete the handshake in time, so it cannot hold the board", async () => {
    air = createAir();
    const clock = new ManualClock();
    service = createBleFactoryService({
      peripheral: air.peripheral({ address: MAC }),
      store: new MemoryFlashStore(),
      chip: { chipId: CHIP, wifiMac: "0a1b2c3d4e00", bleMac: MAC, model: "lamp", firmware: "1.0.0" },
      random,
      clock,
      handshakeTimeoutMs: 5_000,
    });
    await service.start();
    const silent = await air.central().connect(MAC);
    const dropped = new Promise<void>((resolve) => silent.onDisconnect(resolve));
    clock.advance(4_999);
    await new Promise((r) => setTimeout(r, 20));
    await expect(air.central().connect(MAC)).rejects.toMatchObject({ code: "ble.busy" });
    clock.advance(1);
    await dropped;
    const next = await eventually(() => openChannel());
    expect(next.link.isOpen).toBe(true);
  });
});
