/**
 * Results of dynamic registration over MQTT, pushed by the platform right after CONNECT:
 * - `/ext/register` (per-product secret, pre-registered device): `{productKey, deviceName, deviceSecret}`;
 * - `/ext/regnwl` (registration without pre-registration): `{productKey, deviceName, clientId, deviceToken}`.
 *
 * Decoding is strict: every member must be a non-empty printable-ASCII string without spaces. These payloads
 * carry credentials, so errors name the offending field only, never a value, and never keep the JSON parser's
 * error (it quotes the input). Formats of the values themselves are the triad module's business.
 */

import { encodeJson, JsonReader, parseJsonObject, type StringRule } from "./json.js";

/** What `/ext/register` delivers: the device's new per-device secret. */
export interface RegisterResult {
  readonly productKey: string;
  readonly deviceName: string;
  readonly deviceSecret: string;
}

/** What `/ext/regnwl` delivers: a client id and a token to connect with instead of a secret. */
export interface RegnwlResult {
  readonly productKey: string;
  readonly deviceName: string;
  readonly clientId: string;
  readonly deviceToken: string;
}

const TOKEN: StringRule = { maxLength: 256, pattern: /^[\x21-\x7e]+$/, describe: "printable ASCII without spaces" };
const NAME: StringRule = { ...TOKEN, maxLength: 64 };

function readRegister(reader: JsonReader): RegisterResult {
  return {
    productKey: reader.string("productKey", NAME),
    deviceName: reader.string("deviceName", NAME),
    deviceSecret: reader.string("deviceSecret", NAME),
  };
}

function readRegnwl(reader: JsonReader): RegnwlResult {
  return {
    productKey: reader.string("productKey", NAME),
    deviceName: reader.string("deviceName", NAME),
    clientId: reader.string("clientId", TOKEN),
    deviceToken: reader.string("deviceToken", TOKEN),
  };
}

/** Decodes an `/ext/register` payload. Throws `alink.bad_payload` (naming the field, never its value). */
export function decodeRegisterResult(bytes: Uint8Array): RegisterResult {
  return readRegister(new JsonReader(parseJsonObject(bytes, "register result"), "register result"));
}

/** Decodes an `/ext/regnwl` payload. Throws `alink.bad_payload` (naming the field, never its value). */
export function decodeRegnwlResult(bytes: Uint8Array): RegnwlResult {
  return readRegnwl(new JsonReader(parseJsonObject(bytes, "regnwl result"), "regnwl result"));
}

/** Encodes an `/ext/register` payload (for simulators and fake brokers). */
export function encodeRegisterResult(result: RegisterResult): Uint8Array {
  const { productKey, deviceName, deviceSecret } = result;
  const obj = { productKey, deviceName, deviceSecret };
  readRegister(new JsonReader(obj, "register result"));
  return encodeJson(obj);
}

/** Encodes an `/ext/regnwl` payload (for simulators and fake brokers). */
export function encodeRegnwlResult(result: RegnwlResult): Uint8Array {
  const { productKey, deviceName, clientId, deviceToken } = result;
  const obj = { productKey, deviceName, clientId, deviceToken };
  readRegnwl(new JsonReader(obj, "regnwl result"));
  return encodeJson(obj);
}
