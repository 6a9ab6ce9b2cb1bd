/**
 * The cross-process air: one in-process virtual radio ({@link createAir}) served over TCP, so a peripheral in one
 * process (a simulated board) and a central in another (the provisioning station) meet. The server owns the air and
 * applies its whole model (MTU, latency, loss, one connection per peripheral); clients ({@link connectAir}) hold only
 * proxies and their own GATT handlers. Loopback only unless told otherwise: the air has no authentication.
 */
import { createServer, type Server, type Socket } from "node:net";
import { TriadkitError } from "@triadkit/protocol";
import {
  AIR_PROTOCOL_VERSION,
  type Air,
  type AirOptions,
  AirPeer,
  type BleCentral,
  type BleCentralRef,
  type BleConnection,
  type BlePeripheral,
  createAir,
  type GattCharacteristicSpec,
  airNum as num,
  airOptNum as optNum,
  airOptStr as optStr,
  type AirReply as Reply,
  airStr as str,
} from "@triadkit/sdk";

export interface AirServerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (a free port; see {@link AirServer.port}). */
  readonly port?: number;
  /** The radio model (MTU, latency, loss, seeded random). */
  readonly air?: AirOptions;
  /** Connection-level events, for logs. */
  readonly onEvent?: (event: AirServerEvent) => void;
}

export type AirServerEvent =
  | { readonly type: "client"; readonly client: number; readonly remote: string }
  | { readonly type: "clientGone"; readonly client: number; readonly reason: string }
  | { readonly type: "connect"; readonly peripheral: string; readonly central: string; readonly mtu: number }
  | { readonly type: "disconnect"; readonly peripheral: string; readonly central: string };

export interface AirServer {
  /** `air://host:port` */
  readonly url: string;
  readonly port: number;
  readonly air: Air;
  close(): Promise<void>;
}

/** How long the server waits for a client to answer a GATT read or write for its peripheral. */
const HANDLER_TIMEOUT_MS = 30_000;

function strings(h: Record<string, unknown>, key: string): string[] {
  const v = h[key] ?? [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
    throw new TriadkitError("ble.bad_frame", `air request field ${key} must be a list of strings`, { key });
  }
  return v as string[];
}

const PROPERTIES = new Set(["read", "write", "writeWithoutResponse", "notify", "indicate"]);

/** One client's objects on the air; closed with the client's socket. */
class Session {
  private nextHandle = 1;
  private readonly peripherals = new Map<number, BlePeripheral>();
  private readonly centrals = new Map<number, BleCentral>();
  private readonly connections = new Map<number, BleConnection>();
  private readonly subscriptions = new Map<number, () => Promise<void>>();
  private readonly scans = new Map<number, AbortController>();
  readonly peer: AirPeer;

  constructor(
    private readonly air: Air,
    socket: Socket,
    private readonly onEvent: (event: AirServerEvent) => void,
  ) {
    this.peer = new AirPeer(socket, {
      request: (op, header, data) => this.handle(op, header, data),
      event: () => {},
    });
  }

  private handleOf<T>(map: Map<number, T>, h: Record<string, unknown>, key: string): T {
    const v = map.get(num(h, key));
    if (v === undefined)
      throw new TriadkitError("ble.not_connected", `no such ${key} on this air link`, { [key]: h[key] });
    return v;
  }

  private async handle(op: string, h: Record<string, unknown>, data: Uint8Array): Promise<Reply> {
    switch (op) {
      case "hello":
        if (h.version !== AIR_PROTOCOL_VERSION) {
          throw new TriadkitError("ble.bad_frame", "unsupported air protocol version", { version: h.version });
        }
        return { header: { version: AIR_PROTOCOL_VERSION, mtu: this.air.mtu } };

      case "peripheral.open": {
        const address = optStr(h, "address");
        const maxMtu = optNum(h, "maxMtu");
        const rssi = optNum(h, "rssi");
        const p = this.air.peripheral({
          ...(address === undefined ? {} : { address }),
          ...(maxMtu === undefined ? {} : { maxMtu }),
          ...(rssi === undefined ? {} : { rssi }),
        });
        const id = this.nextHandle++;
        this.peripherals.set(id, p);
        p.on("connect", (c) => {
          this.onEvent({ type: "connect", peripheral: p.address ?? "", central: c.address, mtu: c.mtu });
          this.peer.event("peripheral.connect", { id, central: { address: c.address, mtu: c.mtu } });
        });
        p.on("disconnect", (c) => {
          this.onEvent({ type: "disconnect", peripheral: p.address ?? "", central: c.address });
          this.peer.event("peripheral.disconnect", { id, central: { address: c.address, mtu: c.mtu } });
        });
        return { header: { id, address: p.address } };
      }
      case "peripheral.setServices": {
        const id = num(h, "id");
        const p = this.handleOf(this.peripherals, h, "id");
        const services = h.services;
        if (!Array.isArray(services)) throw new TriadkitError("ble.bad_frame", "services must be a list");
        await p.setServices(
          services.map((s: Record<string, unknown>) => {
            const serviceUuid = str(s, "uuid");
            const chars = s.characteristics;
            if (!Array.isArray(chars)) throw new TriadkitError("ble.bad_frame", "characteristics must be a list");
            return {
              uuid: serviceUuid,
              characteristics: chars.map((c: Record<string, unknown>): GattCharacteristicSpec => {
                const characteristicUuid = str(c, "uuid");
                const properties = strings(c, "properties").filter((x) =>
                  PROPERTIES.has(x),
                ) as GattCharacteristicSpec["properties"];
                const where = { id, serviceUuid, characteristicUuid };
                return {
                  uuid: characteristicUuid,
                  properties,
                  onWrite: async (value: Uint8Array, central: BleCentralRef) => {
                    await this.peer.request(
                      "gatt.write",
                      { ...where, central: { ...central } },
                      value,
                      HANDLER_TIMEOUT_MS,
                    );
                  },
                  onRead: async (central: BleCentralRef) =>
                    (
                      await this.peer.request(
                        "gatt.read",
                        { ...where, central: { ...central } },
                        undefined,
                        HANDLER_TIMEOUT_MS,
                      )
                    ).data,
                };
              }),
            };
          }),
        );
        return {};
      }
      case "peripheral.advertise": {
        const p = this.handleOf(this.peripherals, h, "id");
        const localName = optStr(h, "localName");
        await p.startAdvertising({
          serviceUuids: strings(h, "serviceUuids"),
          ...(localName === undefined ? {} : { localName }),
          ...(h.manufacturerData === true ? { manufacturerData: data } : {}),
        });
        return {};
      }
      case "peripheral.stopAdvertising":
        await this.handleOf(this.peripherals, h, "id").stopAdvertising();
        return {};
      case "peripheral.notify":
        await this.handleOf(this.peripherals, h, "id").notify(str(h, "characteristicUuid"), data);
        return {};
      case "peripheral.disconnect":
        await this.handleOf(this.peripherals, h, "id").disconnect();
        return {};
      case "peripheral.close": {
        const p = this.peripherals.get(num(h, "id"));
        this.peripherals.delete(num(h, "id"));
        await p?.close();
        return {};
      }

      case "central.open": {
        const address = optStr(h, "address");
        const c = this.air.central(address === undefined ? {} : { address });
        const id = this.nextHandle++;
        this.centrals.set(id, c);
        return { header: { id } };
      }
      case "central.scan": {
        const c = this.handleOf(this.centrals, h, "id");
        const scan = num(h, "scan");
        const controller = new AbortController();
        this.scans.set(scan, controller);
        try {
          await c.scan(
            { serviceUuids: strings(h, "serviceUuids"), timeoutMs: num(h, "timeoutMs"), signal: controller.signal },
            (found) => {
              const adv = found.advertisement;
              this.peer.event(
                "scan.found",
                {
                  scan,
                  address: found.address,
                  rssi: found.rssi,
                  serviceUuids: adv.serviceUuids,
                  ...(adv.localName === undefined ? {} : { localName: adv.localName }),
                  manufacturerData: adv.manufacturerData !== undefined,
                },
                adv.manufacturerData,
              );
            },
          );
        } finally {
          this.scans.delete(scan);
        }
        return {};
      }
      case "central.stopScan":
        this.scans.get(num(h, "scan"))?.abort();
        return {};
      case "central.connect": {
        const c = this.handleOf(this.centrals, h, "id");
        const mtu = optNum(h, "mtu");
        const timeoutMs = optNum(h, "timeoutMs");
        const conn = await c.connect(str(h, "address"), {
          ...(mtu === undefined ? {} : { mtu }),
          ...(timeoutMs === undefined ? {} : { timeoutMs }),
        });
        const connection = this.nextHandle++;
        this.connections.set(connection, conn);
        conn.onDisconnect(() => {
          this.connections.delete(connection);
          this.peer.event("connection.disconnect", { connection });
        });
        return { header: { connection, address: conn.address, mtu: conn.mtu } };
      }
      case "central.close": {
        const c = this.centrals.get(num(h, "id"));
        this.centrals.delete(num(h, "id"));
        await c?.close();
        return {};
      }

      case "connection.write":
        await this.handleOf(this.connections, h, "connection").write(
          str(h, "serviceUuid"),
          str(h, "characteristicUuid"),
          data,
          h.withResponse !== false,
        );
        return {};
      case "connection.read":
        return {
          data: await this.handleOf(this.connections, h, "connection").read(
            str(h, "serviceUuid"),
            str(h, "characteristicUuid"),
          ),
        };
      case "connection.subscribe": {
        const conn = this.handleOf(this.connections, h, "connection");
        const subscription = num(h, "subscription");
        const unsubscribe = await conn.subscribe(str(h, "serviceUuid"), str(h, "characteristicUuid"), (value) =>
          this.peer.event("notification", { subscription }, value),
        );
        this.subscriptions.set(subscription, unsubscribe);
        return {};
      }
      case "connection.unsubscribe": {
        const subscription = num(h, "subscription");
        const unsubscribe = this.subscriptions.get(subscription);
        this.subscriptions.delete(subscription);
        await unsubscribe?.();
        return {};
      }
      case "connection.disconnect":
        await this.connections.get(num(h, "connection"))?.disconnect();
        return {};
      default:
        throw new TriadkitError("ble.bad_frame", "unknown air operation", { op });
    }
  }

  /** The client went away: its peripherals and centrals leave the air (their peers see a disconnect). */
  async close(): Promise<void> {
    for (const s of this.scans.values()) s.abort();
    for (const p of this.peripherals.values()) await p.close();
    for (const c of this.centrals.values()) await c.close();
    this.peripherals.clear();
    this.centrals.clear();
    this.connections.clear();
    this.subscriptions.clear();
  }
}

export async function startAirServer(options: AirServerOptions = {}): Promise<AirServer> {
  const air = createAir(options.air);
  const onEvent = options.onEvent ?? (() => {});
  const sessions = new Set<Session>();
  const sockets = new Set<Socket>();
  let clients = 0;
  const server: Server = createServer((socket) => {
    const client = ++clients;
    sockets.add(socket);
    const session = new Session(air, socket, onEvent);
    sessions.add(session);
    onEvent({ type: "client", client, remote: `${socket.remoteAddress}:${socket.remotePort}` });
    session.peer.onClose((reason) => {
      sockets.delete(socket);
      sessions.delete(session);
      onEvent({ type: "clientGone", client, reason: reason.code });
      void session.close();
    });
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : (options.port ?? 0);
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `air://${urlHost}:${port}`,
    port,
    air,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of [...sessions]) s.peer.close();
      for (const s of sockets) s.destroy();
      await closed;
      await air.close();
    },
  };
}
