import {
  buildTopRequest,
  formatTopTimestamp,
  signTopRequest,
  type TopSignMethod,
  topSignString,
} from "@triadkit/protocol";
import { ManualClock, SeededRandom, TopClient } from "@triadkit/sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TopGateway } from "./top-gateway.js";

const APP = { appKey: "25018990", appSecret: "gateway-test-secret" };
const START = Date.UTC(2026, 4, 1, 2, 0, 0);

let clock: ManualClock;
let gateway: TopGateway;
let session: { session: string; refreshToken: string };

beforeEach(async () => {
  clock = new ManualClock({ wallStartMs: START });
  gateway = await TopGateway.start({ apps: [APP], clock, random: new SeededRandom(7), sessionLifetimeMs: 3_600_000 });
  session = gateway.issueSession(APP.appKey);
});
afterEach(async () => {
  await gateway.close();
});

type Params = Record<string, string>;

function signed(method: string, params: Params = {}, extra: { signMethod?: TopSignMethod; atMs?: number } = {}) {
  return buildTopRequest({
    method,
    appKey: APP.appKey,
    appSecret: APP.appSecret,
    session: session.session,
    timestampMs: extra.atMs ?? clock.nowMs(),
    signMethod: extra.signMethod ?? "hmac-sha256",
    params,
  });
}

async function post(params: Params): Promise<{ json: Record<string, Record<string, unknown>>; res: Response }> {
  const res = await fetch(gateway.url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(params).toString(),
  });
  return { json: (await res.json()) as Record<string, Record<string, unknown>>, res };
}

async function errorOf(params: Params): Promise<Record<string, unknown> | undefined> {
  return (await post(params)).json.error_response;
}

/** Re-signs after a change, so only the changed check can fail. */
function resign(params: Params, secret = APP.appSecret): Params {
  const { sign: _, ...rest } = params;
  return { ...rest, sign: signTopRequest(rest, secret, rest.sign_method as TopSignMethod) };
}

describe("TopGateway", () => {
  it("answers taobao.time.get in every sign method, with the emulator clock in time and Date", async () => {
    for (const signMethod of ["md5", "hmac", "hmac-sha256"] as const) {
      const { json, res } = await post(signed("taobao.time.get", {}, { signMethod }));
      expect(json.time_get_response).toMatchObject({ time: "2026-05-01 10:00:00" });
      expect(json.time_get_response?.request_id).toMatch(/^[0-9a-z]{12}$/);
      expect(res.status).toBe(200);
      expect(res.headers.get("date")).toBe(new Date(START).toUTCString());
    }
  });

  it("takes the parameters from the query (GET) or query and form together (POST)", async () => {
    const params = signed("taobao.time.get");
    const get = await fetch(`${gateway.url}?${new URLSearchParams(params)}`);
    expect(((await get.json()) as Record<string, unknown>).time_get_response).toBeDefined();
    const { sign, ...rest } = params;
    const split = await fetch(`${gateway.url}?${new URLSearchParams({ sign: sign as string })}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(rest).toString(),
    });
    expect(((await split.json()) as Record<string, unknown>).time_get_response).toBeDefined();
  });

  it("refuses with the TOP codes, in the documented order", async () => {
    const good = signed("taobao.time.get");
    const refused: number[] = [];
    gateway.on("refused", (r) => refused.push(r.code));
    const cases: [Params, number, string?][] = [
      [{ ...good, method: "" }, 21],
      [{ ...good, app_key: "" }, 28],
      [resign({ ...good, app_key: "99999999" }), 29],
      [resign({ ...good, method: "taobao.nope.get" }), 22],
      [{ ...good, sign: "" }, 24],
      [{ ...good, sign: "00".repeat(32) }, 25],
      [resign(good, "another-secret"), 25],
      [{ ...good, sign_method: "sha1" }, 25],
      [resign({ ...good, timestamp: "" }), 30],
      [resign({ ...good, timestamp: "2026/05/01 10:00:00" }), 31],
      [resign({ ...good, timestamp: formatTopTimestamp(START - 11 * 60_000) }), 31],
      [resign({ ...good, timestamp: formatTopTimestamp(START + 11 * 60_000) }), 31],
      [resign({ ...good, v: "" }), 32],
      [resign({ ...good, v: "1.0" }), 33],
      [resign({ ...good, format: "xml" }), 23],
    ];
    for (const [params, code] of cases) expect((await errorOf(params))?.code, JSON.stringify(params)).toBe(code);
    expect(refused).toEqual(cases.map(([, code]) => code));
    expect((await errorOf({ ...good, sign: "x" }))?.msg).toBe("Invalid signature");
    // 9 minutes off is inside the ±10 min window.
    const nine = resign({ ...good, timestamp: formatTopTimestamp(START - 9 * 60_000) });
    expect((await post(nine)).json.time_get_response).toBeDefined();
  });

  it("checks the session of APIs that need one: missing 26, unknown or expired 27", async () => {
    const feedback = { device_code: "8F6A77C73E", status: "OFFLINE", status_time: formatTopTimestamp(START) };
    const base = signed("taobao.smartstore.device.status.feedback", feedback);
    const { session: _s, ...noSession } = base;
    expect(await errorOf(resign(noSession))).toMatchObject({ code: 26, msg: "Missing session" });
    expect(await errorOf(resign({ ...base, session: "6100unknown" }))).toMatchObject({
      code: 27,
      msg: "Invalid session",
      sub_code: "invalid-sessionkey",
    });
    clock.advance(3_600_000);
    expect(await errorOf(signed("taobao.smartstore.device.status.feedback", feedback))).toMatchObject({
      code: 27,
      sub_code: "session-expired",
    });
  });

  it("records status feedback and answers taobao.smartstore.device.get", async () => {
    const seen: string[] = [];
    gateway.on("statusFeedback", (r) => seen.push(`${r.deviceCode} ${r.status}`));
    const before = await post(signed("taobao.smartstore.device.get", { device_code: "8F6A77C73E" }));
    expect(before.json.smartstore_device_get_response?.result).toEqual({ device_code: "8F6A77C73E" });
    const at = formatTopTimestamp(START - 2_000);
    const fb = await post(
      signed("taobao.smartstore.device.status.feedback", {
        device_code: "8F6A77C73E",
        status: "ONLINE_WITH_CONTENT",
        status_time: at,
      }),
    );
    expect(fb.json.smartstore_device_status_feedback_response).toMatchObject({ result: "true" });
    expect(gateway.deviceStatus("8F6A77C73E")).toMatchObject({
      status: "ONLINE_WITH_CONTENT",
      statusTime: at,
      statusTimeMs: START - 2_000,
      appKey: APP.appKey,
      receivedAtMs: START,
    });
    const after = await post(signed("taobao.smartstore.device.get", { device_code: "8F6A77C73E" }));
    expect(after.json.smartstore_device_get_response?.result).toEqual({
      device_code: "8F6A77C73E",
      status: "ONLINE_WITH_CONTENT",
      status_time: at,
    });
    expect(seen).toEqual(["8F6A77C73E ONLINE_WITH_CONTENT"]);
  });

  it("refuses missing (40) and invalid (41) arguments", async () => {
    const method = "taobao.smartstore.device.status.feedback";
    expect(await errorOf(signed(method, { status: "OFFLINE", status_time: formatTopTimestamp(START) }))).toMatchObject({
      code: 40,
      msg: "Missing required arguments:device_code",
    });
    for (const [name, value] of [
      ["status", "ONLINE"],
      ["status_time", "yesterday"],
      ["device_code", "has space"],
    ] as const) {
      const params = { device_code: "8F6A77C73E", status: "OFFLINE", status_time: formatTopTimestamp(START) };
      expect(await errorOf(signed(method, { ...params, [name]: value }))).toMatchObject({
        code: 41,
        msg: `Invalid arguments:${name}`,
      });
    }
    expect(gateway.statusFeedbacks()).toEqual([]);
  });

  it("refreshes a session once: the old session and refresh token stop working", async () => {
    const refreshed: string[] = [];
    gateway.on("sessionRefreshed", (r) => refreshed.push(r.appKey));
    const refresh = buildTopRequest({
      method: "taobao.top.auth.token.refresh",
      appKey: APP.appKey,
      appSecret: APP.appSecret,
      timestampMs: START,
      signMethod: "md5",
      params: { refresh_token: session.refreshToken },
    });
    const first = await post(refresh);
    const token = JSON.parse(String(first.json.top_auth_token_refresh_response?.token_result)) as Record<
      string,
      unknown
    >;
    expect(token).toMatchObject({ token_type: "Bearer", expires_in: 3600, expire_time: START + 3_600_000 });
    expect(token.access_token).not.toBe(session.session);
    expect(await errorOf(refresh)).toMatchObject({ code: 15, sub_code: "isv.invalid-refresh-token" });
    expect(await errorOf(signed("taobao.smartstore.device.get", { device_code: "X1" }))).toMatchObject({ code: 27 });
    session = { session: String(token.access_token), refreshToken: String(token.refresh_token) };
    expect((await post(signed("taobao.smartstore.device.get", { device_code: "X1" }))).json).not.toHaveProperty(
      "error_response",
    );
    expect(refreshed).toEqual([APP.appKey]);
  });

  it("serves the sdk TopClient end to end (its sign string is the one the gateway checks)", async () => {
    const client = new TopClient({ endpoint: gateway.url, appKey: APP.appKey, appSecret: APP.appSecret, clock });
    expect(await client.call("taobao.time.get")).toMatchObject({ time: "2026-05-01 10:00:00" });
    expect(topSignString({ b: "1", a: "2" })).toBe("a2b1");
    await expect(TopGateway.start({ sessionLifetimeMs: 0 })).rejects.toMatchObject({ code: "config.invalid" });
  });
});
