/**
 * Factory request and response bodies: CBOR maps with a text type tag `t`, then the fields below in this order
 * (docs/factory-protocol.md has every key with its CBOR type and constraints).
 *
 * Requests (station → device):  hello { stationNonce } · write_record { record: bstr } · verify { stationNonce } ·
 *   lock · unlock { signature } · factory_reset { signature }
 * Responses (device → station): hello { protocolVersion, chipId, wifiMac, bleMac?, model, firmware, state,
 *   identity?, recordHash?, workOrderId?, triadId?, modem?, challenge } · written { recordHash } ·
 *   verified { deviceNonce, recordHash, mac } · ok { state } · error { code, message? }
 *
 * `write_record` carries the record as a byte string holding its deterministic encoding (record.ts), so the
 * device stores and hashes exactly the bytes the station hashed. Validation is identical on encode and decode
 * (whatever encodes also decodes); unknown keys are ignored (a newer peer may add optional fields); unknown type
 * tags, error codes and out-of-range fields are `factory.bad_message`, naming the field, never its value.
 */

import { fail } from "../errors.js";
import { type CborObject, type CborReader, decodeCborMap, encodeCbor } from "../provisioning/cbor.js";
import {
  CHIP_ID,
  ERROR_TEXT,
  FACTORY_CODE,
  FACTORY_HASH_BYTES,
  FACTORY_MAC_BYTES,
  FACTORY_SIGNATURE_BYTES,
  factoryReader,
  MAC_ADDRESS,
  NONCE_BYTES,
  objectArgument,
  PRINTABLE,
  REFERENCE,
  readIdentity,
  readModem,
} from "./fields.js";
import { encodeFactoryFrame } from "./framing.js";
import { decodeFactoryRecord, encodeFactoryRecord } from "./record.js";
import {
  type DeviceFactoryState,
  FACTORY_ERROR_CODES,
  FACTORY_PROTOCOL_VERSION,
  type FactoryHello,
  type FactoryRecord,
  type FactoryRequest,
  type FactoryResponse,
} from "./types.js";

export const FACTORY_REQUEST_TYPES = [
  "hello",
  "write_record",
  "verify",
  "lock",
  "unlock",
  "factory_reset",
] as const satisfies readonly FactoryRequest["t"][];
export const FACTORY_RESPONSE_TYPES = [
  "hello",
  "written",
  "verified",
  "ok",
  "error",
] as const satisfies readonly FactoryResponse["t"][];
export const DEVICE_FACTORY_STATES = [
  "blank",
  "provisioned",
  "locked",
] as const satisfies readonly DeviceFactoryState[];

/** The success response of each request (any request may also be answered with `error`). */
export const FACTORY_RESPONSE_OF = {
  hello: "hello",
  write_record: "written",
  verify: "verified",
  lock: "ok",
  unlock: "ok",
  factory_reset: "ok",
} as const satisfies Record<FactoryRequest["t"], FactoryResponse["t"]>;

/** Wire key order of each body, after `t`. */
const REQUEST_FIELDS: Record<FactoryRequest["t"], readonly string[]> = {
  hello: ["stationNonce"],
  write_record: ["record"],
  verify: ["stationNonce"],
  lock: [],
  unlock: ["signature"],
  factory_reset: ["signature"],
};
const RESPONSE_FIELDS: Record<FactoryResponse["t"], readonly string[]> = {
  hello: [
    "protocolVersion",
    "chipId",
    "wifiMac",
    "bleMac",
    "model",
    "firmware",
    "state",
    "identity",
    "recordHash",
    "workOrderId",
    "triadId",
    "modem",
    "challenge",
  ],
  written: ["recordHash"],
  verified: ["deviceNonce", "recordHash", "mac"],
  ok: ["state"],
  error: ["code", "message"],
};

const REQUEST_WHAT = "factory request";
const RESPONSE_WHAT = "factory response";

function readTag<T extends string>(r: CborReader, allowed: readonly T[]): T {
  const t = r.raw("t");
  if (typeof t !== "string" || !(allowed as readonly string[]).includes(t)) r.bad("t", `one of ${allowed.join(", ")}`);
  return t as T;
}

function readRequest(r: CborReader): FactoryRequest {
  const t = readTag(r, FACTORY_REQUEST_TYPES);
  switch (t) {
    case "hello":
    case "verify":
      return { t, stationNonce: r.bytes("stationNonce", NONCE_BYTES) };
    case "write_record": {
      const bytes = r.raw("record");
      if (!(bytes instanceof Uint8Array)) return r.bad("record", "a byte string holding the factory record");
      return { t, record: decodeFactoryRecord(Uint8Array.from(bytes)) };
    }
    case "lock":
      return { t };
    case "unlock":
    case "factory_reset":
      return { t, signature: r.bytes("signature", FACTORY_SIGNATURE_BYTES) };
  }
}

function readHello(r: CborReader): FactoryHello {
  const protocolVersion = r.uint("protocolVersion", { min: 1, max: 255 });
  const chipId = r.text("chipId", CHIP_ID);
  const wifiMac = r.text("wifiMac", MAC_ADDRESS);
  const bleMac = r.optionalText("bleMac", MAC_ADDRESS);
  const model = r.text("model", PRINTABLE);
  const firmware = r.text("firmware", PRINTABLE);
  const state = r.literal("state", DEVICE_FACTORY_STATES);
  const identity = r.has("identity") ? readIdentity(r, r.raw("identity"), "identity") : undefined;
  const recordHash = r.optionalBytes("recordHash", FACTORY_HASH_BYTES);
  const workOrderId = r.optionalText("workOrderId", REFERENCE);
  const triadId = r.optionalText("triadId", REFERENCE);
  const modem = r.has("modem") ? readModem(r, r.raw("modem"), "modem") : undefined;
  const challenge = r.bytes("challenge", NONCE_BYTES);
  if (state === "blank") {
    for (const key of ["identity", "recordHash", "workOrderId", "triadId"]) {
      if (r.has(key)) r.bad(key, 'absent when state is "blank"');
    }
  } else {
    if (identity === undefined) r.bad("identity", 'present unless state is "blank"');
    if (recordHash === undefined) r.bad("recordHash", 'present unless state is "blank"');
  }
  return {
    t: "hello",
    protocolVersion,
    chipId,
    wifiMac,
    ...(bleMac === undefined ? {} : { bleMac }),
    model,
    firmware,
    state,
    ...(identity === undefined ? {} : { identity }),
    ...(recordHash === undefined ? {} : { recordHash }),
    ...(workOrderId === undefined ? {} : { workOrderId }),
    ...(triadId === undefined ? {} : { triadId }),
    ...(modem === undefined ? {} : { modem }),
    challenge,
  };
}

function readResponse(r: CborReader): FactoryResponse {
  const t = readTag(r, FACTORY_RESPONSE_TYPES);
  switch (t) {
    case "hello":
      return readHello(r);
    case "written":
      return { t, recordHash: r.bytes("recordHash", FACTORY_HASH_BYTES) };
    case "verified":
      return {
        t,
        deviceNonce: r.bytes("deviceNonce", NONCE_BYTES),
        recordHash: r.bytes("recordHash", FACTORY_HASH_BYTES),
        mac: r.bytes("mac", FACTORY_MAC_BYTES),
      };
    case "ok":
      return { t, state: r.literal("state", DEVICE_FACTORY_STATES) };
    case "error": {
      const code = r.literal("code", FACTORY_ERROR_CODES);
      const message = r.optionalText("message", ERROR_TEXT);
      return { t, code, ...(message === undefined ? {} : { message }) };
    }
  }
}

/** The wire map: `t`, then the known fields of that type in wire order (extras dropped, absent ones omitted). */
function wireOf(message: Record<string, unknown>, fields: Record<string, readonly string[]>): CborObject {
  const t = message.t;
  const keys = typeof t === "string" && Object.hasOwn(fields, t) ? (fields[t] as readonly string[]) : [];
  const out: CborObject = { t };
  for (const key of keys) {
    const value = message[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function requestWire(request: FactoryRequest): CborObject {
  const obj = objectArgument(request, REQUEST_WHAT);
  if (obj.t !== "write_record") return wireOf(obj, REQUEST_FIELDS);
  return {
    t: obj.t,
    record: encodeFactoryRecord(objectArgument(obj.record, "factory record") as unknown as FactoryRecord),
  };
}

/** Encodes a request body (validated first). Throws `factory.bad_message`. */
export function encodeFactoryRequest(request: FactoryRequest): Uint8Array {
  const wire = requestWire(request);
  const checked = readRequest(factoryReader(wire, REQUEST_WHAT));
  return encodeCbor(requestWire(checked));
}

/** Decodes a request body. Throws `factory.bad_message`. */
export function decodeFactoryRequest(body: Uint8Array): FactoryRequest {
  return readRequest(factoryReader(decodeCborMap(body, REQUEST_WHAT, FACTORY_CODE), REQUEST_WHAT));
}

/** Encodes a response body (validated first). Throws `factory.bad_message`. */
export function encodeFactoryResponse(response: FactoryResponse): Uint8Array {
  const checked = readResponse(
    factoryReader(wireOf(objectArgument(response, RESPONSE_WHAT), RESPONSE_FIELDS), RESPONSE_WHAT),
  );
  return encodeCbor(wireOf(checked as unknown as Record<string, unknown>, RESPONSE_FIELDS));
}

/** Decodes a response body. Throws `factory.bad_message`. */
export function decodeFactoryResponse(body: Uint8Array): FactoryResponse {
  return readResponse(factoryReader(decodeCborMap(body, RESPONSE_WHAT, FACTORY_CODE), RESPONSE_WHAT));
}

/** True when `response` is the success shape of `request` (`error` is not). */
export function isFactoryResponseTo(request: FactoryRequest["t"], response: FactoryResponse): boolean {
  return FACTORY_RESPONSE_OF[request] === response.t;
}

/** Refuses a response that is neither the success shape of `request` nor `error`. Throws `factory.bad_message`. */
export function expectFactoryResponse(request: FactoryRequest["t"], response: FactoryResponse): FactoryResponse {
  if (response.t !== "error" && !isFactoryResponseTo(request, response)) {
    fail(FACTORY_CODE, `factory response ${response.t} does not answer ${request}`, { request, response: response.t });
  }
  return response;
}

/** A whole request frame for the wire: `encodeFactoryFrame({ version: 1, kind: "request", requestId, body })`. */
export function encodeFactoryRequestFrame(requestId: number, request: FactoryRequest): Uint8Array {
  const body = encodeFactoryRequest(request);
  return encodeFactoryFrame({ version: FACTORY_PROTOCOL_VERSION, kind: "request", requestId, body });
}

/** A whole response frame for the wire (`requestId` echoes the request's). */
export function encodeFactoryResponseFrame(requestId: number, response: FactoryResponse): Uint8Array {
  const body = encodeFactoryResponse(response);
  return encodeFactoryFrame({ version: FACTORY_PROTOCOL_VERSION, kind: "response", requestId, body });
}
