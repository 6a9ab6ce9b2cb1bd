import { EventEmitter } from "node:events";
import { isTriadkitError, TriadkitError } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import type { BleCentralRef } from "./ble.js";
import {
  type BlenoCharacteristicOptions,
  createBlenoPeripheral,
  encodeAdvertisement,
  explainBleLoadError,
} from "./bleno-peripheral.js";

/** A stand-in for the bleno module: records what the adapter hands it and lets the test play the central. */
class FakeBleno extends EventEmitter {
  state = "poweredOn";
  address = "AA:BB:CC:DD:EE:FF";
  services: { uuid: string; characteristics: FakeCharacteristic[] }[] = [];
  advertising: unknown[] = [];
  disconnects = 0;
  PrimaryService = class {
    constructor(readonly options: { uuid: string; characteristics: FakeCharacteristic[] }) {}
  };
  Characteristic = FakeCharacteristic;
  setServices(
    services: { options: { uuid: string; characteristics: FakeCharacteristic[] } }[],
    cb: (e?: Error | null) => void,
  ) {
    this.services = services.map((s) => s.options);
    cb(null);
  }
  startAdvertising(name: string, uuids: string[], cb: (e?: Error | null) => void) {
    this.advertising.push({ name, uuids });
    cb(null);
  }
  startAdvertisingWithEIRData(adv: Buffer, scan: Buffer, cb: (e?: Error | null) => void) {
    this.advertising.push({ adv: [...adv], scan: [...scan] });
    cb(null);
  }
  stopAdvertising(cb: () => void) {
    cb();
  }
  disconnect() {
    this.disconnects++;
    this.emit("disconnect", "11:22:33:44:55:66");
  }
  char(uuid: string): BlenoCharacteristicOptions {
    for (const s of this.services) for (const c of s.characteristics) if (c.options.uuid === uuid) return c.options;
    throw new Error(`no ${uuid}`);
  }
}
class FakeCharacteristic {
  constructor(readonly options: BlenoCharacteristicOptions) {}
}

describe("bleno peripheral adapter", () => {
  it("yields ble.unavailable here (no Bluetooth in this kernel) without crashing", async () => {
    const err = await createBlenoPeripheral({ poweredOnTimeoutMs: 500 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    // On a machine with an adapter and permissions this resolves instead; here there is none.
    expect(isTriadkitError(err, "ble.unavailable")).toBe(true);
    expect((err as TriadkitError).message).toMatch(/bleno/);
    expect((err as TriadkitError).message).toMatch(/AF_BLUETOOTH|not permitted|not installed|HCI|power/);
  });

  it("explains load failures by cause", () => {
    const errno = (code: string) => Object.assign(new Error(`${code}, something`), { code });
    expect(explainBleLoadError(errno("EAFNOSUPPORT"), "x")).toContain("AF_BLUETOOTH");
    expect(explainBleLoadError(errno("EPERM"), "x")).toContain("CAP_NET_RAW");
    expect(explainBleLoadError(errno("ENODEV"), "x")).toContain("no Bluetooth HCI device");
    expect(explainBleLoadError(errno("ERR_MODULE_NOT_FOUND"), "x")).toContain("not installed");
  });

  it("reports an adapter that never powers on, or is unauthorized, as ble.unavailable", async () => {
    const off = new FakeBleno();
    off.state = "poweredOff";
    await expect(createBlenoPeripheral({ load: async () => off, poweredOnTimeoutMs: 50 })).rejects.toMatchObject({
      code: "ble.unavailable",
    });
    const denied = new FakeBleno();
    denied.state = "unknown";
    const p = createBlenoPeripheral({ load: async () => ({ default: denied }), poweredOnTimeoutMs: 5000 });
    setTimeout(() => denied.emit("stateChange", "unauthorized"), 10);
    await expect(p).rejects.toThrow(/CAP_NET_RAW/);
  });

  it("maps GATT specs to bleno services and characteristics, and bleno's events back", async () => {
    const bleno = new FakeBleno();
    bleno.state = "unknown";
    const creating = createBlenoPeripheral({ load: async () => bleno });
    setTimeout(() => bleno.emit("stateChange", "poweredOn"), 5);
    const peripheral = await creating;
    expect(peripheral.address).toBe("aabbccddeeff");
    const writes: [number[], string][] = [];
    const events: string[] = [];
    peripheral.on("connect", (c: BleCentralRef) => events.push(`connect ${c.address}`));
    peripheral.on("disconnect", (c: BleCentralRef) => events.push(`disconnect ${c.address} ${c.mtu}`));
    await peripheral.setServices([
      {
        uuid: "0000fff0-0000-1000-8000-00805f9b34fb",
        characteristics: [
          {
            uuid: "FFF1",
            properties: ["write", "writeWithoutResponse"],
            onWrite: (d, c) => void writes.push([[...d], c.address]),
          },
          { uuid: "fff2", properties: ["notify"] },
          {
            uuid: "6e400003-b5a3-f393-e0a9-e50e24dcca9e",
            properties: ["read"],
            onRead: async () => new Uint8Array([1, 2, 3, 4]),
          },
          { uuid: "fff4", properties: ["write"], onWrite: () => Promise.reject(new Error("no")) },
        ],
      },
    ]);
    expect(bleno.services.map((s) => s.uuid)).toEqual(["fff0"]);
    expect(bleno.services[0]?.characteristics.map((c) => [c.options.uuid, c.options.properties])).toEqual([
      ["fff1", ["write", "writeWithoutResponse"]],
      ["fff2", ["notify"]],
      ["6e400003b5a3f393e0a9e50e24dcca9e", ["read"]],
      ["fff4", ["write"]],
    ]);
    bleno.emit("accept", "11:22:33:44:55:66");
    bleno.emit("mtuChange", 185);
    const result = await new Promise<number>((resolve) =>
      bleno.char("fff1").onWriteRequest?.(Buffer.from([7, 8]), 0, false, resolve),
    );
    expect(result).toBe(0);
    expect(writes).toEqual([[[7, 8], "112233445566"]]);
    expect(await new Promise<number>((r) => bleno.char("fff1").onWriteRequest?.(Buffer.from([1]), 3, false, r))).toBe(
      0x0b,
    );
    expect(await new Promise<number>((r) => bleno.char("fff4").onWriteRequest?.(Buffer.from([1]), 0, false, r))).toBe(
      0x0e,
    );
    const read = bleno.char("6e400003b5a3f393e0a9e50e24dcca9e").onReadRequest;
    expect(await new Promise((r) => read?.(0, (res, data) => r([res, [...(data ?? [])]])))).toEqual([0, [1, 2, 3, 4]]);
    expect(await new Promise((r) => read?.(2, (res, data) => r([res, [...(data ?? [])]])))).toEqual([0, [3, 4]]);
    const sent: number[][] = [];
    await peripheral.notify("fff2", new Uint8Array([1])); // not subscribed: nothing
    bleno.char("fff2").onSubscribe?.(20, (d) => sent.push([...d]));
    await peripheral.notify("FFF2", new Uint8Array([2]));
    await expect(peripheral.notify("fff2", new Uint8Array(21))).rejects.toMatchObject({
      code: "ble.payload_too_large",
    });
    expect(sent).toEqual([[2]]);
    await peripheral.disconnect();
    expect(events).toEqual(["connect 112233445566", "disconnect 112233445566 185"]);
    await expect(peripheral.notify("fff2", new Uint8Array([3]))).rejects.toBeInstanceOf(TriadkitError);

    await peripheral.startAdvertising({ localName: "triad", serviceUuids: ["fff0"] });
    await peripheral.startAdvertising({
      localName: "t",
      serviceUuids: ["fff0"],
      manufacturerData: new Uint8Array([0xa8, 0x01]),
    });
    expect(bleno.advertising).toEqual([
      { name: "triad", uuids: ["fff0"] },
      { adv: [2, 1, 6, 3, 3, 0xf0, 0xff, 3, 0xff, 0xa8, 0x01], scan: [2, 9, 0x74] },
    ]);
    await peripheral.close();
    expect(bleno.listenerCount("accept")).toBe(0);
  });

  it("encodes 128-bit UUIDs little-endian and refuses advertisements over 31 bytes", () => {
    const { advertisingData } = encodeAdvertisement({ serviceUuids: ["6e400001-b5a3-f393-e0a9-e50e24dcca9e"] });
    expect([...advertisingData.slice(3, 5)]).toEqual([17, 0x07]);
    expect(advertisingData[5]).toBe(0x9e);
    expect(advertisingData[20]).toBe(0x6e);
    expect(() => encodeAdvertisement({ serviceUuids: [], manufacturerData: new Uint8Array(27) })).toThrow(/31/);
  });
});
