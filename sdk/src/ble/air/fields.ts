/** Typed reads of an air frame's JSON header fields; a wrong type is `ble.bad_frame`. */
import { TriadkitError } from "@triadkit/protocol";

export function str(h: Record<string, unknown>, key: string): string {
  const v = h[key];
  if (typeof v !== "string")
    throw new TriadkitError("ble.bad_frame", `air request field ${key} must be a string`, { key });
  return v;
}

export function optStr(h: Record<string, unknown>, key: string): string | undefined {
  return h[key] === undefined || h[key] === null ? undefined : str(h, key);
}

export function num(h: Record<string, unknown>, key: string): number {
  const v = h[key];
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new TriadkitError("ble.bad_frame", `air request field ${key} must be a number`, { key });
  }
  return v;
}

export function optNum(h: Record<string, unknown>, key: string): number | undefined {
  return h[key] === undefined || h[key] === null ? undefined : num(h, key);
}
