/** Options of the binding monitor (`PlatformEmulatorOptions.bindings`), checked once at the boundary. */
import { TriadkitError } from "@triadkit/protocol";
import { z } from "zod";
import type { WebhookOptions } from "./delivery.js";
import { parseExpectedCsv } from "./expected-csv.js";

export type BindingPolicy = "suspend";

/** An MQTT login that may subscribe to the alert topics (and nothing else). */
export interface OperatorLogin {
  /** `[A-Za-z0-9_.-]{1,64}`: never a device username (those contain `&`). */
  readonly username: string;
  /** At least 8 characters. Secret: never logged. */
  readonly password: string;
}

export interface BindingOptions {
  /** Expected bindings imported at start: CSV text with columns `imei`, `iccid`, `imsi` (any header case). */
  readonly expectedCsv?: string;
  /** Heartbeat intervals without a heartbeat before a device is `silent`. Default 3. */
  readonly silentAfterIntervals?: number;
  /** The devices' heartbeat interval in seconds. Default 300. */
  readonly heartbeatIntervalSec?: number;
  /** `suspend`: a card found in `mismatch` is suspended and the device is told (service `BindingSuspended`). */
  readonly policy?: BindingPolicy;
  /** Alerts are also POSTed here as JSON (http or https). */
  readonly webhookUrl?: string;
  /** Timeout and retries of the webhook. */
  readonly webhook?: Omit<WebhookOptions, "url">;
  /** SQLite file for the monitor's tables; give the registry's file to keep both together. Default `:memory:`. */
  readonly db?: string;
  /** An MQTT login for operators: it may subscribe to `/triadkit/binding/alerts/#` and nothing else. */
  readonly operator?: OperatorLogin;
  /**
   * How often the silence check runs on the injected clock, in ms. Default: one heartbeat interval.
   * 0: never by itself (call `checkSilence()`).
   */
  readonly silenceCheckMs?: number;
  /**
   * Write-behind persistence (default on): the monitor judges in memory and writes heartbeat rows in large batched
   * transactions, when `maxQueue` row writes are queued (default 20,000), `flushMs` after the first queued one
   * (default 200) and on close; alerts and every other change are written at once. A process kill loses at most the
   * queue (docs/binding.md). `false`: one SQLite transaction per message, read from the file each time.
   */
  readonly writeBehind?: false | { readonly maxQueue?: number; readonly flushMs?: number };
}

/** Write-behind bounds, resolved. */
export interface WriteBehindOptions {
  readonly maxQueue: number;
  readonly flushMs: number;
}

export interface ResolvedBindingOptions {
  readonly expectedCsv: string | undefined;
  readonly silentAfterIntervals: number;
  readonly heartbeatIntervalSec: number;
  readonly policy: BindingPolicy | undefined;
  readonly webhook: WebhookOptions | undefined;
  readonly db: string;
  readonly operator: OperatorLogin | undefined;
  readonly silenceCheckMs: number;
  /** Undefined: write-behind off. */
  readonly writeBehind: WriteBehindOptions | undefined;
}

const schema = z.object({
  expectedCsv: z.string().optional(),
  silentAfterIntervals: z.number().int().min(1).max(1000).optional(),
  heartbeatIntervalSec: z.number().int().min(1).max(86_400).optional(),
  policy: z.literal("suspend").optional(),
  webhookUrl: z
    .string()
    .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), "must be an http or https URL")
    .optional(),
  webhook: z
    .object({
      timeoutMs: z.number().int().min(1).max(600_000).optional(),
      attempts: z.number().int().min(1).max(20).optional(),
      retryDelayMs: z.number().int().min(0).max(600_000).optional(),
    })
    .optional(),
  db: z.string().min(1).optional(),
  operator: z
    .object({
      username: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be 1-64 of [A-Za-z0-9_.-]"),
      password: z.string().min(8, "must have at least 8 characters").max(256),
    })
    .optional(),
  silenceCheckMs: z.number().int().min(0).max(86_400_000).optional(),
  writeBehind: z
    .union([
      z.literal(false),
      z.object({
        maxQueue: z.number().int().min(1).max(10_000_000).optional(),
        flushMs: z.number().int().min(1).max(3_600_000).optional(),
      }),
    ])
    .optional(),
});

/**
 * Throws `config.invalid` naming the first bad option (never its value), and the sheet's header errors
 * (`import.missing_column`, `import.ambiguous_column`, `emulator.bad_csv`) before anything starts.
 */
export function resolveBindingOptions(options: BindingOptions): ResolvedBindingOptions {
  const checked = schema.safeParse(options);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const path = ["bindings", ...(issue?.path ?? [])].join(".");
    throw new TriadkitError("config.invalid", `emulator option ${path}: ${issue?.message ?? "invalid"}`, {
      option: path,
    });
  }
  if (options.expectedCsv !== undefined) parseExpectedCsv(options.expectedCsv);
  const interval = options.heartbeatIntervalSec ?? 300;
  return {
    expectedCsv: options.expectedCsv,
    silentAfterIntervals: options.silentAfterIntervals ?? 3,
    heartbeatIntervalSec: interval,
    policy: options.policy,
    webhook: options.webhookUrl === undefined ? undefined : { ...options.webhook, url: options.webhookUrl },
    db: options.db ?? ":memory:",
    operator: options.operator,
    silenceCheckMs: options.silenceCheckMs ?? interval * 1000,
    writeBehind:
      options.writeBehind === false
        ? undefined
        : { maxQueue: options.writeBehind?.maxQueue ?? 20_000, flushMs: options.writeBehind?.flushMs ?? 200 },
  };
}
