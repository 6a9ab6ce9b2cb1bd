import { fail } from "../errors.js";
import { parseSignMethod, type SignMethod } from "../util/hmac.js";
import type { AlibabaTriad, DeviceIdentity } from "./alibaba.js";
import { type ConnectCredentials, connectUsername, type SecureMode } from "./connect.js";
import {
  alibabaSignContent,
  type ClientIdField,
  checkClientIdCore,
  formatClientId,
  formatTimestamp,
  type HexCase,
  signHex,
} from "./signing.js";
import { clientIdField, type ParsedClientId, parseClientId, parseUsername, verifyHexSignature } from "./verify.js";

/**
 * Dynamic registration (一型一密): a device that knows only its product's secret asks for its own
 * device secret. The sign string is `deviceName{dn}productKey{pk}random{random}` under the ProductSecret.
 */
export interface DynamicRegisterInput extends DeviceIdentity {
  /** Secret. */
  readonly productSecret: string;
  /** Caller-chosen random (use a CSPRNG; the C SDK's hard-coded `8Ygb7ULYh53B6OA` is a known weakness). */
  readonly random: string;
}

const RANDOM = /^[A-Za-z0-9]{1,64}$/;

function checkRandom(random: string): void {
  if (!RANDOM.test(random))
    fail("triad.bad_random", "random must be 1–64 letters or digits", { length: random.length });
}

export function dynamicRegisterSignContent(input: { productKey: string; deviceName: string; random: string }): string {
  return alibabaSignContent({ deviceName: input.deviceName, productKey: input.productKey, random: input.random });
}

/** HTTPS form `POST /auth/register/device` of the Node SDK (`hmacsha1`, lowercase) or C SDK (`hmacsha256`, uppercase). */
export interface DynamicRegisterHttpRequest {
  readonly path: "/auth/register/device";
  readonly signMethod: SignMethod;
  readonly sign: string;
  /** `application/x-www-form-urlencoded` body in the official field order. */
  readonly body: string;
}

export function signDynamicRegisterHttp(
  input: DynamicRegisterInput & { readonly style?: "node" | "c"; readonly signMethod?: SignMethod },
): DynamicRegisterHttpRequest {
  checkRandom(input.random);
  const style = input.style ?? "node";
  const signMethod = parseSignMethod(input.signMethod ?? (style === "c" ? "hmacsha256" : "hmacsha1"));
  const sign = signHex(
    signMethod,
    input.productSecret,
    dynamicRegisterSignContent(input),
    style === "c" ? "upper" : "lower",
  );
  const body = new URLSearchParams([
    ["productKey", input.productKey],
    ["deviceName", input.deviceName],
    ["random", input.random],
    ["sign", sign],
    ["signMethod", signMethod],
  ]).toString();
  return { path: "/auth/register/device", signMethod, sign, body };
}

/**
 * MQTT dynamic registration logins. `register` (pre-registered device) answers with the DeviceSecret on
 * `/ext/register`; `regnwl` (免预注册, no pre-registration) answers with a clientId and deviceToken on
 * `/ext/regnwl`. The client must not auto-reconnect with these credentials.
 */
export type RegisterMode = "register" | "regnwl";

export function signDynamicRegisterMqtt(
  input: DynamicRegisterInput & {
    readonly mode: RegisterMode;
    readonly signMethod?: SignMethod;
    /** Default `pk.dn`. */
    readonly clientIdCore?: string;
    /** Default 2 for `register` (TLS) and -2 for `regnwl`. */
    readonly secureMode?: SecureMode | -2;
    /** Default upper (the Java sample). */
    readonly hexCase?: HexCase;
  },
): ConnectCredentials {
  checkRandom(input.random);
  const signMethod = parseSignMethod(input.signMethod ?? "hmacsha256");
  const core = input.clientIdCore ?? `${input.productKey}.${input.deviceName}`;
  checkClientIdCore(core);
  const secureMode = String(input.secureMode ?? (input.mode === "register" ? 2 : -2));
  const fields: ClientIdField[] =
    input.mode === "register"
      ? [
          ["securemode", secureMode],
          ["authType", "register"],
          ["signmethod", signMethod],
          ["random", input.random],
        ]
      : [
          ["securemode", secureMode],
          ["authType", "regnwl"],
          ["random", input.random],
          ["signmethod", signMethod],
        ];
  return {
    clientId: formatClientId(core, fields),
    username: connectUsername(input.productKey, input.deviceName),
    password: signHex(signMethod, input.productSecret, dynamicRegisterSignContent(input), input.hexCase ?? "upper"),
  };
}

export interface ParsedRegisterConnect {
  readonly identity: DeviceIdentity;
  readonly mode: RegisterMode;
  readonly random: string;
  readonly signMethod: SignMethod;
  readonly clientId: ParsedClientId;
}

/** Platform side of an MQTT registration login: parse without the secret, then verify with it. */
export function parseRegisterConnect(credentials: { clientId: string; username: string }): ParsedRegisterConnect {
  const clientId = parseClientId(credentials.clientId);
  const identity = parseUsername(credentials.username);
  const mode = clientIdField(clientId, "authType");
  if (mode !== "register" && mode !== "regnwl") {
    return fail("triad.unsupported_auth_type", "registration login needs authType=register or authType=regnwl");
  }
  const random = clientIdField(clientId, "random") ?? "";
  checkRandom(random);
  const signMethod = parseSignMethod(clientIdField(clientId, "signmethod") ?? "");
  return { identity, mode, random, signMethod, clientId };
}

export function verifyRegisterConnect(parsed: ParsedRegisterConnect, password: string, productSecret: string): void {
  const content = dynamicRegisterSignContent({ ...parsed.identity, random: parsed.random });
  if (!verifyHexSignature(parsed.signMethod, productSecret, content, password)) {
    fail("triad.bad_signature", "registration password does not match the product secret", {
      productKey: parsed.identity.productKey,
    });
  }
}

/**
 * Sub-device login / topo-add signature (gateway sends it for the sub-device):
 * HMAC(subDeviceSecret, `clientId{cid}deviceName{dn}productKey{pk}timestamp{ts}`).
 * Node SDK: clientId `pk&dn`, `hmacsha1`, lowercase, wall-clock ms. C SDK 3.0.1: clientId `pk.dn`, uptime ms.
 */
export interface SubDeviceSignParams {
  readonly productKey: string;
  readonly deviceName: string;
  readonly clientId: string;
  readonly timestamp: string;
  readonly signMethod: SignMethod;
  readonly sign: string;
}

export function signSubDevice(input: {
  readonly triad: AlibabaTriad;
  readonly timestampMs: number | string | bigint;
  readonly style?: "node" | "c";
  readonly signMethod?: SignMethod;
  readonly clientId?: string;
}): SubDeviceSignParams {
  const { productKey, deviceName, deviceSecret } = input.triad;
  const style = input.style ?? "node";
  const clientId = input.clientId ?? (style === "c" ? `${productKey}.${deviceName}` : `${productKey}&${deviceName}`);
  checkClientIdCore(clientId);
  const timestamp = formatTimestamp(input.timestampMs);
  const signMethod = parseSignMethod(input.signMethod ?? "hmacsha1");
  const content = alibabaSignContent({ clientId, deviceName, productKey, timestamp });
  const sign = signHex(signMethod, deviceSecret, content, style === "c" ? "upper" : "lower");
  return { productKey, deviceName, clientId, timestamp, signMethod, sign };
}

/** Platform side of a sub-device login: throws `triad.bad_signature` on mismatch. */
export function verifySubDevice(params: SubDeviceSignParams, subDeviceSecret: string): void {
  const content = alibabaSignContent({
    clientId: params.clientId,
    deviceName: params.deviceName,
    productKey: params.productKey,
    timestamp: params.timestamp,
  });
  if (!verifyHexSignature(parseSignMethod(params.signMethod), subDeviceSecret, content, params.sign)) {
    fail("triad.bad_signature", "sub-device sign does not match", {
      productKey: params.productKey,
      deviceName: params.deviceName,
    });
  }
}
