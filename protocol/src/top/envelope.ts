/**
 * TOP JSON responses (`format=json`, not simplified):
 *
 * - success: `{"<name>_response":{…fields,"request_id":"…"}}`, where `<name>` is the method without its leading
 *   `taobao.` and with dots as underscores (`taobao.time.get` → `time_get_response`,
 *   `taobao.top.auth.token.refresh` → `top_auth_token_refresh_response`, `tmall.device.carturl.get` →
 *   `tmall_device_carturl_get_response`);
 * - failure: `{"error_response":{"code":27,"msg":"Invalid session","sub_code":"invalid-sessionkey",
 *   "sub_msg":"…","request_id":"…"}}` with `code` an integer.
 *
 * Platform-level codes (below 100) are in {@link TOP_ERRORS}; docs/top.md says which were seen where.
 */
import { fail, TriadkitError } from "../errors.js";
import { fromUtf8, utf8 } from "../util/bytes.js";

/** The platform-level error codes the client and the gateway emulator use, with the gateway's `msg`. */
export const TOP_ERRORS = {
  remoteServiceError: { code: 15, msg: "Remote service error" },
  missingMethod: { code: 21, msg: "Missing method" },
  invalidMethod: { code: 22, msg: "Invalid method" },
  invalidFormat: { code: 23, msg: "Invalid format" },
  missingSignature: { code: 24, msg: "Missing signature" },
  invalidSignature: { code: 25, msg: "Invalid signature" },
  missingSession: { code: 26, msg: "Missing session" },
  invalidSession: { code: 27, msg: "Invalid session" },
  missingAppKey: { code: 28, msg: "Missing app key" },
  invalidAppKey: { code: 29, msg: "Invalid app key" },
  missingTimestamp: { code: 30, msg: "Missing timestamp" },
  invalidTimestamp: { code: 31, msg: "Invalid timestamp" },
  missingVersion: { code: 32, msg: "Missing version" },
  invalidVersion: { code: 33, msg: "Invalid version" },
  missingRequiredArguments: { code: 40, msg: "Missing required arguments" },
  invalidArguments: { code: 41, msg: "Invalid arguments" },
} as const;

/** Codes after which a new session (refresh token) may help: 26 Missing session, 27 Invalid session. */
export function isTopSessionError(code: number): boolean {
  return code === TOP_ERRORS.missingSession.code || code === TOP_ERRORS.invalidSession.code;
}

/** Code 31 Invalid timestamp: the request's time is malformed or outside the gateway's ±10 min window. */
export function isTopTimestampError(code: number): boolean {
  return code === TOP_ERRORS.invalidTimestamp.code;
}

/** The body of an `error_response`. */
export interface TopError {
  readonly code: number;
  readonly msg: string;
  readonly sub_code?: string;
  readonly sub_msg?: string;
  readonly request_id?: string;
}

/** `<name>_response` for a method name (see the module comment). */
export function topResponseKey(method: string): string {
  const name = method.startsWith("taobao.") ? method.slice("taobao.".length) : method;
  return `${name.replaceAll(".", "_")}_response`;
}

export function encodeTopError(error: TopError): Uint8Array {
  const { code, msg, sub_code, sub_msg, request_id } = error;
  return utf8(
    JSON.stringify({
      error_response: {
        code,
        msg,
        ...(sub_code === undefined ? {} : { sub_code }),
        ...(sub_msg === undefined ? {} : { sub_msg }),
        ...(request_id === undefined ? {} : { request_id }),
      },
    }),
  );
}

export function encodeTopResponse(
  method: string,
  body: Readonly<Record<string, unknown>>,
  requestId: string,
): Uint8Array {
  return utf8(JSON.stringify({ [topResponseKey(method)]: { ...body, request_id: requestId } }));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : undefined;
}

/** Reads an `error_response` body; `code` may come as a number or a decimal string. */
function readError(body: unknown): TopError {
  if (!isObject(body)) return fail("top.bad_response", "error_response is not an object");
  const raw = body.code;
  const code = typeof raw === "number" ? raw : typeof raw === "string" && /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(code)) return fail("top.bad_response", "error_response has no integer code");
  const sub_code = optionalString(body.sub_code);
  const sub_msg = optionalString(body.sub_msg);
  const request_id = optionalString(body.request_id);
  return {
    code,
    msg: optionalString(body.msg) ?? "",
    ...(sub_code === undefined ? {} : { sub_code }),
    ...(sub_msg === undefined ? {} : { sub_msg }),
    ...(request_id === undefined ? {} : { request_id }),
  };
}

/** The `top.error_response` error for an error body: context has the codes and messages (never a credential). */
export function topErrorResponse(method: string, error: TopError): TriadkitError {
  const sub = error.sub_code === undefined ? "" : ` / ${error.sub_code}`;
  return new TriadkitError("top.error_response", `${method}: TOP error ${error.code} ${error.msg}${sub}`, {
    method,
    code: error.code,
    msg: error.msg,
    ...(error.sub_code === undefined ? {} : { subCode: error.sub_code }),
    ...(error.sub_msg === undefined ? {} : { subMsg: error.sub_msg }),
    ...(error.request_id === undefined ? {} : { requestId: error.request_id }),
  });
}

/** What a JSON response said: the inner object of `<name>_response`, or the error. */
export type TopResult =
  | { readonly ok: true; readonly response: Record<string, unknown> }
  | { readonly ok: false; readonly error: TopError };

/**
 * Decodes a JSON response to `method`. Accepts `<name>_response` and, as some gateways and SDK versions spell it,
 * the full-name form with `taobao_` kept. Throws `top.bad_response` when the text is not JSON or holds neither.
 */
export function decodeTopResponse(method: string, body: Uint8Array | string): TopResult {
  let json: unknown;
  try {
    json = JSON.parse(typeof body === "string" ? body : fromUtf8(body));
  } catch {
    return fail("top.bad_response", `${method}: the response is not JSON`, { method });
  }
  if (!isObject(json)) return fail("top.bad_response", `${method}: the response is not a JSON object`, { method });
  if ("error_response" in json) return { ok: false, error: readError(json.error_response) };
  for (const key of [topResponseKey(method), `${method.replaceAll(".", "_")}_response`]) {
    const inner = json[key];
    if (isObject(inner)) return { ok: true, response: inner };
  }
  return fail("top.bad_response", `${method}: the response has neither ${topResponseKey(method)} nor error_response`, {
    method,
    keys: Object.keys(json).slice(0, 5),
  });
}

/** {@link decodeTopResponse}, throwing `top.error_response` for an error. */
export function parseTopResponse(method: string, body: Uint8Array | string): Record<string, unknown> {
  const result = decodeTopResponse(method, body);
  if (result.ok) return result.response;
  throw topErrorResponse(method, result.error);
}
