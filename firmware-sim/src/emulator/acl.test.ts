import { describe, expect, it } from "vitest";
import { topicAllowed } from "./acl.js";
import { MessageLog } from "./message-log.js";
import { RateLimiter, TokenBucket } from "./rate-limit.js";

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

describe("TokenBucket and RateLimiter", () => {
  it("allows a burst, then the sustained rate", () => {
    const bucket = new TokenBucket({ messagesPerSecond: 2, burst: 3 }, 0);
    expect([0, 0, 0, 0].map(() => bucket.take(0))).toEqual([true, true, true, false]);
    expect(bucket.take(499)).toBe(false);
    expect(bucket.take(500)).toBe(true);
    expect(bucket.take(10_000)).toBe(true); // refilled, capped at the burst
    expect([0, 0, 0].map(() => bucket.take(10_000))).toEqual([true, true, false]);
  });

  it("keeps one bucket per key", () => {
    let now = 0;
    const limiter = new RateLimiter({ messagesPerSecond: 1, burst: 1 }, () => now);
    expect(limiter.allow("a")).toBe(true);
    expect(limiter.allow("a")).toBe(false);
    expect(limiter.allow("b")).toBe(true);
    now = 1_000;
    expect(limiter.allow("a")).toBe(true);
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
