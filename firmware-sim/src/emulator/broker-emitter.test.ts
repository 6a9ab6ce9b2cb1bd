import mqemitter from "mqemitter";
import { describe, expect, it } from "vitest";
import { BrokerEmitter } from "./broker-emitter.js";

interface Bus {
  on(topic: string, listener: (message: mqemitter.Message, done: () => void) => void): unknown;
  emit(message: mqemitter.Message, callback?: (error?: Error) => void): unknown;
}

/**
 * The reconnect-storm shape (mcollina/mqemitter#204): `slots` messages held by a slow listener (a subscriber whose
 * socket has not drained), then `queued` messages whose listener finishes synchronously (aedes' `closeSameClients`),
 * then the held ones released. Returns how many queued messages were delivered and how many callbacks ran.
 */
function storm(bus: Bus, slots: number, queued: number) {
  const held: (() => void)[] = [];
  let delivered = 0;
  let called = 0;
  bus.on("hold", (_m, done) => held.push(done));
  bus.on("$SYS/+/new/clients", (_m, done) => {
    delivered++;
    done();
  });
  for (let i = 0; i < slots; i++) bus.emit({ topic: "hold" });
  for (let i = 0; i < queued; i++) bus.emit({ topic: "$SYS/broker/new/clients", payload: `c${i}` }, () => called++);
  const before = delivered;
  const release = () => {
    for (const done of held.splice(0)) done();
  };
  return { before, release, counts: () => ({ delivered, called }) };
}

describe("BrokerEmitter", () => {
  // 30,000 queued messages: each dispatched on the stack of the previous one's completion overflows it.
  const QUEUED = 30_000;

  it("the stock mqemitter overflows the stack draining a long queue (the bug this works around)", async () => {
    const stock = mqemitter({ concurrency: 4, matchEmptyLevels: true });
    const run = storm(stock, 4, QUEUED);
    await new Promise((r) => setImmediate(r)); // mqemitter adds listeners at once but calls `done` later
    expect(() => run.release()).toThrow(RangeError);
  });

  it("drains the same queue in a loop: every message delivered, every callback called, no overflow", () => {
    const bus = new BrokerEmitter(4);
    const run = storm(bus, 4, QUEUED);
    expect(run.before).toBe(0); // all four slots were taken: everything else waited
    expect(bus.length).toBe(QUEUED);
    expect(bus.current).toBe(4);
    expect(() => run.release()).not.toThrow();
    expect(run.counts()).toEqual({ delivered: QUEUED, called: QUEUED });
    expect(bus.length).toBe(0);
    expect(bus.current).toBe(0);
  });

  it("keeps at most `concurrency` messages in flight and delivers in order", () => {
    const bus = new BrokerEmitter(3);
    const seen: number[] = [];
    const held: (() => void)[] = [];
    bus.on("t/+", (m, done) => {
      seen.push(m["n"] as number);
      held.push(done);
    });
    for (let n = 0; n < 10; n++) bus.emit({ topic: `t/${n}`, n });
    expect(seen).toEqual([0, 1, 2]);
    held.shift()?.();
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(bus.current).toBe(3);
    while (held.length > 0) held.shift()?.();
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("a message emitted from a callback waits its turn instead of nesting", () => {
    const bus = new BrokerEmitter(1);
    const order: string[] = [];
    bus.on("a", (_m, done) => {
      order.push("a");
      done();
    });
    bus.on("b", (_m, done) => {
      order.push("b");
      done();
    });
    bus.emit({ topic: "a" }, () => {
      bus.emit({ topic: "b" }, () => order.push("b done"));
      order.push("a done");
    });
    expect(order).toEqual(["a", "a done", "b", "b done"]);
  });

  it("refuses messages once closed", async () => {
    const bus = new BrokerEmitter();
    await new Promise<void>((r) => bus.close(r));
    const err = await new Promise<Error | undefined>((r) => bus.emit({ topic: "x" }, r));
    expect(err?.message).toMatch(/closed/);
  });
});
