import { FIXED_TIMESTAMP_MS, type NtpResponse, ntpUtcMs } from "@triadkit/protocol";
import type { Clock } from "../clock.js";

/**
 * Boards without an RTC boot in 1970. Until NTP (`/ext/ntp`) has synchronised, the device signs with the
 * Link SDK C fixed timestamp, which the platform accepts; afterwards with the corrected clock.
 */
export class TimeSync {
  private offset: number | undefined;
  private syncedAtMonotonic: number | undefined;

  constructor(private readonly clock: Clock) {}

  /** Milliseconds to add to the local wall clock; undefined before the first sync. */
  get offsetMs(): number | undefined {
    return this.offset;
  }

  get synced(): boolean {
    return this.offset !== undefined;
  }

  /** Corrected wall-clock time, or the uncorrected local time before sync. */
  nowMs(): number {
    return this.clock.nowMs() + (this.offset ?? 0);
  }

  /** The timestamp to sign a login with. */
  signingTimestamp(): string {
    return this.synced ? String(this.nowMs()) : FIXED_TIMESTAMP_MS;
  }

  /** Applies an NTP answer (Link SDK 4 formula); returns the new offset. */
  apply(sample: NtpResponse): number {
    const deviceRecvTime = this.clock.nowMs();
    const utc = ntpUtcMs({ ...sample, deviceRecvTime });
    this.offset = utc - deviceRecvTime;
    this.syncedAtMonotonic = this.clock.monotonicMs();
    return this.offset;
  }

  /** Monotonic ms since the last sync, or undefined. */
  sinceSyncMs(): number | undefined {
    return this.syncedAtMonotonic === undefined ? undefined : this.clock.monotonicMs() - this.syncedAtMonotonic;
  }
}
