/**
 * The public parameters of a TOP call and a signed request built from them.
 */
import { fail } from "../errors.js";
import { parseTopSignMethod, signTopRequest, type TopParams, type TopSignMethod } from "./sign.js";
import { formatTopTimestamp } from "./timestamp.js";

/** Names the gateway reserves; an API's own parameters may not use them. */
export const TOP_SYSTEM_PARAMS = [
  "method",
  "app_key",
  "session",
  "timestamp",
  "v",
  "sign_method",
  "sign",
  "format",
  "simplify",
  "partner_id",
  "target_app_key",
] as const;

export interface TopRequestInput {
  /** API name, e.g. `taobao.smartstore.device.status.feedback`. */
  readonly method: string;
  readonly appKey: string;
  readonly appSecret: string;
  /** The merchant's SessionKey, for APIs that need an authorisation. */
  readonly session?: string;
  /** Milliseconds since the epoch; written as GMT+8 `yyyy-MM-dd HH:mm:ss`. */
  readonly timestampMs: number;
  readonly signMethod: TopSignMethod;
  /** The API's own parameters; empty values are left out (neither sent nor signed), as the SDKs do. */
  readonly params?: TopParams;
}

const METHOD = /^[a-z][a-z0-9]*(\.[a-z0-9_]+)+$/;

/**
 * Every parameter of a JSON (`format=json`, `v=2.0`) request, `sign` included. Throws `config.invalid` for a
 * malformed method name or an API parameter that shadows a system one, `top.unknown_sign_method`, `top.bad_timestamp`.
 */
export function buildTopRequest(input: TopRequestInput): Record<string, string> {
  if (!METHOD.test(input.method)) {
    return fail("config.invalid", `"${input.method}" is not a TOP method name (like taobao.time.get)`, {
      method: input.method,
    });
  }
  if (input.appKey === "") return fail("config.invalid", "the app key is empty");
  const own = input.params ?? {};
  for (const key of Object.keys(own)) {
    if ((TOP_SYSTEM_PARAMS as readonly string[]).includes(key)) {
      return fail("config.invalid", `parameter "${key}" is a TOP system parameter`, { param: key });
    }
  }
  const signMethod = parseTopSignMethod(input.signMethod);
  const params: Record<string, string> = {
    ...Object.fromEntries(Object.entries(own).filter(([, value]) => value !== "")),
    method: input.method,
    app_key: input.appKey,
    timestamp: formatTopTimestamp(input.timestampMs),
    v: "2.0",
    sign_method: signMethod,
    format: "json",
    ...(input.session === undefined || input.session === "" ? {} : { session: input.session }),
  };
  params.sign = signTopRequest(params, input.appSecret, signMethod);
  return params;
}
