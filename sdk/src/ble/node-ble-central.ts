/**
 * {@link BleCentral} on Linux through `node-ble` (an optional dependency), which talks to BlueZ over the D-Bus system
 * bus: no raw HCI socket, so no CAP_NET_RAW, but BlueZ's D-Bus policy must let the user in (root, or the `bluetooth`
 * group on Debian/Ubuntu, or a polkit rule).
 *
 * Without a system bus node-ble's MessageBus emits an unhandled 'error' (which would crash the process) and
 * `defaultAdapter()` never settles: this adapter listens for the bus error and bounds `defaultAdapter()` with its own
 * timeout, so a missing bus, a missing BlueZ or a missing adapter all become `ble.unavailable` within `timeoutMs`.
 */
import { TriadkitError } from "@triadkit/protocol";
import type { BleAdvertisement, BleCentral, BleConnection, DiscoveredPeripheral } from "./ble.js";
import { explainBleLoadError } from "./bleno-peripheral.js";
import { colonBleAddress, normalizeBleAddress, normalizeUuid } from "./uuid.js";

interface Emitter {
  on(event: string, listener: (...args: never[]) => void): unknown;
  removeListener?(event: string, listener: (...args: never[]) => void): unknown;
}

interface Helper {
  prop(name: string): Promise<unknown>;
}

interface NodeBleCharacteristic extends Emitter {
  readValue(offset?: number): Promise<Buffer>;
  writeValue(buffer: Buffer, options?: { offset?: number; type?: "reliable" | "request" | "command" }): Promise<void>;
  startNotifications(): Promise<void>;
  stopNotifications(): Promise<void>;
  helper?: Helper;
}

interface NodeBleService {
  getCharacteristic(uuid: string): Promise<NodeBleCharacteristic>;
  characteristics(): Promise<string[]>;
}

interface NodeBleGattServer {
  services(): Promise<string[]>;
  getPrimaryService(uuid: string): Promise<NodeBleService>;
}

interface NodeBleDevice extends Emitter {
  getName(): Promise<string>;
  getRSSI(): Promise<unknown>;
  getManufacturerData(): Promise<Record<string, unknown>>;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  gatt(): Promise<NodeBleGattServer>;
  helper?: Helper;
}

interface NodeBleAdapter {
  getAddress(): Promise<string>;
  isDiscovering(): Promise<boolean>;
  startDiscovery(): Promise<void>;
  stopDiscovery(): Promise<void>;
  devices(): Promise<string[]>;
  getDevice(address: string): Promise<NodeBleDevice>;
}

interface NodeBleModule {
  createBluetooth(): { bluetooth: { defaultAdapter(): Promise<NodeBleAdapter>; dbus?: Emitter }; destroy(): void };
}

export interface NodeBleCentralOptions {
  /** Bound on reaching BlueZ and its default adapter (node-ble's own `defaultAdapter()` can hang forever). */
  readonly timeoutMs: number;
  /**
   * A D-Bus address to use as the system bus (`unix:path=…`), e.g. a private dbus-daemon with a fake BlueZ in tests.
   * Default: `DBUS_SYSTEM_BUS_ADDRESS`, else /var/run/dbus/system_bus_socket.
   */
  readonly busAddress?: string;
  /** Loads node-ble. Default: `import("node-ble")`. */
  readonly load?: () => Promise<unknown>;
  /** How often a scan polls BlueZ for devices. Default 250 ms. */
  readonly scanPollMs?: number;
  /** Timeout of each connect, read, write and subscribe. Default 10 000 ms. */
  readonly operationTimeoutMs?: number;
}

function timeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
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

const opTimeout = (what: Record<string, unknown>, ms: number) => () =>
  new TriadkitError("ble.timeout", "the BLE operation did not complete in time", { ...what, timeoutMs: ms });

function gattError(err: unknown, what: Record<string, unknown>): TriadkitError {
  if (err instanceof TriadkitError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TriadkitError(
    "ble.gatt_error",
    `BlueZ: ${message}`,
    { ...what, attError: "unlikely_error" },
    { cause: err },
  );
}

export async function createNodeBleCentral(options: NodeBleCentralOptions): Promise<BleCentral> {
  const { timeoutMs } = options;
  let mod: NodeBleModule;
  try {
    const loaded = (await (options.load ?? (() => import("node-ble" as string)))()) as { default?: unknown };
    mod = (
      typeof (loaded as { createBluetooth?: unknown }).createBluetooth === "function" ? loaded : loaded.default
    ) as NodeBleModule;
  } catch (err) {
    throw new TriadkitError(
      "ble.unavailable",
      explainBleLoadError(err, "node-ble (BlueZ over D-Bus)"),
      { adapter: "node-ble" },
      {
        cause: err,
      },
    );
  }
  // dbus-next reads the address while createBluetooth() runs, synchronously: set it for exactly that call.
  const previous = process.env.DBUS_SYSTEM_BUS_ADDRESS;
  let session: ReturnType<NodeBleModule["createBluetooth"]>;
  try {
    if (options.busAddress !== undefined) process.env.DBUS_SYSTEM_BUS_ADDRESS = options.busAddress;
    session = mod.createBluetooth();
  } catch (err) {
    throw new TriadkitError(
      "ble.unavailable",
      `node-ble: cannot open the D-Bus system bus: ${(err as Error).message}`,
      {
        adapter: "node-ble",
      },
    );
  } finally {
    if (options.busAddress !== undefined) {
      if (previous === undefined) delete process.env.DBUS_SYSTEM_BUS_ADDRESS;
      else process.env.DBUS_SYSTEM_BUS_ADDRESS = previous;
    }
  }
  const destroy = () => {
    try {
      session.destroy();
    } catch {
      // the bus never connected
    }
  };
  let busError: Error | undefined;
  let failFast: ((err: Error) => void) | undefined;
  // Without this listener a missing bus crashes the process (an 'error' event nobody handles).
  session.bluetooth.dbus?.on("error", ((err: Error) => {
    busError = err;
    failFast?.(err);
  }) as (...args: never[]) => void);
  let adapter: NodeBleAdapter;
  try {
    adapter = await new Promise<NodeBleAdapter>((resolve, reject) => {
      const unavailable = (detail: string) =>
        new TriadkitError(
          "ble.unavailable",
          `node-ble: no BlueZ adapter: ${detail}. Needs a D-Bus system bus, bluetoothd running, an adapter (hci0), and a user BlueZ's D-Bus policy admits (root, the bluetooth group, or polkit)`,
          { adapter: "node-ble", timeoutMs },
        );
      const timer = setTimeout(
        () =>
          reject(
            unavailable(busError ? `the system bus failed (${busError.message})` : `no answer within ${timeoutMs} ms`),
          ),
        timeoutMs,
      );
      failFast = (err) => {
        clearTimeout(timer);
        reject(unavailable(`the system bus failed (${err.message})`));
      };
      if (busError !== undefined) failFast(busError);
      session.bluetooth.defaultAdapter().then(
        (a) => {
          clearTimeout(timer);
          resolve(a);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(unavailable(err instanceof Error ? err.message : String(err)));
        },
      );
    });
  } catch (err) {
    destroy();
    throw err;
  }
  failFast = undefined;
  return new NodeBleCentral(adapter, destroy, options.scanPollMs ?? 250, options.operationTimeoutMs ?? 10_000);
}

class NodeBleCentral implements BleCentral {
  private readonly connections = new Set<NodeBleConnection>();
  private closed = false;

  constructor(
    private readonly adapter: NodeBleAdapter,
    private readonly destroy: () => void,
    private readonly pollMs: number,
    private readonly opTimeoutMs: number,
  ) {}

  async scan(
    options: { serviceUuids?: readonly string[]; timeoutMs: number; signal?: AbortSignal },
    onFound: (peripheral: DiscoveredPeripheral) => void,
  ): Promise<void> {
    if (options.signal?.aborted) return;
    const filter = (options.serviceUuids ?? []).map(normalizeUuid);
    const started = !(await this.adapter.isDiscovering());
    if (started) {
      await timeout(
        this.adapter.startDiscovery(),
        this.opTimeoutMs,
        opTimeout({ op: "startDiscovery" }, this.opTimeoutMs),
      ).catch((err: unknown) => {
        throw new TriadkitError("ble.unavailable", `BlueZ refused to start discovery: ${(err as Error).message}`, {
          adapter: "node-ble",
        });
      });
    }
    const reported = new Set<string>();
    const deadline = Date.now() + options.timeoutMs;
    try {
      while (!options.signal?.aborted && Date.now() < deadline && !this.closed) {
        for (const address of await this.adapter.devices()) {
          let normalized: string;
          try {
            normalized = normalizeBleAddress(address);
          } catch {
            continue;
          }
          if (reported.has(normalized)) continue;
          const found = await this.describe(address, normalized).catch(() => undefined);
          if (found === undefined) continue;
          if (filter.length > 0 && !found.advertisement.serviceUuids.some((u) => filter.includes(u))) continue;
          reported.add(normalized);
          try {
            onFound(found);
          } catch {
            // the caller's callback
          }
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, Math.max(0, Math.min(this.pollMs, deadline - Date.now())));
          function done() {
            options.signal?.removeEventListener("abort", done);
            clearTimeout(t);
            resolve();
          }
          options.signal?.addEventListener("abort", done, { once: true });
        });
      }
    } finally {
      if (started) await this.adapter.stopDiscovery().catch(() => {});
    }
  }

  /** What BlueZ knows of a device: name, RSSI, advertised UUIDs, manufacturer data. */
  private async describe(busAddress: string, address: string): Promise<DiscoveredPeripheral> {
    const device = await this.adapter.getDevice(busAddress);
    const name = await device.getName().catch(() => undefined);
    const rssi = Number(await device.getRSSI().catch(() => Number.NaN));
    // node-ble has no getter for Device1.UUIDs; its helper reads any property.
    const uuids = ((await device.helper?.prop("UUIDs").catch(() => undefined)) ?? []) as unknown[];
    const serviceUuids = uuids
      .filter((u): u is string => typeof u === "string")
      .map((u) => {
        try {
          return normalizeUuid(u);
        } catch {
          return undefined;
        }
      })
      .filter((u): u is string => u !== undefined);
    const mfg = await device.getManufacturerData().catch(() => undefined);
    let manufacturerData: Uint8Array | undefined;
    const firstKey = mfg === undefined ? undefined : Object.keys(mfg)[0];
    if (mfg !== undefined && firstKey !== undefined) {
      const company = Number(firstKey);
      const raw = mfg[firstKey] as { value?: unknown } | Buffer | undefined;
      const bytes = raw instanceof Uint8Array ? raw : (raw as { value?: unknown } | undefined)?.value;
      if (Number.isInteger(company) && bytes instanceof Uint8Array) {
        manufacturerData = Uint8Array.from([company & 0xff, company >> 8, ...bytes]);
      }
    }
    const advertisement: BleAdvertisement = {
      serviceUuids,
      ...(typeof name === "string" ? { localName: name } : {}),
      ...(manufacturerData === undefined ? {} : { manufacturerData }),
    };
    return { address, rssi: Number.isFinite(rssi) ? rssi : -127, advertisement };
  }

  async connect(address: string, options: { mtu?: number; timeoutMs?: number } = {}): Promise<BleConnection> {
    const normalized = normalizeBleAddress(address);
    const ms = options.timeoutMs ?? this.opTimeoutMs;
    let device: NodeBleDevice;
    try {
      device = await this.adapter.getDevice(colonBleAddress(normalized));
    } catch {
      throw new TriadkitError("ble.not_found", "BlueZ does not know this device; scan first", { address: normalized });
    }
    const conn = new NodeBleConnection(device, normalized, this.opTimeoutMs, () => this.connections.delete(conn));
    try {
      await timeout(device.connect(), ms, opTimeout({ op: "connect", address: normalized }, ms));
      const gatt = await timeout(device.gatt(), ms, opTimeout({ op: "discover", address: normalized }, ms));
      await conn.init(gatt);
    } catch (err) {
      await device.disconnect().catch(() => {});
      if (err instanceof TriadkitError) throw err;
      throw new TriadkitError("ble.not_connected", `BlueZ could not connect: ${(err as Error).message}`, {
        address: normalized,
      });
    }
    this.connections.add(conn);
    return conn;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.connections]) await c.disconnect().catch(() => {});
    this.destroy();
  }
}

class NodeBleConnection implements BleConnection {
  mtu = 23;
  private gatt: NodeBleGattServer | undefined;
  private readonly disconnectListeners = new Set<() => void>();
  private down = false;

  constructor(
    private readonly device: NodeBleDevice,
    readonly address: string,
    private readonly opTimeoutMs: number,
    private readonly forget: () => void,
  ) {
    device.on("disconnect", (() => this.onDown()) as (...args: never[]) => void);
  }

  /** Caches the GATT server and reads the negotiated MTU (GattCharacteristic1.MTU, BlueZ ≥ 5.62) when exposed. */
  async init(gatt: NodeBleGattServer): Promise<void> {
    this.gatt = gatt;
    for (const s of await gatt.services()) {
      const service = await gatt.getPrimaryService(s);
      for (const c of await service.characteristics()) {
        const mtu = Number(await (await service.getCharacteristic(c)).helper?.prop("MTU").catch(() => undefined));
        if (Number.isInteger(mtu) && mtu >= 23) {
          this.mtu = mtu;
          return;
        }
      }
    }
  }

  private onDown(): void {
    if (this.down) return;
    this.down = true;
    this.forget();
    for (const l of [...this.disconnectListeners]) {
      try {
        l();
      } catch {
        // the caller's listener
      }
    }
  }

  private async characteristic(serviceUuid: string, characteristicUuid: string): Promise<NodeBleCharacteristic> {
    const what = { serviceUuid, characteristicUuid };
    if (this.down || this.gatt === undefined) {
      throw new TriadkitError("ble.not_connected", "the connection is down", { address: this.address, ...what });
    }
    // BlueZ names every UUID in 128-bit form.
    const full = (u: string) => {
      const n = normalizeUuid(u);
      return n.length === 4 ? `0000${n}-0000-1000-8000-00805f9b34fb` : n;
    };
    try {
      const service = await this.gatt.getPrimaryService(full(serviceUuid));
      return await service.getCharacteristic(full(characteristicUuid));
    } catch (err) {
      throw new TriadkitError("ble.gatt_error", `BlueZ: ${(err as Error).message}`, {
        ...what,
        attError: "attribute_not_found",
      });
    }
  }

  async write(serviceUuid: string, characteristicUuid: string, data: Uint8Array, withResponse = true): Promise<void> {
    const what = { op: "write", serviceUuid, characteristicUuid };
    if (data.length > this.mtu - 3) {
      throw new TriadkitError("ble.payload_too_large", "an ATT write carries at most MTU−3 bytes", {
        ...what,
        length: data.length,
        limit: this.mtu - 3,
        mtu: this.mtu,
      });
    }
    const ch = await this.characteristic(serviceUuid, characteristicUuid);
    await timeout(
      ch.writeValue(Buffer.from(data), { type: withResponse ? "request" : "command" }),
      this.opTimeoutMs,
      opTimeout(what, this.opTimeoutMs),
    ).catch((err: unknown) => {
      throw gattError(err, what);
    });
  }

  async read(serviceUuid: string, characteristicUuid: string): Promise<Uint8Array> {
    const what = { op: "read", serviceUuid, characteristicUuid };
    const ch = await this.characteristic(serviceUuid, characteristicUuid);
    const value = await timeout(ch.readValue(), this.opTimeoutMs, opTimeout(what, this.opTimeoutMs)).catch(
      (err: unknown) => {
        throw gattError(err, what);
      },
    );
    return new Uint8Array(value);
  }

  async subscribe(
    serviceUuid: string,
    characteristicUuid: string,
    listener: (data: Uint8Array) => void,
  ): Promise<() => Promise<void>> {
    const what = { op: "subscribe", serviceUuid, characteristicUuid };
    const ch = await this.characteristic(serviceUuid, characteristicUuid);
    const onValue = (value: Buffer) => {
      if (this.down) return;
      try {
        listener(new Uint8Array(value));
      } catch {
        // the caller's listener
      }
    };
    ch.on("valuechanged", onValue as (...args: never[]) => void);
    try {
      await timeout(ch.startNotifications(), this.opTimeoutMs, opTimeout(what, this.opTimeoutMs));
    } catch (err) {
      ch.removeListener?.("valuechanged", onValue as (...args: never[]) => void);
      throw gattError(err, what);
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      ch.removeListener?.("valuechanged", onValue as (...args: never[]) => void);
      if (!this.down) await ch.stopNotifications().catch(() => {});
    };
  }

  onDisconnect(listener: () => void): () => void {
    this.disconnectListeners.add(listener);
    return () => {
      this.disconnectListeners.delete(listener);
    };
  }

  async disconnect(): Promise<void> {
    if (this.down) return;
    await timeout(this.device.disconnect(), this.opTimeoutMs, opTimeout({ op: "disconnect" }, this.opTimeoutMs)).catch(
      () => {},
    );
    this.onDown();
  }
}
