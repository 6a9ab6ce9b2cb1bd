import type { Random } from "../random.js";

/**
 * Reconnect back-off, as a value (not a timer buried in a method): exponential with full jitter,
 * a separate and longer class after the platform refused the credentials, and no reset for a connection
 * that drops right after it was accepted. The official Node SDK retries every second forever with frozen
 * credentials; a fleet losing its broker together must instead spread its reconnects.
 */
export interface BackoffOptions {
  /** First ceiling of the jitter window. Default 1000 ms. */
  readonly baseMs: number;
  /** Largest window. Default 60000 ms. */
  readonly capMs: number;
  /** Window base after CONNACK 4/5 (bad credentials / not authorised). Default 30000 ms. */
  readonly authBaseMs: number;
  /** Largest window after auth refusals. Default 600000 ms (10 min). */
  readonly authCapMs: number;
  /** A connection must stay up this long before the attempt counter resets. Default 30000 ms. */
  readonly stableAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  baseMs: 1_000,
  capMs: 60_000,
  authBaseMs: 30_000,
  authCapMs: 600_000,
  stableAfterMs: 30_000,
};

export type FailureKind = "network" | "auth";

/** Uniform float in [0, 1) from injected randomness. */
export function uniform(random: Random): number {
  const b = random.bytes(4);
  return (((b[0] as number) << 24) | ((b[1] as number) << 16) | ((b[2] as number) << 8) | (b[3] as number)) >>> 0;
}

export class Backoff {
  private attempts = 0;
  private authAttempts = 0;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: Random,
  ) {}

  /** Number of consecutive failed attempts so far. */
  get failures(): number {
    return this.attempts;
  }

  /** Delay before the next attempt after a failure of `kind`: uniform in [0, min(cap, base·2^n)). */
  nextDelayMs(kind: FailureKind): number {
    const n = kind === "auth" ? this.authAttempts++ : this.attempts;
    this.attempts++;
    const base = kind === "auth" ? this.options.authBaseMs : this.options.baseMs;
    const cap = kind === "auth" ? this.options.authCapMs : this.options.capMs;
    const window = Math.min(cap, base * 2 ** Math.min(n, 30));
    const jitter = Math.floor((uniform(this.random) / 0x1_0000_0000) * window);
    // After an auth refusal never come back sooner than the auth base: the credentials will not have changed.
    return kind === "auth" ? Math.max(this.options.authBaseMs, jitter) : jitter;
  }

  /** Called when a connection that was accepted has closed after `upMs` milliseconds. */
  connectionLasted(upMs: number): void {
    if (upMs >= this.options.stableAfterMs) {
      this.attempts = 0;
      this.authAttempts = 0;
    }
  }
}
