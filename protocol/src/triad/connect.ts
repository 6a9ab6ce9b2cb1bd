import { fail } from "../errors.js";
import { toHex } from "../util/bytes.js";
import {
  type Hmac,
  type HmacKeyer,
  keyerOf,
  nobleKeyer,
  parseSignMethod,
  type SignMethod,
  signMethodAlgorithm,
} from "../util/hmac.js";
import type { AlibabaTriad } from "./alibaba.js";
import {
  alibabaSignContent,
  type ClientIdField,
  checkClientIdCore,
  checkClientIdFields,
  formatClientId,
  formatTimestamp,
  type HexCase,
} from "./signing.js";

/**
 * The two wire styles of the official SDKs.
 * - `node` (alibabacloud-iot-device-sdk): core `pk&dn`, fields `securemode,signmethod,timestamp,…`, lowercase hex.
 * - `c` (Link SDK C 3.x/4.x): core `pk.dn`, fields `timestamp,…,securemode,signmethod,…`, uppercase hex,
 *   and the fixed timestamp 2524608000000 (2050-01-01) by default so boards without a clock can sign.
 */
export type WireStyle = "node" | "c";

/** 2 = TLS direct, 3 = TCP direct. (-1 TLS guider and 8 iTLS/ID2 are not supported.) */
export type SecureMode = 2 | 3;

/** The Link SDK C fixed timestamp (2050-01-01T00:00:00Z). */
export const FIXED_TIMESTAMP_MS = "2524608000000";

export const DEFAULT_SIGN_METHOD: SignMethod = "hmacsha256";

export interface ConnectSignInput {
  readonly triad: AlibabaTriad;
  /** Default `node`. */
  readonly style?: WireStyle;
  /** Default `hmacsha256` in both styles (the Node SDK defaults to sha1; we do not). */
  readonly signMethod?: SignMethod;
  /** Milliseconds since the epoch. Required for `node`; `c` defaults to {@link FIXED_TIMESTAMP_MS}. */
  readonly timestampMs?: number | string | bigint;
  /** Default 2 (TLS). */
  readonly secureMode?: SecureMode;
  /** Default `pk&dn` (node) or `pk.dn` (c). Any ≤64-char id is accepted by the platform and is signed. */
  readonly clientIdCore?: string;
  /** Fields placed right after `timestamp` in C style (e.g. `_v=sdk-c-3.0.1`); ignored order-wise in node style. */
  readonly headFields?: readonly ClientIdField[];
  /** Fields appended at the end of the section (e.g. `lan=NodeJS,_v=1.2.8` or `lan=C,gw=0,ext=0`). */
  readonly extraFields?: readonly ClientIdField[];
  /** Override the hex case of the password (default: lower for node, upper for c). */
  readonly hexCase?: HexCase;
  /** HMAC implementation (default: pure-JS @noble/hashes). The sdk injects its native `nodeHmac`. */
  readonly hmac?: Hmac;
}

/** What an MQTT CONNECT carries. `password` is derived from the secret: treat it as a secret too. */
export interface ConnectCredentials {
  readonly clientId: string;
  readonly username: string;
  readonly password: string;
}

const RESERVED_FIELDS = ["securemode", "signmethod", "timestamp", "authType", "random"];

export function defaultClientIdCore(productKey: string, deviceName: string, style: WireStyle): string {
  return style === "c" ? `${productKey}.${deviceName}` : `${productKey}&${deviceName}`;
}

/** `dn&pk`, the MQTT username in both styles. */
export function connectUsername(productKey: string, deviceName: string): string {
  return `${deviceName}&${productKey}`;
}

/** The string that is HMAC'd: `clientId…deviceName…productKey…timestamp…`. Contains no secret. */
export function connectSignContent(core: string, productKey: string, deviceName: string, timestamp: string): string {
  return alibabaSignContent({ clientId: core, deviceName, productKey, timestamp });
}

/** Computes the MQTT CONNECT clientId, username and password for an Alibaba Cloud IoT triad. */
export function signConnect(input: ConnectSignInput): ConnectCredentials {
  return createConnectSigner(input)(input.timestampMs);
}

/** Options of {@link createConnectSigner}: those of {@link signConnect} without the per-call timestamp. */
export interface ConnectSignerOptions extends Omit<ConnectSignInput, "timestampMs"> {
  /**
   * Prepares the HMAC once per signer (e.g. the sdk's node:crypto `nodeKeyer`). Default: {@link keyerOf} the
   * `hmac` when one is given, else {@link nobleKeyer}.
   */
  readonly keyer?: HmacKeyer;
}

/**
 * Signs a device's connect credentials for one timestamp: `(timestampMs) => credentials`, byte-identical to
 * `signConnect({ ...options, timestampMs })`. `timestampMs` is required in `node` style; `c` defaults to
 * {@link FIXED_TIMESTAMP_MS}.
 */
export type ConnectSigner = (timestampMs?: number | string | bigint) => ConnectCredentials;

/** Newline is in neither a clientId core nor a field (both refuse whitespace): it marks where the timestamp goes. */
const SLOT = "\n";

/**
 * A per-device signer for a device that signs repeatedly (every connect attempt): validates the triad's clientId
 * core, fields and sign method once, prepares the HMAC key once (through `keyer`) and precomputes the constant parts
 * of the clientId, the username and the sign content, so each call only formats the timestamp and runs one HMAC.
 * The signer holds the secret (inside the prepared HMAC): treat it as a secret.
 */
export function createConnectSigner(options: ConnectSignerOptions): ConnectSigner {
  const style = options.style ?? "node";
  const { productKey, deviceName, deviceSecret } = options.triad;
  const signMethod = options.signMethod === undefined ? DEFAULT_SIGN_METHOD : parseSignMethod(options.signMethod);
  const secureMode = options.secureMode ?? 2;
  if (secureMode !== 2 && secureMode !== 3) {
    return fail("triad.unsupported_secure_mode", "securemode must be 2 (TLS) or 3 (TCP)", { secureMode });
  }
  const core = options.clientIdCore ?? defaultClientIdCore(productKey, deviceName, style);
  checkClientIdCore(core);
  const head = options.headFields ?? [];
  const extra = options.extraFields ?? [];
  checkClientIdFields([...head, ...extra], RESERVED_FIELDS);

  const fields: ClientIdField[] =
    style === "c"
      ? [["timestamp", SLOT], ...head, ["securemode", String(secureMode)], ["signmethod", signMethod], ...extra]
      : [["securemode", String(secureMode)], ["signmethod", signMethod], ["timestamp", SLOT], ...head, ...extra];
  const [idHead = "", idTail = ""] = formatClientId(core, fields).split(SLOT);
  const username = connectUsername(productKey, deviceName);
  // The sign content's keys sort clientId < deviceName < productKey < timestamp: the timestamp comes last.
  const contentHead = connectSignContent(core, productKey, deviceName, "");
  const upper = (options.hexCase ?? (style === "c" ? "upper" : "lower")) === "upper";
  const keyer = options.keyer ?? (options.hmac === undefined ? nobleKeyer : keyerOf(options.hmac));
  const mac = keyer(signMethodAlgorithm(signMethod), deviceSecret);
  let last: { readonly timestamp: string; readonly creds: ConnectCredentials } | undefined;

  return (timestampMs) => {
    if (timestampMs === undefined && style === "node") {
      return fail("triad.bad_timestamp", "node-style signing needs a timestampMs from the device clock");
    }
    const timestamp =
      typeof timestampMs === "number" && Number.isSafeInteger(timestampMs) && timestampMs >= 0
        ? String(timestampMs)
        : formatTimestamp(timestampMs ?? FIXED_TIMESTAMP_MS);
    // C style on the fixed timestamp signs the same credentials every time.
    if (last !== undefined && last.timestamp === timestamp) return last.creds;
    const creds: ConnectCredentials = {
      clientId: idHead + timestamp + idTail,
      username,
      password: toHex(mac(contentHead + timestamp), upper),
    };
    last = { timestamp, creds };
    return creds;
  };
}
