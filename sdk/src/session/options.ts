import {
  type AlibabaTriad,
  parseDeviceName,
  parseDeviceSecret,
  parseProductKey,
  SIGN_METHODS,
  TriadkitError,
  type WireStyle,
} from "@triadkit/protocol";
import { z } from "zod";
import type { Clock } from "../clock.js";
import type { Logger } from "../logging/logger.js";
import type { MessageStore } from "../queue/message-store.js";
import type { Random } from "../random.js";
import { type BackoffOptions, DEFAULT_BACKOFF } from "./backoff.js";
import type { RateLimit } from "./token-bucket.js";
import type { MqttConnector } from "./transport.js";

/** Families of upstream messages, each with its own token bucket. */
export const MESSAGE_FAMILIES = ["property", "event", "tags", "config", "ntp", "reply", "other"] as const;
export type MessageFamily = (typeof MESSAGE_FAMILIES)[number];

const int = (min: number, max: number, unit: string) =>
  z
    .number()
    .int()
    .min(min, { message: `must be between ${min} and ${max} ${unit}` })
    .max(max, { message: `must be between ${min} and ${max} ${unit}` });

const rateLimit = z.object({
  ratePerSec: z.number().positive().max(1000),
  burst: z.number().int().min(1).max(10_000),
});

/** The zod schema of the plain (serialisable) options; validated once in `createDevice`. */
export const deviceOptionsSchema = z
  .object({
    triad: z.object({ productKey: z.string(), deviceName: z.string(), deviceSecret: z.string() }),
    /** Full URL (`mqtts://host:port`); overrides host/port/region/tls. */
    brokerUrl: z.string().url().optional(),
    host: z.string().min(1).max(253).optional(),
    port: int(1, 65535, "").optional(),
    region: z
      .string()
      .regex(/^[a-z]{2}-[a-z]+(-\d)?$/, { message: "must look like cn-shanghai" })
      .default("cn-shanghai"),
    tls: z.boolean().default(true),
    /** CA bundle (PEM) to verify the broker; default: Node's built-in roots. */
    caPem: z.string().optional(),
    /** Server name for TLS SNI and certificate check; default the host. */
    servername: z.string().optional(),
    wireStyle: z.enum(["node", "c"]).default("c"),
    signMethod: z.enum(SIGN_METHODS).default("hmacsha256"),
    /** MQTT keepalive; the platform refuses values outside 30–1200 s. */
    keepaliveSec: int(30, 1200, "seconds").default(300),
    connectTimeoutMs: int(1_000, 120_000, "milliseconds").default(30_000),
    /** Timeout of every request that has a reply, counted from when it is sent. */
    requestTimeoutMs: int(100, 300_000, "milliseconds").default(10_000),
    backoff: z
      .object({
        baseMs: int(100, 60_000, "milliseconds"),
        capMs: int(100, 3_600_000, "milliseconds"),
        authBaseMs: int(1_000, 3_600_000, "milliseconds"),
        authCapMs: int(1_000, 86_400_000, "milliseconds"),
        stableAfterMs: int(0, 3_600_000, "milliseconds"),
      })
      .partial()
      .default({}),
    /** Offline queue bound used when no `queue` store is injected. */
    queueLimits: z
      .object({
        maxMessages: int(1, 1_000_000, "messages"),
        maxBytes: int(1_024, 1_073_741_824, "bytes"),
        overflow: z.enum(["drop-oldest", "drop-newest"]),
      })
      .partial()
      .default({}),
    /** Device-side rate limits per message family (the platform caps per-device call rates). */
    rateLimits: z.partialRecord(z.enum(MESSAGE_FAMILIES), rateLimit).default({}),
    /** Re-synchronise time over `/ext/ntp` this often (and on every connect). 0 disables NTP. */
    ntpResyncSec: int(0, 86_400 * 7, "seconds").default(3_600),
    /** Refuse plain TCP to a non-loopback host instead of warning. */
    requireTls: z.boolean().default(false),
  })
  .strict();

export type DeviceOptionsInput = z.input<typeof deviceOptionsSchema>;

/** The injected parts: not serialisable, so not in the zod schema. */
export interface DeviceDeps {
  readonly clock?: Clock;
  readonly random?: Random;
  readonly logger?: Logger;
  /** The offline queue; default a memory store bounded by `queueLimits`. */
  readonly queue?: MessageStore;
  /** How to open an MQTT connection; default MQTT.js `connect`. Tests and simulators inject their own. */
  readonly connector?: MqttConnector;
}

export type DeviceOptions = DeviceOptionsInput & DeviceDeps;

export interface ResolvedOptions
  extends Omit<z.output<typeof deviceOptionsSchema>, "backoff" | "triad" | "rateLimits" | "brokerUrl"> {
  readonly triad: AlibabaTriad;
  readonly backoff: BackoffOptions;
  readonly rateLimits: Partial<Record<MessageFamily, RateLimit>>;
  readonly brokerUrl: string;
}

/** Default per-family limits, under the platform's documented per-device caps. */
export const DEFAULT_RATE_LIMITS: Record<MessageFamily, RateLimit> = {
  property: { ratePerSec: 10, burst: 20 },
  event: { ratePerSec: 10, burst: 20 },
  tags: { ratePerSec: 1, burst: 5 },
  config: { ratePerSec: 1, burst: 2 },
  ntp: { ratePerSec: 0.5, burst: 2 },
  reply: { ratePerSec: 20, burst: 40 },
  other: { ratePerSec: 10, burst: 20 },
};

/** Validates once at the boundary. Errors are `config.invalid` with every problem and its range in the message. */
export function resolveOptions(input: DeviceOptions): ResolvedOptions {
  // The injected parts are not options to validate; everything else is, strictly (unknown keys are errors).
  const { clock: _c, random: _r, logger: _l, queue: _q, connector: _t, ...plain } = input;
  const parsed = deviceOptionsSchema.safeParse(plain);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "options"} ${i.message}`);
    throw new TriadkitError("config.invalid", `invalid device options: ${problems.join("; ")}`, {
      fields: parsed.error.issues.map((i) => i.path.join(".")),
    });
  }
  const o = parsed.data;
  const triad: AlibabaTriad = {
    productKey: parseProductKey(o.triad.productKey).value,
    deviceName: parseDeviceName(o.triad.deviceName),
    deviceSecret: parseDeviceSecret(o.triad.deviceSecret).value,
  };
  // Defaults are shared, not copied, by every device that does not override them (a fleet keeps one of each).
  const backoff: BackoffOptions = isEmpty(o.backoff) ? DEFAULT_BACKOFF : { ...DEFAULT_BACKOFF, ...o.backoff };
  if (backoff.capMs < backoff.baseMs || backoff.authCapMs < backoff.authBaseMs) {
    throw new TriadkitError("config.invalid", "invalid device options: backoff cap must be at least its base", {
      fields: ["backoff"],
    });
  }
  return {
    ...o,
    triad,
    backoff,
    rateLimits: isEmpty(o.rateLimits) ? DEFAULT_RATE_LIMITS : { ...DEFAULT_RATE_LIMITS, ...o.rateLimits },
    brokerUrl: o.brokerUrl ?? defaultBrokerUrl(triad.productKey, o),
  };
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

/** `{productKey}.iot-as-mqtt.{region}.aliyuncs.com`, port 443 (C SDK) or 1883 (Node SDK) for TLS, 1883 for TCP. */
export function defaultBrokerUrl(
  productKey: string,
  o: { host?: string | undefined; port?: number | undefined; region: string; tls: boolean; wireStyle: WireStyle },
): string {
  const host = o.host ?? `${productKey}.iot-as-mqtt.${o.region}.aliyuncs.com`;
  const port = o.port ?? (o.tls ? (o.wireStyle === "c" ? 443 : 1883) : 1883);
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return `${o.tls ? "mqtts" : "mqtt"}://${h}:${port}`;
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}
