/** Per-device upstream message limits of the platform emulator: one token bucket (the SDK's) per device. */
import { type Clock, TokenBucket } from "@triadkit/sdk";

export interface RateLimitOptions {
  /** Sustained rate: tokens added per second. */
  readonly messagesPerSecond: number;
  /** Bucket size: how many messages may arrive at once after a quiet period. */
  readonly burst: number;
}

/** One bucket per key (device). Buckets survive reconnects, as the platform's per-device limit does. */
export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly options: RateLimitOptions,
    private readonly clock: Clock,
  ) {}

  allow(key: string): boolean {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = new TokenBucket({ ratePerSec: this.options.messagesPerSecond, burst: this.options.burst }, this.clock);
      this.buckets.set(key, bucket);
    }
    return bucket.tryTake().ok;
  }

  forget(key: string): void {
    this.buckets.delete(key);
  }
}
