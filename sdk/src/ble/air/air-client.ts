/**
 * `connectAir(url)`: the cross-process air from a client's side, with the same `peripheral()` / `central()` API as an
 * in-process {@link Air}. Each call becomes requests to the air server (see ./frames.ts and docs/ble.md); a
 * peripheral's GATT handlers run here, in the process that created it. When the link to the server drops, every
 * pending call rejects with `ble.not_connected` and every connection reports a disconnect.
 */
import { connect as netConnect, type Socket } from "node:net";
import { TriadkitError } from "@triadkit/protocol";
import type {
  BleAdvertisement,
  BleCentral,
  BleCentralRef,
  BleConnection,
  BlePeripheral,
  BlePeripheralEvents,
  DiscoveredPeripheral,
  GattServiceSpec,
} from "../ble.js";
import { normalizeBleAddress, normalizeUuid } from "../uuid.js";
import type { VirtualCentralOptions, VirtualPeripheralOptions } from "../virtual-radio.js";
import { num, optStr, str } from "./fields.js";
import { AIR_PROTOCOL_VERSION } from "./frames.js";
import { AirPeer, type Reply } from "./peer.js";

export interface RemoteAir {
  readonly url: string;
  /** The server air's largest ATT MTU. */
  readonly mtu: number;
  peripheral(options?: VirtualPeripheralOptions): BlePeripheral;
  central(options?: VirtualCentralOptions): BleCentral;
  /** Closes the link: this client's peripherals and centrals leave the air. */
  close(): Promise<void>;
}

export interface ConnectAirOptions {
  /** How long to wait for the TCP connection and the server's hello. Default 5000 ms. */
  readonly timeoutMs?: number;
}

/** Parses `air://host:port`. */
export function parseAirUrl(url: string): { host: string; port: number } {
  const m = /^air:\/\/(\[[0-9a-fA-F:.]+\]|[^:/[\]]+):(\d{1,5})\/?$/.exec(url.trim());
  const port = m === null ? Number.NaN : Number(m[2]);
  if (m === null || port < 1 || port > 65535) {
    throw new TriadkitError("config.invalid", "an air URL looks like air://127.0.0.1:<port>", { url });
  }
  return { host: (m[1] as string).replace(/^\[|\]$/g, ""), port };
}

export async function connectAir(url: string, options: ConnectAirOptions = {}): Promise<RemoteAir> {
  const { host, port } = parseAirUrl(url);
  const timeoutMs = options.timeoutMs ?? 5000;
  const socket = netConnect({ host, port });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new TriadkitError("ble.timeout", "the air server did not accept the connection in time", { url, timeoutMs }),
      );
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.off("error", onError);
      resolve();
    });
    const onError = (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new TriadkitError("ble.unavailable", `cannot reach the air server at ${url}: ${err.code ?? err.message}`, {
          url,
        }),
      );
    };
    socket.once("error", onError);
  });
  const client = new AirClient(url, socket);
  const hello = await client.peer
    .request("hello", { version: AIR_PROTOCOL_VERSION }, undefined, timeoutMs)
    .catch((err: unknown) => {
      client.peer.close();
      throw err;
    });
  client.mtu = num(hello.header, "mtu");
  return client;
}

class AirClient implements RemoteAir {
  mtu = 0;
  readonly peer: AirPeer;
  private nextLocal = 1;
  /** Server handle → the local object that handles its events. */
  readonly peripherals = new Map<number, RemotePeripheral>();
  readonly connections = new Map<number, RemoteConnection>();
  /** Connections the server reported down before their `central.connect` answer was handled here. */
  readonly gone = new Set<number>();
  readonly subscriptions = new Map<number, (data: Uint8Array) => void>();
  readonly scans = new Map<number, (found: DiscoveredPeripheral) => void>();
  private readonly owned = new Set<{ closeLocal(): void }>();

  constructor(
    readonly url: string,
    socket: Socket,
  ) {
    this.peer = new AirPeer(socket, {
      request: (op, h, data) => this.onRequest(op, h, data),
      event: (op, h, data) => this.onEvent(op, h, data),
    });
    this.peer.onClose(() => {
      for (const o of [...this.owned]) o.closeLocal();
    });
  }

  localId(): number {
    return this.nextLocal++;
  }

  own(o: { closeLocal(): void }): void {
    this.owned.add(o);
  }

  disown(o: { closeLocal(): void }): void {
    this.owned.delete(o);
  }

  private async onRequest(op: string, h: Record<string, unknown>, data: Uint8Array): Promise<Reply> {
    const p = this.peripherals.get(num(h, "id"));
    if (p === undefined)
      throw new TriadkitError("ble.gatt_error", "no such peripheral here", { attError: "unlikely_error" });
    return p.handleGatt(op, h, data);
  }

  private onEvent(op: string, h: Record<string, unknown>, data: Uint8Array): void {
    switch (op) {
      case "peripheral.connect":
      case "peripheral.disconnect":
        this.peripherals.get(num(h, "id"))?.handleEvent(op, h);
        return;
      case "connection.disconnect": {
        const c = this.connections.get(num(h, "connection"));
        if (c === undefined) this.gone.add(num(h, "connection"));
        else c.closeLocal();
        return;
      }
      case "notification":
        this.subscriptions.get(num(h, "subscription"))?.(data);
        return;
      case "scan.found": {
        const localName = optStr(h, "localName");
        const advertisement: BleAdvertisement = {
          serviceUuids: Array.isArray(h.serviceUuids) ? (h.serviceUuids as string[]) : [],
          ...(localName === undefined ? {} : { localName }),
          ...(h.manufacturerData === true ? { manufacturerData: data } : {}),
        };
        this.scans.get(num(h, "scan"))?.({ address: str(h, "address"), rssi: num(h, "rssi"), advertisement });
        return;
      }
    }
  }

  peripheral(options: VirtualPeripheralOptions = {}): BlePeripheral {
    return new RemotePeripheral(this, options);
  }

  central(options: VirtualCentralOptions = {}): BleCentral {
    return new RemoteCentral(this, options);
  }

  async close(): Promise<void> {
    this.peer.close();
  }
}

function centralRef(h: Record<string, unknown>): BleCentralRef {
  const c = (h.central ?? {}) as Record<string, unknown>;
  return Object.freeze({ address: str(c, "address"), mtu: num(c, "mtu") });
}

class RemotePeripheral implements BlePeripheral {
  private readonly ready: Promise<number>;
  private addr: string | undefined;
  private services: readonly GattServiceSpec[] = [];
  private readonly listeners = new Map<keyof BlePeripheralEvents, Set<(central: BleCentralRef) => void>>();
  private connected: BleCentralRef | undefined;

  constructor(
    private readonly client: AirClient,
    options: VirtualPeripheralOptions,
  ) {
    this.addr = options.address === undefined ? undefined : normalizeBleAddress(options.address);
    this.ready = client.peer
      .request("peripheral.open", { ...options, ...(this.addr === undefined ? {} : { address: this.addr }) })
      .then((f) => {
        const id = num(f.header, "id");
        this.addr = str(f.header, "address");
        client.peripherals.set(id, this);
        client.own(this);
        return id;
      });
    this.ready.catch(() => {}); // surfaced by the next call
  }

  get address(): string | undefined {
    return this.addr;
  }

  private emit(event: keyof BlePeripheralEvents, central: BleCentralRef): void {
    for (const l of [...(this.listeners.get(event) ?? [])]) {
      try {
        l(central);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  handleEvent(op: string, h: Record<string, unknown>): void {
    const central = centralRef(h);
    if (op === "peripheral.connect") {
      this.connected = central;
      this.emit("connect", central);
    } else {
      this.connected = undefined;
      this.emit("disconnect", central);
    }
  }

  async handleGatt(op: string, h: Record<string, unknown>, data: Uint8Array): Promise<Reply> {
    const s = normalizeUuid(str(h, "serviceUuid"));
    const c = normalizeUuid(str(h, "characteristicUuid"));
    const spec = this.services
      .find((x) => normalizeUuid(x.uuid) === s)
      ?.characteristics.find((x) => normalizeUuid(x.uuid) === c);
    if (spec === undefined)
      throw new TriadkitError("ble.gatt_error", "no such characteristic", { attError: "attribute_not_found" });
    const central = centralRef(h);
    if (op === "gatt.write") {
      await spec.onWrite?.(data, central);
      return {};
    }
    return { data: (await spec.onRead?.(central)) ?? new Uint8Array(0) };
  }

  closeLocal(): void {
    const central = this.connected;
    this.connected = undefined;
    if (central !== undefined) this.emit("disconnect", central);
  }

  async setServices(services: readonly GattServiceSpec[]): Promise<void> {
    const id = await this.ready;
    this.services = services;
    await this.client.peer.request("peripheral.setServices", {
      id,
      services: services.map((s) => ({
        uuid: s.uuid,
        characteristics: s.characteristics.map((c) => ({ uuid: c.uuid, properties: c.properties })),
      })),
    });
  }

  async startAdvertising(advertisement: BleAdvertisement): Promise<void> {
    const id = await this.ready;
    await this.client.peer.request(
      "peripheral.advertise",
      {
        id,
        serviceUuids: advertisement.serviceUuids,
        ...(advertisement.localName === undefined ? {} : { localName: advertisement.localName }),
        manufacturerData: advertisement.manufacturerData !== undefined,
      },
      advertisement.manufacturerData,
    );
  }

  async stopAdvertising(): Promise<void> {
    await this.client.peer.request("peripheral.stopAdvertising", { id: await this.ready });
  }

  async notify(characteristicUuid: string, data: Uint8Array): Promise<void> {
    await this.client.peer.request("peripheral.notify", { id: await this.ready, characteristicUuid }, data);
  }

  async disconnect(): Promise<void> {
    await this.client.peer.request("peripheral.disconnect", { id: await this.ready });
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
    let id: number;
    try {
      id = await this.ready;
    } catch {
      return;
    }
    this.client.peripherals.delete(id);
    this.client.disown(this);
    if (!this.client.peer.closed) await this.client.peer.request("peripheral.close", { id }).catch(() => {});
    this.closeLocal();
  }
}

class RemoteCentral implements BleCentral {
  private readonly ready: Promise<number>;

  constructor(
    private readonly client: AirClient,
    options: VirtualCentralOptions,
  ) {
    this.ready = client.peer
      .request("central.open", options.address === undefined ? {} : { address: options.address })
      .then((f) => num(f.header, "id"));
    this.ready.catch(() => {});
  }

  async scan(
    options: { serviceUuids?: readonly string[]; timeoutMs: number; signal?: AbortSignal },
    onFound: (peripheral: DiscoveredPeripheral) => void,
  ): Promise<void> {
    const id = await this.ready;
    if (options.signal?.aborted) return;
    const scan = this.client.localId();
    this.client.scans.set(scan, (found) => {
      try {
        onFound(found);
      } catch {
        // the caller's callback; the scan goes on
      }
    });
    const stop = () => void this.client.peer.request("central.stopScan", { scan }).catch(() => {});
    options.signal?.addEventListener("abort", stop, { once: true });
    try {
      await this.client.peer.request("central.scan", {
        id,
        scan,
        serviceUuids: options.serviceUuids ?? [],
        timeoutMs: options.timeoutMs,
      });
    } finally {
      options.signal?.removeEventListener("abort", stop);
      this.client.scans.delete(scan);
    }
  }

  async connect(address: string, options: { mtu?: number; timeoutMs?: number } = {}): Promise<BleConnection> {
    const id = await this.ready;
    const f = await this.client.peer.request("central.connect", { id, address, ...options });
    const connection = num(f.header, "connection");
    const conn = new RemoteConnection(this.client, connection, str(f.header, "address"), num(f.header, "mtu"));
    this.client.connections.set(connection, conn);
    this.client.own(conn);
    if (this.client.gone.delete(connection)) conn.closeLocal();
    return conn;
  }

  async close(): Promise<void> {
    let id: number;
    try {
      id = await this.ready;
    } catch {
      return;
    }
    if (!this.client.peer.closed) await this.client.peer.request("central.close", { id }).catch(() => {});
  }
}

class RemoteConnection implements BleConnection {
  private readonly disconnectListeners = new Set<() => void>();
  private down = false;
  private readonly subscriptions = new Set<number>();

  constructor(
    private readonly client: AirClient,
    private readonly connection: number,
    readonly address: string,
    readonly mtu: number,
  ) {}

  closeLocal(): void {
    if (this.down) return;
    this.down = true;
    this.client.connections.delete(this.connection);
    this.client.disown(this);
    for (const s of this.subscriptions) this.client.subscriptions.delete(s);
    for (const l of [...this.disconnectListeners]) {
      try {
        l();
      } catch {
        // the caller's listener
      }
    }
  }

  private check(): void {
    if (this.down) throw new TriadkitError("ble.not_connected", "the connection is down", { address: this.address });
  }

  async write(serviceUuid: string, characteristicUuid: string, data: Uint8Array, withResponse = true): Promise<void> {
    this.check();
    await this.client.peer.request(
      "connection.write",
      { connection: this.connection, serviceUuid, characteristicUuid, withResponse },
      data,
    );
  }

  async read(serviceUuid: string, characteristicUuid: string): Promise<Uint8Array> {
    this.check();
    return (
      await this.client.peer.request("connection.read", {
        connection: this.connection,
        serviceUuid,
        characteristicUuid,
      })
    ).data;
  }

  async subscribe(
    serviceUuid: string,
    characteristicUuid: string,
    listener: (data: Uint8Array) => void,
  ): Promise<() => Promise<void>> {
    this.check();
    const subscription = this.client.localId();
    this.client.subscriptions.set(subscription, (data) => {
      try {
        listener(data);
      } catch {
        // the caller's listener
      }
    });
    this.subscriptions.add(subscription);
    try {
      await this.client.peer.request("connection.subscribe", {
        connection: this.connection,
        serviceUuid,
        characteristicUuid,
        subscription,
      });
    } catch (err) {
      this.client.subscriptions.delete(subscription);
      this.subscriptions.delete(subscription);
      throw err;
    }
    return async () => {
      if (!this.subscriptions.delete(subscription)) return;
      this.client.subscriptions.delete(subscription);
      if (!this.down) await this.client.peer.request("connection.unsubscribe", { subscription }).catch(() => {});
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
    await this.client.peer.request("connection.disconnect", { connection: this.connection }).catch(() => {});
    this.closeLocal();
  }
}
