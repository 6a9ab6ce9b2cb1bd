import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { expectTriadkitError } from "../testing.js";
import { formatTopTimestamp, parseTopTimestamp } from "./timestamp.js";

const ORIGINAL_TZ = process.env.TZ;

afterEach(() => {
  if (ORIGINAL_TZ === undefined) delete process.env.TZ;
  else process.env.TZ = ORIGINAL_TZ;
});

describe("TOP timestamps (GMT+8)", () => {
  it("writes GMT+8 whatever the process time zone is", () => {
    const ms = Date.UTC(2016, 0, 1, 4, 0, 0, 999); // 12:00:00.999 in Beijing
    const localHours = new Set<number>();
    for (const tz of ["UTC", "America/New_York", "Asia/Shanghai", "Pacific/Chatham", "Europe/London"]) {
      process.env.TZ = tz; // Node re-reads TZ on assignment
      localHours.add(new Date(ms).getHours());
      expect(formatTopTimestamp(ms)).toBe("2016-01-01 12:00:00");
      expect(parseTopTimestamp("2016-01-01 12:00:00")).toBe(Date.UTC(2016, 0, 1, 4, 0, 0));
    }
    // The zone switch really took effect, so the equality above is not an accident of one zone.
    expect(localHours.size).toBeGreaterThan(2);
  });

  it("crosses the date line of GMT+8 and keeps leap days", () => {
    expect(formatTopTimestamp(Date.UTC(2023, 11, 31, 16, 0, 0))).toBe("2024-01-01 00:00:00");
    expect(formatTopTimestamp(Date.UTC(2024, 1, 28, 16, 30, 5))).toBe("2024-02-29 00:30:05");
    expect(formatTopTimestamp(0)).toBe("1970-01-01 08:00:00");
  });

  it("refuses anything but yyyy-MM-dd HH:mm:ss with real values", () => {
    for (const bad of [
      "2016-1-01 12:00:00",
      "2016-01-01T12:00:00",
      "2016-01-01 12:00:00.000",
      " 2016-01-01 12:00:00",
      "2016-02-30 12:00:00",
      "2016-13-01 12:00:00",
      "2016-01-01 24:00:00",
      "2016-01-01 12:60:00",
      "0999-01-01 12:00:00",
      "1461494400",
      "",
    ]) {
      expectTriadkitError(() => parseTopTimestamp(bad), "top.bad_timestamp");
    }
    expectTriadkitError(() => formatTopTimestamp(Number.NaN), "top.bad_timestamp");
  });

  it("round-trips every second", () => {
    fc.assert(
      fc.property(fc.integer({ min: -30_000_000_000, max: 250_000_000_000 }), (s) => {
        const ms = s * 1000;
        return parseTopTimestamp(formatTopTimestamp(ms)) === ms;
      }),
    );
  });
});
