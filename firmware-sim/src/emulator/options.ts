/** Options and events of the platform emulator, checked once at the boundary. */

import { randomBytes } from "node:crypto";
import {
  type AlinkRequest,
  type BindingEvent,
  type ConnectVerifyOptions,
  type DeviceIdentity,
  type ErrorCode,
  type IdentityReport,
  TriadkitError,
} from "@triadkit/protocol";
import type { Clock, Random } from "@triadkit/sdk";
import { pino } from "pino";
import { z } from "zod";
import { type BindingOptions, resolveBindingOptions } from "../binding/options.js";
import type { BindingAlert, BindingRecovery } from "../binding/types.js";
import type { DeviceDirectory, DeviceRegistry } from "./device-directory.js";
import type { TlsMaterial } from "./listeners.js";
import type { RateLimitOptions } from "./rate-limit.js";
import type { RegistrationOptions } from "./registration.js";

/** The part of a pino logger the emulator uses; a pino `Logger` fits. */
export interface EmulatorLogger {
  debug(obj: Record<string, unknown>, msg?: string): void;
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

export interface PlatformEmulatorOptions {
  /** Devices and products. Default: a fresh in-memory SQLite registry, closed with the emulator. */
  readonly registry?: DeviceRegistry;
  /** The first version's option: any {@link DeviceDirectory} (a bare one is wrapped as a registry). */
  readonly directory?: DeviceDirectory;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** MQTT over TCP. Default 0: a free port. */
  readonly port?: number;
  /** MQTT over TLS on `tls.port` (default 0) with this certificate. Off when absent. */
  readonly tls?: TlsMaterial & { readonly port?: number };
  /** The registration endpoint `POST /auth/register/device`; `tls: true` serves HTTPS with the `tls` certificate. */
  readonly http?: { readonly port?: number; readonly tls?: boolean };
  /** Passed to protocol's `verifyConnect` (accepted sign methods, secure modes, timestamp window, …). */
  readonly verify?: ConnectVerifyOptions;
  /** Refuse hmacmd5 and hmacsha1 logins (`triad.weak_sign_method`). */
  readonly refuseWeakSignMethods?: boolean;
  /** Per-device upstream limit; over it requests are answered 429. Default 30 msg/s, burst 30; `false` turns it off. */
  readonly rateLimit?: RateLimitOptions | false;
  readonly registration?: RegistrationOptions;
  /** Time for NTP answers, timestamps, rate limits and reply timeouts. Default the system clock. */
  readonly clock?: Clock;
  /** Randomness for issued secrets and tokens. Default the OS CSPRNG. */
  readonly random?: Random;
  /** Structured logs (ACL refusals, refused logins, kicks). Default silent. Never receives a secret. */
  readonly logger?: EmulatorLogger;
  /** How many received messages `messages()` keeps. Default 1000. */
  readonly messageBufferSize?: number;
  /** How long a disable/delete waits for the device's `_reply` before closing its connection. Default 500 ms. */
  readonly kickGraceMs?: number;
  /** Default timeout of `invokeService`, `setProperty`, `getProperty`. Default 5000 ms. */
  readonly replyTimeoutMs?: number;
  /** Turns the binding monitor on (`emulator.binding`, docs/binding.md); `{}` for the defaults. Off when absent. */
  readonly bindings?: BindingOptions;
}

export interface ResolvedOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: (TlsMaterial & { readonly port: number }) | undefined;
  readonly http: { readonly port: number; readonly tls: boolean } | undefined;
  readonly verify: ConnectVerifyOptions;
  readonly rateLimit: RateLimitOptions | undefined;
  readonly registration: RegistrationOptions;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: EmulatorLogger;
  readonly messageBufferSize: number;
  readonly kickGraceMs: number;
  readonly replyTimeoutMs: number;
  /** Checked: `resolveBindingOptions` accepted them. */
  readonly bindings: BindingOptions | undefined;
}

const port = z.number().int().min(0).max(65535);
const schema = z.object({
  host: z.string().min(1).optional(),
  port: port.optional(),
  tls: z.object({ port: port.optional() }).passthrough().optional(),
  http: z.object({ port: port.optional(), tls: z.boolean().optional() }).optional(),
  rateLimit: z
    .union([
      z.literal(false),
      z.object({
        messagesPerSecond: z.number().positive().max(1_000_000),
        burst: z.number().int().min(1).max(1_000_000),
      }),
    ])
    .optional(),
  messageBufferSize: z.number().int().min(0).max(1_000_000).optional(),
  kickGraceMs: z.number().int().min(0).max(60_000).optional(),
  replyTimeoutMs: z.number().int().min(1).max(600_000).optional(),
});

/** The host clock (the SDK's `SystemClock`, restated so the emulator needs only the SDK's types). */
const hostClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  setTimeout: (fn, delayMs) => {
    const t = setTimeout(fn, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(t) };
  },
};
const osRandom: Random = { bytes: (length) => new Uint8Array(randomBytes(length)) };

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { messagesPerSecond: 30, burst: 30 };

/** Throws `config.invalid` naming the first bad option and its range. */
export function resolveOptions(options: PlatformEmulatorOptions): ResolvedOptions {
  const checked = schema.safeParse(options);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const path = issue?.path.join(".") ?? "";
    throw new TriadkitError("config.invalid", `emulator option ${path}: ${issue?.message ?? "invalid"}`, {
      option: path,
    });
  }
  if (options.http?.tls && options.tls === undefined) {
    throw new TriadkitError("config.invalid", "http.tls needs the tls certificate and key", { option: "http.tls" });
  }
  const refuseWeak = options.refuseWeakSignMethods ?? options.verify?.refuseWeakSignMethods;
  if (options.bindings !== undefined) resolveBindingOptions(options.bindings);
  return {
    host: options.host ?? "127.0.0.1",
    port: options.port ?? 0,
    tls: options.tls === undefined ? undefined : { ...options.tls, port: options.tls.port ?? 0 },
    http: options.http === undefined ? undefined : { port: options.http.port ?? 0, tls: options.http.tls ?? false },
    verify: { ...options.verify, ...(refuseWeak === undefined ? {} : { refuseWeakSignMethods: refuseWeak }) },
    rateLimit: options.rateLimit === false ? undefined : (options.rateLimit ?? DEFAULT_RATE_LIMIT),
    registration: options.registration ?? {},
    clock: options.clock ?? hostClock,
    random: options.random ?? osRandom,
    logger: options.logger ?? pino({ level: "silent" }),
    messageBufferSize: options.messageBufferSize ?? 1000,
    kickGraceMs: options.kickGraceMs ?? 500,
    replyTimeoutMs: options.replyTimeoutMs ?? 5000,
    bindings: options.bindings,
  };
}

export type Transport = "tcp" | "tls";
export type KickReason = "duplicate_login" | "disabled" | "deleted";

export interface PlatformEmulatorEvents {
  online: [identity: DeviceIdentity, clientId: string];
  offline: [identity: DeviceIdentity, clientId: string];
  /** A refused login or registration. `returnCode`: the CONNACK code (always 5) or, over HTTP, the JSON `code`. */
  rejected: [rejection: { code: ErrorCode; username: string | undefined; returnCode: number }];
  request: [request: { identity: DeviceIdentity; topic: string; message: AlinkRequest }];
  identityReport: [report: { identity: DeviceIdentity; value: IdentityReport }];
  bindingEvent: [event: { identity: DeviceIdentity; value: BindingEvent }];
  badMessage: [bad: { identity: DeviceIdentity; topic: string; code: ErrorCode }];
  aclDenied: [denial: { identity: DeviceIdentity; clientId: string; topic: string; action: "publish" | "subscribe" }];
  kicked: [kick: { identity: DeviceIdentity; clientId: string; reason: KickReason; byClientId?: string }];
  registered: [registration: { identity: DeviceIdentity; mode: "register" | "regnwl"; via: "mqtt" | "http" }];
  rateLimited: [limit: { identity: DeviceIdentity; clientId: string; topic: string }];
  /** The binding monitor raised an alert (docs/binding.md). */
  bindingAlert: [alert: BindingAlert];
  /** A device went back to `bound` from an alert state. */
  bindingRecovered: [recovery: BindingRecovery];
}

/** A device with a live session. */
export interface OnlineDevice {
  readonly identity: DeviceIdentity;
  readonly clientId: string;
  readonly transport: Transport;
  readonly sinceMs: number;
}

export interface CallOptions {
  /** Default the emulator's `replyTimeoutMs`. */
  readonly timeoutMs?: number;
}

export interface InvokeOptions extends CallOptions {
  /** Synchronous call over RRPC (`/rrpc/request/{messageId}`) instead of `thing/service/{name}`. */
  readonly sync?: boolean;
}
