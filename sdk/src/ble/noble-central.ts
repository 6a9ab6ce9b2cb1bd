/**
 * {@link BleCentral} on a PC through `@abandonware/noble` (an optional dependency): the provisioning station's side.
 *
 * `import("@abandonware/noble")` opens an HCI socket while the module loads and throws EAFNOSUPPORT where the kernel
 * has no Bluetooth (containers, CI), EPERM without CAP_NET_RAW: the import is lazy and every such failure becomes
 * `ble.unavailable`. With `bindings`, noble is built by `@abandonware/noble/with-bindings` around them and no native
 * code loads (tests drive the whole adapter through a fake bindings object; docs/ble.md).
 *
 * noble has no timeouts of its own: every operation here has one (`ble.timeout`). noble does not let the central pick
 * the ATT MTU: `connect`'s `mtu` is ignored and the connection reports what the stack negotiated (23 until told).
 */
import { TriadkitError } from "@triadkit/protocol";
import type { BleAdvertisement, BleCentral, BleConnection, DiscoveredPeripheral } from "./ble.js";
import { explainBleLoadError } from "./bleno-peripheral.js";
import { compactUuid, normalizeBleAddress, normalizeUuid } from "./uuid.js";

/** The parts of noble's objects the adapter uses. */
interface NobleEmitter {
  on(event: string, listener: (...args: never[]) => void): unknown;
  once(event: string, listener: (...args: never[]) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
}

interface Noble extends NobleEmitter {
  readonly _state: string;
  startScanningAsync(serviceUuids?: string[], allowDuplicates?: boolean): Promise<void>;
  stopScanningAsync(): Promise<void>;
}

interface NobleCharacteristic extends NobleEmitter {
  readonly uuid: string;
  readonly properties: string[];
  readAsync(): Promise<Buffer>;
  writeAsync(data: Buffer, withoutResponse: boolean): Promise<void>;
  subscribeAsync(): Promise<void>;
  unsubscribeAsync(): Promise<void>;
}

interface NoblePeripheral extends NobleEmitter {
  readonly id: string;
  readonly address: string;
  readonly rssi: number;
  readonly mtu: number | null;
  readonly state: string;
  readonly advertisement: {
    localName?: string;
    serviceUuids?: string[];
    manufacturerData?: Buffer;
  };
  connectAsync(): Promise<void>;
  cancelConnect(): void;
  disconnectAsync(): Promise<void>;
  discoverAllServicesAndCharacteristicsAsync(): Promise<{
    services: { uuid: string; characteristics: NobleCharacteristic[] }[];
    characteristics: NobleCharacteristic[];
  }>;
}

export interface NobleCentralOptions {
  /**
   * noble bindings (an EventEmitter with `init`, `startScanning`, `stopScanning`, `connect`, …, as noble's HCI or
   * WebSocket bindings): noble is then built with `@abandonware/noble/with-bindings` and no HCI socket is opened.
   */
  readonly bindings?: unknown;
  /** Loads noble when no bindings are given. Default: `import("@abandonware/noble")`. */
  readonly load?: () => Promise<unknown>;
  /** How long to wait for `poweredOn`. Default 5000 ms. */
  readonly poweredOnTimeoutMs?: number;
  /** Timeout of each connect, discovery, read, write and subscribe. Default 10 000 ms. */
  readonly operationTimeoutMs?: number;
}

function timeout<T>(
  promise: Promise<T>,
  ms: number,
  what: Record<string, unknown>,
  onTimeout?: () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => {
      try {
        onTimeout?.();
      } catch {
        // best effort (e.g. cancelling a connect the bindings cannot cancel)
      }
      reject(
        new TriadkitError("ble.timeout", "the BLE operation did not complete in time", { ...what, timeoutMs: ms }),
      );
    }, ms);
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

function asBleError(err: unknown, what: Record<string, unknown>): TriadkitError {
  if (err instanceof TriadkitError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TriadkitError(
    "ble.gatt_error",
    `noble: ${message}`,
    { ...what, attError: "unlikely_error" },
    { cause: err },
  );
}

function addressOf(p: NoblePeripheral): string {
  try {
    return normalizeBleAddress(p.address);
  } catch {
    return p.id; // macOS gives no address, only an opaque id
  }
}

function safeUuid(u: string): string | undefined {
  try {
    return normalizeUuid(u);
  } catch {
    return undefined;
  }
}

export async function createNobleCentral(options: NobleCentralOptions = {}): Promise<BleCentral> {
  let noble: Noble;
  if (options.bindings !== undefined) {
    const mod = (await import("@abandonware/noble/with-bindings.js" as string)) as {
      default: (bindings: unknown) => Noble;
    };
    noble = mod.default(options.bindings);
  } else {
    const load = options.load ?? (() => import("@abandonware/noble" as string));
    try {
      const mod = (await load()) as { default?: unknown };
      noble = (mod.default ?? mod) as Noble;
    } catch (err) {
      throw new TriadkitError(
        "ble.unavailable",
        explainBleLoadError(err, "noble (BLE central)"),
        { adapter: "noble", errno: (err as NodeJS.ErrnoException | undefined)?.code },
        { cause: err },
      );
    }
  }
  const waitMs = options.poweredOnTimeoutMs ?? 5000;
  await new Promise<void>((resolve, reject) => {
    const done = (error?: TriadkitError) => {
      clearTimeout(timer);
      noble.removeListener("stateChange", onState as (...args: never[]) => void);
      if (error) reject(error);
      else resolve();
    };
    const onState = (state: string) => {
      if (state === "poweredOn") done();
      else if (state === "unauthorized") {
        done(
          new TriadkitError(
            "ble.unavailable",
            "noble: the adapter refused us (unauthorized): run as root or grant CAP_NET_RAW (setcap cap_net_raw+eip $(readlink -f $(which node)))",
            { adapter: "noble", state },
          ),
        );
      } else if (state === "unsupported") {
        done(
          new TriadkitError("ble.unavailable", "noble: the adapter does not support BLE", { adapter: "noble", state }),
        );
      }
    };
    const timer = setTimeout(
      () =>
        done(
          new TriadkitError(
            "ble.unavailable",
            "noble: the adapter did not power on in time (is it up and unblocked?)",
            {
              adapter: "noble",
              state: noble._state,
              timeoutMs: waitMs,
            },
          ),
        ),
      waitMs,
    );
    noble.on("stateChange", onState as (...args: never[]) => void); // the first listener initialises the bindings
    if (noble._state === "poweredOn") done();
  });
  return new NobleCentral(noble, options.operationTimeoutMs ?? 10_000);
}

class NobleCentral implements BleCentral {
  /** Peripherals seen by a scan, by address: noble connects only to what it has discovered. */
  private readonly seen = new Map<string, NoblePeripheral>();
  private readonly connections = new Set<NobleConnection>();
  private scanning: (() => Promise<void>) | undefined;

  constructor(
    private readonly noble: Noble,
    private readonly opTimeoutMs: number,
  ) {}

  async scan(
    options: { serviceUuids?: readonly string[]; timeoutMs: number; signal?: AbortSignal },
    onFound: (peripheral: DiscoveredPeripheral) => void,
  ): Promise<void> {
    if (this.scanning !== undefined) await this.scanning();
    if (options.signal?.aborted) return;
    const filter = (options.serviceUuids ?? []).map(normalizeUuid);
    const onDiscover = (p: NoblePeripheral) => {
      const serviceUuids = (p.advertisement.serviceUuids ?? [])
        .map(safeUuid)
        .filter((u): u is string => u !== undefined);
      if (filter.length > 0 && !serviceUuids.some((u) => filter.includes(u))) return;
      const address = addressOf(p);
      this.seen.set(address, p);
      const advertisement: BleAdvertisement = {
        serviceUuids,
        ...(p.advertisement.localName === undefined ? {} : { localName: p.advertisement.localName }),
        ...(p.advertisement.manufacturerData === undefined
          ? {}
          : { manufacturerData: new Uint8Array(p.advertisement.manufacturerData) }),
      };
      try {
        onFound({ address, rssi: p.rssi, advertisement });
      } catch {
        // the caller's callback; scanning goes on
      }
    };
    this.noble.on("discover", onDiscover as (...args: never[]) => void);
    try {
      await timeout(this.noble.startScanningAsync(filter.map(compactUuid), false), this.opTimeoutMs, { op: "scan" });
    } catch (err) {
      this.noble.removeListener("discover", onDiscover as (...args: never[]) => void);
      throw err instanceof TriadkitError
        ? err
        : new TriadkitError("ble.unavailable", `noble: could not start scanning: ${(err as Error).message}`, {
            adapter: "noble",
          });
    }
    await new Promise<void>((resolve) => {
      let stopped = false;
      const stop = async () => {
        if (stopped) return;
        stopped = true;
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        this.noble.removeListener("discover", onDiscover as (...args: never[]) => void);
        this.scanning = undefined;
        await timeout(this.noble.stopScanningAsync(), this.opTimeoutMs, { op: "stopScanning" }).catch(() => {});
        resolve();
      };
      const onAbort = () => void stop();
      const timer = setTimeout(onAbort, options.timeoutMs);
      options.signal?.addEventListener("abort", onAbort, { once: true });
      this.scanning = stop;
      if (options.signal?.aborted) onAbort(); // aborted by onFound before scanning had even confirmed its start
    });
  }

  async connect(address: string, options: { mtu?: number; timeoutMs?: number } = {}): Promise<BleConnection> {
    let key = address;
    try {
      key = normalizeBleAddress(address);
    } catch {
      // an opaque noble id (macOS)
    }
    const p = this.seen.get(key);
    if (p === undefined) {
      throw new TriadkitError("ble.not_found", "noble connects only to a peripheral a scan has found; scan first", {
        address: key,
      });
    }
    if (p.state === "connected" || p.state === "connecting") {
      throw new TriadkitError("ble.busy", "already connected or connecting to this peripheral", { address: key });
    }
    const ms = options.timeoutMs ?? this.opTimeoutMs;
    try {
      await timeout(p.connectAsync(), ms, { op: "connect", address: key }, () => p.cancelConnect());
    } catch (err) {
      if (err instanceof TriadkitError) throw err;
      throw new TriadkitError("ble.not_connected", `noble: connect failed: ${(err as Error).message ?? String(err)}`, {
        address: key,
      });
    }
    const conn = new NobleConnection(p, key, this.opTimeoutMs, () => this.connections.delete(conn));
    this.connections.add(conn);
    return conn;
  }

  async close(): Promise<void> {
    await this.scanning?.();
    for (const c of [...this.connections]) await c.disconnect().catch(() => {});
  }
}

class NobleConnection implements BleConnection {
  private characteristics: Promise<Map<string, NobleCharacteristic>> | undefined;
  private readonly disconnectListeners = new Set<() => void>();
  private down = false;
  private readonly onDown: () => void;

  constructor(
    private readonly p: NoblePeripheral,
    readonly address: string,
    private readonly opTimeoutMs: number,
    forget: () => void,
  ) {
    this.onDown = () => {
      if (this.down) return;
      this.down = true;
      forget();
      for (const l of [...this.disconnectListeners]) {
        try {
          l();
        } catch {
          // the caller's listener
        }
      }
    };
    p.once("disconnect", this.onDown);
  }

  get mtu(): number {
    return this.p.mtu ?? 23;
  }

  private check(what: Record<string, unknown>): void {
    if (this.down)
      throw new TriadkitError("ble.not_connected", "the connection is down", { address: this.address, ...what });
  }

  private async characteristic(serviceUuid: string, characteristicUuid: string): Promise<NobleCharacteristic> {
    const s = normalizeUuid(serviceUuid);
    const c = normalizeUuid(characteristicUuid);
    this.check({ serviceUuid: s, characteristicUuid: c });
    if (this.characteristics === undefined) {
      this.characteristics = timeout(this.p.discoverAllServicesAndCharacteristicsAsync(), this.opTimeoutMs, {
        op: "discover",
      }).then(({ services }) => {
        const map = new Map<string, NobleCharacteristic>();
        for (const svc of services) {
          for (const ch of svc.characteristics ?? []) map.set(`${safeUuid(svc.uuid)}/${safeUuid(ch.uuid)}`, ch);
        }
        return map;
      });
      this.characteristics.catch(() => {
        this.characteristics = undefined; // retry discovery next time
      });
    }
    const found = (await this.characteristics).get(`${s}/${c}`);
    if (found === undefined) {
      throw new TriadkitError("ble.gatt_error", "the peripheral has no such characteristic", {
        serviceUuid: s,
        characteristicUuid: c,
        attError: "attribute_not_found",
      });
    }
    return found;
  }

  async write(serviceUuid: string, characteristicUuid: string, data: Uint8Array, withResponse = true): Promise<void> {
    const what = { op: "write", serviceUuid, characteristicUuid };
    this.check(what);
    if (data.length > this.mtu - 3) {
      throw new TriadkitError("ble.payload_too_large", "an ATT write carries at most MTU−3 bytes", {
        ...what,
        length: data.length,
        limit: this.mtu - 3,
        mtu: this.mtu,
      });
    }
    const ch = await this.characteristic(serviceUuid, characteristicUuid);
    await timeout(ch.writeAsync(Buffer.from(data), !withResponse), this.opTimeoutMs, what).catch((e: unknown) => {
      throw asBleError(e, what);
    });
  }

  async read(serviceUuid: string, characteristicUuid: string): Promise<Uint8Array> {
    const what = { op: "read", serviceUuid, characteristicUuid };
    const ch = await this.characteristic(serviceUuid, characteristicUuid);
    const value = await timeout(ch.readAsync(), this.opTimeoutMs, what).catch((e: unknown) => {
      throw asBleError(e, what);
    });
    return new Uint8Array(value);
  }

  async subscribe(
    serviceUuid: string,
    characteristicUuid: string,
    listener: (data: Uint8Array) => void,
  ): Promise<() => Promise<void>> {
    const what = { op: "subscribe", serviceUuid, characteristicUuid };
    const ch = await this.characteristic(serviceUuid, characteristicUuid);
    const onData = (data: Buffer, isNotification: boolean) => {
      if (!isNotification || this.down) return;
      try {
        listener(new Uint8Array(data));
      } catch {
        // the caller's listener
      }
    };
    ch.on("data", onData as (...args: never[]) => void);
    try {
      await timeout(ch.subscribeAsync(), this.opTimeoutMs, what);
    } catch (e) {
      ch.removeListener("data", onData as (...args: never[]) => void);
      throw asBleError(e, what);
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      ch.removeListener("data", onData as (...args: never[]) => void);
      if (!this.down)
        await timeout(ch.unsubscribeAsync(), this.opTimeoutMs, { ...what, op: "unsubscribe" }).catch(() => {});
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
    await timeout(this.p.disconnectAsync(), this.opTimeoutMs, { op: "disconnect" }).catch(() => {});
    this.onDown();
  }
}
