/**
 * Alink JSON envelopes: requests `{id, version, sys?, params, method}` and replies
 * `{id, code, data, message?, method?, version?}`, message-id generation and reply codes.
 *
 * Message ids. The platform documents an id as a decimal string in 0..4294967295, unique per device per day.
 * Other senders differ: the C SDK prints a counter; the Node SDK (1.2.8) sends
 * `"<n>|exp-topic|<expected reply topic>"` (67 characters for `/sys/a1B2c3D4e5F/dev001/.../post_reply`, more
 * for long names). Decoders therefore accept any non-empty string of at most {@link ALINK_ID_MAX_LENGTH}
 * characters, and encoders accept the same (a reply must echo whatever id came in). Our own ids come from
 * {@link createIdGenerator}, which emits plain decimal strings in the documented range.
 *
 * Strictness. Decoders throw `alink.bad_payload` for invalid UTF-8/JSON, a non-object top level, a missing
 * or mistyped known field; `alink.bad_reply_code` when a reply's `code` is missing or not an integer.
 * Unknown extra fields are tolerated and dropped.
 */

import { fail } from "../errors.js";
import {
  assertJsonValue,
  encodeJson,
  type IntegerRule,
  isJsonObject,
  JsonReader,
  parseJsonObject,
  type StringRule,
} from "./json.js";

/** The only Alink protocol version. */
export const ALINK_VERSION = "1.0";

/**
 * Longest message id accepted, in UTF-16 code units. 256 rather than the 10 digits of a documented id so that
 * Node SDK ids (`"1|exp-topic|/sys/{pk}/{dn}/thing/event/{identifier}/post_reply"`, up to ~170) fit.
 */
export const ALINK_ID_MAX_LENGTH = 256;

/** Largest id the platform documents (ids are decimal strings in 0..4294967295). */
export const ALINK_ID_MAX_NUMERIC = 4294967295;

/** Methods are dotted names: `thing.event.property.post`, `thing.event.module:Event.post`. */
const METHOD_PATTERN = /^[A-Za-z0-9_:]+(?:\.[A-Za-z0-9_:]+)*$/;
const METHOD_RULE: StringRule = { maxLength: 256, pattern: METHOD_PATTERN, describe: "a dotted method name" };
/** Reply codes are integers; the platform uses 200, 4xx, 5xx and 4-digit codes (e.g. 6100). */
const REPLY_CODE_RULE: IntegerRule = { min: 0, max: 2147483647 };

/** Per-request extension flags. `ack: 0` asks the platform not to reply. */
export interface AlinkSys {
  readonly ack?: 0 | 1;
}

/** An Alink request as sent on the wire. */
export interface AlinkRequest<P = unknown> {
  readonly id: string;
  readonly version: typeof ALINK_VERSION;
  readonly params: P;
  readonly method: string;
  readonly sys?: AlinkSys;
}

/** What {@link encodeRequest} takes: `version` may be left out. */
export type AlinkRequestInput<P = unknown> = Omit<AlinkRequest<P>, "version"> & { readonly version?: "1.0" };

/** An Alink reply. `data` is `undefined` when a decoded reply had no `data` member. */
export interface AlinkReply<D = unknown> {
  readonly id: string;
  readonly code: number;
  readonly data: D;
  readonly message?: string;
  readonly method?: string;
  readonly version?: string;
}

/** What {@link encodeReply} takes: `data` defaults to `{}`. */
export type AlinkReplyInput<D = unknown> = Omit<AlinkReply<D>, "data"> & { readonly data?: D };

// ---------------------------------------------------------------------------------------------------------------
// Ids

/** Hands out message ids for one session or device. Not shared: create one per connection. */
export interface IdGenerator {
  /** The next id as a decimal string; wraps from {@link ALINK_ID_MAX_NUMERIC} to 0. */
  next(): string;
}

/** Creates an independent id counter starting at `start` (default 1). Throws `config.invalid` on a bad start. */
export function createIdGenerator(start = 1): IdGenerator {
  if (!Number.isSafeInteger(start) || start < 0 || start > ALINK_ID_MAX_NUMERIC) {
    fail("config.invalid", `id generator start must be an integer in [0, ${ALINK_ID_MAX_NUMERIC}]`, { start });
  }
  let current = start;
  return {
    next(): string {
      const id = String(current);
      current = current >= ALINK_ID_MAX_NUMERIC ? 0 : current + 1;
      return id;
    },
  };
}

/** True for a string that may be an Alink message id (non-empty, at most {@link ALINK_ID_MAX_LENGTH}). */
export function isAlinkId(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= ALINK_ID_MAX_LENGTH;
}

/** Reads `id`; `allowNumber` accepts a non-negative safe integer too (OTA payloads) and returns it as a string. */
export function readAlinkId(reader: JsonReader, key = "id", allowNumber = false): string {
  const value = reader.raw(key);
  if (allowNumber && typeof value === "number") {
    return String(reader.integer(key, { min: 0, max: Number.MAX_SAFE_INTEGER }));
  }
  if (!reader.has(key)) reader.bad(key, "present");
  if (!isAlinkId(value)) reader.bad(key, `a non-empty string of at most ${ALINK_ID_MAX_LENGTH} characters`);
  return value;
}

export function checkIdForEncode(id: unknown, what: string): string {
  if (!isAlinkId(id)) {
    fail("alink.bad_payload", `${what}: id must be a non-empty string of at most ${ALINK_ID_MAX_LENGTH} characters`, {
      field: "id",
    });
  }
  return id;
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

function checkSys(sys: unknown, what: string): AlinkSys | undefined {
  if (sys === undefined) return undefined;
  if (!isJsonObject(sys)) fail("alink.bad_payload", `${what}: sys must be a JSON object`, { field: "sys" });
  const reader = new JsonReader(sys, what, "sys.");
  if (!reader.has("ack")) return {};
  const ack = reader.integer("ack", { min: 0, max: 1 }) as 0 | 1;
  return { ack };
}

/** Builds the wire object of a request (key order id, version, sys, params, method), validating it. */
export function requestObject<P>(request: AlinkRequestInput<P>, what = "alink request"): Record<string, unknown> {
  const id = checkIdForEncode(request.id, what);
  if (request.version !== undefined && request.version !== ALINK_VERSION) {
    fail("alink.bad_payload", `${what}: version must be "${ALINK_VERSION}"`, { field: "version" });
  }
  if (typeof request.method !== "string" || request.method.length > 256 || !METHOD_PATTERN.test(request.method)) {
    fail("alink.bad_payload", `${what}: method must be a dotted method name`, { field: "method" });
  }
  const params: unknown = request.params;
  if (!isJsonObject(params) && !Array.isArray(params)) {
    fail("alink.bad_payload", `${what}: params must be a JSON object or array`, { field: "params" });
  }
  assertJsonValue(params, what);
  const sys = checkSys(request.sys, what);
  return {
    id,
    version: ALINK_VERSION,
    ...(sys === undefined ? {} : { sys }),
    params,
    method: request.method,
  };
}

/**
 * Encodes a request to UTF-8 JSON, e.g.
 * `{"id":"1","version":"1.0","params":{"Power":1},"method":"thing.event.property.post"}`.
 * `params` must be a JSON object or array of JSON values; throws `alink.bad_payload` otherwise.
 */
export function encodeRequest<P>(request: AlinkRequestInput<P>): Uint8Array {
  return encodeJson(requestObject(request));
}

/** Validates the envelope of a parsed request; `params` is returned unchecked (beyond object/array). */
export function readRequest(reader: JsonReader): AlinkRequest {
  const id = readAlinkId(reader);
  const version = reader.string("version", { maxLength: 16 });
  if (version !== ALINK_VERSION) reader.bad("version", `"${ALINK_VERSION}"`);
  // Empty methods occur on the wire (the Node SDK's combine/login sends `"method":""`).
  const method = reader.string("method", { ...METHOD_RULE, allowEmpty: true });
  const params = reader.raw("params");
  if (!reader.has("params") || (!isJsonObject(params) && !Array.isArray(params))) {
    reader.bad("params", "a JSON object or array");
  }
  const sys = checkSys(reader.raw("sys"), reader.what);
  return sys === undefined
    ? { id, version: ALINK_VERSION, params, method }
    : { id, version: ALINK_VERSION, params, method, sys };
}

/**
 * Decodes a request. Requires `id` (see {@link ALINK_ID_MAX_LENGTH}), `version` `"1.0"`, `method` (a dotted name,
 * or empty) and `params` (object or array); `sys.ack`, if present, must be 0 or 1.
 */
export function decodeRequest(bytes: Uint8Array): AlinkRequest {
  return readRequest(new JsonReader(parseJsonObject(bytes, "alink request"), "alink request"));
}

/** Decodes a request and also requires its `method` (one of `method`); throws `alink.bad_payload` otherwise. */
export function decodeRequestFor(
  bytes: Uint8Array,
  method: string | readonly string[],
  what = "alink request",
): AlinkRequest {
  const reader = new JsonReader(parseJsonObject(bytes, what), what);
  const request = readRequest(reader);
  const allowed: readonly string[] = typeof method === "string" ? [method] : method;
  if (!allowed.includes(request.method)) reader.bad("method", allowed.map((m) => JSON.stringify(m)).join(" or "));
  return request;
}

// ---------------------------------------------------------------------------------------------------------------
// Replies

/**
 * Encodes a reply: `{"id":"1","code":200,"data":{}}` plus `message`, `method`, `version` when given.
 * Throws `alink.bad_reply_code` for a code that is not an integer in [0, 2^31), `alink.bad_payload` otherwise.
 */
export function encodeReply<D>(reply: AlinkReplyInput<D>): Uint8Array {
  const what = "alink reply";
  const id = checkIdForEncode(reply.id, what);
  checkReplyCode(reply.code);
  const data: unknown = reply.data === undefined ? {} : reply.data;
  assertJsonValue(data, what, "data");
  const out: Record<string, unknown> = { id, code: reply.code, data };
  for (const key of ["message", "method", "version"] as const) {
    const value = reply[key];
    if (value === undefined) continue;
    if (typeof value !== "string" || value.length > 1024) {
      fail("alink.bad_payload", `${what}: ${key} must be a string of at most 1024 characters`, { field: key });
    }
    out[key] = value;
  }
  return encodeJson(out);
}

/**
 * Decodes a reply. `id` as for requests; `code` must be an integer (else `alink.bad_reply_code`); `data` may
 * be any JSON value or absent (`undefined`); `message`, `method`, `version` must be strings when present.
 */
export function decodeReply(bytes: Uint8Array): AlinkReply {
  const what = "alink reply";
  const reader = new JsonReader(parseJsonObject(bytes, what), what);
  const id = readAlinkId(reader);
  const code = new JsonReader(reader.obj, what, "", "alink.bad_reply_code").integer("code", REPLY_CODE_RULE);
  const text: StringRule = { maxLength: 1024, allowEmpty: true };
  const message = reader.optionalString("message", text);
  const method = reader.optionalString("method", text);
  const version = reader.optionalString("version", { maxLength: 16, allowEmpty: true });
  return {
    id,
    code,
    data: reader.raw("data"),
    ...(message === undefined ? {} : { message }),
    ...(method === undefined ? {} : { method }),
    ...(version === undefined ? {} : { version }),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Reply codes

/** The reply codes the Node SDK README documents. */
export const REPLY_CODES = {
  ok: 200,
  internalError: 400,
  tooFrequent: 429,
  badParams: 460,
  subDeviceSessionNotFound: 520,
} as const;

export type ReplyCodeName = keyof typeof REPLY_CODES;

const REPLY_CODE_TEXT: Readonly<Record<number, string>> = {
  200: "success",
  400: "internal error",
  427: "device connected elsewhere; this session was closed",
  429: "requests too frequent (rate limited)",
  460: "request parameter error",
  520: "sub-device session does not exist",
  521: "device deleted",
  522: "device disabled",
};

function checkReplyCode(code: unknown): asserts code is number {
  if (typeof code !== "number" || !Number.isSafeInteger(code) || code < 0 || code > REPLY_CODE_RULE.max) {
    fail("alink.bad_reply_code", `reply code must be an integer in [0, ${REPLY_CODE_RULE.max}]`, {
      field: "code",
    });
  }
}

/**
 * A short English description of a reply code, e.g. `describeReplyCode(429)` →
 * `"429 requests too frequent (rate limited)"`; unknown codes give `"6100 unknown reply code"`.
 * Throws `alink.bad_reply_code` for a non-integer.
 */
export function describeReplyCode(code: number): string {
  checkReplyCode(code);
  return `${code} ${REPLY_CODE_TEXT[code] ?? "unknown reply code"}`;
}

/** The {@link REPLY_CODES} name of a code, or `undefined`. */
export function replyCodeName(code: number): ReplyCodeName | undefined {
  for (const [name, value] of Object.entries(REPLY_CODES)) if (value === code) return name as ReplyCodeName;
  return undefined;
}

/** True when the reply reports success (code 200). */
export function isReplyOk(reply: Pick<AlinkReply, "code">): boolean {
  return reply.code === REPLY_CODES.ok;
}
