import { isIP, connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { Clock, MqttConnection, MqttConnector, TimerHandle } from "@triadkit/sdk";
import { MqttClient } from "mqtt";

/** A fleet device's connector: an SDK {@link MqttConnector} that also tells whether a PINGREQ awaits its PINGRESP. */
export interface FleetConnector extends MqttConnector {
  /** The current connection sent a PINGREQ and has not had the PINGRESP yet. */
  readonly awaitingPong: boolean;
}

export interface FleetConnectorOptions {
  /** Source address to bind (loopback brokers only). */
  readonly localAddress?: string | undefined;
  /**
   * The clock MQTT's own timers run on: the keepalive (PINGREQ after `keepalive` s, the connection given up 1.5×
   * `keepalive` s after the last answer) and the CONNACK timeout. On a virtual clock a partitioned device thus
   * notices in virtual time, as a real one would. Default: MQTT.js's real timers.
   */
  readonly clock?: Clock | undefined;
}

/**
 * An SDK {@link MqttConnector} that opens the socket itself so it can bind a source address (`localAddress`):
 * MQTT.js's own TCP builder does not pass one. MQTT 3.1.1, clean session, MQTT.js's reconnect off (the SDK
 * reconnects with its back-off), as the SDK's default connector.
 */
export function createSourceBoundConnector(options: FleetConnectorOptions = {}): FleetConnector {
  const { localAddress, clock } = options;
  let awaitingPong = false;
  const connector: MqttConnector = (url, connect) => {
    const u = new URL(url);
    const host = u.hostname.replace(/^\[|\]$/g, "");
    const tls = u.protocol === "mqtts:";
    const port = Number(u.port || (tls ? 8883 : 1883));
    const bind = localAddress === undefined || !isLoopback(host) ? {} : { localAddress };
    const streamBuilder = () =>
      tls
        ? tlsConnect({
            host,
            port,
            ...bind,
            // SNI carries host names only (RFC 6066): none for an IP address, which the certificate's SAN must hold.
            ...(connect.servername !== undefined || isIP(host) === 0 ? { servername: connect.servername ?? host } : {}),
            rejectUnauthorized: connect.rejectUnauthorized,
            ...(connect.ca === undefined ? {} : { ca: connect.ca }),
          })
        : netConnect({ host, port, ...bind });
    const client = new MqttClient(streamBuilder, {
      clientId: connect.clientId,
      username: connect.username,
      password: connect.password,
      keepalive: connect.keepalive,
      // On an injected clock the CONNACK timeout below is the one that counts; MQTT.js's real one only backs it up.
      connectTimeout: clock === undefined ? connect.connectTimeout : Math.max(connect.connectTimeout, 120_000),
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 0,
      resubscribe: false,
      ...(clock === undefined ? {} : { timerVariant: clockIntervals(clock) }),
    });
    awaitingPong = false;
    client.on("packetsend", (packet) => {
      if (packet.cmd === "pingreq") awaitingPong = true;
    });
    client.on("packetreceive", (packet) => {
      if (packet.cmd === "pingresp") awaitingPong = false;
    });
    client.on("close", () => {
      awaitingPong = false;
    });
    if (clock !== undefined) {
      const connack = clock.setTimeout(() => {
        if (!client.connected) {
          client.emit("error", new Error("connack timeout"));
          client.end(true);
        }
      }, connect.connectTimeout);
      client.once("connect", () => connack.cancel());
      client.once("close", () => connack.cancel());
    }
    return client as unknown as MqttConnection;
  };
  return Object.defineProperty(connector, "awaitingPong", { get: () => awaitingPong }) as FleetConnector;
}

/** MQTT.js's `timerVariant` (repeating timers, as `setInterval`) on an injected clock. */
function clockIntervals(clock: Clock): { set: (fn: () => void, ms: number) => number; clear: (id: number) => void } {
  const running = new Map<number, TimerHandle>();
  let nextId = 1;
  return {
    set(fn, ms) {
      const id = nextId++;
      const arm = () => {
        running.set(
          id,
          clock.setTimeout(() => {
            arm();
            fn();
          }, ms),
        );
      };
      arm();
      return id;
    },
    clear(id) {
      running.get(id)?.cancel();
      running.delete(id);
    },
  };
}

function isLoopback(host: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(host) || host === "localhost";
}
