/**
 * The triad ledger contract. Two backends implement it: SQLite (this issue, the single-station default) and
 * PostgreSQL (several stations sharing one pool, a later issue). Everything is async so both fit. The ledger holds
 * sealed secrets only (see ../keys); it never sees a clear secret.
 */

import type { AuditCheckpoint, AuditDetails, AuditEntry, AuditEvent, AuditSource } from "../audit/types.js";
import type {
  ShelfActivation,
  ShelfCodeRecord,
  ShelfCodeSource,
  ShelfDevice,
  ShelfImportResult,
  ShelfImportRow,
  ShelfQuery,
  ShelfRowIssue,
  ShelfSelector,
  ShelfSource,
  ShelfStore,
} from "./shelf.js";

export const TRIAD_STATES = [
  "available",
  "reserved",
  "written",
  "verified",
  "registered",
  "quarantined",
  "void",
] as const;
export type TriadState = (typeof TRIAD_STATES)[number];
export type StateCounts = Record<TriadState, number>;

export type ProductFamily = "alibaba" | "genie";

/** Public identity of one triad: never the secret. */
export type TriadIdentity =
  | { readonly family: "alibaba"; readonly productKey: string; readonly deviceName: string }
  | {
      readonly family: "genie";
      readonly productId: number;
      /** WiFi MAC, lower case, colon-free 12 hex digits as in "Mac Lower". */
      readonly mac: string;
      /** "Bluetooth Mac Lower": a second identity, unique too. */
      readonly bleMac?: string;
      /** Opaque "Md5" column (formula unpublished): kept, never interpreted. */
      readonly md5?: string;
    };

/** Who did something. Every mutation carries one; it lands in the audit entry. */
export interface Actor {
  readonly stationId: string;
  readonly operator: string;
  readonly fixture?: string;
}

export interface NewWorkOrder {
  readonly id: string;
  /** Alibaba ProductKey or Tmall Genie Product ID (decimal text). */
  readonly product: string;
  readonly model: string;
  readonly minFirmware: string;
  readonly quantity?: number;
  readonly line?: string;
  readonly brand?: string;
}

export interface WorkOrder extends NewWorkOrder {
  readonly family: ProductFamily;
  readonly createdAt: number;
}

export interface TriadRecord {
  readonly id: string;
  readonly workOrderId: string;
  readonly identity: TriadIdentity;
  readonly state: TriadState;
  /** Reason recorded with the last transition into quarantined/void, or a human decision. */
  readonly reason?: string;
  /** Ciphertext from ../keys (carries its key id and version). */
  readonly sealedSecret: Uint8Array;
  readonly updatedAt: number;
  /** Row number in the imported sheet. */
  readonly sourceRow: number;
  /** Who holds it since `reserve` (station and fixture), while reserved/written/verified/registered. */
  readonly holder?: { readonly stationId: string; readonly fixture?: string };
}

/** A row as the importer hands it over: identity plus the secret already sealed for this triad id. */
export interface SealedRow {
  readonly id: string;
  readonly sourceRow: number;
  readonly identity: TriadIdentity;
  readonly sealedSecret: Uint8Array;
  /** Keyed fingerprint of the secret (pool-scoped HMAC, see ../keys) for duplicate-secret detection. */
  readonly secretFingerprint: string;
}

/** A recorded human decision: needed to put a triad back to `available`, or to void a quarantined one. */
export interface HumanDecision {
  readonly operator: string;
  readonly reason: string;
}

export interface TransitionRequest {
  /** Target state; `reserved` only through `reserve`, `available` only with a human decision. */
  readonly to: TriadState;
  readonly actor: Actor;
  /** Required for `quarantined` and `void`. */
  readonly reason?: string;
  readonly humanDecision?: HumanDecision;
  /** Refuse (`ledger.bad_transition`) unless the triad is in this state now (several stations, retries). */
  readonly expect?: TriadState;
  /** Extra audit details (never secrets), e.g. the chip id of the device written. */
  readonly details?: AuditDetails;
  /** Also mark the triad's device link (schema v2), in the same transaction: rework `voided`, scrap `scrapped`. */
  readonly linkStatus?: Exclude<DeviceLinkStatus, "active">;
}

/** What a device link is now: `active` while the device holds (or is being given) the triad. */
export type DeviceLinkStatus = "active" | "voided" | "scrapped";

/** The modem identity a device reported (public identifiers, not secrets). */
export interface LinkedModem {
  readonly imei?: string;
  readonly iccid?: string;
  readonly imsi?: string;
}

/**
 * The device a triad is written to (schema v2), recorded while the triad is `reserved` and before the record is
 * sent, so a crash at any point leaves the ledger knowing which chip to ask. Identity only, and the device's PoP
 * sealed by the keyring (`sealPop`): the PoP itself is printed on the device's label (a later issue).
 */
export interface NewDeviceLink {
  /** Lower-case hex, as the device's `hello` reports it. */
  readonly chipId: string;
  readonly wifiMac: string;
  readonly bleMac?: string;
  readonly model: string;
  readonly firmware: string;
  readonly fixture?: string;
  /** SHA-256 of the factory record the station built (protocol `factoryRecordHash`): 32 bytes. */
  readonly recordHash: Uint8Array;
  /** The record's `writtenAt` (ms since the epoch). */
  readonly writtenAt: number;
  readonly modem?: LinkedModem;
  /** Keyring `sealPop(triadId, pop)`. */
  readonly sealedPop: Uint8Array;
  /** The PoP verifier's salt, as written into the record (16 bytes; not secret). */
  readonly popSalt: Uint8Array;
  /**
   * Schema v3, `burn --shelf`: the record's store id and device code. The shelf device must be the one this chip
   * holds (`assignShelfDevice`); it is linked to this triad in the same transaction. Not kept in the link itself.
   */
  readonly shelf?: { readonly storeId: number; readonly deviceCode: string };
}

export interface DeviceLink extends NewDeviceLink {
  readonly triadId: string;
  /** The station that linked it. */
  readonly stationId: string;
  readonly status: DeviceLinkStatus;
  readonly linkedAt: number;
  readonly updatedAt: number;
}

/**
 * The pool's factory anchor: an Ed25519 key generated once per pool. Devices store the public key (the record's
 * `anchor`) and accept `unlock` / `factory_reset` only with its signature; the seed is sealed under the pool key
 * (keyring `sealAnchorSeed`), so any station granted the pool can rework, and `keys rotate` re-seals it.
 */
export interface FactoryAnchorRecord {
  readonly publicKey: Uint8Array;
  readonly sealedSeed: Uint8Array;
  readonly createdAt: number;
}

/** The sheet an import comes from, for the audit entry. */
export interface ImportSource {
  /** File name (base name; no directories). */
  readonly fileName: string;
  /** SHA-256 of the file's bytes, lower-case hex. */
  readonly sha256: string;
  /** More audit details: format, sheet, encoding, … (never a secret). */
  readonly details?: AuditDetails;
}

/** A row the ledger refuses; the importer maps `field` to the sheet column. */
export interface LedgerRowIssue {
  readonly row: number;
  readonly triadId: string;
  readonly field: "identity" | "mac" | "bleMac" | "secret" | "product";
  readonly code:
    | "import.triad_exists"
    | "import.duplicate_triad"
    | "import.duplicate_secret"
    | "import.product_mismatch";
  readonly message: string;
}

export interface ImportSummary {
  readonly workOrderId: string;
  readonly importId: number;
  readonly imported: number;
  /** Triads on the work order after the import. */
  readonly workOrderTotal: number;
  /** Seq of the one `import` audit entry. */
  readonly auditSeq: number;
}

/**
 * One all-or-nothing import: rows are added in batches inside one transaction; `commit` makes all of them visible
 * at once, `abort` (or a crash) leaves nothing. While a session is open, other writes of this ledger wait.
 */
export interface ImportSession {
  readonly workOrder: WorkOrder;
  /** The pool key version rows must be sealed under (see ../keys `PoolKeyring.keyVersion`). */
  readonly keyVersion: number;
  /** Rows added so far (refused rows included). */
  readonly added: number;
  /** Adds rows; returns the refused ones. A session with any refusal cannot commit. */
  add(rows: readonly SealedRow[]): Promise<readonly LedgerRowIssue[]>;
  /** `import.rejected` if any row was refused, `import.over_quantity` past the work order's quantity. */
  commit(): Promise<ImportSummary>;
  abort(): Promise<void>;
}

export interface LedgerCounts {
  /** All triads of the pool by state (all seven keys, zeros included). */
  readonly total: StateCounts;
  /** Every work order, each with all seven keys. */
  readonly byWorkOrder: Readonly<Record<string, StateCounts>>;
}

/** The pool data key of one version, wrapped for one station (see ../keys). */
export interface WrappedPoolKey {
  readonly version: number;
  readonly stationId: string;
  readonly wrapped: Uint8Array;
  readonly createdAt: number;
}

export interface StationRecord {
  readonly stationId: string;
  /** Ed25519 checkpoint public key. */
  readonly publicKey: Uint8Array;
  readonly createdAt: number;
}

export interface TriadQuery {
  readonly workOrderId?: string;
  readonly states?: readonly TriadState[];
  /** Continue after this triad id (import order). */
  readonly afterId?: string;
  /** Default 1000. */
  readonly limit?: number;
}

export interface ResealedSecret {
  readonly sealedSecret: Uint8Array;
  readonly secretFingerprint: string;
}

/** Re-seals every sealed thing of the pool under the next key version (see `Ledger.rekey`). */
export interface Resealer {
  secret(triadId: string, sealedSecret: Uint8Array): ResealedSecret;
  pop(triadId: string, sealedPop: Uint8Array): Uint8Array;
  anchorSeed(sealedSeed: Uint8Array): Uint8Array;
}

export interface RekeyResult {
  /** Secrets re-sealed. */
  readonly resealed: number;
  /** PoPs re-sealed (schema v2). */
  readonly resealedPops: number;
  readonly stationsToRegrant: readonly string[];
}

/**
 * The ledger of one pool, opened as one station (whose audit chain it writes). Every mutation takes an Actor whose
 * stationId is this station's, and writes its audit entry in the same transaction.
 */
export interface Ledger extends AuditSource {
  readonly poolId: string;
  readonly stationId: string;

  addWorkOrder(order: NewWorkOrder, actor: Actor): Promise<WorkOrder>;
  getWorkOrder(id: string): Promise<WorkOrder | undefined>;
  listWorkOrders(): Promise<readonly WorkOrder[]>;

  beginImport(workOrderId: string, source: ImportSource, actor: Actor): Promise<ImportSession>;

  getTriad(id: string): Promise<TriadRecord | undefined>;
  /** By any identity key of `identity` (Alibaba ProductKey/DeviceName, or a Genie WiFi/BLE MAC). */
  findTriad(identity: TriadIdentity): Promise<TriadRecord | undefined>;
  listTriads(query?: TriadQuery): Promise<readonly TriadRecord[]>;
  /** Atomically takes the work order's first available triad (import order); `ledger.pool_exhausted` if none. */
  reserve(workOrderId: string, actor: Actor): Promise<TriadRecord>;
  transition(triadId: string, request: TransitionRequest): Promise<TriadRecord>;
  /** `reserved`/`quarantined` → `available`, by a recorded human decision. */
  release(triadId: string, decision: HumanDecision, actor: Actor): Promise<TriadRecord>;
  counts(): Promise<LedgerCounts>;

  stations(): Promise<readonly StationRecord[]>;
  poolKeys(): Promise<readonly WrappedPoolKey[]>;
  /** Stores the first pool key (version 1) unless the pool has one already (then false). Audit `keys.create`. */
  createPoolKey(wrapped: WrappedPoolKey, actor: Actor): Promise<boolean>;
  /** Registers another station and stores the pool keys wrapped for it. Audit `keys.grant`. */
  grantStation(
    station: StationRecord,
    wrapped: readonly WrappedPoolKey[],
    actor: Actor,
    options?: { readonly line?: string },
  ): Promise<void>;
  /**
   * Drops every pool key wrap of another station (its station row and audit chain stay); returns the key versions
   * it held. Audit `keys.revoke`. It may have kept the unwrapped key: only `rekey` takes that away.
   */
  revokeStation(stationId: string, actor: Actor): Promise<readonly number[]>;
  /**
   * Key rotation, in one transaction: stores `next` (a new version, wrapped for this station), re-seals every
   * secret, PoP and the factory anchor seed through `reseal`, drops the older versions' wraps. Audit `keys.rotate`
   * with the stations that lost access.
   */
  rekey(next: WrappedPoolKey, reseal: Resealer, actor: Actor): Promise<RekeyResult>;

  /**
   * Links a `reserved` triad held by this station to the device it is about to be written to, with the device's
   * sealed PoP (audit `device.link`). Linking it again to the same chip replaces the link (a new record, a new
   * PoP); another chip is refused, and so is a chip that has another active link (`factory.record_mismatch`).
   */
  linkDevice(triadId: string, link: NewDeviceLink, actor: Actor): Promise<DeviceLink>;
  deviceLink(triadId: string): Promise<DeviceLink | undefined>;
  /**
   * Marks a triad's link as no longer on its device, without touching the triad's state (audit `device.link`):
   * e.g. the chip came back blank while its triad was already quarantined. `ledger.unknown_triad` without a link.
   */
  setDeviceLinkStatus(
    triadId: string,
    status: Exclude<DeviceLinkStatus, "active">,
    reason: string,
    actor: Actor,
  ): Promise<DeviceLink>;
  /** Every link of a chip, oldest first: a reworked device has voided links before its active one. */
  deviceLinksByChip(chipId: string): Promise<readonly DeviceLink[]>;
  factoryAnchor(): Promise<FactoryAnchorRecord | undefined>;
  /** Stores the pool's anchor unless it has one (then false: use the stored one). Audit `anchor.create`. */
  createFactoryAnchor(anchor: FactoryAnchorRecord, actor: Actor): Promise<boolean>;

  /**
   * Smart-shelf devices (schema v3), all or nothing in one transaction: any refused row (bad value, a code already
   * in the ledger or twice in the rows, a store under another brand) writes nothing and comes back as an issue.
   * One `shelf.import` audit entry for the whole set.
   */
  importShelfDevices(rows: readonly ShelfImportRow[], source: ShelfSource, actor: Actor): Promise<ShelfImportResult>;
  /** What `importShelfDevices` would refuse of these rows, without writing anything. */
  checkShelfDevices(rows: readonly ShelfImportRow[]): Promise<readonly ShelfRowIssue[]>;
  /** By its current code or any code it had. */
  shelfDevice(deviceCode: string): Promise<ShelfDevice | undefined>;
  shelfDeviceOfChip(chipId: string): Promise<ShelfDevice | undefined>;
  listShelfDevices(query?: ShelfQuery): Promise<readonly ShelfDevice[]>;
  /** Every code the device with this (current or earlier) code had, oldest first. */
  shelfCodeHistory(deviceCode: string): Promise<readonly ShelfCodeRecord[]>;
  shelfStores(brand?: string): Promise<readonly ShelfStore[]>;
  /** How many unassigned `pending_activation` devices the brand or store has. */
  availableShelfDevices(selector: ShelfSelector): Promise<number>;
  /**
   * The chip's shelf device: the one it holds already (same brand/store; else `shelf.chip_assigned`), or the
   * earliest unassigned one of the brand or store, now held by the chip (audit `shelf.assign`); `shelf.no_code`
   * when there is none.
   */
  assignShelfDevice(chipId: string, selector: ShelfSelector, actor: Actor): Promise<ShelfDevice>;
  /** `pending_activation` → `activated` with the evidence (audit `shelf.activate`); an activated one is returned as is. */
  activateShelfDevice(deviceCode: string, activation: ShelfActivation, actor: Actor): Promise<ShelfDevice>;
  /** The device's code is now `newCode`; the old one is kept in its history, never reused (`shelf.code_change`). */
  changeShelfCode(
    deviceCode: string,
    newCode: string,
    source: ShelfCodeSource,
    note: string | undefined,
    actor: Actor,
  ): Promise<ShelfDevice>;
  /** A held, not activated code back to the unassigned ones, by a recorded human decision (`shelf.release`). */
  releaseShelfDevice(deviceCode: string, decision: HumanDecision, actor: Actor): Promise<ShelfDevice>;

  /** Appends an entry for something outside the ledger (export, report, …). */
  appendAudit(actor: Actor, event: AuditEvent): Promise<AuditEntry>;
  /** Signs and stores a checkpoint of this station's chain head (for exports and reports). */
  checkpoint(): Promise<AuditCheckpoint>;

  close(): Promise<void>;
}
