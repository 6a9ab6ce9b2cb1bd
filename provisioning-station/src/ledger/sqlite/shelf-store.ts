/**
 * Schema v3 in SQLite: smart-shelf brands, stores, devices with their device codes and code history, the chip and
 * triad each device went to, and activation. Writers run inside the ledger's write transactions (BEGIN IMMEDIATE:
 * two fixtures never take the same code) with their audit entry.
 */
import { TriadkitError } from "@triadkit/protocol";
import type Database from "better-sqlite3";
import type { AuditDetails } from "../../audit/types.js";
import {
  checkChipId,
  checkDeviceCode,
  checkShelfName,
  checkStoreId,
  type ShelfActivation,
  type ShelfCodeRecord,
  type ShelfCodeSource,
  type ShelfDevice,
  type ShelfImportResult,
  type ShelfImportRow,
  type ShelfQuery,
  type ShelfRowIssue,
  type ShelfSelector,
  type ShelfSource,
  type ShelfStore,
} from "../shelf.js";
import {
  activationEvidence,
  attachDetails,
  type CodeRow,
  checkAttach,
  checkShelfImport,
  chipAssignedError,
  codeExistsError,
  codeFromRow,
  type DeviceRow,
  deviceFromRow,
  matchesSelector,
  noCodeError,
  notCurrentCodeError,
  releaseRefusal,
  SELECT_DEVICE,
  type StoreRow,
  shelfActivateEvent,
  shelfAssignEvent,
  shelfCodeChangeEvent,
  shelfImportEvent,
  shelfReleaseEvent,
  storeFromRow,
  unknownCodeError,
} from "../shelf-rows.js";
import type { Actor, HumanDecision } from "../types.js";
import type { AuditAppend } from "./triad-writes.js";

function deviceBySeq(db: Database.Database, seq: number): ShelfDevice {
  return deviceFromRow(db.prepare(`${SELECT_DEVICE} WHERE d.seq = ?`).get(seq) as DeviceRow);
}

/** By its current code, or by any code it had. */
export function readShelfDevice(db: Database.Database, code: string): ShelfDevice | undefined {
  const row = db
    .prepare(`${SELECT_DEVICE} WHERE d.seq = (SELECT device_seq FROM shelf_codes WHERE code = ?)`)
    .get(code) as DeviceRow | undefined;
  return row === undefined ? undefined : deviceFromRow(row);
}

export function readShelfDeviceOfChip(db: Database.Database, chipId: string): ShelfDevice | undefined {
  const row = db.prepare(`${SELECT_DEVICE} WHERE d.chip_id = ?`).get(chipId) as DeviceRow | undefined;
  return row === undefined ? undefined : deviceFromRow(row);
}

export function queryShelfDevices(db: Database.Database, query: ShelfQuery): ShelfDevice[] {
  const where: string[] = ["d.seq > ?"];
  const args: unknown[] = [query.afterSeq ?? 0];
  if (query.brand !== undefined) {
    where.push("s.brand = ?");
    args.push(query.brand);
  }
  if (query.storeId !== undefined) {
    where.push("d.store_id = ?");
    args.push(query.storeId);
  }
  if (query.status !== undefined) {
    where.push(`d.status IN (${query.status.map(() => "?").join(", ") || "NULL"})`);
    args.push(...query.status);
  }
  if (query.assigned !== undefined) where.push(query.assigned ? "d.chip_id IS NOT NULL" : "d.chip_id IS NULL");
  const sql = `${SELECT_DEVICE} WHERE ${where.join(" AND ")} ORDER BY d.seq LIMIT ?`;
  return (db.prepare(sql).all(...args, query.limit ?? 1000) as DeviceRow[]).map(deviceFromRow);
}

export function readShelfCodeHistory(db: Database.Database, code: string): ShelfCodeRecord[] {
  const rows = db
    .prepare(
      `SELECT * FROM shelf_codes WHERE device_seq = (SELECT device_seq FROM shelf_codes WHERE code = ?)
       ORDER BY valid_from, valid_to IS NULL, code`,
    )
    .all(code) as CodeRow[];
  return rows.map(codeFromRow);
}

export function readShelfStores(db: Database.Database, brand?: string): ShelfStore[] {
  const rows = db
    .prepare(`SELECT * FROM shelf_stores ${brand === undefined ? "" : "WHERE brand = ?"} ORDER BY store_id`)
    .all(...(brand === undefined ? [] : [brand])) as StoreRow[];
  return rows.map(storeFromRow);
}

function selectorWhere(selector: ShelfSelector): { sql: string; arg: string | number; text: string } {
  return "brand" in selector
    ? { sql: "s.brand = ?", arg: selector.brand, text: `brand ${selector.brand}` }
    : { sql: "d.store_id = ?", arg: selector.storeId, text: `store ${selector.storeId}` };
}

/** Unassigned `pending_activation` devices `burn --shelf` could still take. */
export function countAvailableShelf(db: Database.Database, selector: ShelfSelector): number {
  const w = selectorWhere(selector);
  const { n } = db
    .prepare(
      `SELECT count(*) AS n FROM shelf_devices d JOIN shelf_stores s ON s.store_id = d.store_id
       WHERE ${w.sql} AND d.chip_id IS NULL AND d.status = 'pending_activation'`,
    )
    .get(w.arg) as { n: number };
  return n;
}

/** Checks every row against the sheet itself and the ledger; writes nothing. */
function checkImport(db: Database.Database, rows: readonly ShelfImportRow[]) {
  const codeKnown = db.prepare("SELECT 1 FROM shelf_codes WHERE code = ?");
  const storeOf = db.prepare("SELECT brand FROM shelf_stores WHERE store_id = ?");
  return checkShelfImport(rows, {
    codeKnown: (code) => codeKnown.get(code) !== undefined,
    storeBrand: (storeId) => (storeOf.get(storeId) as { brand: string } | undefined)?.brand,
  });
}

/** What the ledger would refuse of these rows (read only). */
export function checkShelfRows(db: Database.Database, rows: readonly ShelfImportRow[]): ShelfRowIssue[] {
  return checkImport(db, rows).issues.sort((a, b) => a.row - b.row);
}

/** All rows or none: any issue returns `ok: false` and nothing is written. */
export function importShelfTx(
  db: Database.Database,
  rows: readonly ShelfImportRow[],
  source: ShelfSource,
  actor: Actor,
  now: number,
  audit: AuditAppend,
): ShelfImportResult {
  if (rows.length === 0) throw new TriadkitError("import.empty_file", "no shelf devices to add");
  const { issues, good } = checkImport(db, rows);
  if (issues.length > 0) return { ok: false, issues: issues.sort((a, b) => a.row - b.row) };
  const newBrands: string[] = [];
  const newStores: number[] = [];
  const insertBrand = db.prepare("INSERT OR IGNORE INTO shelf_brands (name, created_at) VALUES (?, ?)");
  const storeOf = db.prepare("SELECT name FROM shelf_stores WHERE store_id = ?");
  const insertStore = db.prepare(
    "INSERT INTO shelf_stores (store_id, brand, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
  );
  const renameStore = db.prepare("UPDATE shelf_stores SET name = ?, updated_at = ? WHERE store_id = ?");
  const insertDevice = db.prepare(
    `INSERT INTO shelf_devices (store_id, code, name, status, created_at, updated_at)
     VALUES (?, ?, ?, 'pending_activation', ?, ?)`,
  );
  const insertCode = db.prepare(
    "INSERT INTO shelf_codes (code, device_seq, source, valid_from, note) VALUES (?, ?, ?, ?, ?)",
  );
  const note = source.via === "import" ? `${source.fileName} row ` : undefined;
  const seqs: number[] = [];
  for (const { row, device } of good) {
    if (insertBrand.run(device.brand, now).changes > 0) newBrands.push(device.brand);
    const store = storeOf.get(device.storeId) as { name: string | null } | undefined;
    if (store === undefined) {
      insertStore.run(device.storeId, device.brand, device.storeName ?? null, now, now);
      newStores.push(device.storeId);
    } else if (device.storeName !== undefined && device.storeName !== store.name) {
      renameStore.run(device.storeName, now, device.storeId);
    }
    const seq = Number(
      insertDevice.run(device.storeId, device.deviceCode, device.deviceName ?? null, now, now).lastInsertRowid,
    );
    insertCode.run(device.deviceCode, seq, source.via, now, note === undefined ? null : `${note}${row}`);
    seqs.push(seq);
  }
  const devices = seqs.map((s) => deviceBySeq(db, s));
  const entry = audit(actor, shelfImportEvent(devices, source, newBrands, newStores));
  return { ok: true, imported: devices.length, devices, newBrands, newStores, auditSeq: entry.seq };
}

/**
 * The chip's device code: the one it already holds (a board burnt again keeps its code), else the earliest
 * unassigned `pending_activation` device of the brand or store, now held by the chip (audit `shelf.assign`).
 */
export function assignShelfTx(
  db: Database.Database,
  chipId: string,
  selector: ShelfSelector,
  actor: Actor,
  now: number,
  audit: AuditAppend,
): ShelfDevice {
  checkChipId(chipId);
  if ("brand" in selector) checkShelfName(selector.brand, "brand");
  else checkStoreId(selector.storeId);
  const w = selectorWhere(selector);
  const held = readShelfDeviceOfChip(db, chipId);
  if (held !== undefined) {
    if (matchesSelector(held, selector)) return held;
    throw chipAssignedError(chipId, held, selector);
  }
  const pick = db
    .prepare(
      `SELECT d.seq FROM shelf_devices d JOIN shelf_stores s ON s.store_id = d.store_id
       WHERE ${w.sql} AND d.chip_id IS NULL AND d.status = 'pending_activation' ORDER BY d.seq LIMIT 1`,
    )
    .get(w.arg) as { seq: number } | undefined;
  if (pick === undefined) throw noCodeError(selector);
  db.prepare("UPDATE shelf_devices SET chip_id = ?, assigned_at = ?, updated_at = ? WHERE seq = ?").run(
    chipId,
    now,
    now,
    pick.seq,
  );
  const device = deviceBySeq(db, pick.seq);
  audit(actor, shelfAssignEvent(chipId, device, selector));
  return device;
}

/**
 * Inside `linkDevice`: the shelf device named in the record must be the one this chip holds; it is linked to the
 * triad being written (replacing an earlier triad of the same chip: a reworked board keeps its code).
 */
export function attachShelfTriad(
  db: Database.Database,
  triadId: string,
  chipId: string,
  shelf: { readonly storeId: number; readonly deviceCode: string },
  now: number,
): AuditDetails {
  const device = checkAttach(readShelfDevice(db, shelf.deviceCode), chipId, shelf);
  db.prepare("UPDATE shelf_devices SET triad_id = ?, updated_at = ? WHERE seq = ?").run(triadId, now, device.seq);
  return attachDetails(device, triadId);
}

/** A scrapped board gives its not-yet-activated code back (an activated code stays where the store has it). */
export function releaseShelfOfChip(db: Database.Database, chipId: string, now: number): AuditDetails | undefined {
  const held = readShelfDeviceOfChip(db, chipId);
  if (held === undefined || held.status !== "pending_activation") return undefined;
  releaseHeld(db, held.seq, now);
  return { released: true, storeId: held.storeId, deviceCode: held.deviceCode };
}

function currentDevice(db: Database.Database, code: string): ShelfDevice {
  const device = readShelfDevice(db, code);
  if (device === undefined) throw unknownCodeError(code);
  return device;
}

/** `pending_activation` → `activated` with the evidence (audit `shelf.activate`); already activated: unchanged. */
export function activateShelfTx(
  db: Database.Database,
  code: string,
  activation: ShelfActivation,
  actor: Actor,
  now: number,
  audit: AuditAppend,
): ShelfDevice {
  const device = currentDevice(db, code);
  if (device.status === "activated") return device;
  const evidence = activationEvidence(activation);
  db.prepare(
    "UPDATE shelf_devices SET status = 'activated', activated_at = ?, evidence = ?, updated_at = ? WHERE seq = ?",
  ).run(activation.observedAt, JSON.stringify(evidence), now, device.seq);
  audit(actor, shelfActivateEvent(device, evidence));
  return deviceBySeq(db, device.seq);
}

/** The device's code changed (usually after activation): the old one is closed, never reused (`shelf.code_change`). */
export function changeShelfCodeTx(
  db: Database.Database,
  code: string,
  newCode: string,
  source: ShelfCodeSource,
  note: string | undefined,
  actor: Actor,
  now: number,
  audit: AuditAppend,
): ShelfDevice {
  checkDeviceCode(newCode, "new device code");
  const device = currentDevice(db, code);
  if (device.deviceCode !== code) throw notCurrentCodeError(code, device);
  if (db.prepare("SELECT 1 FROM shelf_codes WHERE code = ?").get(newCode) !== undefined) {
    throw codeExistsError(newCode);
  }
  const text = note?.trim();
  db.prepare("UPDATE shelf_codes SET valid_to = ? WHERE code = ?").run(now, code);
  db.prepare("INSERT INTO shelf_codes (code, device_seq, source, valid_from, note) VALUES (?, ?, ?, ?, ?)").run(
    newCode,
    device.seq,
    source,
    now,
    text === undefined || text === "" ? null : text,
  );
  db.prepare("UPDATE shelf_devices SET code = ?, updated_at = ? WHERE seq = ?").run(newCode, now, device.seq);
  const after = deviceBySeq(db, device.seq);
  audit(actor, shelfCodeChangeEvent(device, after, code, newCode, source, text));
  return after;
}

/**
 * A human decision: a `pending_activation` code held by a chip goes back to the unassigned ones (a board that kept
 * it was never burnt, or was reworked and is used elsewhere). Refused while the code may be on a board: its
 * triad's device link is still active (rework `--revoke` or scrap the board first), or once activated.
 */
export function releaseShelfTx(
  db: Database.Database,
  code: string,
  decision: HumanDecision,
  actor: Actor,
  now: number,
  audit: AuditAppend,
): ShelfDevice {
  if (decision.operator.trim() === "" || decision.reason.trim() === "") {
    throw new TriadkitError("config.invalid", "a human decision needs an operator and a reason");
  }
  const device = currentDevice(db, code);
  if (device.chipId === undefined) return device;
  const link =
    device.triadId === undefined
      ? undefined
      : (db.prepare("SELECT status FROM device_links WHERE triad_id = ?").get(device.triadId) as
          | { status: string }
          | undefined);
  const refusal = releaseRefusal(device, link?.status);
  if (refusal !== undefined) throw refusal;
  releaseHeld(db, device.seq, now);
  audit(actor, shelfReleaseEvent(device, decision));
  return deviceBySeq(db, device.seq);
}

function releaseHeld(db: Database.Database, seq: number, now: number): void {
  db.prepare(
    "UPDATE shelf_devices SET chip_id = NULL, triad_id = NULL, assigned_at = NULL, updated_at = ? WHERE seq = ?",
  ).run(now, seq);
}
