import { EventEmitter } from "node:events";
import { isIP, type Socket, connect as tcpConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import mqttPacket, { type Packet, type Parser } from "mqtt-packet";
import type { MqttConnection, MqttConnectOptions, MqttConnector } from "./transport.js";

/**
 * A compact MQTT 3.1.1 client for the session: one bare `net`/`tls` socket, `mqtt-packet` for the codec, and only
 * what {@link MqttConnection} needs (CONNECT/CONNACK, SUBSCRIBE/SUBACK, PUBLISH QoS 0 and 1 both ways, PINGREQ on
 * keepalive, DISCONNECT). No reconnect, no offline store, no topic aliases: the session owns reconnects and its own
 * queue. Per connection it keeps a socket, one timer, a parser only while a packet is arriving, and a lazily created
 * map of packets waiting for an ack; everything else (listeners, fixed packets) is shared by all connections. Errors
 * look like MQTT.js's: a refused CONNACK is an `Error` whose `code` is the return code, socket errors keep Node's
 * string `code`.
 */
export interface LiteConnectorOptions {
  /** Source address to bind the socket to (e.g. spreading a fleet over 127.0.0.0/8). */
  readonly localAddress?: string;
}

/** Creates a connector; {@link liteConnector} is the one without options. */
export function createLiteConnector(options: LiteConnectorOptions = {}): MqttConnector {
  return (url, connectOptions) => new LiteConnection(url, connectOptions, options.localAddress);
}

/** The light MQTT 3.1.1 transport, for fleets and small boards: `createDevice({ ..., connector: liteConnector })`. */
export const liteConnector: MqttConnector = createLiteConnector();

/** CONNACK return codes of MQTT 3.1.1, worded as MQTT.js words them. */
const CONNACK_REASONS: Readonly<Record<number, string>> = {
  1: "Unacceptable protocol version",
  2: "Identifier rejected",
  3: "Server unavailable",
  4: "Bad username or password",
  5: "Not authorized",
};

const PINGREQ = mqttPacket.generate({ cmd: "pingreq" });
const DISCONNECT = mqttPacket.generate({ cmd: "disconnect" });
const OWNER = Symbol("liteConnection");

// Flags of a connection's state, packed into one number.
const CONNECTED = 1;
const PING_OUTSTANDING = 2;
const CLOSED = 4;

/** A packet id's waiter: a PUBACK (no packet) or a SUBACK (its `granted` list). */
type AckWaiter = (err: Error | null, granted?: readonly number[]) => void;

type Owned<T> = T & { [OWNER]: LiteConnection };

class LiteConnection extends EventEmitter implements MqttConnection {
  private readonly socket: Owned<Socket>;
  /** Created when bytes arrive and dropped again at a packet boundary: an idle connection keeps no parser. */
  private parser: Owned<Parser> | undefined;
  private timer: NodeJS.Timeout;
  private readonly keepaliveMs: number;
  private flags = 0;
  private lastId = 0;
  private waiting: Map<number, AckWaiter> | undefined;

  constructor(url: string, options: MqttConnectOptions, localAddress: string | undefined) {
    super();
    const u = new URL(url);
    const host = u.hostname.replace(/^\[|\]$/g, "");
    const secure = u.protocol === "mqtts:";
    const port = Number(u.port || (secure ? 8883 : 1883));
    const socket = (
      secure
        ? tlsConnect({
            host,
            port,
            ...(localAddress === undefined ? {} : { localAddress }), // tls.connect passes it on to net
            // SNI carries host names only (RFC 6066): none for an IP address, which the certificate's SAN must hold.
            servername: options.servername ?? (isIP(host) === 0 ? host : undefined),
            rejectUnauthorized: options.rejectUnauthorized,
            ca: options.ca,
          })
        : tcpConnect({ host, port, localAddress })
    ) as Owned<Socket>;
    socket[OWNER] = this;
    socket.on("data", onSocketData);
    socket.on("error", onSocketError);
    socket.on("close", onSocketClose);
    this.socket = socket;
    this.keepaliveMs = options.keepalive * 1000;
    this.timer = setTimeout(onConnectTimeout, options.connectTimeout, this);
    // Written at once: the socket buffers it until it is connected (or its TLS handshake done).
    socket.write(
      mqttPacket.generate({
        cmd: "connect",
        protocolId: "MQTT",
        protocolVersion: 4,
        clean: true,
        clientId: options.clientId,
        keepalive: options.keepalive,
        username: options.username,
        password: Buffer.from(options.password, "utf8"),
      }),
    );
  }

  subscribe(
    filters: string[],
    options: { qos: 0 | 1 },
    callback: (err?: Error | null, granted?: { topic: string; qos: number }[]) => void,
  ): this {
    const messageId = this.waitFor((err, granted) => {
      if (err) return callback(err);
      const list = filters.map((topic, i) => ({ topic, qos: granted?.[i] ?? 0x80 }));
      const failed = list.find((g) => (g.qos & 0x80) !== 0);
      if (failed) return callback(Object.assign(new Error("Subscribe error: Unspecified error"), { code: failed.qos }));
      callback(null, list);
    });
    if (messageId === 0) return this;
    this.send(
      mqttPacket.generate({
        cmd: "subscribe",
        messageId,
        subscriptions: filters.map((topic) => ({ topic, qos: options.qos })),
      }),
    );
    return this;
  }

  publish(topic: string, payload: Uint8Array, options: { qos: 0 | 1 }, callback: (err?: Error | null) => void): this {
    const body = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    if (options.qos === 0) {
      if (this.flags & CLOSED) {
        process.nextTick(callback, connectionClosed());
        return this;
      }
      this.send(mqttPacket.generate({ cmd: "publish", topic, payload: body, qos: 0, dup: false, retain: false }));
      process.nextTick(callback, null);
      return this;
    }
    const messageId = this.waitFor((err) => callback(err));
    if (messageId !== 0) {
      this.send(
        mqttPacket.generate({ cmd: "publish", topic, payload: body, qos: 1, dup: false, retain: false, messageId }),
      );
    }
    return this;
  }

  end(force: boolean, callback?: () => void): this {
    if (this.flags & CLOSED) {
      if (callback) process.nextTick(callback);
      return this;
    }
    if (callback) this.once("close", callback);
    if (force || !(this.flags & CONNECTED)) {
      this.socket.destroy();
    } else {
      this.socket.end(DISCONNECT);
    }
    return this;
  }

  /** Registers a waiter under a free packet id; 0 (and the waiter failed) once the connection is closed. */
  private waitFor(waiter: AckWaiter): number {
    if (this.flags & CLOSED) {
      process.nextTick(waiter, connectionClosed());
      return 0;
    }
    this.waiting ??= new Map();
    let id = this.lastId;
    do id = id >= 0xffff ? 1 : id + 1;
    while (this.waiting.has(id));
    this.lastId = id;
    this.waiting.set(id, waiter);
    return id;
  }

  private send(packet: Buffer): void {
    if (this.flags & CLOSED) return;
    if ((this.flags & (CONNECTED | PING_OUTSTANDING)) === CONNECTED && this.keepaliveMs > 0) this.timer.refresh();
    this.socket.write(packet);
  }

  /** @internal */
  onPacket(packet: Packet): void {
    if (!(this.flags & CONNECTED)) {
      if (packet.cmd !== "connack") {
        this.fail(new Error(`Protocol error: ${packet.cmd} before CONNACK`));
        return;
      }
      clearTimeout(this.timer);
      const rc = packet.returnCode ?? 0;
      if (rc !== 0) {
        const reason = CONNACK_REASONS[rc] ?? "Unknown error";
        this.fail(Object.assign(new Error(`Connection refused: ${reason}`), { code: rc }));
        return;
      }
      this.flags |= CONNECTED;
      if (this.keepaliveMs > 0) this.timer = setTimeout(onKeepalive, this.keepaliveMs, this);
      this.emit("connect");
      return;
    }
    switch (packet.cmd) {
      case "publish": {
        const id = packet.messageId;
        this.emit("message", packet.topic, packet.payload as Buffer);
        if (packet.qos === 1 && id !== undefined) this.send(mqttPacket.generate({ cmd: "puback", messageId: id }));
        else if (packet.qos === 2 && id !== undefined) this.send(mqttPacket.generate({ cmd: "pubrec", messageId: id }));
        return;
      }
      case "pubrel":
        this.send(mqttPacket.generate({ cmd: "pubcomp", messageId: packet.messageId ?? 0 }));
        return;
      case "puback":
      case "suback": {
        const id = packet.messageId ?? 0;
        const waiter = this.waiting?.get(id);
        if (waiter === undefined) return;
        this.waiting?.delete(id);
        waiter(null, packet.cmd === "suback" ? (packet.granted as number[]) : undefined);
        return;
      }
      case "pingresp":
        this.flags &= ~PING_OUTSTANDING;
        return;
      default:
        return;
    }
  }

  /** @internal The keepalive timer fired: a ping still unanswered closes the connection, else a ping is sent. */
  keepalive(): void {
    if (this.flags & CLOSED) return;
    if (this.flags & PING_OUTSTANDING) {
      this.fail(new Error("Keepalive timeout"));
      return;
    }
    this.flags |= PING_OUTSTANDING;
    this.socket.write(PINGREQ);
    this.timer.refresh();
  }

  /** @internal Reports `err` (as MQTT.js does, an `error` event) and closes the socket. */
  fail(err: Error): void {
    if (this.flags & CLOSED) return;
    if (this.listenerCount("error") > 0) this.emit("error", err);
    this.socket.destroy();
  }

  /** @internal The socket is gone: fails every waiter, emits `close` once. */
  closed(): void {
    if (this.flags & CLOSED) return;
    this.flags = CLOSED;
    clearTimeout(this.timer);
    this.parser?.removeAllListeners();
    this.parser = undefined;
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) for (const waiter of waiting.values()) waiter(connectionClosed());
    this.emit("close");
  }

  /** @internal */
  parse(chunk: Buffer): void {
    if (this.flags & CLOSED) return;
    let parser = this.parser;
    if (parser === undefined) {
      parser = mqttPacket.parser({ protocolVersion: 4 }) as Owned<Parser>;
      parser[OWNER] = this;
      parser.on("packet", onParserPacket);
      parser.on("error", onParserError);
      this.parser = parser;
    }
    const left = parser.parse(chunk);
    // Between packets (nothing buffered, no header read, no packet begun) the parser holds no state worth keeping.
    if (left === 0 && this.parser === parser && isBetweenPackets(parser)) {
      this.parser = undefined;
    }
  }
}

/** mqtt-packet's parser state: back at its first step, with no packet length read. */
function isBetweenPackets(parser: Parser): boolean {
  const state = parser as unknown as { _stateCounter?: number; packet?: { length?: number } };
  return state._stateCounter === 0 && state.packet?.length === -1;
}

function connectionClosed(): Error {
  return new Error("Connection closed");
}

// Listeners shared by every connection: `this` is the socket or parser, which points back to its connection.
function onSocketData(this: Owned<Socket>, chunk: Buffer): void {
  this[OWNER].parse(chunk);
}
function onSocketError(this: Owned<Socket>, err: Error): void {
  this[OWNER].fail(err);
}
function onSocketClose(this: Owned<Socket>): void {
  this[OWNER].closed();
}
function onParserPacket(this: Owned<Parser>, packet: Packet): void {
  this[OWNER].onPacket(packet);
}
function onParserError(this: Owned<Parser>, err: Error): void {
  this[OWNER].fail(err);
}
function onConnectTimeout(conn: LiteConnection): void {
  conn.fail(new Error("connack timeout"));
}
function onKeepalive(conn: LiteConnection): void {
  conn.keepalive();
}
