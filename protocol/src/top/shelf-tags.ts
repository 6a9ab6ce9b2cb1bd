/**
 * How a smart-shelf device tells the platform its smart-store codes: two device tags (`thing.deviceinfo.update`),
 * `shelfStoreId` (门店id, an integer) and `shelfDeviceCode` (设备码, opaque). The ISV side reads them from the
 * platform and reports the device's status to TOP under that device code; the device never holds TOP credentials.
 */
import { fail } from "../errors.js";

export const SHELF_TAG_KEYS = { storeId: "shelfStoreId", deviceCode: "shelfDeviceCode" } as const;

export interface ShelfCodes {
  /** Store id (门店id, e.g. 184454101): a positive integer. */
  readonly storeId: number;
  /** Device code (设备码, e.g. 8F6A77C73E): 1–64 of `[0-9A-Za-z_-]` (the format is not published). */
  readonly deviceCode: string;
}

const DEVICE_CODE = /^[0-9A-Za-z_-]{1,64}$/;
const STORE_ID = /^[1-9]\d{0,17}$/;

/** Checks store id and device code; throws `alink.bad_payload` naming the bad one. */
export function parseShelfCodes(storeId: number | string, deviceCode: string): ShelfCodes {
  const text = typeof storeId === "number" ? String(storeId) : storeId;
  const id = Number(text);
  if (!STORE_ID.test(text) || !Number.isSafeInteger(id)) {
    return fail("alink.bad_payload", "shelf store id must be a positive integer", { storeId: text.slice(0, 32) });
  }
  if (!DEVICE_CODE.test(deviceCode)) {
    return fail("alink.bad_payload", "shelf device code must be 1-64 of [0-9A-Za-z_-]", { length: deviceCode.length });
  }
  return { storeId: id, deviceCode };
}

/** The tags to send: `{ shelfStoreId: "184454101", shelfDeviceCode: "8F6A77C73E" }`. */
export function shelfTags(codes: ShelfCodes): Record<string, string> {
  const checked = parseShelfCodes(codes.storeId, codes.deviceCode);
  return { [SHELF_TAG_KEYS.storeId]: String(checked.storeId), [SHELF_TAG_KEYS.deviceCode]: checked.deviceCode };
}

/**
 * Reads the shelf codes out of a `thing.deviceinfo.update` params list (`[{attrKey, attrValue}, …]`). Undefined
 * when the list does not carry both tags or either is malformed; other tags are ignored.
 */
export function shelfCodesOfTags(params: unknown): ShelfCodes | undefined {
  if (!Array.isArray(params)) return undefined;
  const found = new Map<string, string>();
  for (const item of params) {
    if (typeof item !== "object" || item === null) continue;
    const { attrKey, attrValue } = item as { attrKey?: unknown; attrValue?: unknown };
    if (typeof attrKey === "string" && typeof attrValue === "string") found.set(attrKey, attrValue);
  }
  const storeId = found.get(SHELF_TAG_KEYS.storeId);
  const deviceCode = found.get(SHELF_TAG_KEYS.deviceCode);
  if (storeId === undefined || deviceCode === undefined) return undefined;
  try {
    return parseShelfCodes(storeId, deviceCode);
  } catch {
    return undefined;
  }
}
