/** Per-device upstream message limits of the platform emulator: one token bucket per device. */

export interface RateLimitOptions {
  /** Sustained rate: tokens added per second. */
  readonly messagesPerSecond: number;
  /** Bucket size: how many messages may arrive at once after a quiet period. */
  readonly burst: number;
}

/** A token bucket on a monotonic millisecond clock. Starts full. */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(
    private readonly options: RateLimitOptions,
    nowMs: number,
  ) {
    this.tokens = options.burst;
    this.lastMs = nowMs;
  }

  /** Takes one token if there is one. */
  take(nowMs: number): boolean {
    const elapsed = Math.max(0, nowMs - this.lastMs);
    this.lastMs = Math.max(this.lastMs, nowMs);
    this.tokens = Math.min(this.options.burst, this.tokens + (elapsed * this.options.messagesPerSecond) / 1000);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** One bucket per key (device). Buckets survive reconnects, as the platform's per-device limit does. */
export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly options: RateLimitOptions,
    private readonly monotonicMs: () => number,
  ) {}

  allow(key: string): boolean {
    const now = this.monotonicMs();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.options, now);
      this.buckets.set(key, bucket);
    }
    return bucket.take(now);
  }

  forget(key: string): void {
    this.buckets.delete(key);
  }
}
