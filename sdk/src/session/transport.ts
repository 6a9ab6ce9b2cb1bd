import mqtt from "mqtt";

/** What the session needs from an MQTT client; MQTT.js's `MqttClient` satisfies it. */
export interface MqttConnection {
  on(event: "connect", listener: () => void): unknown;
  on(event: "error", listener: (err: Error & { code?: number | string }) => void): unknown;
  on(event: "close", listener: () => void): unknown;
  on(event: "message", listener: (topic: string, payload: Uint8Array) => void): unknown;
  subscribe(
    filters: string[],
    options: { qos: 0 | 1 },
    callback: (err?: Error | null, granted?: { topic: string; qos: number }[]) => void,
  ): unknown;
  publish(topic: string, payload: Uint8Array, options: { qos: 0 | 1 }, callback: (err?: Error | null) => void): unknown;
  end(force: boolean, callback?: () => void): unknown;
}

export interface MqttConnectOptions {
  readonly clientId: string;
  readonly username: string;
  readonly password: string;
  readonly keepalive: number;
  readonly connectTimeout: number;
  readonly ca?: string;
  readonly servername?: string;
  readonly rejectUnauthorized: boolean;
}

export type MqttConnector = (url: string, options: MqttConnectOptions) => MqttConnection;

/** The real transport: MQTT.js over TCP or TLS, MQTT 3.1.1, with MQTT.js's own reconnect turned off. */
export const mqttJsConnector: MqttConnector = (url, options) =>
  mqtt.connect(url, {
    ...options,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
    resubscribe: false,
  }) as unknown as MqttConnection;
