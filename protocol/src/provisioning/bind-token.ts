/**
 * Bind-token carrier: how the phone learns that the device it provisioned came online.
 *
 * The app draws 16 random bytes and sends them in the secure session (`bind_token`). After joining the network and
 * connecting to the platform, the device reports them with Alibaba's own awss message, the one the Link Kit C SDK
 * sends after Wi-Fi provisioning (`awss_report_token`):
 *
 * - topic `/sys/{pk}/{dn}/thing/awss/enrollee/match` (reply on `…/match_reply`)
 * - payload `{"id":"1","version":"1.0","params":{"token":"4786F0F6E1CC7BF86017FD4D1429EE4F"},
 *   "method":"thing.awss.enrollee.match"}`: the token as 32 upper-case hex digits.
 *
 * We reuse this system topic rather than a custom TSL event (`thing.event.ProvisionBind.post`) because the platform
 * routes it without any TSL change to the product, and the platform's bind APIs already key on it. The decoder
 * accepts either hex case and ignores extra params (some SDK versions add `tokenType`). Errors are
 * `alink.bad_payload` / `alink.bad_topic`; the token never appears in them.
 */

import { type AlinkRequest, decodeRequestFor, encodeRequest } from "../alink/envelope.js";
import { isJsonObject } from "../alink/json.js";
import { type DeviceRef, isValidTopicSegment } from "../alink/topics.js";
import { fail } from "../errors.js";
import { fromHex, toHex } from "../util/bytes.js";
import { BIND_TOKEN_BYTES } from "./messages.js";

export const BIND_TOKEN_METHOD = "thing.awss.enrollee.match";

function checkDevice(device: DeviceRef): string {
  for (const field of ["productKey", "deviceName"] as const) {
    if (!isValidTopicSegment(device[field])) {
      fail("alink.bad_topic", `${field} must be a non-empty topic level without '/', '+', '#' or NUL`, { field });
    }
  }
  return `/sys/${device.productKey}/${device.deviceName}/thing/awss/enrollee/match`;
}

/** `/sys/{pk}/{dn}/thing/awss/enrollee/match`. Throws `alink.bad_topic`. */
export function bindTokenTopic(device: DeviceRef): string {
  return checkDevice(device);
}

/** `/sys/{pk}/{dn}/thing/awss/enrollee/match_reply`. Throws `alink.bad_topic`. */
export function bindTokenReplyTopic(device: DeviceRef): string {
  return `${checkDevice(device)}_reply`;
}

function checkToken(token: Uint8Array): Uint8Array {
  if (!(token instanceof Uint8Array) || token.length !== BIND_TOKEN_BYTES) {
    fail("alink.bad_payload", `bind token: token must be ${BIND_TOKEN_BYTES} bytes`, { field: "params.token" });
  }
  return token;
}

export interface BindTokenReport {
  /** Alink message id. */
  readonly id: string;
  /** The 16-byte token. */
  readonly token: Uint8Array;
}

/** Encodes the report the device publishes on {@link bindTokenTopic}. */
export function encodeBindTokenReport(report: BindTokenReport): Uint8Array {
  const token = toHex(checkToken(report.token), true);
  return encodeRequest({ id: report.id, params: { token }, method: BIND_TOKEN_METHOD });
}

/** Decodes the report (method must be `thing.awss.enrollee.match`, `params.token` 32 hex digits). */
export function decodeBindTokenReport(bytes: Uint8Array): BindTokenReport {
  const request: AlinkRequest = decodeRequestFor(bytes, BIND_TOKEN_METHOD, "bind token report");
  const params = request.params;
  const token = isJsonObject(params) ? params["token"] : undefined;
  if (typeof token !== "string" || !/^[0-9A-Fa-f]{32}$/.test(token)) {
    fail("alink.bad_payload", "bind token report: params.token must be 32 hex digits", { field: "params.token" });
  }
  return { id: request.id, token: fromHex(token) };
}

/** The carrier as one object, for code that handles several carriers alike. */
export const bindTokenCarrier = {
  method: BIND_TOKEN_METHOD,
  topic: bindTokenTopic,
  replyTopic: bindTokenReplyTopic,
  encode: encodeBindTokenReport,
  decode: decodeBindTokenReport,
} as const;
