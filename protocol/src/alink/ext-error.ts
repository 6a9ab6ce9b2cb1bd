/**
 * `/ext/error/{pk}/{dn}`: errors the platform pushes outside any request/reply pair, e.g. for a gateway when a
 * sub-device message fails (520 session error) or a sub-device is kicked offline (427, 521, 522).
 *
 * The payload shape is not pinned down by the SDKs, so the decoder is tolerant: it requires a JSON object and
 * extracts the usual members when they have a usable type, leaving the rest in `raw`. A member of the wrong
 * type reads as absent rather than failing.
 */

import { isAlinkId } from "./envelope.js";
import { isJsonObject, parseJsonObject } from "./json.js";
import type { DeviceRef } from "./topics.js";

export interface ExtError {
  /** Message id, when the error refers to one (a number on the wire is returned as a decimal string). */
  readonly id: string | undefined;
  /** Reply-style code (e.g. 520); a decimal string on the wire is accepted. */
  readonly code: number | undefined;
  readonly message: string | undefined;
  /** `data` as sent, or `undefined`. */
  readonly data: unknown;
  /** The device the error concerns when `data` names one (`data.productKey` and `data.deviceName`). */
  readonly device: DeviceRef | undefined;
  /** The whole decoded object, for fields this decoder does not know. */
  readonly raw: Readonly<Record<string, unknown>>;
}

function asId(value: unknown): string | undefined {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return String(value);
  return isAlinkId(value) ? value : undefined;
}

function asCode(value: unknown): number | undefined {
  if (typeof value === "string" && /^(0|[1-9][0-9]{0,9})$/.test(value)) value = Number(value);
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 && value <= 2147483647
    ? value
    : undefined;
}

function asName(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 && value.length <= 64 ? value : undefined;
}

/** Decodes an `/ext/error` payload. Throws `alink.bad_payload` only for bytes that are not a JSON object. */
export function decodeExtError(bytes: Uint8Array): ExtError {
  const raw = parseJsonObject(bytes, "ext error");
  const message = typeof raw["message"] === "string" ? raw["message"] : undefined;
  const data = raw["data"];
  let device: DeviceRef | undefined;
  if (isJsonObject(data)) {
    const productKey = asName(data["productKey"]);
    const deviceName = asName(data["deviceName"]);
    if (productKey !== undefined && deviceName !== undefined) device = { productKey, deviceName };
  }
  return { id: asId(raw["id"]), code: asCode(raw["code"]), message, data, device, raw };
}
