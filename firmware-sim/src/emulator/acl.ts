/**
 * The per-device topic ACL of the platform emulator. A device may publish to and subscribe to its own topics only:
 *
 * - `/sys/{pk}/{dn}/…` (thing model, lifecycle, RRPC, …)
 * - `/ext/ntp/{pk}/{dn}/…` and `/ext/error/{pk}/{dn}`
 * - `/ext/session/{pk}/{dn}/…` (a gateway's own sub-device session topics; the official SDKs subscribe to them)
 * - `/shadow/update/{pk}/{dn}` and `/shadow/get/{pk}/{dn}`
 * - `/ota/device/{inform|upgrade|progress|…}/{pk}/{dn}`
 * - `/{pk}/{dn}/user/…` (the product's custom topic classes, which the real platform also grants per device)
 *
 * Filters are checked by coverage: `/sys/{pk}/{dn}/#` is allowed, `/sys/+/{dn}/…` or `/ota/device/+/+/{dn}` is not,
 * because it could match another device's topics.
 */
import type { DeviceIdentity } from "@triadkit/protocol";

/** One level of a pattern: a literal, `*` (exactly one level) or `**` (one or more levels, last only). */
type Level = string;

function patternsFor(identity: DeviceIdentity): Level[][] {
  const { productKey: pk, deviceName: dn } = identity;
  return [
    ["", "sys", pk, dn, "**"],
    ["", "ext", "ntp", pk, dn, "**"],
    ["", "ext", "error", pk, dn],
    ["", "ext", "session", pk, dn, "**"],
    ["", "shadow", "update", pk, dn],
    ["", "shadow", "get", pk, dn],
    ["", "ota", "device", "*", pk, dn],
    ["", pk, dn, "user", "**"],
  ];
}

function covers(pattern: readonly Level[], levels: readonly string[]): boolean {
  for (let i = 0; i < levels.length; i++) {
    const p = pattern[i];
    const f = levels[i] as string;
    if (p === "**") return true;
    if (p === undefined) return false;
    if (f === "#") return false;
    if (f === "+") {
      if (p !== "*") return false;
    } else if (p !== "*" && p !== f) {
      return false;
    }
  }
  return levels.length === pattern.length;
}

/** True when every topic `topicOrFilter` can name or match belongs to `identity`. */
export function topicAllowed(identity: DeviceIdentity, topicOrFilter: string): boolean {
  if (topicOrFilter.length === 0 || topicOrFilter.length > 1024 || topicOrFilter.includes("\u0000")) return false;
  const levels = topicOrFilter.split("/");
  // A wildcard must fill a whole level (MQTT 3.1.1 §4.7.1); `#` only last.
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string;
    if ((level.includes("+") || level.includes("#")) && level.length !== 1) return false;
    if (level === "#" && i !== levels.length - 1) return false;
  }
  return patternsFor(identity).some((p) => covers(p, levels));
}

/** The first emulator version's name for {@link topicAllowed}. */
export const ownsTopic = topicAllowed;
