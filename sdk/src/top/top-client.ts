/**
 * A TOP (Taobao Open Platform) client for the ISV side: signs every request (hmac-sha256 by default), checks the
 * local clock against the gateway's before it signs anything, and renews the merchant's session with the refresh
 * token when the gateway refuses it. Never on a device: app secret, session and refresh token stay with the ISV.
 *
 * Requests are `POST` with every parameter form-encoded in the body, `format=json`, `v=2.0`.
 */
import {
  buildTopRequest,
  decodeTopResponse,
  isTopSessionError,
  isTopTimestampError,
  parseTopTimestamp,
  parseTopTokenResult,
  TOP_SIGN_METHODS,
  TOP_TIME_METHOD,
  TOP_TOKEN_REFRESH_METHOD,
  type TopError,
  type TopParams,
  type TopResult,
  type TopSignMethod,
  TriadkitError,
  topErrorResponse,
} from "@triadkit/protocol";
import { z } from "zod";
import { type Clock, SystemClock } from "../clock.js";
import type { Logger } from "../logging/logger.js";
import { silentLogger } from "../logging/memory-logger.js";
import { redactSecrets } from "../logging/redact.js";

/** A session and what goes with it, as the refresh returned them. */
export interface TopSessionTokens {
  readonly session: string;
  readonly refreshToken?: string;
  readonly expiresAtMs?: number;
  readonly refreshTokenExpiresAtMs?: number;
}

export interface TopClientOptions {
  /** The gateway, e.g. `https://eco.taobao.com/router/rest` (or the emulator's `http://127.0.0.1:<p>/router/rest`). */
  readonly endpoint: string;
  readonly appKey: string;
  /** The app secret (secret: never logged, never in an error). */
  readonly appSecret: string;
  /** The merchant's SessionKey (secret). */
  readonly session?: string;
  /** The refresh token that came with the session (secret). */
  readonly refreshToken?: string;
  /** Default `hmac-sha256`. */
  readonly signMethod?: TopSignMethod;
  /** Refuse to sign when the local clock is further than this from the gateway's. Default 300 000 (5 min). */
  readonly maxSkewMs?: number;
  /** Sign with the gateway's time (local clock + measured offset) instead of refusing. Default false. */
  readonly correctSkew?: boolean;
  /** Per HTTP request. Default 15 000. */
  readonly timeoutMs?: number;
  readonly clock?: Clock;
  readonly fetch?: typeof globalThis.fetch;
  readonly logger?: Logger;
  /** Called with the new tokens after every refresh, before the refused call is retried: persist them here. */
  readonly onSessionRefreshed?: (tokens: TopSessionTokens) => void | Promise<void>;
}

export interface TopCallOptions {
  /** Send the session. Default: when the client holds one, except for `taobao.time.get` and the token refresh. */
  readonly session?: boolean;
  readonly signal?: AbortSignal;
}

/** Methods that never carry a session. */
const SESSIONLESS = new Set([TOP_TIME_METHOD, TOP_TOKEN_REFRESH_METHOD]);

const optionsSchema = z.object({
  endpoint: z
    .string()
    .url()
    .refine((u) => /^https?:\/\//.test(u), { message: "must be an http(s) URL" }),
  appKey: z.string().regex(/^[\x21-\x7e]{1,64}$/, { message: "must be 1-64 printable ASCII characters" }),
  appSecret: z.string().min(1, { message: "must not be empty" }),
  session: z.string().min(1, { message: "must not be empty" }).optional(),
  refreshToken: z.string().min(1, { message: "must not be empty" }).optional(),
  signMethod: z.enum(TOP_SIGN_METHODS).optional(),
  maxSkewMs: z.number().int().min(1_000).max(600_000, { message: "must be between 1000 and 600000 ms" }).optional(),
  correctSkew: z.boolean().optional(),
  timeoutMs: z.number().int().min(100).max(120_000, { message: "must be between 100 and 120000 ms" }).optional(),
});

function checkOptions(options: TopClientOptions): void {
  const { clock: _c, fetch: _f, logger: _l, onSessionRefreshed: _o, ...plain } = options;
  const checked = optionsSchema.safeParse(plain);
  if (checked.success) return;
  const issue = checked.error.issues[0];
  const option = issue?.path.join(".") ?? "";
  throw new TriadkitError("config.invalid", `TOP client option ${option}: ${issue?.message ?? "invalid"}`, { option });
}

export class TopClient {
  readonly endpoint: string;
  readonly appKey: string;
  readonly signMethod: TopSignMethod;
  private readonly appSecret: string;
  private session: string | undefined;
  private refreshToken: string | undefined;
  private readonly maxSkewMs: number;
  private readonly correctSkew: boolean;
  private readonly timeoutMs: number;
  private readonly clock: Clock;
  private readonly fetchFn: typeof globalThis.fetch;
  private readonly log: Logger;
  private readonly onSessionRefreshed: TopClientOptions["onSessionRefreshed"];
  private offsetMs: number | undefined;
  private measuring: Promise<number> | undefined;
  private refreshing: Promise<TopSessionTokens> | undefined;

  constructor(options: TopClientOptions) {
    checkOptions(options);
    this.endpoint = options.endpoint;
    this.appKey = options.appKey;
    this.appSecret = options.appSecret;
    this.session = options.session;
    this.refreshToken = options.refreshToken;
    this.signMethod = options.signMethod ?? "hmac-sha256";
    this.maxSkewMs = options.maxSkewMs ?? 300_000;
    this.correctSkew = options.correctSkew ?? false;
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.clock = options.clock ?? new SystemClock();
    this.fetchFn = options.fetch ?? globalThis.fetch;
    this.onSessionRefreshed = options.onSessionRefreshed;
    // Second line of defence: the credentials' values are scrubbed from every line, whatever field they hide in.
    this.log = redactSecrets((options.logger ?? silentLogger).child({ component: "top" }), () =>
      [this.appSecret, this.session, this.refreshToken].filter((s): s is string => s !== undefined),
    );
  }

  /** Whether the client holds a session (its value is never exposed). */
  get hasSession(): boolean {
    return this.session !== undefined;
  }

  /** Gateway time minus local time, ms, as last measured (undefined before the first call). */
  get clockOffsetMs(): number | undefined {
    return this.offsetMs;
  }

  /**
   * Calls `method` with its own parameters; resolves with the inner object of `<name>_response`. Throws
   * `top.error_response` (the gateway's error), `top.session_expired`, `top.clock_skew`, `top.http_error`,
   * `top.bad_response`, `config.invalid` (a bad method name or parameter).
   */
  async call(method: string, params: TopParams = {}, options: TopCallOptions = {}): Promise<Record<string, unknown>> {
    const useSession = options.session ?? (this.session !== undefined && !SESSIONLESS.has(method));
    let clockRetried = false;
    let sessionRetried = false;
    for (;;) {
      const timestampMs = await this.signingTime(options.signal);
      const sentSession = useSession ? this.session : undefined;
      const { result } = await this.send(method, params, timestampMs, sentSession, options.signal);
      if (result.ok) {
        this.log.debug({ event: "topCall", method }, "TOP call answered");
        return result.response;
      }
      const { error } = result;
      this.log.warn({ event: "topError", method, code: error.code, subCode: error.sub_code }, "TOP error_response");
      if (isTopTimestampError(error.code) && !clockRetried) {
        clockRetried = true;
        await this.measureClock(options.signal);
        continue;
      }
      if (isTopSessionError(error.code) && useSession) {
        if (sessionRetried) throw sessionExpired(method, error, "the new session was refused too");
        sessionRetried = true;
        await this.renewAfter(method, error, sentSession);
        continue;
      }
      throw topErrorResponse(method, error);
    }
  }

  /**
   * Measures the gateway's clock with `taobao.time.get` (1 s resolution). When the gateway refuses even that
   * request's timestamp (code 31), its HTTP `Date` header is used instead. Resolves with gateway − local, ms.
   */
  measureClock(signal?: AbortSignal): Promise<number> {
    if (this.measuring === undefined) {
      this.measuring = this.measure(signal).finally(() => {
        this.measuring = undefined;
      });
    }
    return this.measuring;
  }

  /**
   * Exchanges the refresh token for a new session (`taobao.top.auth.token.refresh`), keeps the new tokens and hands
   * them to `onSessionRefreshed`. Concurrent callers share one refresh. Throws `top.session_expired`.
   */
  refreshSession(): Promise<TopSessionTokens> {
    if (this.refreshing === undefined) {
      this.refreshing = this.refresh().finally(() => {
        this.refreshing = undefined;
      });
    }
    return this.refreshing;
  }

  private async renewAfter(method: string, error: TopError, sentSession: string | undefined): Promise<void> {
    if (this.session !== sentSession && this.session !== undefined) return; // renewed meanwhile: just retry
    if (this.refreshToken === undefined) {
      throw sessionExpired(method, error, "there is no refresh token: the merchant must authorise the app again");
    }
    await this.refreshSession();
  }

  private async refresh(): Promise<TopSessionTokens> {
    const refreshToken = this.refreshToken;
    if (refreshToken === undefined) {
      throw new TriadkitError("top.session_expired", "no refresh token to renew the TOP session with");
    }
    let response: Record<string, unknown>;
    try {
      response = await this.call(TOP_TOKEN_REFRESH_METHOD, { refresh_token: refreshToken }, { session: false });
    } catch (err) {
      if (err instanceof TriadkitError && err.code === "top.error_response") {
        const ctx = err.context ?? {};
        throw new TriadkitError(
          "top.session_expired",
          "the refresh token was refused: the merchant must authorise the app again",
          { method: TOP_TOKEN_REFRESH_METHOD, code: ctx.code, subCode: ctx.subCode },
          { cause: err },
        );
      }
      throw err;
    }
    const parsed = parseTopTokenResult(response.token_result, this.clock.nowMs());
    this.session = parsed.accessToken;
    if (parsed.refreshToken !== undefined) this.refreshToken = parsed.refreshToken;
    const tokens: TopSessionTokens = {
      session: parsed.accessToken,
      ...(this.refreshToken === undefined ? {} : { refreshToken: this.refreshToken }),
      ...(parsed.expiresAtMs === undefined ? {} : { expiresAtMs: parsed.expiresAtMs }),
      ...(parsed.refreshTokenExpiresAtMs === undefined
        ? {}
        : { refreshTokenExpiresAtMs: parsed.refreshTokenExpiresAtMs }),
    };
    this.log.info({ event: "topSessionRefreshed", expiresAtMs: parsed.expiresAtMs }, "TOP session refreshed");
    try {
      await this.onSessionRefreshed?.(tokens);
    } catch (err) {
      // The new tokens are held in memory, so calls go on; whoever persists them must hear about the failure.
      this.log.error({ event: "topSessionNotSaved", err }, "onSessionRefreshed failed: the new tokens are not saved");
    }
    return tokens;
  }

  private async signingTime(signal: AbortSignal | undefined): Promise<number> {
    const offset = this.offsetMs ?? (await this.measureClock(signal));
    const now = this.clock.nowMs();
    if (this.correctSkew) return now + offset;
    if (Math.abs(offset) > this.maxSkewMs) {
      throw new TriadkitError(
        "top.clock_skew",
        `the local clock is ${Math.round(offset / 1000)} s from the TOP gateway's (limit ±${this.maxSkewMs / 1000} s): ` +
          "fix the clock or set correctSkew",
        { offsetMs: offset, maxSkewMs: this.maxSkewMs },
      );
    }
    return now;
  }

  private async measure(signal: AbortSignal | undefined): Promise<number> {
    const sentAt = this.clock.monotonicMs();
    const localSent = this.clock.nowMs();
    const stamp = this.correctSkew && this.offsetMs !== undefined ? localSent + this.offsetMs : localSent;
    const { result, date } = await this.send(TOP_TIME_METHOD, {}, stamp, undefined, signal);
    const localMid = localSent + (this.clock.monotonicMs() - sentAt) / 2;
    let serverMs: number;
    if (result.ok) {
      const time = result.response.time;
      if (typeof time !== "string") throw new TriadkitError("top.bad_response", "taobao.time.get: no time field");
      serverMs = parseTopTimestamp(time) + 500; // the gateway's second, taken at its middle
    } else if (isTopTimestampError(result.error.code) && date !== null && !Number.isNaN(Date.parse(date))) {
      serverMs = Date.parse(date) + 500;
    } else if (isTopTimestampError(result.error.code)) {
      throw new TriadkitError(
        "top.clock_skew",
        "the TOP gateway refused the timestamp of taobao.time.get and sent no Date header: fix the local clock",
        { code: result.error.code },
      );
    } else {
      throw topErrorResponse(TOP_TIME_METHOD, result.error);
    }
    const offset = Math.round(serverMs - localMid);
    this.offsetMs = offset;
    this.log.info({ event: "topClockMeasured", offsetMs: offset }, "TOP gateway clock measured");
    return offset;
  }

  private async send(
    method: string,
    params: TopParams,
    timestampMs: number,
    session: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ result: TopResult; date: string | null }> {
    const request = buildTopRequest({
      method,
      appKey: this.appKey,
      appSecret: this.appSecret,
      timestampMs,
      signMethod: this.signMethod,
      params,
      ...(session === undefined ? {} : { session }),
    });
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await this.fetchFn(this.endpoint, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded;charset=utf-8" },
        body: new URLSearchParams(request).toString(),
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      });
      text = await response.text();
    } catch (err) {
      const reason = err instanceof Error ? err.name : "error";
      throw new TriadkitError("top.http_error", `${method}: the TOP endpoint did not answer (${reason})`, {
        method,
        reason,
      });
    }
    if (!response.ok) {
      throw new TriadkitError("top.http_error", `${method}: the TOP endpoint answered HTTP ${response.status}`, {
        method,
        status: response.status,
      });
    }
    return { result: decodeTopResponse(method, text), date: response.headers.get("date") };
  }
}

function sessionExpired(method: string, error: TopError, why: string): TriadkitError {
  return new TriadkitError(
    "top.session_expired",
    `${method}: TOP refused the session (${error.code} ${error.msg}); ${why}`,
    {
      method,
      code: error.code,
      ...(error.sub_code === undefined ? {} : { subCode: error.sub_code }),
    },
    { cause: topErrorResponse(method, error) },
  );
}
