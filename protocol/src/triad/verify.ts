import { fail } from "../errors.js";
import { constantTimeEqual, fromHex } from "../util/bytes.js";
import {
  type Hmac,
  hmacText,
  parseSignMethod,
  SIGN_METHOD_BYTES,
  type SignMethod,
  WEAK_SIGN_METHODS,
} from "../util/hmac.js";
import { DEVICE_NAME_PATTERN, type DeviceIdentity } from "./alibaba.js";
import { connectSignContent, FIXED_TIMESTAMP_MS, type SecureMode } from "./connect.js";
import { alibabaSignContent } from "./signing.js";

/** The clientId split into its core and its `|k=v,…|` section. */
export interface ParsedClientId {
  readonly core: string;
  /** Fields in wire order. Keys are case-sensitive as sent; look-ups below are case-insensitive. */
  readonly fields: ReadonlyMap<string, string>;
}

/**
 * Parses `core|k=v,k=v|`. A clientId without a `|` section parses to a core with no fields.
 * Throws `triad.bad_client_id` on a malformed section or a duplicated key.
 */
export function parseClientId(clientId: string): ParsedClientId {
  if (clientId.length === 0 || clientId.length > 512) {
    return fail("triad.bad_client_id", "clientId must be 1–512 characters", { length: clientId.length });
  }
  const bar = clientId.indexOf("|");
  if (bar < 0) return { core: clientId, fields: new Map() };
  const core = clientId.slice(0, bar);
  const rest = clientId.slice(bar + 1);
  if (core.length === 0 || !rest.endsWith("|") || rest.slice(0, -1).includes("|")) {
    return fail("triad.bad_client_id", "clientId must look like core|key=value,...|", { length: clientId.length });
  }
  const section = rest.slice(0, -1);
  const fields = new Map<string, string>();
  for (const part of section.length === 0 ? [] : section.split(",")) {
    const eq = part.indexOf("=");
    const key = eq < 0 ? "" : part.slice(0, eq).trim();
    if (key.length === 0) {
      return fail("triad.bad_client_id", "clientId section has a field without key=value", {
        field: part.slice(0, 32),
      });
    }
    const lower = key.toLowerCase();
    if ([...fields.keys()].some((k) => k.toLowerCase() === lower)) {
      return fail("triad.bad_client_id", `clientId field "${key}" appears twice`, { field: key.slice(0, 32) });
    }
    fields.set(key, part.slice(eq + 1).trim());
  }
  return { core, fields };
}

export function clientIdField(parsed: ParsedClientId, key: string): string | undefined {
  const lower = key.toLowerCase();
  for (const [k, v] of parsed.fields) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** Parses the username `dn&pk`. */
export function parseUsername(username: string): DeviceIdentity {
  const parts = username.split("&");
  const [deviceName, productKey] = parts;
  if (parts.length !== 2 || !deviceName || !productKey || !/^[A-Za-z0-9_-]{1,64}$/.test(productKey)) {
    return fail("triad.bad_username", "username must be deviceName&productKey", { length: username.length });
  }
  if (!DEVICE_NAME_PATTERN.test(deviceName)) {
    return fail("triad.bad_username", "username's deviceName is not a valid DeviceName", { productKey });
  }
  return { productKey, deviceName };
}

export interface ConnectVerifyOptions {
  /** Sign methods accepted. Default: all three. */
  readonly acceptSignMethods?: readonly SignMethod[];
  /** Shorthand: refuse hmacmd5 and hmacsha1 with `triad.weak_sign_method`. */
  readonly refuseWeakSignMethods?: boolean;
  /** Default [2, 3]. */
  readonly acceptSecureModes?: readonly SecureMode[];
  /**
   * `identity` (default): the clientId core must be `pk&dn` or `pk.dn` of the username.
   * `any`: any core is accepted (the platform allows a custom ≤64-char clientId; it is signed either way).
   */
  readonly clientIdCore?: "identity" | "any";
  /** Replay window: refuse timestamps further than `maxSkewMs` from `nowMs`. */
  readonly timestampWindow?: {
    readonly nowMs: number;
    readonly maxSkewMs: number;
    /** Accept the C SDK's fixed timestamp 2524608000000 regardless of the window. Default true. */
    readonly allowFixed?: boolean;
  };
  /** HMAC implementation (default: pure-JS @noble/hashes); a verifier on Node may inject the sdk's `nodeHmac`. */
  readonly hmac?: Hmac;
}

/** What the platform learns from a CONNECT before it looks up the secret. */
export interface ParsedConnect {
  readonly identity: DeviceIdentity;
  readonly clientId: ParsedClientId;
  readonly signMethod: SignMethod;
  readonly secureMode: number;
  readonly timestamp: string | undefined;
  /** Which official SDK style the clientId core matches, or `custom`. */
  readonly style: "node" | "c" | "custom";
}

/**
 * Parses and checks everything about a CONNECT that needs no secret: clientId syntax, the username,
 * the identity binding between them, sign method, securemode, timestamp window.
 */
export function parseConnect(
  credentials: { readonly clientId: string; readonly username: string },
  options: ConnectVerifyOptions = {},
): ParsedConnect {
  const clientId = parseClientId(credentials.clientId);
  const identity = parseUsername(credentials.username);
  const authType = clientIdField(clientId, "authType");
  if (authType !== undefined) {
    return fail("triad.unsupported_auth_type", `authType=${authType} is a registration login, not a device connect`, {
      authType: authType.slice(0, 16),
    });
  }
  const { productKey, deviceName } = identity;
  const style =
    clientId.core === `${productKey}&${deviceName}`
      ? "node"
      : clientId.core === `${productKey}.${deviceName}`
        ? "c"
        : "custom";
  if (style === "custom" && (options.clientIdCore ?? "identity") === "identity") {
    return fail("triad.identity_mismatch", "clientId core does not match the username's productKey and deviceName", {
      productKey,
      deviceName,
    });
  }

  const methodText = clientIdField(clientId, "signmethod");
  if (methodText === undefined) return fail("triad.bad_client_id", "clientId has no signmethod field");
  const signMethod = parseSignMethod(methodText);
  const accepted = options.acceptSignMethods ?? ["hmacsha256", "hmacsha1", "hmacmd5"];
  if ((options.refuseWeakSignMethods && WEAK_SIGN_METHODS.includes(signMethod)) || !accepted.includes(signMethod)) {
    return fail("triad.weak_sign_method", `sign method ${signMethod} is refused by this platform`, { signMethod });
  }

  const secureText = clientIdField(clientId, "securemode");
  const secureMode = secureText === undefined ? Number.NaN : Number(secureText);
  if (!(options.acceptSecureModes ?? [2, 3]).includes(secureMode as SecureMode)) {
    return fail("triad.unsupported_secure_mode", `securemode ${secureText ?? "(missing)"} is not accepted`, {
      secureMode: secureText?.slice(0, 8),
    });
  }

  const timestamp = clientIdField(clientId, "timestamp");
  if (timestamp !== undefined && !/^\d{1,16}$/.test(timestamp)) {
    return fail("triad.bad_timestamp", "clientId timestamp must be decimal milliseconds", {
      timestamp: timestamp.slice(0, 24),
    });
  }
  const window = options.timestampWindow;
  if (window !== undefined) {
    const fixedOk = (window.allowFixed ?? true) && timestamp === FIXED_TIMESTAMP_MS;
    if (!fixedOk && (timestamp === undefined || Math.abs(Number(timestamp) - window.nowMs) > window.maxSkewMs)) {
      return fail("triad.timestamp_out_of_window", "clientId timestamp is outside the accepted window", {
        timestamp,
        maxSkewMs: window.maxSkewMs,
      });
    }
  }
  return { identity, clientId, signMethod, secureMode, timestamp, style };
}

/** Decodes a hex signature of either case; a wrong length or non-hex gives `triad.bad_password_format`. */
function decodeSignature(password: string, method: SignMethod): Uint8Array {
  if (password.length !== SIGN_METHOD_BYTES[method] * 2 || !/^[0-9a-fA-F]+$/.test(password)) {
    return fail(
      "triad.bad_password_format",
      `password must be ${SIGN_METHOD_BYTES[method] * 2} hex digits for ${method}`,
      {
        length: password.length,
      },
    );
  }
  return fromHex(password);
}

/** Constant-time, case-insensitive comparison of a hex signature with the HMAC of `content`. */
export function verifyHexSignature(
  method: SignMethod,
  key: string,
  content: string,
  signature: string,
  hmac?: Hmac,
): boolean {
  return constantTimeEqual(decodeSignature(signature, method), hmacText(method, key, content, hmac));
}

/**
 * Checks the password of a parsed CONNECT against the device secret. Throws `triad.bad_signature` on mismatch.
 */
export function verifyConnectSignature(
  parsed: ParsedConnect,
  password: string,
  deviceSecret: string,
  hmac?: Hmac,
): void {
  const { productKey, deviceName } = parsed.identity;
  const content =
    parsed.timestamp === undefined
      ? alibabaSignContent({ clientId: parsed.clientId.core, deviceName, productKey })
      : connectSignContent(parsed.clientId.core, productKey, deviceName, parsed.timestamp);
  if (!verifyHexSignature(parsed.signMethod, deviceSecret, content, password, hmac)) {
    fail("triad.bad_signature", "MQTT password does not match the device secret", { productKey, deviceName });
  }
}

/**
 * The platform-side check of an MQTT CONNECT: parse, look up the device secret, verify.
 * `lookupSecret` returns undefined for an unknown device, which fails as `triad.bad_signature`
 * (an attacker learns nothing about which devices exist).
 */
export function verifyConnect(
  credentials: { readonly clientId: string; readonly username: string; readonly password: string },
  lookupSecret: (identity: DeviceIdentity) => string | undefined,
  options: ConnectVerifyOptions = {},
): ParsedConnect {
  const parsed = parseConnect(credentials, options);
  const secret = lookupSecret(parsed.identity);
  if (secret === undefined) {
    // Spend the same work as a real check so timing does not reveal unknown devices.
    const zeros = "0".repeat(SIGN_METHOD_BYTES[parsed.signMethod] * 2);
    verifyHexSignature(parsed.signMethod, "unknown-device", "", zeros, options.hmac);
    return fail("triad.bad_signature", "MQTT password does not match the device secret", {
      productKey: parsed.identity.productKey,
      deviceName: parsed.identity.deviceName,
    });
  }
  verifyConnectSignature(parsed, credentials.password, secret, options.hmac);
  return parsed;
}
