/**
 * The smart-shelf TOP flow in one process: the platform emulator, the TOP gateway emulator, the ISV-side bridge
 * with its TopClient, and a device running the real SDK that reports its shelf tags. Forged and stale requests are
 * refused with TOP's codes; an expired session is refreshed by the client; the device's online/offline reach the
 * gateway as ONLINE_WITH_CONTENT / OFFLINE under its device code; no credential reaches a log line.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryDeviceDirectory, PlatformEmulator, ShelfBridge, TopGateway } from "@triadkit/firmware-sim";
import { buildTopRequest, signTopRequest } from "@triadkit/protocol";
import {
  createDevice,
  createLogger,
  type Device,
  getShelfDeviceState,
  loadTopCredentials,
  reportShelfTags,
  saveTopCredentials,
  TopClient,
  type TopSessionTokens,
} from "@triadkit/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const APP = { appKey: "25018990", appSecret: "isv-app-secret-0a1b2c3d" };
const TRIAD = { productKey: "a1ShelfTop1", deviceName: "shelf-0001", deviceSecret: "s3cretS3cretS3cretS3cretS3cret01" };
const SHELF = { storeId: 184454101, deviceCode: "8F6A77C73E" };

let logText = "";
const logger = createLogger({
  level: "debug",
  destination: {
    write: (line: string) => {
      logText += line;
    },
  },
});
let dir: string;
let emulator: PlatformEmulator;
let gateway: TopGateway;
const seen = { sessions: [] as string[], refreshTokens: [] as string[] };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "triadkit-top-"));
  emulator = await PlatformEmulator.start({ directory: new MemoryDeviceDirectory([TRIAD]), rateLimit: false, logger });
  gateway = await TopGateway.start({ apps: [APP], logger });
});
afterAll(async () => {
  await gateway.close();
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

function issue(): { session: string; refreshToken: string } {
  const issued = gateway.issueSession(APP.appKey);
  seen.sessions.push(issued.session);
  seen.refreshTokens.push(issued.refreshToken);
  return issued;
}

async function rawCall(params: Record<string, string>): Promise<Record<string, unknown>> {
  const res = await fetch(gateway.url, { method: "POST", body: new URLSearchParams(params) });
  return (await res.json()) as Record<string, unknown>;
}

describe("TOP gateway and smart-shelf bridge", () => {
  it("refuses a forged signature (25) and an 11-minute-old timestamp (31)", async () => {
    const { session } = issue();
    const request = (timestampMs: number) =>
      buildTopRequest({
        method: "taobao.smartstore.device.get",
        appKey: APP.appKey,
        appSecret: APP.appSecret,
        session,
        timestampMs,
        signMethod: "hmac-sha256",
        params: { device_code: SHELF.deviceCode },
      });
    const good = request(Date.now());
    expect(await rawCall(good)).toHaveProperty("smartstore_device_get_response");
    const { sign: _, ...unsigned } = good;
    const forged = { ...unsigned, sign: signTopRequest(unsigned, "guessed-secret", "hmac-sha256") };
    expect(await rawCall(forged)).toMatchObject({ error_response: { code: 25, msg: "Invalid signature" } });
    const tampered = { ...good, device_code: "OTHERCODE1" };
    expect(await rawCall(tampered)).toMatchObject({ error_response: { code: 25 } });
    expect(await rawCall(request(Date.now() - 11 * 60_000))).toMatchObject({
      error_response: { code: 31, msg: "Invalid timestamp" },
    });
  });

  it("refreshes an expired session through the client, saves the new tokens, and is accepted", async () => {
    const issued = issue();
    const file = join(dir, "top.json");
    saveTopCredentials(file, { ...APP, ...issued });
    const refreshed: TopSessionTokens[] = [];
    const client = new TopClient({
      endpoint: gateway.url,
      ...loadTopCredentials(file),
      logger,
      onSessionRefreshed: (tokens) => {
        refreshed.push(tokens);
        seen.sessions.push(tokens.session);
        if (tokens.refreshToken) seen.refreshTokens.push(tokens.refreshToken);
        saveTopCredentials(file, { ...APP, ...tokens });
      },
    });
    gateway.expireSession(issued.session);
    expect(await getShelfDeviceState(client, SHELF.deviceCode)).toMatchObject({ deviceCode: SHELF.deviceCode });
    expect(refreshed).toHaveLength(1);
    const saved = loadTopCredentials(file);
    expect(saved.session).toBe(refreshed[0]?.session);
    expect(saved.session).not.toBe(issued.session);
    expect(saved.refreshToken).not.toBe(issued.refreshToken);
  });

  it("turns a shelf device's online and offline into ONLINE_WITH_CONTENT and OFFLINE for its device code", async () => {
    const issued = issue();
    const client = new TopClient({ endpoint: gateway.url, ...APP, ...issued, logger });
    const bridge = new ShelfBridge({ platform: emulator, client, logger });
    let device: Device | undefined;
    try {
      device = createDevice({ triad: TRIAD, brokerUrl: emulator.url, ntpResyncSec: 0, logger });
      await device.connect();
      const reply = await reportShelfTags(device, SHELF);
      expect(reply.code).toBe(200); // plain tags, not an identity report: the platform accepts them
      await expect.poll(() => gateway.deviceStatus(SHELF.deviceCode)?.status).toBe("ONLINE_WITH_CONTENT");
      expect(bridge.shelfOf(TRIAD)).toEqual(SHELF);
      const state = await getShelfDeviceState(client, SHELF.deviceCode);
      expect(state.status).toBe("ONLINE_WITH_CONTENT");
      await device.close();
      await expect.poll(() => gateway.deviceStatus(SHELF.deviceCode)?.status).toBe("OFFLINE");
      const times = gateway.statusFeedbacks().map((r) => r.statusTime);
      expect(times.every((t) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(t))).toBe(true);
      expect(Math.abs((gateway.deviceStatus(SHELF.deviceCode)?.statusTimeMs ?? 0) - Date.now())).toBeLessThan(10_000);
    } finally {
      await device?.close();
      await bridge.close();
    }
  });

  it("logged something, but never a credential", () => {
    expect(logText).toContain("status feedback accepted");
    expect(logText).toContain("TOP session refreshed");
    const secrets = [APP.appSecret, TRIAD.deviceSecret, ...seen.sessions, ...seen.refreshTokens];
    expect(seen.sessions.length).toBeGreaterThanOrEqual(4);
    for (const secret of secrets) expect(logText).not.toContain(secret);
  });
});
