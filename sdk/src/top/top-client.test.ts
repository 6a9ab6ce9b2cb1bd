import {
  expectTriadkitErrorAsync,
  formatTopTimestamp,
  parseTopTimestamp,
  TOP_ERRORS,
  type TopError,
  verifyTopSignature,
} from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { MemoryLogger } from "../logging/memory-logger.js";
import { TopClient, type TopClientOptions, type TopSessionTokens } from "./top-client.js";

const APP_KEY = "25018990";
const SECRET = "app-secret-0123456789";
const SESSION = "6100a192feee65091a49";
const REFRESH = "610091912fe98b82e";
const START = Date.UTC(2026, 4, 1, 2, 0, 0);

type Params = Record<string, string>;
type Answer = { readonly body?: unknown; readonly status?: number; readonly error?: TopError };

/** A scripted gateway behind a fake fetch: checks every signature, records every request. */
function gateway(clock: ManualClock, handlers: Record<string, (p: Params) => Answer>, aheadMs = 0) {
  const requests: Params[] = [];
  const fetch = (async (_url: string | URL | Request, init?: RequestInit) => {
    expect(init?.method).toBe("POST");
    const params = Object.fromEntries(new URLSearchParams(String(init?.body)));
    requests.push(params);
    expect(verifyTopSignature(params, SECRET)).toBe(true);
    const method = params.method ?? "";
    const serverNow = clock.nowMs() + aheadMs;
    const defaultTime = (): Answer => ({ body: { time: formatTopTimestamp(serverNow) } });
    const answer = (handlers[method] ?? (method === "taobao.time.get" ? defaultTime : undefined))?.(params) ?? {
      error: { code: 22, msg: "Invalid method" },
    };
    const key = `${method.replace(/^taobao\./, "").replaceAll(".", "_")}_response`;
    const json = answer.error !== undefined ? { error_response: answer.error } : { [key]: answer.body ?? {} };
    return new Response(JSON.stringify(json), {
      status: answer.status ?? 200,
      headers: { date: new Date(serverNow).toUTCString(), "content-type": "application/json" },
    });
  }) as typeof globalThis.fetch;
  return { fetch, requests, calls: (method: string) => requests.filter((r) => r.method === method) };
}

function client(clock: ManualClock, fetch: typeof globalThis.fetch, extra: Partial<TopClientOptions> = {}) {
  return new TopClient({
    endpoint: "http://127.0.0.1:1/router/rest",
    appKey: APP_KEY,
    appSecret: SECRET,
    session: SESSION,
    refreshToken: REFRESH,
    clock,
    fetch,
    ...extra,
  });
}

const ok = (body: unknown = { result: "true" }): Answer => ({ body });

describe("TopClient", () => {
  it("signs with hmac-sha256 by default, sends the session, measures the clock once", async () => {
    const clock = new ManualClock({ wallStartMs: START });
    const gw = gateway(clock, { "taobao.x.get": () => ok({ answer: 42 }) });
    const top = client(clock, gw.fetch);
    expect(await top.call("taobao.x.get", { a: "1", empty: "" })).toEqual({ answer: 42 });
    await top.call("taobao.x.get");
    expect(gw.calls("taobao.time.get")).toHaveLength(1);
    const [timeGet, first] = gw.requests;
    expect(timeGet?.session).toBeUndefined();
    expect(first).toMatchObject({
      method: "taobao.x.get",
      app_key: APP_KEY,
      session: SESSION,
      v: "2.0",
      format: "json",
      sign_method: "hmac-sha256",
      a: "1",
      timestamp: formatTopTimestamp(START),
    });
    expect(first?.empty).toBeUndefined();
    expect(Math.abs(top.clockOffsetMs ?? 99_999)).toBeLessThanOrEqual(1_000);
  });

  it("refuses to sign when the clock is off by more than the limit, unless told to correct it", async () => {
    const clock = new ManualClock({ wallStartMs: START });
    const gw = gateway(clock, { "taobao.x.get": () => ok() }, 6 * 60_000);
    const top = client(clock, gw.fetch);
    const err = await expectTriadkitErrorAsync(() => top.call("taobao.x.get"), "top.clock_skew");
    expect(Math.abs((err.context?.offsetMs as number) - 360_000)).toBeLessThanOrEqual(1_000);
    expect(gw.calls("taobao.x.get")).toHaveLength(0);

    const corrected = client(clock, gw.fetch, { correctSkew: true });
    await corrected.call("taobao.x.get");
    const sent = gw.calls("taobao.x.get")[0]?.timestamp ?? "";
    expect(Math.abs(parseTopTimestamp(sent) - (START + 6 * 60_000))).toBeLessThanOrEqual(1_000);

    const lenient = client(clock, gw.fetch, { maxSkewMs: 400_000 });
    await expect(lenient.call("taobao.x.get")).resolves.toBeDefined();
  });

  it("measures again after an Invalid timestamp and retries once", async () => {
    const clock = new ManualClock({ wallStartMs: START });
    let refusals = 1;
    const gw = gateway(clock, {
      "taobao.x.get": () => (refusals-- > 0 ? { error: TOP_ERRORS.invalidTimestamp } : ok()),
    });
    const top = client(clock, gw.fetch);
    await top.call("taobao.x.get");
    expect(gw.calls("taobao.time.get")).toHaveLength(2);
    expect(gw.calls("taobao.x.get")).toHaveLength(2);
  });

  it("falls back to the HTTP Date header when even taobao.time.get is refused for its timestamp", async () => {
    const clock = new ManualClock({ wallStartMs: START });
    const gw = gateway(
      clock,
      { "taobao.time.get": () => ({ error: TOP_ERRORS.invalidTimestamp }), "taobao.x.get": () => ok() },
      -20 * 60_000,
    );
    const top = client(clock, gw.fetch, { correctSkew: true });
    await top.call("taobao.x.get");
    expect(Math.round((top.clockOffsetMs ?? 0) / 60_000)).toBe(-20);
    await expectTriadkitErrorAsync(() => client(clock, gw.fetch).call("taobao.x.get"), "top.clock_skew");
  });

  it("refreshes an expired session once, hands over the new tokens and retries", async () => {
    const clock = new ManualClock({ wallStartMs: START });
    const valid = new Set(["S2"]);
    const gw = gateway(clock, {
      "taobao.x.get": (p) =>
        valid.has(p.session ?? "")
          ? ok()
          : { error: { ...TOP_ERRORS.invalidSession, sub_code: "invalid-sessionkey", sub_msg: "SessionKey非法" } },
      "taobao.top.auth.token.refresh": (p) =>
        p.refresh_token === REFRESH && p.session === undefined
          ? ok({
              token_result: JSON.stringify({
                access_token: "S2",
                refresh_token: "R2",
                expire_time: START + 86_400_000,
                refresh_token_valid_time: START + 30 * 86_400_000,
              }),
            })
          : { error: { ...TOP_ERRORS.invalidArguments, sub_msg: "refresh_token" } },
    });
    const saved: TopSessionTokens[] = [];
    const memory = new MemoryLogger();
    const top = client(clock, gw.fetch, { logger: memory, onSessionRefreshed: (t) => void saved.push(t) });
    // Two calls race into the refused session: one refresh serves both.
    await Promise.all([top.call("taobao.x.get"), top.call("taobao.x.get")]);
    expect(gw.calls("taobao.top.auth.token.refresh")).toHaveLength(1);
    expect(saved).toEqual([
      {
        session: "S2",
        refreshToken: "R2",
        expiresAtMs: START + 86_400_000,
        refreshTokenExpiresAtMs: START + 30 * 86_400_000,
      },
    ]);
    expect(gw.calls("taobao.x.get").map((r) => r.session)).toEqual([SESSION, SESSION, "S2", "S2"]);
    const text = memory.text();
    for (const secret of [SECRET, SESSION, REFRESH, "R2"]) expect(text).not.toContain(secret);
    expect(text).toContain("TOP session refreshed");
  });

  it("gives top.session_expired without a refresh token, when the refresh is refused, or when refused again", async () => {
    const clock = new ManualClock({ wallStartMs: START });
    const gw = gateway(clock, {
      "taobao.x.get": () => ({ error: TOP_ERRORS.invalidSession }),
      "taobao.top.auth.token.refresh": (p) =>
        p.refresh_token === "GOOD"
          ? ok({ token_result: '{"access_token":"S3","expires_in":3600}' })
          : { error: { ...TOP_ERRORS.invalidArguments, sub_code: "isv.refresh-token-expired" } },
    });
    const none = client(clock, gw.fetch, { refreshToken: undefined });
    const e1 = await expectTriadkitErrorAsync(() => none.call("taobao.x.get"), "top.session_expired");
    expect(e1.context).toMatchObject({ method: "taobao.x.get", code: 27 });
    const refused = client(clock, gw.fetch);
    const e2 = await expectTriadkitErrorAsync(() => refused.call("taobao.x.get"), "top.session_expired");
    expect(e2.context).toMatchObject({ code: 41, subCode: "isv.refresh-token-expired" });
    const again = client(clock, gw.fetch, { refreshToken: "GOOD" });
    await expectTriadkitErrorAsync(() => again.call("taobao.x.get"), "top.session_expired");
    expect(gw.calls("taobao.x.get").at(-1)?.session).toBe("S3");
    for (const e of [e1, e2]) expect(JSON.stringify(e.toJSON()) + e.message).not.toContain(SESSION);
  });

  it("turns any other error_response into top.error_response without the session", async () => {
    const clock = new ManualClock({ wallStartMs: START });
    const gw = gateway(clock, {
      "taobao.x.get": () => ({
        error: { code: 15, msg: "Remote service error", sub_code: "isv.x", sub_msg: "坏", request_id: "r1" },
      }),
    });
    const err = await expectTriadkitErrorAsync(
      () => client(clock, gw.fetch).call("taobao.x.get"),
      "top.error_response",
    );
    expect(err.context).toEqual({
      method: "taobao.x.get",
      code: 15,
      msg: "Remote service error",
      subCode: "isv.x",
      subMsg: "坏",
      requestId: "r1",
    });
  });

  it("reports HTTP failures as top.http_error", async () => {
    const clock = new ManualClock({ wallStartMs: START });
    const gw = gateway(clock, { "taobao.x.get": () => ({ status: 502, body: {} }) });
    const e = await expectTriadkitErrorAsync(() => client(clock, gw.fetch).call("taobao.x.get"), "top.http_error");
    expect(e.context).toMatchObject({ status: 502 });
    const down = (async () => {
      throw new TypeError("fetch failed");
    }) as typeof globalThis.fetch;
    await expectTriadkitErrorAsync(() => client(clock, down).call("taobao.x.get"), "top.http_error");
    const garbage = (async () => new Response("<html>", { status: 200 })) as typeof globalThis.fetch;
    await expectTriadkitErrorAsync(() => client(clock, garbage).call("taobao.x.get"), "top.bad_response");
  });

  it("checks its options once, naming the option and never the secret", () => {
    const base = { endpoint: "http://127.0.0.1/router/rest", appKey: "1", appSecret: "s3cr3t-value" };
    for (const bad of [
      { ...base, endpoint: "ftp://x/" },
      { ...base, appKey: "with space" },
      { ...base, appSecret: "" },
      { ...base, maxSkewMs: 700_000 },
      { ...base, timeoutMs: 10 },
    ]) {
      let thrown: unknown;
      try {
        new TopClient(bad);
      } catch (err) {
        thrown = err;
      }
      expect((thrown as { code?: string }).code).toBe("config.invalid");
      expect(String((thrown as Error).message)).not.toContain("s3cr3t-value");
    }
  });
});
