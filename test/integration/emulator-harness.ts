/**
 * Shared pieces of the platform-emulator integration tests: real MQTT.js clients signed with protocol's
 * `signConnect`, a device-side auto-responder, and waiting helpers. No SDK session is used (it is written elsewhere).
 */
import { randomBytes } from "node:crypto";
import { createVirtualIdentity, type PlatformEmulator, type PlatformEmulatorEvents } from "@triadkit/firmware-sim";
import {
  type AlibabaTriad,
  type ConnectCredentials,
  decodeRequest,
  encodeReply,
  propertyGetTopic,
  propertySetTopic,
  rrpcRequestFilter,
  serviceRequestFilter,
  tryParseTopic,
} from "@triadkit/protocol";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { expect, onTestFinished } from "vitest";

/** The OS CSPRNG in the SDK's `Random` shape (secrets in tests still come from a CSPRNG). */
export const osRandom = { bytes: (n: number) => new Uint8Array(randomBytes(n)) };

export const PRODUCT_KEY = "a1EmuTest0K";

export function newTriad(productKey = PRODUCT_KEY): AlibabaTriad {
  return createVirtualIdentity(osRandom, { productKey }).triad;
}

/** Tracks the clients a test file opens and ends them all in `afterEach`/`afterAll`. */
export class ClientPool {
  private readonly clients: MqttClient[] = [];

  /** Connects and resolves on CONNACK 0; rejects with MQTT.js's error (its `code` is the CONNACK return code). */
  connect(url: string, creds: ConnectCredentials, extra: IClientOptions = {}): Promise<MqttClient> {
    const client = mqtt.connect(url, {
      ...creds,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      protocolVersion: 4,
      ...extra,
    });
    this.clients.push(client);
    return new Promise((resolve, reject) => {
      client.once("connect", () => resolve(client));
      client.once("error", (err) => {
        client.end(true);
        reject(err);
      });
    });
  }

  /** The CONNACK return code of a refused login (fails the test if the login succeeds). */
  async refusal(url: string, creds: ConnectCredentials, extra: IClientOptions = {}): Promise<number | string> {
    const err = await this.connect(url, creds, extra).then(
      () => {
        throw new Error("login was accepted");
      },
      (e: unknown) => e as { code?: number | string },
    );
    return err.code ?? "no code";
  }

  async endAll(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
  }
}

/** Resolves with the next message on a topic matching `predicate`. */
export function nextMessage(
  client: MqttClient,
  predicate: (topic: string) => boolean,
  timeoutMs = 5_000,
): Promise<{ topic: string; payload: Buffer }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off("message", onMessage);
      reject(new Error("no matching message"));
    }, timeoutMs);
    const onMessage = (topic: string, payload: Buffer) => {
      if (!predicate(topic)) return;
      clearTimeout(timer);
      client.off("message", onMessage);
      resolve({ topic, payload });
    };
    client.on("message", onMessage);
  });
}

/** Resolves when the client's connection closes. */
export function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (client.disconnected) return resolve();
    client.once("close", () => resolve());
  });
}

export type DeviceHandler = (method: string, params: unknown) => { code: number; data: unknown };

/**
 * Makes a connected client behave like device firmware: it subscribes to property set/get, async services and RRPC,
 * and answers each with `handler` on the reply topic (echoing the id).
 */
export async function autoRespond(client: MqttClient, triad: AlibabaTriad, handler: DeviceHandler): Promise<void> {
  client.on("message", (topic, payload) => {
    const parsed = tryParseTopic(topic);
    if (parsed === undefined) return;
    const replyTopic =
      parsed.kind === "rrpc.request"
        ? topic.replace("/rrpc/request/", "/rrpc/response/")
        : parsed.kind === "service.request" || parsed.kind === "property.set" || parsed.kind === "property.get"
          ? `${topic}_reply`
          : undefined;
    if (replyTopic === undefined) return;
    const request = decodeRequest(new Uint8Array(payload));
    const { code, data } = handler(request.method, request.params);
    client.publish(replyTopic, Buffer.from(encodeReply({ id: request.id, code, data })));
  });
  await client.subscribeAsync([
    propertySetTopic(triad),
    propertyGetTopic(triad),
    serviceRequestFilter(triad),
    rrpcRequestFilter(triad),
  ]);
}

/**
 * Collects an emulator event's argument lists into an array, for later assertions. Called inside a test, the listener
 * is removed when that test finishes, so an emulator shared by a file's tests does not pile listeners up.
 */
export function collect<K extends keyof PlatformEmulatorEvents>(
  emulator: PlatformEmulator,
  event: K,
): PlatformEmulatorEvents[K][] {
  const seen: PlatformEmulatorEvents[K][] = [];
  const listener = (...args: PlatformEmulatorEvents[K]) => seen.push(args);
  emulator.on(event, listener as never);
  if (expect.getState().currentTestName !== undefined) {
    onTestFinished(() => {
      emulator.off(event, listener as never);
    });
  }
  return seen;
}
