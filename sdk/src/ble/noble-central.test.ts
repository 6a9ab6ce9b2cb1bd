/**
 * The noble adapter, driven end to end without hardware: noble itself (`@abandonware/noble/with-bindings`) runs over a
 * fake bindings object whose radio is the virtual air, so scan → discover → connect → GATT discovery → write / read /
 * notify go through the adapter, through noble's real JavaScript, to a virtual peripheral and back.
 */
import { EventEmitter } from "node:events";
import { isTriadkitError } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import type { BleConnection, GattServiceSpec } from "./ble.js";
import { createNobleCentral } from "./noble-central.js";
import { compactUuid } from "./uuid.js";
import { type Air, createAir } from "./virtual-radio.js";

/** noble's bindings contract (as its HCI bindings emit it), played by a central on the virtual air. */
class AirNobleBindings extends EventEmitter {
  private readonly central;
  private scan: AbortController | undefined;
  private readonly conns = new Map<string, BleConnection>();
  private readonly unsubscribes = new Map<string, () => Promise<void>>();
  readonly calls: string[] = [];

  constructor(
    air: Air,
    private readonly gatt: readonly GattServiceSpec[],
  ) {
    super();
    this.central = air.central({ address: "0a0b0c0d0e0f" });
  }
  init() {
    this.calls.push("init");
    setImmediate(() => this.emit("stateChange", "poweredOn"));
  }
  startScanning(serviceUuids: string[]) {
    this.calls.push(`startScanning ${serviceUuids.join(",")}`);
    this.scan = new AbortController();
    setImmediate(() => this.emit("scanStart", false));
    void this.central.scan({ timeoutMs: 60_000, signal: this.scan.signal, serviceUuids }, (p) => {
      const adv = {
        localName: p.advertisement.localName,
        serviceUuids: p.advertisement.serviceUuids.map(compactUuid),
        manufacturerData: p.advertisement.manufacturerData && Buffer.from(p.advertisement.manufacturerData),
        serviceData: [],
      };
      const address = (p.address.match(/../g) as string[]).join(":");
      this.emit("discover", p.address, address, "random", true, adv, p.rssi, true);
    });
  }
  stopScanning() {
    this.calls.push("stopScanning");
    this.scan?.abort();
    setImmediate(() => this.emit("scanStop"));
  }
  connect(uuid: string) {
    this.calls.push(`connect ${uuid}`);
    this.central.connect(uuid).then(
      (conn) => {
        this.conns.set(uuid, conn);
        conn.onDisconnect(() => this.emit("disconnect", uuid, 0x13));
        this.emit("onMtu", uuid, conn.mtu);
        this.emit("connect", uuid, null);
      },
      (err: Error) => this.emit("connect", uuid, err),
    );
  }
  cancelConnect(uuid: string) {
    this.calls.push(`cancelConnect ${uuid}`);
  }
  disconnect(uuid: string) {
    void this.conns.get(uuid)?.disconnect();
  }
  discoverServices(uuid: string) {
    setImmediate(() =>
      this.emit(
        "servicesDiscover",
        uuid,
        this.gatt.map((s) => compactUuid(s.uuid)),
      ),
    );
  }
  discoverCharacteristics(uuid: string, service: string) {
    const s = this.gatt.find((x) => compactUuid(x.uuid) === service);
    const chars = (s?.characteristics ?? []).map((c) => ({ uuid: compactUuid(c.uuid), properties: [...c.properties] }));
    setImmediate(() => this.emit("characteristicsDiscover", uuid, service, chars));
  }
  read(uuid: string, service: string, characteristic: string) {
    void this.conns
      .get(uuid)
      ?.read(service, characteristic)
      .then((d) => this.emit("read", uuid, service, characteristic, Buffer.from(d), false));
  }
  write(uuid: string, service: string, characteristic: string, data: Buffer, withoutResponse: boolean) {
    void this.conns
      .get(uuid)
      ?.write(service, characteristic, new Uint8Array(data), !withoutResponse)
      .then(() => this.emit("write", uuid, service, characteristic));
  }
  notify(uuid: string, service: string, characteristic: string, enable: boolean) {
    const key = `${uuid}/${service}/${characteristic}`;
    const conn = this.conns.get(uuid);
    if (conn === undefined) return;
    if (enable) {
      void conn
        .subscribe(service, characteristic, (d) =>
          this.emit("read", uuid, service, characteristic, Buffer.from(d), true),
        )
        .then((unsub) => {
          this.unsubscribes.set(key, unsub);
          this.emit("notify", uuid, service, characteristic, true);
        });
    } else {
      void (this.unsubscribes.get(key)?.() ?? Promise.resolve()).then(() =>
        this.emit("notify", uuid, service, characteristic, false),
      );
    }
  }
}

const SVC = "6e400001-b5a3-f393-e0a9-e50e24dcca9e";
const RX = "6e400002-b5a3-f393-e0a9-e50e24dcca9e";
const TX = "6e400003-b5a3-f393-e0a9-e50e24dcca9e";

describe("noble central adapter", () => {
  it("default path: importing noble here fails with EAFNOSUPPORT, which becomes ble.unavailable", async () => {
    const err = await createNobleCentral({ poweredOnTimeoutMs: 500 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTriadkitError(err, "ble.unavailable")).toBe(true);
    expect((err as Error).message).toMatch(/noble/);
  });

  it("with bindings: scan → discover → connect → write / read / notify → disconnect through noble itself", async () => {
    const air = createAir({ mtu: 185 });
    const writes: number[][] = [];
    const services: GattServiceSpec[] = [
      {
        uuid: SVC,
        characteristics: [
          { uuid: RX, properties: ["write", "writeWithoutResponse"], onWrite: (d) => void writes.push([...d]) },
          { uuid: TX, properties: ["notify", "read"], onRead: () => new Uint8Array([0x42]) },
        ],
      },
    ];
    const peripheral = air.peripheral({ address: "c0ffee000001" });
    await peripheral.setServices(services);
    await peripheral.startAdvertising({
      localName: "triad-01",
      serviceUuids: [SVC],
      manufacturerData: new Uint8Array([0xa8, 0x01]),
    });
    const decoy = air.peripheral({ address: "c0ffee000002" });
    await decoy.startAdvertising({ serviceUuids: ["180d"] });

    const bindings = new AirNobleBindings(air, services);
    const central = await createNobleCentral({ bindings, operationTimeoutMs: 2000 });
    const found: string[] = [];
    const stop = new AbortController();
    await central.scan({ serviceUuids: [SVC], timeoutMs: 5000, signal: stop.signal }, (p) => {
      found.push(
        `${p.address} ${p.rssi} ${p.advertisement.localName} ${p.advertisement.serviceUuids} ${[...(p.advertisement.manufacturerData ?? [])]}`,
      );
      stop.abort();
    });
    expect(found).toEqual([`c0ffee000001 -60 triad-01 ${SVC} 168,1`]);
    expect(bindings.calls).toContain("stopScanning");

    const conn = await central.connect("C0:FF:EE:00:00:01");
    expect(conn.mtu).toBe(185);
    await conn.write(SVC, RX, new Uint8Array([1, 2, 3]));
    await conn.write(SVC, RX, new Uint8Array([4]), false);
    await expect.poll(() => writes).toEqual([[1, 2, 3], [4]]);
    expect(await conn.read(SVC, TX)).toEqual(new Uint8Array([0x42]));
    await expect(conn.write(SVC, RX, new Uint8Array(183))).rejects.toMatchObject({ code: "ble.payload_too_large" });
    await expect(conn.write(SVC, "ffff", new Uint8Array(1))).rejects.toMatchObject({ code: "ble.gatt_error" });

    const notes: number[][] = [];
    const unsubscribe = await conn.subscribe(SVC, TX, (d) => notes.push([...d]));
    await peripheral.notify(TX, new Uint8Array([9, 9]));
    await expect.poll(() => notes).toEqual([[9, 9]]);
    await unsubscribe();

    await expect(central.connect("c0ffee0000ff")).rejects.toMatchObject({ code: "ble.not_found" });
    let down = false;
    conn.onDisconnect(() => {
      down = true;
    });
    await peripheral.disconnect(); // the peripheral hangs up: noble hears 'disconnect' from its bindings
    await expect.poll(() => down).toBe(true);
    await expect(conn.read(SVC, TX)).rejects.toMatchObject({ code: "ble.not_connected" });
    await central.close();
  });

  it("a peripheral that never answers a connect times out with ble.timeout", async () => {
    const air = createAir({ lossRate: 1 });
    const peripheral = air.peripheral({ address: "c0ffee000001" });
    await peripheral.startAdvertising({ serviceUuids: [SVC] });
    const central = await createNobleCentral({ bindings: new AirNobleBindings(air, []), operationTimeoutMs: 300 });
    const stop = new AbortController();
    await central.scan({ timeoutMs: 5000, signal: stop.signal }, () => stop.abort());
    await expect(central.connect("c0ffee000001", { timeoutMs: 200 })).rejects.toMatchObject({ code: "ble.timeout" });
  });
});
