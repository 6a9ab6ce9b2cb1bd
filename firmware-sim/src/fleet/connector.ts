import { isIP, connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { MqttConnection, MqttConnector } from "@triadkit/sdk";
import { MqttClient } from "mqtt";

/**
 * An SDK {@link MqttConnector} that opens the socket itself so it can bind a source address (`localAddress`):
 * MQTT.js's own TCP builder does not pass one. MQTT 3.1.1, clean session, MQTT.js's reconnect off (the SDK
 * reconnects with its back-off), as the SDK's default connector.
 */
export function createSourceBoundConnector(localAddress: string | undefined): MqttConnector {
  return (url, options) => {
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
            ...(options.servername !== undefined || isIP(host) === 0 ? { servername: options.servername ?? host } : {}),
            rejectUnauthorized: options.rejectUnauthorized,
            ...(options.ca === undefined ? {} : { ca: options.ca }),
          })
        : netConnect({ host, port, ...bind });
    const client = new MqttClient(streamBuilder, {
      clientId: options.clientId,
      username: options.username,
      password: options.password,
      keepalive: options.keepalive,
      connectTimeout: options.connectTimeout,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 0,
      resubscribe: false,
    });
    return client as unknown as MqttConnection;
  };
}

function isLoopback(host: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(host) || host === "localhost";
}
