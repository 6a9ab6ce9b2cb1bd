/**
 * Time, injected. Every timer in the SDK goes through a Clock so tests and firmware-sim fleets can run
 * on virtual time; boards without an RTC start in 1970, so wall time and monotonic time are separate.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Wall-clock milliseconds since the epoch (may be wrong before NTP). */
  nowMs(): number;
  /** Monotonic milliseconds since an arbitrary origin; never goes back. */
  monotonicMs(): number;
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
}

/** The host's clocks. */
export class SystemClock implements Clock {
  nowMs(): number {
    return Date.now();
  }
  monotonicMs(): number {
    return performance.now();
  }
  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const t = setTimeout(fn, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(t) };
  }
}

interface PendingTimer {
  readonly dueMs: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * Virtual time: nothing happens until {@link ManualClock.advance} is called; due timers then fire in
 * (due time, creation order), each seeing `monotonicMs()` equal to its due time.
 */
export class ManualClock implements Clock {
  private monotonic = 0;
  private wallOffset: number;
  private seq = 0;
  private timers: PendingTimer[] = [];

  constructor(options: { wallStartMs?: number } = {}) {
    this.wallOffset = options.wallStartMs ?? 0;
  }

  nowMs(): number {
    return this.wallOffset + this.monotonic;
  }
  monotonicMs(): number {
    return this.monotonic;
  }
  /** Moves the wall clock without moving monotonic time (an RTC being set, or NTP stepping it). */
  setWallMs(wallMs: number): void {
    this.wallOffset = wallMs - this.monotonic;
  }
  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const timer: PendingTimer = { dueMs: this.monotonic + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }
  /** Number of timers still waiting. */
  pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }
  /** Advances virtual time by `ms`, firing every timer that falls due, including ones scheduled meanwhile. */
  advance(ms: number): void {
    const target = this.monotonic + Math.max(0, ms);
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      let next: PendingTimer | undefined;
      for (const t of this.timers) {
        if (
          t.dueMs <= target &&
          (next === undefined || t.dueMs < next.dueMs || (t.dueMs === next.dueMs && t.seq < next.seq))
        ) {
          next = t;
        }
      }
      if (next === undefined) break;
      this.monotonic = next.dueMs;
      next.cancelled = true;
      next.fn();
    }
    this.monotonic = target;
  }
}
