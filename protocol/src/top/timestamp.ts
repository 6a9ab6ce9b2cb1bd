/**
 * TOP timestamps: `yyyy-MM-dd HH:mm:ss` in GMT+8 (China Standard Time, no daylight saving), whatever the time zone
 * of the machine. Computed from UTC fields only, so the host's TZ never enters.
 */
import { fail } from "../errors.js";

const GMT8_OFFSET_MS = 8 * 3_600_000;
const PATTERN = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/** How far the gateway lets a request's timestamp be from its own clock: ±10 minutes. */
export const TOP_TIMESTAMP_WINDOW_MS = 10 * 60_000;

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/** Milliseconds since the epoch → `2016-01-01 12:00:00` (GMT+8; milliseconds are dropped, not rounded). */
export function formatTopTimestamp(ms: number): string {
  if (!Number.isFinite(ms)) return fail("top.bad_timestamp", "not a finite time", { ms });
  const d = new Date(Math.floor(ms / 1000) * 1000 + GMT8_OFFSET_MS);
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1000 || d.getUTCFullYear() > 9999) {
    return fail("top.bad_timestamp", "time outside the years 1000-9999", { ms });
  }
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

/**
 * `yyyy-MM-dd HH:mm:ss` (GMT+8) → milliseconds since the epoch. Exactly that shape, with real calendar values
 * (no 2016-02-30, no 24:00:00); throws `top.bad_timestamp` otherwise.
 */
export function parseTopTimestamp(text: string): number {
  const m = PATTERN.exec(text);
  if (m === null) {
    return fail("top.bad_timestamp", "a TOP timestamp is yyyy-MM-dd HH:mm:ss (GMT+8)", { length: text.length });
  }
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const utc = Date.UTC(year, month - 1, day, hour, minute, second);
  const ms = utc - GMT8_OFFSET_MS;
  // Date.UTC rolls over out-of-range fields (month 13, day 32, hour 24): a round trip catches every one of them.
  if (year < 1000 || formatTopTimestamp(ms) !== text) {
    return fail("top.bad_timestamp", `"${text}" is not a real GMT+8 date and time`, { timestamp: text });
  }
  return ms;
}
