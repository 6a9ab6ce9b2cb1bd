import type { Clock } from "../clock.js";

/**
 * A token bucket on an injected clock. `ratePerSec` tokens refill continuously up to `burst`.
 * `slowDown()` (on a platform 429) halves the rate for `penaltyMs`; repeated 429s halve it again, down to
 * `minRatePerSec`.
 */
export interface RateLimit {
  readonly ratePerSec: number;
  readonly burst: number;
}

export class TokenBucket {
  private tokens: number;
  private lastMs: number;
  private penaltyFactor = 1;
  private penaltyUntilMs = 0;

  constructor(
    private readonly limit: RateLimit,
    private readonly clock: Clock,
    private readonly options: { penaltyMs: number; minRatePerSec: number } = { penaltyMs: 60_000, minRatePerSec: 0.05 },
  ) {
    this.tokens = limit.burst;
    this.lastMs = clock.monotonicMs();
  }

  get currentRatePerSec(): number {
    this.refill();
    return Math.max(this.options.minRatePerSec, this.limit.ratePerSec * this.penaltyFactor);
  }

  private refill(): void {
    const now = this.clock.monotonicMs();
    if (now >= this.penaltyUntilMs) this.penaltyFactor = 1;
    const rate = Math.max(this.options.minRatePerSec, this.limit.ratePerSec * this.penaltyFactor);
    this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.lastMs) / 1000) * rate);
    this.lastMs = now;
  }

  /** Takes a token if one is there; otherwise returns how many ms until one will be. */
  tryTake(): { ok: true } | { ok: false; waitMs: number } {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, waitMs: Math.ceil(((1 - this.tokens) / this.currentRatePerSec) * 1000) };
  }

  /** The platform said 429: halve the rate for a while and empty the bucket. */
  slowDown(): void {
    this.refill();
    this.penaltyFactor /= 2;
    this.penaltyUntilMs = this.clock.monotonicMs() + this.options.penaltyMs;
    this.tokens = 0;
  }
}
