import { TriadkitError } from "@triadkit/protocol";

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Milliseconds of a duration: a number (milliseconds) or text such as `"90s"`, `"2h"`, `"1h30m"`, `"250ms"`, `"1d"`.
 * Throws `config.invalid`.
 */
export function parseDuration(value: string | number): number {
  if (typeof value === "number") {
    if (Number.isFinite(value) && value >= 0) return value;
    throw new TriadkitError("config.invalid", `a duration must be ≥ 0 ms`, { value });
  }
  const text = value.trim();
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text.replace(/\s+/g, "")) {
    throw new TriadkitError("config.invalid", `bad duration ${JSON.stringify(value)}: use e.g. 250ms, 30s, 5m, 2h, 1d`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * (UNITS[p[2] as string] as number), 0);
}
