import { EventEmitter } from "node:events";
import type { MqttConnection, MqttConnectOptions, MqttConnector } from "./transport.js";

/**
 * An in-memory MQTT transport for tests and simulations: every `connect` becomes a {@link FakeConnection}
 * that the test accepts, refuses (CONNACK code) or drops, and whose publishes it can read and answer.
 */
export class FakeConnection extends EventEmitter implements MqttConnection {
  readonly published: { topic: string; payload: Uint8Array; qos: 0 | 1 }[] = [];
  readonly subscriptions: string[] = [];
  connected = false;
  ended = false;

  constructor(
    readonly url: string,
    readonly options: MqttConnectOptions,
    private readonly network: FakeNetwork,
  ) {
    super();
  }

  accept(): void {
    this.connected = true;
    this.emit("connect");
  }

  refuse(connackCode: number): void {
    const err = Object.assign(new Error(`Connection refused: ${connackCode}`), { code: connackCode });
    this.emit("error", err);
    this.close();
  }

  /** Network failure or broker gone. */
  close(): void {
    if (this.ended) return;
    this.connected = false;
    this.ended = true;
    this.emit("close");
  }

  /** Delivers a downstream message to the device. */
  deliver(topic: string, payload: Uint8Array | string): void {
    this.emit("message", topic, typeof payload === "string" ? new TextEncoder().encode(payload) : payload);
  }

  subscribe(
    filters: string[],
    _options: { qos: 0 | 1 },
    callback: (err?: Error | null, granted?: { topic: string; qos: number }[]) => void,
  ): this {
    this.subscriptions.push(...filters);
    queueMicrotask(() =>
      callback(
        null,
        filters.map((topic) => ({ topic, qos: 0 })),
      ),
    );
    return this;
  }

  publish(topic: string, payload: Uint8Array, options: { qos: 0 | 1 }, callback: (err?: Error | null) => void): this {
    if (!this.connected) {
      queueMicrotask(() => callback(new Error("connection closed")));
      return this;
    }
    this.published.push({ topic, payload, qos: options.qos });
    this.network.onPublish?.(this, topic, payload);
    queueMicrotask(() => callback(null));
    return this;
  }

  end(_force: boolean, callback?: () => void): this {
    this.connected = false;
    this.ended = true;
    if (callback) queueMicrotask(callback);
    return this;
  }
}

export class FakeNetwork {
  readonly connections: FakeConnection[] = [];
  /** Called on every connect; default leaves the connection pending for the test to accept or refuse. */
  onConnect: ((conn: FakeConnection) => void) | undefined;
  onPublish: ((conn: FakeConnection, topic: string, payload: Uint8Array) => void) | undefined;

  readonly connector: MqttConnector = (url, options) => {
    const conn = new FakeConnection(url, options, this);
    this.connections.push(conn);
    queueMicrotask(() => this.onConnect?.(conn));
    return conn;
  };

  get last(): FakeConnection | undefined {
    return this.connections.at(-1);
  }
}
