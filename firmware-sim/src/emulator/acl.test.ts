import { ManualClock } from "@triadkit/sdk";
import { describe, expect, it } from "vitest";
import { topicAllowed } from "./acl.js";
import { MessageLog } from "./message-log.js";
import { RateLimiter } from "./rate-limit.js";

const me = { productKey: "a1B2c3D4e5F", deviceName: "dev001" };

describe("topicAllowed", () => {
  it.each([
    "/sys/a1B2c3D4e5F/dev001/thing/event/property/post",
    "/sys/a1B2c3D4e5F/dev001/thing/service/+",
    "/sys/a1B2c3D4e5F/dev001/#",
    "/sys/a1B2c3D4e5F/dev001/rrpc/request/+",
    "/ext/ntp/a1B2c3D4e5F/dev001/request",
    "/ext/ntp/a1B2c3D4e5F/dev001/response",
    "/ext/error/a1B2c3D4e5F/dev001",
    "/ext/session/a1B2c3D4e5F/dev001/combine/login_reply",
    "/shadow/update/a1B2c3D4e5F/dev001",
    "/shadow/get/a1B2c3D4e5F/dev001",
    "/ota/device/inform/a1B2c3D4e5F/dev001",
    "/ota/device/upgrade/a1B2c3D4e5F/dev001",
    "/ota/device/+/a1B2c3D4e5F/dev001",
    "/a1B2c3D4e5F/dev001/user/anything/here",
  ])("allows its own %s", (topic) => {
    expect(topicAllowed(me, topic)).toBe(true);
  });

  it.each([
    "/sys/a1B2c3D4e5F/dev002/thing/event/property/post",
    "/sys/a1B2c3D4e5F/+/thing/#",
    "/sys/+/dev001/#",
    "/sys/#",
    "#",
    "/sys/a1B2c3D4e5F/dev001",
    "/ext/ntp/a1B2c3D4e5F/dev002/request",
    "/ext/error/a1B2c3D4e5F/dev001/extra",
    "/ext/register",
    "/ext/regnwl",
    "/shadow/delete/a1B2c3D4e5F/dev001",
    "/shadow/+/a1B2c3D4e5F/dev001",
    "/ota/device/inform/a1B2c3D4e5F/dev002",
    "/ota/device/inform/a1B2c3D4e5F/+",
    "/a1B2c3D4e5F/dev002/user/x",
    "/sys/a1B2c3D4e5F/dev001/thing/a+b",
    "/sys/a1B2c3D4e5F/dev001/#/x",
    "$SYS/broker",
    "",
  ])("refuses %s", (topic) => {
    expect(topicAllowed(me, topic)).toBe(false);
  });
});

describe("RateLimiter", () => {
  it("allows a burst, then the sustained rate, per key", () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ messagesPerSecond: 2, burst: 3 }, clock);
    expect([0, 0, 0, 0].map(() => limiter.allow("a"))).toEqual([true, true, true, false]);
    expect(limiter.allow("b")).toBe(true);
    clock.advance(499);
    expect(limiter.allow("a")).toBe(false);
    clock.advance(1);
    expect(limiter.allow("a")).toBe(true);
    clock.advance(10_000); // refilled, capped at the burst
    expect([0, 0, 0, 0].map(() => limiter.allow("a"))).toEqual([true, true, true, false]);
  });
});

describe("MessageLog", () => {
  const msg = (n: number, deviceName = "dev001") => ({
    identity: { productKey: "a1B2c3D4e5F", deviceName },
    clientId: "c",
    topic: `/sys/a1B2c3D4e5F/${deviceName}/thing/event/e${n}/post`,
    payload: new Uint8Array([n]),
    receivedAtMs: n,
    rateLimited: false,
  });

  it("drops the oldest beyond its capacity and filters", () => {
    const log = new MessageLog(3);
    for (let n = 1; n <= 5; n++) log.push(msg(n, n % 2 === 0 ? "dev002" : "dev001"));
    expect(log.list().map((m) => m.seq)).toEqual([3, 4, 5]);
    expect(log.list({ deviceName: "dev002" }).map((m) => m.seq)).toEqual([4]);
    expect(log.list({ topic: "/sys/+/+/thing/event/e5/post" }).map((m) => m.seq)).toEqual([5]);
    expect(log.list({ afterSeq: 4 }).map((m) => m.seq)).toEqual([5]);
  });

  it("keeps nothing with capacity 0", () => {
    const log = new MessageLog(0);
    expect(log.push(msg(1)).seq).toBe(1);
    expect(log.list()).toEqual([]);
  });
});
