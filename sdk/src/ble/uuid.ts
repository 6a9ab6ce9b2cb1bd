/**
 * BLE UUIDs and addresses in one canonical form, so the virtual radio and the real adapters compare like with like.
 * UUIDs: lowercase, 4 hex for a 16-bit UUID (also when given as its 128-bit Bluetooth-base form), otherwise 36 chars
 * with dashes. Addresses: 12 lowercase hex, no separators.
 */
import { TriadkitError } from "@triadkit/protocol";

const BASE_SUFFIX = "-0000-1000-8000-00805f9b34fb";

/** Canonical UUID: `"FFF0"`, `"0000fff0-0000-1000-8000-00805f9b34fb"`, `"0000fff000001000800000805f9b34fb"` → `"fff0"`. */
export function normalizeUuid(uuid: string): string {
  const u = uuid.trim().toLowerCase();
  if (/^[0-9a-f]{4}$/.test(u)) return u;
  let dashed = u;
  if (/^[0-9a-f]{32}$/.test(u)) {
    dashed = `${u.slice(0, 8)}-${u.slice(8, 12)}-${u.slice(12, 16)}-${u.slice(16, 20)}-${u.slice(20)}`;
  }
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(dashed)) {
    if (dashed.startsWith("0000") && dashed.endsWith(BASE_SUFFIX)) return dashed.slice(4, 8);
    return dashed;
  }
  throw new TriadkitError("config.invalid", "a BLE UUID must be 4 hex digits or a 128-bit UUID", { uuid });
}

/** The form noble and bleno use: 4 hex, or 32 hex without dashes. */
export function compactUuid(uuid: string): string {
  return normalizeUuid(uuid).replace(/-/g, "");
}

/** Canonical address: `"AA:BB:CC:DD:EE:FF"`, `"aa-bb-…"` or `"aabbccddeeff"` → `"aabbccddeeff"`. */
export function normalizeBleAddress(address: string): string {
  const a = address.trim().toLowerCase().replace(/[:-]/g, "");
  if (!/^[0-9a-f]{12}$/.test(a)) {
    throw new TriadkitError("config.invalid", "a BLE address must be 6 octets of hex", { address });
  }
  return a;
}

/** `"aabbccddeeff"` → `"AA:BB:CC:DD:EE:FF"` (BlueZ's form). */
export function colonBleAddress(address: string): string {
  return (normalizeBleAddress(address).match(/../g) as string[]).join(":").toUpperCase();
}

/**
 * Bytes the advertisement takes on air (legacy advertising: 31 bytes of AD structures, plus 31 of scan response).
 * Flags, service UUIDs and manufacturer data go in the advertising data, the local name in the scan response.
 */
export function advertisementSizes(advertisement: {
  readonly localName?: string;
  readonly serviceUuids: readonly string[];
  readonly manufacturerData?: Uint8Array;
  readonly serviceData?: { readonly uuid: string; readonly data: Uint8Array };
}): { advertisingData: number; scanResponse: number } {
  const uuids = advertisement.serviceUuids.map(normalizeUuid);
  const short = uuids.filter((u) => u.length === 4).length;
  const long = uuids.length - short;
  let adv = 3; // flags
  if (short > 0) adv += 2 + 2 * short;
  if (long > 0) adv += 2 + 16 * long;
  if (advertisement.manufacturerData !== undefined) adv += 2 + advertisement.manufacturerData.length;
  if (advertisement.serviceData !== undefined) adv += 4 + advertisement.serviceData.data.length;
  const name = advertisement.localName === undefined ? 0 : new TextEncoder().encode(advertisement.localName).length;
  return { advertisingData: adv, scanResponse: name === 0 ? 0 : 2 + name };
}

/** Legacy advertising limit for each of advertising data and scan response. */
export const LEGACY_ADVERTISING_BYTES = 31;
