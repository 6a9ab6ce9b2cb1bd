/**
 * The SDK against Mosquitto (127.0.0.1:1883 on these machines) as a plain MQTT server: Mosquitto does not
 * check triad signatures, so a small "platform" client answers the device's requests.
 */
import { decodeRequest, encodeReply, encodeRequest } from "@triadkit/protocol";
import { createDevice, type Device, liteConnector, mqttJsConnector } from "@triadkit/sdk";
import mqtt from "mqtt";
import { afterAll, describe, expect, it } from "vitest";
import { MOSQUITTO, requireService } from "../helpers/services.js";

const available = await requireService("Mosquitto", MOSQUITTO.host, MOSQUITTO.port);
// Unique per run so parallel runs on one broker do not see each other.
const run = `${process.pid}x${Date.now().toString(36)}`.slice(-12);
const CONNECTORS = [
  ["MQTT.js", mqttJsConnector],
  ["liteConnector", liteConnector],
] as const;

describe.skipIf(!available).each(CONNECTORS)("SDK over Mosquitto (%s)", (name, connector) => {
  const triad = {
    productKey: "a1MosqTest0",
    deviceName: `mq-${name === "MQTT.js" ? "m" : "l"}-${run}`,
    deviceSecret: "abcdefghijklmnopqrstuvwxyz012345",
  };
  const base = `/sys/${triad.productKey}/${triad.deviceName}`;
  const devices: Device[] = [];
  const platform = mqtt.connect(`mqtt://${MOSQUITTO.host}:${MOSQUITTO.port}`, {
    clientId: `platform-${name === "MQTT.js" ? "m" : "l"}-${run}`,
    reconnectPeriod: 0,
  });
  // Listen at once: under load the CONNACK can arrive before the test body runs.
  const platformReady = new Promise<void>((resolve, reject) => {
    platform.once("connect", () => resolve());
    platform.once("error", reject);
  });
  afterAll(async () => {
    await Promise.all(devices.map((d) => d.close()));
    await platform.endAsync(true);
  });

  it("posts properties and gets the platform's reply; answers a service call", async () => {
    await platformReady;
    await platform.subscribeAsync([`${base}/thing/event/property/post`, `${base}/thing/service/+`]);
    const serviceReplies: unknown[] = [];
    platform.on("message", (topic, payload) => {
      if (topic.endsWith("/property/post")) {
        const req = decodeRequest(new Uint8Array(payload));
        platform.publish(`${topic}_reply`, Buffer.from(encodeReply({ id: req.id, code: 200, data: {} })));
      } else if (topic.endsWith("_reply")) {
        serviceReplies.push(JSON.parse(payload.toString()));
      }
    });

    const device = createDevice({
      triad,
      brokerUrl: `mqtt://${MOSQUITTO.host}:${MOSQUITTO.port}`,
      ntpResyncSec: 0,
      connector,
    });
    devices.push(device);
    device.onService("ping", (params) => ({ pong: params }));
    await device.connect();
    expect(device.state).toBe("online");
    const reply = await device.postProperties({ Temperature: 21.5 });
    expect(reply.code).toBe(200);

    await platform.publishAsync(
      `${base}/thing/service/ping`,
      Buffer.from(encodeRequest({ id: "77", params: { n: 1 }, method: "thing.service.ping" })),
    );
    await expect.poll(() => serviceReplies).toEqual([{ id: "77", code: 200, data: { pong: { n: 1 } } }]);
  });
});
