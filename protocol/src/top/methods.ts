/**
 * The TOP APIs triadkit calls or serves, with the parts of their shapes it relies on. What is verified and what is
 * assumed about each is in docs/top.md.
 */
import { fail } from "../errors.js";

/** `taobao.time.get`: the gateway's clock, `{"time_get_response":{"time":"yyyy-MM-dd HH:mm:ss"}}`. */
export const TOP_TIME_METHOD = "taobao.time.get";
/** `taobao.top.auth.token.refresh`: `refresh_token` → `token_result`, a JSON text with the new tokens. */
export const TOP_TOKEN_REFRESH_METHOD = "taobao.top.auth.token.refresh";
/** `taobao.smartstore.device.status.feedback` (智能硬件设备状态回流): `device_code`, `status`, `status_time` → `result`. */
export const SMARTSTORE_STATUS_FEEDBACK_METHOD = "taobao.smartstore.device.status.feedback";
/** `taobao.smartstore.device.get`: `device_code` → the device (known only from third-party code; shape assumed). */
export const SMARTSTORE_DEVICE_GET_METHOD = "taobao.smartstore.device.get";

/** `status` of the feedback API: 设备在线 / 设备断线. */
export const SHELF_DEVICE_STATUSES = ["ONLINE_WITH_CONTENT", "OFFLINE"] as const;
export type ShelfDeviceStatus = (typeof SHELF_DEVICE_STATUSES)[number];

export function isShelfDeviceStatus(value: unknown): value is ShelfDeviceStatus {
  return typeof value === "string" && (SHELF_DEVICE_STATUSES as readonly string[]).includes(value);
}

/** The fields of `token_result` triadkit reads (others, such as `w1_valid` or `taobao_user_nick`, are ignored). */
export interface TopTokenResult {
  /** The new SessionKey. */
  readonly accessToken: string;
  /** The new refresh token, when the gateway issued one. */
  readonly refreshToken?: string;
  /** When the session expires, ms since the epoch (`expire_time`, else now + `expires_in` seconds). */
  readonly expiresAtMs?: number;
  /** When the refresh token expires (`refresh_token_valid_time`), ms since the epoch. */
  readonly refreshTokenExpiresAtMs?: number;
}

function numberOf(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && /^\d{1,16}$/.test(value)) return Number(value);
  return undefined;
}

/**
 * Reads `token_result` (a JSON text, or an object when a gateway already decoded it). `nowMs` turns a relative
 * `expires_in` into a time. Throws `top.bad_response` when there is no `access_token`.
 */
export function parseTopTokenResult(tokenResult: unknown, nowMs: number): TopTokenResult {
  let value: unknown = tokenResult;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return fail("top.bad_response", "token_result is not JSON");
    }
  }
  if (typeof value !== "object" || value === null) return fail("top.bad_response", "token_result is not an object");
  const v = value as Record<string, unknown>;
  if (typeof v.access_token !== "string" || v.access_token === "") {
    return fail("top.bad_response", "token_result has no access_token");
  }
  const expireTime = numberOf(v.expire_time);
  const expiresIn = numberOf(v.expires_in);
  const expiresAtMs = expireTime ?? (expiresIn === undefined ? undefined : nowMs + expiresIn * 1000);
  const refreshValid = numberOf(v.refresh_token_valid_time);
  return {
    accessToken: v.access_token,
    ...(typeof v.refresh_token === "string" && v.refresh_token !== "" ? { refreshToken: v.refresh_token } : {}),
    ...(expiresAtMs === undefined ? {} : { expiresAtMs }),
    ...(refreshValid === undefined ? {} : { refreshTokenExpiresAtMs: refreshValid }),
  };
}

/** The `token_result` text a gateway (the emulator) returns, in the field names seen in TOP token responses. */
export function encodeTopTokenResult(input: {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresAtMs: number;
  readonly refreshTokenExpiresAtMs: number;
  readonly nowMs: number;
  readonly userNick?: string;
}): string {
  return JSON.stringify({
    token_type: "Bearer",
    access_token: input.accessToken,
    refresh_token: input.refreshToken,
    expires_in: Math.max(0, Math.floor((input.expiresAtMs - input.nowMs) / 1000)),
    expire_time: input.expiresAtMs,
    re_expires_in: Math.max(0, Math.floor((input.refreshTokenExpiresAtMs - input.nowMs) / 1000)),
    refresh_token_valid_time: input.refreshTokenExpiresAtMs,
    ...(input.userNick === undefined ? {} : { taobao_user_nick: encodeURIComponent(input.userNick) }),
  });
}
