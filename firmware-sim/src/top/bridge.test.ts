import { EventEmitter } from "node:events";
import type { AlinkRequest, DeviceIdentity } from "@triadkit/protocol";
import { ManualClock, MemoryLogger, SeededRandom, TopClient } from "@triadkit/sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PlatformEmulatorEvents } from "../emulator/options.js";
import { ShelfBridge } from "./bridge.js";
import { TopGateway } from "./top-gateway.js";

const APP = { appKey: "12345678", appSecret: "bridge-test-secret" };
const START = Date.UTC(2026, 4, 1, 2, 0, 0);
const DEV: DeviceIdentity = { productKey: "a1Shelf0001", deviceName: "shelf-1" };

/** The platform's events, driven by hand. */
class FakePlatform extends EventEmitter<PlatformEmulatorEvents> {
  readonly online = new Set<string>();
  isOnline(identity: DeviceIdentity): boolean {
    return this.online.has(identity.deviceName);
  }
  connect(identity: DeviceIdentity, clientId = "c1"): void {
    this.online.add(identity.deviceName);
    this.emit("online", identity, clientId);
  }
  disconnect(identity: DeviceIdentity, clientId = "c1", stillOnline = false): void {
    if (!stillOnline) this.online.delete(identity.deviceName);
    this.emit("offline", identity, clientId);
  }
  tags(identity: DeviceIdentity, tags: Record<string, string>): void {
    const message: AlinkRequest = {
      id: "1",
      version: "1.0",
      method: "thing.deviceinfo.update",
      params: Object.entries(tags).map(([attrKey, attrValue]) => ({ attrKey, attrValue })),
    };
    this.emit("request", { identity, topic: `/sys/${identity.productKey}/${identity.deviceName}/x`, message });
  }
}

let clock: ManualClock;
let gateway: TopGateway;
let platform: FakePlatform;
let bridge: ShelfBridge;
let logger: MemoryLogger;
let credentials: { session: string; refreshToken: string };

beforeEach(async () => {
  clock = new ManualClock({ wallStartMs: START });
  gateway = await TopGateway.start({ apps: [APP], clock, random: new SeededRandom(3) });
  credentials = gateway.issueSession(APP.appKey);
  platform = new FakePlatform();
  logger = new MemoryLogger();
  const client = new TopClient({ endpoint: gateway.url, ...APP, ...credentials, clock, logger });
  bridge = new ShelfBridge({ platform, client, clock, logger });
});
afterEach(async () => {
  await bridge.close();
  await gateway.close();
});

const statuses = () => gateway.statusFeedbacks().map((r) => `${r.deviceCode} ${r.status} ${r.statusTime}`);
const SHELF = { shelfStoreId: "184454101", shelfDeviceCode: "8F6A77C73E" };

describe("ShelfBridge", () => {
  it("reports ONLINE_WITH_CONTENT once the online device's tags arrive, OFFLINE when it goes", async () => {
    const learned: unknown[] = [];
    bridge.on("shelfTags", (t) => learned.push(t));
    platform.connect(DEV);
    await bridge.idle();
    expect(statuses()).toEqual([]); // codes not known yet
    platform.tags(DEV, { ...SHELF, other: "x" });
    platform.tags(DEV, SHELF); // the same again: no second report
    await bridge.idle();
    expect(learned).toEqual([{ identity: DEV, storeId: 184454101, deviceCode: "8F6A77C73E" }]);
    clock.advance(61_000);
    platform.disconnect(DEV);
    await bridge.idle();
    expect(statuses()).toEqual([
      "8F6A77C73E ONLINE_WITH_CONTENT 2026-05-01 10:00:00",
      "8F6A77C73E OFFLINE 2026-05-01 10:01:01",
    ]);
    // Back online later: the codes are remembered from the earlier session.
    platform.connect(DEV);
    await bridge.idle();
    expect(statuses().at(-1)).toBe("8F6A77C73E ONLINE_WITH_CONTENT 2026-05-01 10:01:01");
    expect(bridge.shelfOf(DEV)).toEqual({ storeId: 184454101, deviceCode: "8F6A77C73E" });
  });

  it("ignores the close of an older connection while the device is online again, and devices without tags", async () => {
    platform.connect(DEV);
    platform.tags(DEV, SHELF);
    platform.connect(DEV, "c2");
    platform.disconnect(DEV, "c1", true);
    const other = { productKey: DEV.productKey, deviceName: "plain" };
    platform.connect(other);
    platform.tags(other, { imei: "490154203237518" });
    platform.disconnect(other);
    await bridge.idle();
    expect(statuses()).toEqual(["8F6A77C73E ONLINE_WITH_CONTENT 2026-05-01 10:00:00"]);
  });

  it("takes a changed device code: the old one goes OFFLINE, the new one ONLINE", async () => {
    platform.connect(DEV);
    platform.tags(DEV, SHELF);
    platform.tags(DEV, { ...SHELF, shelfDeviceCode: "NEWCODE001" });
    await bridge.idle();
    expect(statuses().map((s) => s.slice(0, -20))).toEqual([
      "8F6A77C73E ONLINE_WITH_CONTENT",
      "8F6A77C73E OFFLINE",
      "NEWCODE001 ONLINE_WITH_CONTENT",
    ]);
  });

  it("refreshes an expired session on the way, and says when a report fails", async () => {
    gateway.expireSession(credentials.session);
    platform.connect(DEV);
    platform.tags(DEV, SHELF);
    await bridge.idle();
    expect(statuses()).toHaveLength(1);
    const failures: unknown[] = [];
    bridge.on("failed", (f) => failures.push({ code: f.code, topCode: f.topCode, status: f.status }));
    await gateway.close(); // the endpoint is gone
    platform.disconnect(DEV);
    await bridge.idle();
    expect(failures).toEqual([{ code: "top.http_error", topCode: undefined, status: "OFFLINE" }]);
    const text = logger.text();
    for (const secret of [APP.appSecret, credentials.session, credentials.refreshToken])
      expect(text).not.toContain(secret);
    expect(text).toContain("status feedback failed");
  });
});
