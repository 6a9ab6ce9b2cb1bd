/**
 * Smart-shelf codes (智能云货架, issue 8): what the ledger keeps about the brand's stores and devices in the
 * smart-store console, shared by every ledger backend.
 *
 * - A **store** (门店) has an integer store id (门店id / 门店码, e.g. 184454101), an optional name, and one brand.
 * - A **shelf device** is a device the brand created in the console for a store; the console gives it a **device
 *   code** (设备码 / 设备初始Code, e.g. 8F6A77C73E): an opaque token, 1–64 printable ASCII characters without
 *   spaces, unique across the ledger forever (a code is never given to a second device). A code may change after
 *   activation: the device keeps every code it ever had, with times and source.
 * - `burn --shelf` gives each board the next unassigned device of the brand (or store): the chip id holds it from
 *   then on, the triad burnt with it is linked, and the device is `pending_activation` (待激活) until the platform
 *   side sees it online with its code: `activated`, with the time and the evidence.
 */
import { TriadkitError } from "@triadkit/protocol";
import type { AuditDetails } from "../audit/types.js";

export const SHELF_STATUSES = ["pending_activation", "activated"] as const;
/** `pending_activation` (待激活): created in the console, not seen online yet; `activated`: seen online. */
export type ShelfStatus = (typeof SHELF_STATUSES)[number];

/** Where a device code came from: the brand's sheet, typed or scanned on the line, or the platform side. */
export type ShelfCodeSource = "import" | "line" | "platform";

export interface ShelfStore {
  readonly storeId: number;
  readonly brand: string;
  readonly name?: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A device as the brand created it in the smart-store console (one sheet row, or one `shelf add`). */
export interface NewShelfDevice {
  readonly brand: string;
  readonly storeId: number;
  readonly storeName?: string;
  readonly deviceCode: string;
  /** 设备名称 in the console. */
  readonly deviceName?: string;
}

/** What showed a device activated (kept as given, audited; never a secret). */
export interface ShelfActivation {
  /** e.g. `top:taobao.smartstore.device.get`. */
  readonly source: string;
  /** When the platform saw it (ms since the epoch), as reported; else when it was asked. */
  readonly observedAt: number;
  readonly details?: AuditDetails;
}

export interface ShelfDevice {
  /** Ledger order (import order): `burn --shelf` takes the earliest unassigned one. */
  readonly seq: number;
  readonly brand: string;
  readonly storeId: number;
  readonly storeName?: string;
  /** The device's current code. */
  readonly deviceCode: string;
  readonly deviceName?: string;
  readonly status: ShelfStatus;
  /** The board it was given to (held from `burn --shelf` on, even before a triad is reserved). */
  readonly chipId?: string;
  /** The triad burnt into that board together with the code. */
  readonly triadId?: string;
  readonly assignedAt?: number;
  readonly activatedAt?: number;
  readonly activation?: ShelfActivation;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** One code a device had, from `validFrom` until `validTo` (absent: its current code). */
export interface ShelfCodeRecord {
  readonly code: string;
  readonly source: ShelfCodeSource;
  readonly validFrom: number;
  readonly validTo?: number;
  readonly note?: string;
}

/** Where new devices come from, for the audit entry (`shelf.import`). */
export type ShelfSource =
  | {
      readonly via: "import";
      /** Base name of the sheet. */
      readonly fileName: string;
      readonly sha256: string;
      readonly details?: AuditDetails;
    }
  | { readonly via: "line"; readonly details?: AuditDetails };

/** One sheet row for {@link importShelfDevices}. */
export interface ShelfImportRow extends NewShelfDevice {
  /** Row number in the sheet (1-based, as a spreadsheet shows it); 0 for a code typed on the line. */
  readonly row: number;
}

/** A row the ledger refuses (the importer maps `field` to the sheet column). */
export interface ShelfRowIssue {
  readonly row: number;
  readonly field: "brand" | "storeId" | "deviceCode" | "deviceName" | "storeName";
  readonly code: "shelf.code_exists" | "shelf.duplicate_code" | "shelf.store_conflict" | "shelf.bad_value";
  readonly message: string;
}

export type ShelfImportResult =
  | {
      readonly ok: true;
      readonly imported: number;
      readonly devices: readonly ShelfDevice[];
      /** Brands and stores seen for the first time. */
      readonly newBrands: readonly string[];
      readonly newStores: readonly number[];
      readonly auditSeq: number;
    }
  | { readonly ok: false; readonly issues: readonly ShelfRowIssue[] };

/** Which devices `burn --shelf` may take from. */
export type ShelfSelector = { readonly brand: string } | { readonly storeId: number };

export interface ShelfQuery {
  readonly brand?: string;
  readonly storeId?: number;
  readonly status?: readonly ShelfStatus[];
  /** true: only devices held by a chip; false: only unassigned ones. */
  readonly assigned?: boolean;
  /** Continue after this seq. */
  readonly afterSeq?: number;
  /** Default 1000. */
  readonly limit?: number;
}

const DEVICE_CODE = /^[\x21-\x7e]{1,64}$/;
const NAME = /^[^\p{C}]{1,128}$/u;
/** Chip ids as the factory protocol reports them. */
const CHIP_ID = /^[0-9a-f]{1,64}$/;

function bad(field: string, message: string): never {
  throw new TriadkitError("shelf.bad_value", `${field} ${message}`, { field });
}

/** A device code: 1–64 printable ASCII characters, no spaces; kept exactly as written (case matters). */
export function checkDeviceCode(code: string, field = "device code"): string {
  if (!DEVICE_CODE.test(code)) bad(field, "must be 1–64 printable ASCII characters without spaces");
  return code;
}

/** A store id: a whole number from 1 up to 2^53−1 (TOP's store_id is an int64; beyond 2^53 is not exact here). */
export function checkStoreId(storeId: number, field = "store id"): number {
  if (!Number.isSafeInteger(storeId) || storeId < 1) bad(field, "must be a whole number of at least 1");
  return storeId;
}

/** Parses a store id typed as text: decimal digits only, no sign, no leading zero. */
export function parseStoreId(text: string, field = "store id"): number {
  const t = text.trim();
  if (!/^[1-9][0-9]{0,15}$/.test(t)) bad(field, "must be a whole number of at least 1 (decimal digits)");
  return checkStoreId(Number(t), field);
}

/** Brand, store and device names: 1–128 characters without control characters, trimmed. */
export function checkShelfName(name: string, field: string): string {
  const t = name.trim();
  if (!NAME.test(t)) bad(field, "must be 1–128 characters without control characters");
  return t;
}

export function checkChipId(chipId: string): string {
  if (!CHIP_ID.test(chipId)) bad("chip id", "must be 1–64 lower-case hex digits");
  return chipId;
}

/** Normalises one new device (trimmed names; code and store id checked); `shelf.bad_value` naming the field. */
export function checkNewShelfDevice(d: NewShelfDevice): NewShelfDevice {
  const storeName = d.storeName === undefined || d.storeName.trim() === "" ? undefined : d.storeName;
  const deviceName = d.deviceName === undefined || d.deviceName.trim() === "" ? undefined : d.deviceName;
  return {
    brand: checkShelfName(d.brand, "brand"),
    storeId: checkStoreId(d.storeId),
    deviceCode: checkDeviceCode(d.deviceCode),
    ...(storeName === undefined ? {} : { storeName: checkShelfName(storeName, "store name") }),
    ...(deviceName === undefined ? {} : { deviceName: checkShelfName(deviceName, "device name") }),
  };
}

/** How a shelf device appears in audit entries: `shelf:<store id>/<device code>`. */
export function describeShelf(d: { readonly storeId: number; readonly deviceCode: string }): string {
  return `shelf:${d.storeId}/${d.deviceCode}`;
}

/**
 * The line the ISV asks for, per device, exactly in the seed's punctuation (seed 001, 商家SOP §四):
 * `<品牌>，门店id：<store id>，设备id:<device code>`: a full-width comma (U+FF0C) before 门店id and before 设备id,
 * a full-width colon (U+FF1A) after 门店id, and an ASCII colon after 设备id.
 */
export function isvLine(d: { readonly brand: string; readonly storeId: number; readonly deviceCode: string }): string {
  return `${d.brand}\uff0c门店id\uff1a${d.storeId}\uff0c设备id:${d.deviceCode}`;
}
