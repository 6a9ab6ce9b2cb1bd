import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import {
  type DeviceIdentity,
  decodeRegisterResult,
  decodeRegnwlResult,
  type SignMethod,
  signDynamicRegisterHttp,
  signDynamicRegisterMqtt,
  TriadkitError,
  toHex,
} from "@triadkit/protocol";
import type { Clock } from "../clock.js";
import { SystemClock } from "../clock.js";
import type { Random } from "../random.js";
import { type MqttConnector, mqttJsConnector } from "./transport.js";

/**
 * Dynamic registration (一型一密): a device that holds only its product's secret obtains its own
 * DeviceSecret (pre-registered devices) or a device token (`regnwl`, without pre-registration). The
 * platform hands the secret out once: persist it in the FlashStore before using it.
 */
export interface RegistrationInput extends DeviceIdentity {
  /** Secret. */
  readonly productSecret: string;
  /** A CSPRNG: the random is drawn fresh for every registration (never the C SDK's fixed value). */
  readonly random: Random;
  readonly timeoutMs?: number;
  readonly clock?: Clock;
}

function freshRandom(random: Random): string {
  return toHex(random.bytes(16));
}

/**
 * HTTPS flow: `POST {url}` with the signed form. Default URL
 * `https://iot-auth.{region}.aliyuncs.com/auth/register/device`.
 */
export async function registerOverHttps(
  input: RegistrationInput & {
    readonly url?: string;
    readonly region?: string;
    readonly caPem?: string;
    readonly style?: "node" | "c";
    readonly signMethod?: SignMethod;
  },
): Promise<{ readonly deviceSecret: string }> {
  const url = new URL(
    input.url ?? `https://iot-auth.${input.region ?? "cn-shanghai"}.aliyuncs.com/auth/register/device`,
  );
  const signed = signDynamicRegisterHttp({
    productKey: input.productKey,
    deviceName: input.deviceName,
    productSecret: input.productSecret,
    random: freshRandom(input.random),
    ...(input.style === undefined ? {} : { style: input.style }),
    ...(input.signMethod === undefined ? {} : { signMethod: input.signMethod }),
  });
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  const body = await new Promise<string>((resolve, reject) => {
    const req = send(
      url,
      {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "content-length": Buffer.byteLength(signed.body),
        },
        timeout: input.timeoutMs ?? 10_000,
        ...(input.caPem === undefined ? {} : { ca: input.caPem }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("registration request timed out")));
    req.on("error", (err) =>
      reject(new TriadkitError("session.registration_failed", `registration request failed: ${err.message}`)),
    );
    req.end(signed.body);
  });
  let parsed: { code?: unknown; data?: { deviceSecret?: unknown }; message?: unknown };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    throw new TriadkitError("session.registration_failed", "registration answer is not JSON");
  }
  const secret = parsed.data?.deviceSecret;
  if (parsed.code !== 200 || typeof secret !== "string" || secret.length === 0) {
    throw new TriadkitError(
      "session.registration_failed",
      `platform refused registration (code ${String(parsed.code)})`,
      {
        platformCode: typeof parsed.code === "number" ? parsed.code : undefined,
      },
    );
  }
  return { deviceSecret: secret };
}

/**
 * MQTT flow: log in with `authType=register` (answer on `/ext/register`: the DeviceSecret) or `regnwl`
 * (answer on `/ext/regnwl`: clientId and deviceToken). One attempt, no auto-reconnect.
 */
export async function registerOverMqtt(
  input: RegistrationInput & {
    readonly brokerUrl: string;
    readonly mode?: "register" | "regnwl";
    readonly caPem?: string;
    readonly signMethod?: SignMethod;
    readonly connector?: MqttConnector;
  },
): Promise<{ readonly deviceSecret: string } | { readonly clientId: string; readonly deviceToken: string }> {
  const mode = input.mode ?? "register";
  const clock = input.clock ?? new SystemClock();
  const creds = signDynamicRegisterMqtt({
    productKey: input.productKey,
    deviceName: input.deviceName,
    productSecret: input.productSecret,
    random: freshRandom(input.random),
    mode,
    secureMode: mode === "regnwl" ? -2 : input.brokerUrl.startsWith("mqtts:") ? 2 : 3,
    ...(input.signMethod === undefined ? {} : { signMethod: input.signMethod }),
  });
  const conn = (input.connector ?? mqttJsConnector)(input.brokerUrl, {
    clientId: creds.clientId,
    username: creds.username,
    password: creds.password,
    keepalive: 60,
    connectTimeout: input.timeoutMs ?? 10_000,
    rejectUnauthorized: true,
    ...(input.caPem === undefined ? {} : { ca: input.caPem }),
  });
  const resultTopic = mode === "register" ? "/ext/register" : "/ext/regnwl";
  try {
    return await new Promise((resolve, reject) => {
      const timer = clock.setTimeout(
        () => reject(new TriadkitError("session.registration_failed", "no registration answer in time")),
        input.timeoutMs ?? 10_000,
      );
      const done = (fn: () => void) => {
        timer.cancel();
        fn();
      };
      conn.on("connect", () => conn.subscribe([resultTopic], { qos: 0 }, () => undefined));
      conn.on("message", (topic, payload) => {
        if (topic !== resultTopic) return;
        try {
          const bytes = new Uint8Array(payload);
          const result =
            mode === "register"
              ? { deviceSecret: decodeRegisterResult(bytes).deviceSecret }
              : (({ clientId, deviceToken }) => ({ clientId, deviceToken }))(decodeRegnwlResult(bytes));
          done(() => resolve(result));
        } catch (err) {
          done(() => reject(err));
        }
      });
      conn.on("error", (err) =>
        done(() =>
          reject(
            new TriadkitError("session.registration_failed", `registration login refused: ${err.message}`, {
              connack: typeof err.code === "number" ? err.code : undefined,
            }),
          ),
        ),
      );
    });
  } finally {
    conn.end(true);
  }
}
