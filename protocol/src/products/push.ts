/**
 * Pushing a product table to a device: an Alink thing-model service, asynchronous
 * (`/sys/{pk}/{dn}/thing/service/UpdateProductTable` → `…/UpdateProductTable_reply`), params = the table's wire form
 * (./table.ts). The device answers:
 *
 * - `code 200`, `data: {"version":<n>,"hash":"<64 hex>","applied":<bool>}`: the table the device holds now. `applied`
 *   is true when it took the pushed table, false when it already held it (same version and hash) or holds a newer
 *   one (the push was stale: the device never goes back to a lower version);
 * - `code 460`, `message` ending in `(<error code>)`: the table was refused (`products.bad_url`, `products.bad_item`,
 *   `products.too_many`, `products.bad_table`, or a `store.*` code when it could not be saved).
 *
 * A service rather than remote config (`thing/config/push`): the platform's remote config is one file per product
 * fetched from a URL, with no per-device reply; a service reaches one device and its reply carries the version.
 */

import type { AlinkReply } from "../alink/envelope.js";
import { type ErrorCode, fail, isErrorCode } from "../errors.js";

/** The thing-model service identifier. */
export const PRODUCT_TABLE_SERVICE = "UpdateProductTable";

/** What a device holds after a push (the reply's `data`). */
export interface ProductTableAck {
  readonly version: number;
  readonly hash: string;
  readonly applied: boolean;
}

export type ProductPushOutcome =
  | ({ readonly status: "acked" } & ProductTableAck)
  | {
      readonly status: "refused";
      /** The Alink reply code (460 for a coded refusal, 400 otherwise). */
      readonly replyCode: number;
      /** The device's error code, when its message ended with one. */
      readonly code?: ErrorCode;
      readonly message?: string;
    };

/** What came of pushing a table to one device. */
export const PRODUCT_PUSH_STATUSES = ["acked", "refused", "offline", "timeout", "error"] as const;
export type ProductPushStatus = (typeof PRODUCT_PUSH_STATUSES)[number];

/**
 * One device's result of one push, as the platform side reports it (the emulator's API and admin endpoint):
 * `acked` with the version and hash the device holds now; `refused` with the device's error code; `offline` (no live
 * session; nothing is queued); `timeout`; `error` (the platform's own failure, with its code).
 */
export interface ProductPushResult {
  readonly productKey: string;
  readonly deviceName: string;
  /** The version pushed (0 for a table without one). */
  readonly pushed: number;
  readonly status: ProductPushStatus;
  readonly version?: number;
  readonly hash?: string;
  readonly applied?: boolean;
  readonly code?: string;
  readonly message?: string;
  readonly atMs: number;
}

/** Validates a {@link ProductPushResult} read from JSON; throws `alink.bad_payload`. */
export function parseProductPushResult(value: unknown): ProductPushResult {
  const r = value as Partial<Record<keyof ProductPushResult, unknown>> | null;
  if (
    typeof r !== "object" ||
    r === null ||
    typeof r.productKey !== "string" ||
    typeof r.deviceName !== "string" ||
    typeof r.pushed !== "number" ||
    typeof r.status !== "string" ||
    !(PRODUCT_PUSH_STATUSES as readonly string[]).includes(r.status) ||
    typeof r.atMs !== "number" ||
    (r.version !== undefined && (typeof r.version !== "number" || !Number.isSafeInteger(r.version)))
  ) {
    return fail("alink.bad_payload", "a product push result is {productKey, deviceName, pushed, status, atMs, …}");
  }
  return {
    productKey: r.productKey,
    deviceName: r.deviceName,
    pushed: r.pushed,
    status: r.status as ProductPushStatus,
    atMs: r.atMs,
    ...(typeof r.version === "number" ? { version: r.version } : {}),
    ...(typeof r.hash === "string" ? { hash: r.hash } : {}),
    ...(typeof r.applied === "boolean" ? { applied: r.applied } : {}),
    ...(typeof r.code === "string" ? { code: r.code.slice(0, 80) } : {}),
    ...(typeof r.message === "string" ? { message: r.message.slice(0, 300) } : {}),
  };
}

/** Validates a reply's `data` as an ack; throws `alink.bad_payload`. */
export function parseProductTableAck(data: unknown): ProductTableAck {
  const d = data as { version?: unknown; hash?: unknown; applied?: unknown } | null;
  if (
    typeof d !== "object" ||
    d === null ||
    typeof d.version !== "number" ||
    !Number.isSafeInteger(d.version) ||
    d.version < 1 ||
    typeof d.hash !== "string" ||
    !/^[0-9a-f]{64}$/.test(d.hash) ||
    typeof d.applied !== "boolean"
  ) {
    return fail("alink.bad_payload", "a product table ack is {version ≥ 1, hash: 64 hex, applied: boolean}", {
      field: "data",
    });
  }
  return { version: d.version, hash: d.hash, applied: d.applied };
}

/** The error code at the end of a TriadkitError message (`… (products.bad_url)`), if it is a known one. */
export function errorCodeOfMessage(message: string | undefined): ErrorCode | undefined {
  const m = message === undefined ? null : /\(([a-z]+\.[a-z0-9_]+)\)$/.exec(message);
  const code = m?.[1];
  return isErrorCode(code) ? code : undefined;
}

/** Reads a device's reply to `UpdateProductTable`. A 200 whose data is not an ack throws `alink.bad_payload`. */
export function productPushOutcome(reply: AlinkReply): ProductPushOutcome {
  if (reply.code === 200) return { status: "acked", ...parseProductTableAck(reply.data) };
  const code = errorCodeOfMessage(reply.message);
  return {
    status: "refused",
    replyCode: reply.code,
    ...(code === undefined ? {} : { code }),
    ...(reply.message === undefined ? {} : { message: reply.message.slice(0, 300) }),
  };
}
