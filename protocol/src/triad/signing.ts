import { fail } from "../errors.js";
import { toHex } from "../util/bytes.js";
import { type Hmac, hmacText, type SignMethod } from "../util/hmac.js";

/**
 * The Alibaba sign-string rule shared by connect, sub-device login and dynamic registration:
 * sort the fields by key in ASCII order and concatenate `key + value` with no separators.
 * (`clientId`, `deviceName`, `productKey`, `random`, `timestamp` happen to be in that order already.)
 */
export function alibabaSignContent(fields: Readonly<Record<string, string>>): string {
  return Object.keys(fields)
    .sort()
    .map((key) => `${key}${fields[key]}`)
    .join("");
}

/** Hex case of a signature: the Node SDK emits lowercase, the C SDK uppercase. Verifiers accept either. */
export type HexCase = "lower" | "upper";

/** Hex HMAC of `content`; `hmac` defaults to the pure-JS @noble/hashes implementation. */
export function signHex(method: SignMethod, key: string, content: string, hexCase: HexCase, hmac?: Hmac): string {
  return toHex(hmacText(method, key, content, hmac), hexCase === "upper");
}

/** Timestamps are decimal milliseconds since the epoch, as text on the wire. */
export function formatTimestamp(timestampMs: number | string | bigint): string {
  const text = typeof timestampMs === "string" ? timestampMs.trim() : String(timestampMs);
  if (!/^\d{1,16}$/.test(text)) {
    return fail("triad.bad_timestamp", "timestamp must be a non-negative integer number of milliseconds", {
      timestamp: text.slice(0, 24),
    });
  }
  return text;
}

/** A `key=value` field of the clientId's `|…|` section. */
export type ClientIdField = readonly [key: string, value: string];

const FIELD_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/;
const FIELD_VALUE = /^[^|,=\s]{0,128}$/;

export function checkClientIdFields(fields: readonly ClientIdField[], reserved: readonly string[]): void {
  for (const [key, value] of fields) {
    if (!FIELD_KEY.test(key) || !FIELD_VALUE.test(value)) {
      fail(
        "triad.bad_client_id",
        `clientId field "${key}" must be a name and a value without '|', ',', '=' or spaces`,
        {
          field: key.slice(0, 32),
        },
      );
    }
    if (reserved.includes(key)) {
      fail(
        "triad.bad_client_id",
        `clientId field "${key}" is set by the signer and cannot be given as an extra field`,
        {
          field: key,
        },
      );
    }
  }
}

const CORE = /^[^|\s]{1,64}$/;

export function checkClientIdCore(core: string): void {
  if (!CORE.test(core)) {
    fail("triad.bad_client_id", "clientId core must be 1–64 characters without '|' or spaces", {
      length: core.length,
    });
  }
}

export function formatClientId(core: string, fields: readonly ClientIdField[]): string {
  return `${core}|${fields.map(([k, v]) => `${k}=${v}`).join(",")}|`;
}
