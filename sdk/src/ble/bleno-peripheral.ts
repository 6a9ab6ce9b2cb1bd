/**
 * {@link BlePeripheral} on a real board, through `@abandonware/bleno` (an optional dependency).
 *
 * bleno opens an HCI mgmt socket when its module loads, so it throws at import on a machine without Bluetooth
 * (EAFNOSUPPORT: no AF_BLUETOOTH in the kernel), without permission (EPERM/EACCES: needs CAP_NET_RAW and
 * CAP_NET_ADMIN, or root) or without the package. It is therefore imported lazily, inside
 * {@link createBlenoPeripheral}, and every such failure becomes `ble.unavailable` with a message naming what is
 * missing. Nothing here can crash the process. See docs/ble.md for the hardware checklist.
 */
import { TriadkitError } from "@triadkit/protocol";
import type {
  BleAdvertisement,
  BleCentralRef,
  BlePeripheral,
  BlePeripheralEvents,
  GattCharacteristicSpec,
  GattServiceSpec,
} from "./ble.js";
import {
  advertisementSizes,
  compactUuid,
  LEGACY_ADVERTISING_BYTES,
  normalizeBleAddress,
  normalizeUuid,
} from "./uuid.js";

/** The part of bleno's API the adapter uses (bleno's own typings are not required at build time). */
export interface BlenoModule {
  readonly state: string;
  readonly address?: string;
  readonly PrimaryService: new (options: { uuid: string; characteristics: readonly unknown[] }) => unknown;
  readonly Characteristic: new (options: BlenoCharacteristicOptions) => unknown;
  setServices(services: readonly unknown[], callback?: (error?: Error | null) => void): void;
  startAdvertising(name: string, serviceUuids?: readonly string[], callback?: (error?: Error | null) => void): void;
  startAdvertisingWithEIRData(
    advertisementData: Uint8Array,
    scanData: Uint8Array,
    callback?: (error?: Error | null) => void,
  ): void;
  stopAdvertising(callback?: () => void): void;
  disconnect(): void;
  on(event: string, listener: (...args: never[]) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
}

export interface BlenoCharacteristicOptions {
  uuid: string;
  properties: string[];
  onReadRequest?: (offset: number, callback: (result: number, data?: Uint8Array) => void) => void;
  onWriteRequest?: (
    data: Uint8Array,
    offset: number,
    withoutResponse: boolean,
    callback: (result: number) => void,
  ) => void;
  onSubscribe?: (maxValueSize: number, updateValueCallback: (data: Uint8Array) => void) => void;
  onUnsubscribe?: () => void;
}

/** ATT result codes bleno's callbacks take. */
const ATT_SUCCESS = 0x00;
const ATT_INVALID_OFFSET = 0x07;
const ATT_ATTR_NOT_LONG = 0x0b;
const ATT_UNLIKELY_ERROR = 0x0e;

export interface BlenoPeripheralOptions {
  /** Loads bleno. Default: `import("@abandonware/bleno")`. Tests inject a fake module. */
  readonly load?: () => Promise<unknown>;
  /** How long to wait for the adapter to report `poweredOn`. Default 5000 ms. */
  readonly poweredOnTimeoutMs?: number;
}

/** Why bleno could not load, in words a field engineer can act on. */
export function explainBleLoadError(error: unknown, adapter: string): string {
  const e = error as NodeJS.ErrnoException | undefined;
  const code = e?.code ?? "";
  const message = e?.message ?? String(error);
  if (code === "EAFNOSUPPORT" || /EAFNOSUPPORT|Address family not supported/.test(message)) {
    return `${adapter}: this kernel has no Bluetooth socket support (AF_BLUETOOTH, EAFNOSUPPORT): no HCI adapter is usable here (containers and most CI have none)`;
  }
  if (
    code === "EPERM" ||
    code === "EACCES" ||
    /EPERM|EACCES|Operation not permitted|permission denied/i.test(message)
  ) {
    return `${adapter}: not permitted to open the HCI socket: run as root or grant CAP_NET_RAW and CAP_NET_ADMIN (setcap cap_net_raw,cap_net_admin+eip $(readlink -f $(which node)))`;
  }
  if (code === "ENODEV" || /ENODEV|No such device/.test(message)) {
    return `${adapter}: no Bluetooth HCI device (is the adapter plugged in and not blocked by rfkill?)`;
  }
  if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND" || /Cannot find (module|package)/.test(message)) {
    return `${adapter}: the package is not installed (it is an optional dependency; its native build may have failed)`;
  }
  return `${adapter}: could not be loaded: ${message}`;
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(onTimeout()), ms);
    promise.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/**
 * Loads bleno and waits for the adapter to power on. Rejects with `ble.unavailable` (never throws synchronously,
 * never crashes the process) when there is no adapter, no permission or no package.
 */
export async function createBlenoPeripheral(options: BlenoPeripheralOptions = {}): Promise<BlePeripheral> {
  const load = options.load ?? (() => import("@abandonware/bleno" as string));
  let bleno: BlenoModule;
  try {
    const mod = (await load()) as { default?: unknown };
    bleno = (mod.default ?? mod) as BlenoModule;
  } catch (err) {
    throw new TriadkitError(
      "ble.unavailable",
      explainBleLoadError(err, "bleno (BLE peripheral)"),
      { adapter: "bleno", errno: (err as NodeJS.ErrnoException | undefined)?.code },
      { cause: err },
    );
  }
  const timeoutMs = options.poweredOnTimeoutMs ?? 5000;
  if (bleno.state !== "poweredOn") {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        const onState = (state: string) => {
          if (state === "poweredOn") {
            bleno.removeListener("stateChange", onState as (...args: never[]) => void);
            resolve();
          } else if (state === "unsupported" || state === "unauthorized") {
            bleno.removeListener("stateChange", onState as (...args: never[]) => void);
            reject(
              new TriadkitError(
                "ble.unavailable",
                state === "unauthorized"
                  ? "bleno: the adapter refused us (unauthorized): run as root or grant CAP_NET_RAW and CAP_NET_ADMIN"
                  : "bleno: the adapter does not support BLE peripheral mode (unsupported)",
                { adapter: "bleno", state },
              ),
            );
          }
        };
        bleno.on("stateChange", onState as (...args: never[]) => void);
      }),
      timeoutMs,
      () =>
        new TriadkitError(
          "ble.unavailable",
          "bleno: the adapter did not power on in time (is it up? hciconfig hci0 up)",
          {
            adapter: "bleno",
            state: bleno.state,
            timeoutMs,
          },
        ),
    );
  }
  return new BlenoPeripheral(bleno);
}

/** Advertising data and scan response as AD structures (flags, service UUIDs, manufacturer data | local name). */
export function encodeAdvertisement(advertisement: BleAdvertisement): {
  advertisingData: Uint8Array;
  scanResponse: Uint8Array;
} {
  const sizes = advertisementSizes(advertisement);
  if (sizes.advertisingData > LEGACY_ADVERTISING_BYTES || sizes.scanResponse > LEGACY_ADVERTISING_BYTES) {
    throw new TriadkitError(
      "ble.payload_too_large",
      "the advertisement does not fit legacy advertising (31 + 31 bytes)",
      {
        ...sizes,
        limit: LEGACY_ADVERTISING_BYTES,
      },
    );
  }
  const adv: number[] = [0x02, 0x01, 0x06]; // LE General Discoverable, BR/EDR not supported
  const uuids = advertisement.serviceUuids.map(normalizeUuid);
  const short = uuids.filter((u) => u.length === 4);
  const long = uuids.filter((u) => u.length !== 4);
  if (short.length > 0) {
    adv.push(1 + 2 * short.length, 0x03);
    for (const u of short) {
      const v = Number.parseInt(u, 16);
      adv.push(v & 0xff, v >> 8);
    }
  }
  if (long.length > 0) {
    adv.push(1 + 16 * long.length, 0x07);
    for (const u of long) {
      const bytes = (compactUuid(u).match(/../g) as string[]).map((b) => Number.parseInt(b, 16));
      adv.push(...bytes.reverse()); // little-endian on air
    }
  }
  if (advertisement.manufacturerData !== undefined) {
    adv.push(1 + advertisement.manufacturerData.length, 0xff, ...advertisement.manufacturerData);
  }
  if (advertisement.serviceData !== undefined) {
    const v = Number.parseInt(normalizeUuid(advertisement.serviceData.uuid), 16);
    adv.push(
      3 + advertisement.serviceData.data.length,
      0x16,
      v & 0xff,
      (v >> 8) & 0xff,
      ...advertisement.serviceData.data,
    );
  }
  const scan: number[] = [];
  if (advertisement.localName !== undefined && advertisement.localName !== "") {
    const name = new TextEncoder().encode(advertisement.localName);
    scan.push(1 + name.length, 0x09, ...name);
  }
  return { advertisingData: Uint8Array.from(adv), scanResponse: Uint8Array.from(scan) };
}

function callbackPromise(fn: (cb: (error?: Error | null) => void) => void, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    fn((error) => {
      if (error)
        reject(new TriadkitError("ble.unavailable", `bleno: ${what} failed: ${error.message}`, { adapter: "bleno" }));
      else resolve();
    });
  });
}

type Listener = (...args: never[]) => void;

class BlenoPeripheral implements BlePeripheral {
  private central: (BleCentralRef & { mtu: number }) | undefined;
  private mtu = 23;
  private readonly subscriptions = new Map<string, { maxValueSize: number; update: (data: Uint8Array) => void }>();
  private readonly listeners = new Map<keyof BlePeripheralEvents, Set<(central: BleCentralRef) => void>>();
  private readonly handlers: [string, Listener][];
  private closed = false;

  constructor(private readonly bleno: BlenoModule) {
    const onAccept = (clientAddress: string) => {
      const self = this;
      let address = clientAddress;
      try {
        address = normalizeBleAddress(clientAddress);
      } catch {
        // keep bleno's form
      }
      this.mtu = 23;
      this.central = {
        address,
        get mtu() {
          return self.mtu;
        },
      };
      this.emit("connect", this.central);
    };
    const onMtu = (mtu: number) => {
      this.mtu = mtu;
    };
    const onDisconnect = () => {
      const central = this.central;
      this.central = undefined;
      this.subscriptions.clear();
      if (central !== undefined) this.emit("disconnect", central);
    };
    this.handlers = [
      ["accept", onAccept as Listener],
      ["mtuChange", onMtu as Listener],
      ["disconnect", onDisconnect as Listener],
    ];
    for (const [event, l] of this.handlers) bleno.on(event, l);
  }

  get address(): string | undefined {
    const a = this.bleno.address;
    if (a === undefined || a === "unknown") return undefined;
    try {
      return normalizeBleAddress(a);
    } catch {
      return undefined;
    }
  }

  private emit(event: keyof BlePeripheralEvents, central: BleCentralRef): void {
    for (const l of [...(this.listeners.get(event) ?? [])]) {
      try {
        l(central);
      } catch {
        // a listener's failure is its own; bleno's event loop must go on
      }
    }
  }

  private characteristic(spec: GattCharacteristicSpec): unknown {
    const uuid = normalizeUuid(spec.uuid);
    let lastRead: Uint8Array = new Uint8Array(0);
    const options: BlenoCharacteristicOptions = { uuid: compactUuid(uuid), properties: [...spec.properties] };
    if (spec.properties.includes("read")) {
      options.onReadRequest = (offset, callback) => {
        const central = this.central ?? { address: "", mtu: this.mtu };
        const answer =
          offset === 0 ? Promise.resolve(spec.onRead?.(central) ?? new Uint8Array(0)) : Promise.resolve(lastRead);
        answer.then(
          (value) => {
            if (offset === 0) lastRead = value;
            if (offset > value.length) callback(ATT_INVALID_OFFSET);
            else callback(ATT_SUCCESS, Buffer.from(value.subarray(offset)));
          },
          () => callback(ATT_UNLIKELY_ERROR),
        );
      };
    }
    if (spec.properties.includes("write") || spec.properties.includes("writeWithoutResponse")) {
      options.onWriteRequest = (data, offset, _withoutResponse, callback) => {
        if (offset !== 0) {
          callback(ATT_ATTR_NOT_LONG);
          return;
        }
        const central = this.central ?? { address: "", mtu: this.mtu };
        Promise.resolve()
          .then(() => spec.onWrite?.(new Uint8Array(data), central))
          .then(
            () => callback(ATT_SUCCESS),
            () => callback(ATT_UNLIKELY_ERROR),
          );
      };
    }
    if (spec.properties.includes("notify") || spec.properties.includes("indicate")) {
      options.onSubscribe = (maxValueSize, update) => {
        this.subscriptions.set(uuid, { maxValueSize, update });
      };
      options.onUnsubscribe = () => {
        this.subscriptions.delete(uuid);
      };
    }
    return new this.bleno.Characteristic(options);
  }

  async setServices(services: readonly GattServiceSpec[]): Promise<void> {
    const mapped = services.map(
      (s) =>
        new this.bleno.PrimaryService({
          uuid: compactUuid(s.uuid),
          characteristics: s.characteristics.map((c) => this.characteristic(c)),
        }),
    );
    await callbackPromise((cb) => this.bleno.setServices(mapped, cb), "setServices");
  }

  async startAdvertising(advertisement: BleAdvertisement): Promise<void> {
    const { advertisingData, scanResponse } = encodeAdvertisement(advertisement); // validates size and UUIDs
    if (advertisement.manufacturerData === undefined) {
      // bleno builds the same AD structures itself (name in the scan response).
      await callbackPromise(
        (cb) =>
          this.bleno.startAdvertising(advertisement.localName ?? "", advertisement.serviceUuids.map(compactUuid), cb),
        "startAdvertising",
      );
      return;
    }
    await callbackPromise(
      (cb) => this.bleno.startAdvertisingWithEIRData(Buffer.from(advertisingData), Buffer.from(scanResponse), cb),
      "startAdvertisingWithEIRData",
    );
  }

  async stopAdvertising(): Promise<void> {
    await new Promise<void>((resolve) => this.bleno.stopAdvertising(() => resolve()));
  }

  async notify(characteristicUuid: string, data: Uint8Array): Promise<void> {
    if (this.central === undefined) throw new TriadkitError("ble.not_connected", "no central is connected");
    const sub = this.subscriptions.get(normalizeUuid(characteristicUuid));
    if (sub === undefined) return; // the central has not subscribed: GATT sends nothing
    if (data.length > sub.maxValueSize) {
      throw new TriadkitError("ble.payload_too_large", "a notification carries at most MTU−3 bytes", {
        length: data.length,
        limit: sub.maxValueSize,
      });
    }
    sub.update(Buffer.from(data));
  }

  async disconnect(): Promise<void> {
    if (this.central !== undefined) this.bleno.disconnect();
  }

  on<E extends keyof BlePeripheralEvents>(event: E, listener: (...args: BlePeripheralEvents[E]) => void): this {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as (central: BleCentralRef) => void);
    return this;
  }

  off<E extends keyof BlePeripheralEvents>(event: E, listener: (...args: BlePeripheralEvents[E]) => void): this {
    this.listeners.get(event)?.delete(listener as (central: BleCentralRef) => void);
    return this;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.stopAdvertising().catch(() => {});
    if (this.central !== undefined) this.bleno.disconnect();
    for (const [event, l] of this.handlers) this.bleno.removeListener(event, l);
  }
}
