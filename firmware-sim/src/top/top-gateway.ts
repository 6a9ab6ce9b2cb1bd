/**
 * A local TOP (Taobao Open Platform) gateway: `GET|POST /router/rest` with the parameters in the query or a
 * form body, checked like the real gateway (app key, signature with the app's secret in all three sign methods,
 * timestamp within ±10 min of the emulator clock, `v=2.0`, the session for APIs that need one), then one of
 * `taobao.time.get`, `taobao.top.auth.token.refresh`, `taobao.smartstore.device.status.feedback` and
 * `taobao.smartstore.device.get`. Errors are TOP `error_response` JSON with HTTP 200. What is verified, assumed
 * or invented: docs/top.md.
 */
import { EventEmitter } from "node:events";
import type { AddressInfo } from "node:net";
import {
  encodeTopError,
  encodeTopResponse,
  isTopSignMethod,
  parseTopTimestamp,
  TOP_ERRORS,
  TOP_TIMESTAMP_WINDOW_MS,
  type TopError,
  TriadkitError,
  verifyTopSignature,
} from "@triadkit/protocol";
import { type Clock, CryptoRandom, type Logger, type Random, SystemClock, silentLogger } from "@triadkit/sdk";
import Fastify, { type FastifyInstance } from "fastify";
import { type ApiContext, type ApiOutcome, GATEWAY_APIS } from "./gateway-apis.js";
import {
  type DeviceStatusRecord,
  GatewayState,
  type IssuedSession,
  type TopGatewayApp,
  type TopGatewaySession,
} from "./gateway-state.js";

export const TOP_GATEWAY_PATH = "/router/rest";

export interface TopGatewayOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (a free port; `url` says which). */
  readonly port?: number;
  readonly apps?: readonly TopGatewayApp[];
  readonly sessions?: readonly TopGatewaySession[];
  /** Lifetime of sessions the gateway issues (and of seeded ones without an expiry). Default 24 h. */
  readonly sessionLifetimeMs?: number;
  /** Lifetime of refresh tokens. Default 30 days. */
  readonly refreshTokenLifetimeMs?: number;
  /** How far a request's timestamp may be from the emulator clock. Default ±10 min, as TOP. */
  readonly timestampWindowMs?: number;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly logger?: Logger;
}

export interface TopGatewayEvents {
  /** A request passed every check and was answered (possibly with an API-level error). */
  answered: [call: { method: string; appKey: string; code?: number }];
  /** A request refused before its API ran, with the TOP code sent back. */
  refused: [refusal: { method?: string; appKey?: string; code: number; subCode?: string }];
  statusFeedback: [record: DeviceStatusRecord];
  sessionRefreshed: [refresh: { appKey: string }];
}

type Params = Record<string, string>;

function positiveMs(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1 || v > 10 * 365 * 86_400_000) {
    throw new TriadkitError("config.invalid", `TOP gateway option ${name} must be a positive number of ms`, {
      option: name,
    });
  }
  return v;
}

export class TopGateway extends EventEmitter<TopGatewayEvents> {
  private constructor(
    private readonly server: FastifyInstance,
    private readonly state: GatewayState,
    private readonly deps: {
      readonly clock: Clock;
      readonly random: Random;
      readonly logger: Logger;
      readonly windowMs: number;
    },
    /** `http://host:port/router/rest`. */
    readonly url: string,
  ) {
    super();
  }

  static async start(options: TopGatewayOptions = {}): Promise<TopGateway> {
    const clock = options.clock ?? new SystemClock();
    const random = options.random ?? new CryptoRandom();
    const state = new GatewayState({
      clock,
      random,
      sessionLifetimeMs: positiveMs("sessionLifetimeMs", options.sessionLifetimeMs, 86_400_000),
      refreshTokenLifetimeMs: positiveMs("refreshTokenLifetimeMs", options.refreshTokenLifetimeMs, 30 * 86_400_000),
    });
    for (const app of options.apps ?? []) state.addApp(app);
    for (const session of options.sessions ?? []) state.seedSession(session);
    const server = Fastify({ logger: false, bodyLimit: 1 << 20 });
    server.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    });
    const host = options.host ?? "127.0.0.1";
    const deps = {
      clock,
      random,
      logger: options.logger ?? silentLogger,
      windowMs: positiveMs("timestampWindowMs", options.timestampWindowMs, TOP_TIMESTAMP_WINDOW_MS),
    };
    let gateway: TopGateway | undefined;
    server.route({
      method: ["GET", "POST"],
      url: TOP_GATEWAY_PATH,
      handler: async (request, reply) => {
        const query = Object.fromEntries(new URL(request.url, "http://gateway").searchParams);
        const body = typeof request.body === "object" && request.body !== null ? (request.body as Params) : {};
        const answer = gateway?.handle({ ...query, ...body }) ?? new Uint8Array();
        reply
          .header("date", new Date(clock.nowMs()).toUTCString())
          .header("content-type", "application/json;charset=UTF-8")
          .send(Buffer.from(answer));
      },
    });
    await server.listen({ host, port: options.port ?? 0 });
    const { port } = server.server.address() as AddressInfo;
    const urlHost = host.includes(":") ? `[${host}]` : host;
    gateway = new TopGateway(server, state, deps, `http://${urlHost}:${port}${TOP_GATEWAY_PATH}`);
    return gateway;
  }

  addApp(app: TopGatewayApp): void {
    this.state.addApp(app);
  }

  seedSession(session: TopGatewaySession): void {
    this.state.seedSession(session);
  }

  /** Issues a session and refresh token for an app, as the merchant's authorisation would. */
  issueSession(appKey: string, lifetimeMs?: number): IssuedSession {
    return this.state.issueSession(appKey, lifetimeMs);
  }

  /** Makes a session expire now: the next call with it gets 27 Invalid session. */
  expireSession(session: string): void {
    this.state.expireSession(session);
  }

  /** The last status reported for a device code. */
  deviceStatus(deviceCode: string): DeviceStatusRecord | undefined {
    return this.state.statusOf(deviceCode);
  }

  /** Every status feedback accepted, oldest first. */
  statusFeedbacks(): readonly DeviceStatusRecord[] {
    return this.state.statusHistory();
  }

  async close(): Promise<void> {
    await this.server.close();
  }

  private requestId(): string {
    const bytes = this.deps.random.bytes(8);
    let n = 0n;
    for (const b of bytes) n = (n << 8n) | BigInt(b);
    return n.toString(36).padStart(12, "0").slice(-12);
  }

  /** Checks a request in the order documented in docs/top.md and answers it. */
  private handle(params: Params): Uint8Array {
    const requestId = this.requestId();
    const method = params.method;
    const appKey = params.app_key;
    const refuse = (error: Omit<TopError, "request_id">): Uint8Array => {
      this.emit("refused", {
        ...(method ? { method } : {}),
        ...(appKey ? { appKey } : {}),
        code: error.code,
        ...(error.sub_code === undefined ? {} : { subCode: error.sub_code }),
      });
      this.deps.logger.info(
        { event: "topRefused", method, appKey, code: error.code, subCode: error.sub_code },
        "TOP request refused",
      );
      return encodeTopError({ ...error, request_id: requestId });
    };
    if (!method) return refuse(TOP_ERRORS.missingMethod);
    if (!appKey) return refuse(TOP_ERRORS.missingAppKey);
    const secret = this.state.secretOf(appKey);
    if (secret === undefined) return refuse(TOP_ERRORS.invalidAppKey);
    const api = Object.hasOwn(GATEWAY_APIS, method) ? GATEWAY_APIS[method] : undefined;
    if (api === undefined) return refuse(TOP_ERRORS.invalidMethod);
    if (!params.sign) return refuse(TOP_ERRORS.missingSignature);
    if (!isTopSignMethod(params.sign_method)) {
      return refuse({ ...TOP_ERRORS.invalidSignature, sub_msg: "sign_method must be md5, hmac or hmac-sha256" });
    }
    if (!verifyTopSignature(params, secret)) return refuse(TOP_ERRORS.invalidSignature);
    const timestampError = this.checkTimestamp(params.timestamp);
    if (timestampError !== undefined) return refuse(timestampError);
    if (!params.v) return refuse(TOP_ERRORS.missingVersion);
    if (params.v !== "2.0") return refuse(TOP_ERRORS.invalidVersion);
    if (params.format !== "json") {
      return refuse({ ...TOP_ERRORS.invalidFormat, sub_msg: "the emulator answers format=json only" });
    }
    if (api.needsSession) {
      const session = params.session;
      if (!session) return refuse(TOP_ERRORS.missingSession);
      const check = this.state.checkSession(appKey, session);
      if (check === "unknown") {
        return refuse({ ...TOP_ERRORS.invalidSession, sub_code: "invalid-sessionkey", sub_msg: "SessionKey非法" });
      }
      if (check === "expired") {
        return refuse({ ...TOP_ERRORS.invalidSession, sub_code: "session-expired", sub_msg: "SessionKey过期" });
      }
    }
    for (const name of api.required) {
      if (!params[name]) {
        return refuse({
          code: TOP_ERRORS.missingRequiredArguments.code,
          msg: `${TOP_ERRORS.missingRequiredArguments.msg}:${name}`,
        });
      }
    }
    const context: ApiContext = {
      appKey,
      state: this.state,
      nowMs: this.deps.clock.nowMs(),
      emit: (event, ...args) => this.emit(event, ...args),
    };
    const outcome: ApiOutcome = api.handle(params, context);
    if ("error" in outcome) {
      this.emit("answered", { method, appKey, code: outcome.error.code });
      return encodeTopError({ ...outcome.error, request_id: requestId });
    }
    this.emit("answered", { method, appKey });
    return encodeTopResponse(method, outcome.body, requestId);
  }

  private checkTimestamp(timestamp: string | undefined): Omit<TopError, "request_id"> | undefined {
    if (!timestamp) return TOP_ERRORS.missingTimestamp;
    let ms: number;
    try {
      ms = parseTopTimestamp(timestamp);
    } catch {
      return { ...TOP_ERRORS.invalidTimestamp, sub_msg: "timestamp must be yyyy-MM-dd HH:mm:ss (GMT+8)" };
    }
    // The gateway's clock is kept to the second, like the timestamps it compares.
    const skew = ms - Math.floor(this.deps.clock.nowMs() / 1000) * 1000;
    if (Math.abs(skew) > this.deps.windowMs) return TOP_ERRORS.invalidTimestamp;
    return undefined;
  }
}
