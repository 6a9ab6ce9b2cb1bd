import { describe, expect, it } from "vitest";
import { ManualClock, SystemClock } from "./clock.js";

describe("ManualClock", () => {
  it("fires timers in due order, ties in creation order, at their due time", () => {
    const clock = new ManualClock({ wallStartMs: 1_000 });
    const seen: string[] = [];
    clock.setTimeout(() => seen.push(`b@${clock.monotonicMs()}`), 20);
    clock.setTimeout(() => seen.push(`a@${clock.monotonicMs()}`), 10);
    clock.setTimeout(() => seen.push(`c@${clock.monotonicMs()}`), 20);
    clock.advance(15);
    expect(seen).toEqual(["a@10"]);
    clock.advance(5);
    expect(seen).toEqual(["a@10", "b@20", "c@20"]);
    expect(clock.nowMs()).toBe(1_020);
  });

  it("fires timers scheduled by timers within the same advance, and honours cancel", () => {
    const clock = new ManualClock();
    let ticks = 0;
    const tick = () => {
      ticks++;
      clock.setTimeout(tick, 100);
    };
    clock.setTimeout(tick, 100);
    const cancelled = clock.setTimeout(() => {
      ticks += 1000;
    }, 50);
    cancelled.cancel();
    clock.advance(1_000);
    expect(ticks).toBe(10);
    expect(clock.pending()).toBe(1);
  });

  it("stepping the wall clock does not move monotonic time", () => {
    const clock = new ManualClock();
    clock.advance(500);
    clock.setWallMs(1_700_000_000_000);
    expect(clock.monotonicMs()).toBe(500);
    expect(clock.nowMs()).toBe(1_700_000_000_000);
    clock.advance(1);
    expect(clock.nowMs()).toBe(1_700_000_000_001);
  });
});

describe("SystemClock", () => {
  it("runs a real timer and cancels another", async () => {
    const clock = new SystemClock();
    let fired = false;
    const cancelled = clock.setTimeout(() => {
      fired = true;
    }, 1);
    cancelled.cancel();
    await new Promise<void>((resolve) => clock.setTimeout(resolve, 5));
    expect(fired).toBe(false);
    expect(Math.abs(clock.nowMs() - Date.now())).toBeLessThan(1000);
  });
});
