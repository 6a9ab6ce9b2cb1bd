/**
 * Smart-shelf devices in PostgreSQL (schema v3 of the SQLite ledger, same rules: ../shelf-rows.ts). Writers run in
 * PgLedger's transactions; `assign` takes the earliest free code with FOR UPDATE SKIP LOCKED, so two fixtures of
 * two stations never take the same code.
 */
import { TriadkitError } from "@triadkit/protocol";
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
  shelfRowKeys,
  storeFromRow,
  unknownCodeError,
} from "../shelf-rows.js";
import type { Actor, HumanDecision } from "../types.js";
import { all, type Db, one } from "./pg-schema.js";
import type { PgAuditAppend } from "./pg-triads.js";

async function deviceBySeq(db: Db, seq: number): Promise<ShelfDevice> {
  return deviceFromRow((await one<DeviceRow>(db, `${SELECT_DEVICE} WHERE d.seq = $1`, [seq])) as DeviceRow);
}

export async function readShelfDevicePg(db: Db, code: string): Promise<ShelfDevice | undefined> {
  const row = await one<DeviceRow>(
    db,
    `${SELECT_DEVICE} WHERE d.seq = (SELECT device_seq FROM shelf_codes WHERE code = $1)`,
    [code],
  );
  return row === undefined ? undefined : deviceFromRow(row);
}

export async function readShelfDeviceOfChipPg(db: Db, chipId: string): Promise<ShelfDevice | undefined> {
  const row = await one<DeviceRow>(db, `${SELECT_DEVICE} WHERE d.chip_id = $1`, [chipId]);
  return row === undefined ? undefined : deviceFromRow(row);
}

export async function queryShelfDevicesPg(db: Db, query: ShelfQuery): Promise<ShelfDevice[]> {
  const args: unknown[] = [];
  const arg = (v: unknown) => {
    args.push(v);
    return `$${args.length}`;
  };
  const where: string[] = [`d.seq > ${arg(query.afterSeq ?? 0)}`];
  if (query.brand !== undefined) where.push(`s.brand = ${arg(query.brand)}`);
  if (query.storeId !== undefined) where.push(`d.store_id = ${arg(query.storeId)}`);
  if (query.status !== undefined) where.push(`d.status = ANY(${arg([...query.status])}::text[])`);
  if (query.assigned !== undefined) where.push(query.assigned ? "d.chip_id IS NOT NULL" : "d.chip_id IS NULL");
  const sql = `${SELECT_DEVICE} WHERE ${where.join(" AND ")} ORDER BY d.seq LIMIT ${arg(query.limit ?? 1000)}`;
  return (await all<DeviceRow>(db, sql, args)).map(deviceFromRow);
}

export async function readShelfCodeHistoryPg(db: Db, code: string): Promise<ShelfCodeRecord[]> {
  const rows = await all<CodeRow>(
    db,
    `SELECT * FROM shelf_codes WHERE device_seq = (SELECT device_seq FROM shelf_codes WHERE code = $1)
     ORDER BY valid_from, valid_to IS NULL, code`,
    [code],
  );
  return rows.map(codeFromRow);
}

export async function readShelfStoresPg(db: Db, brand?: string): Promise<ShelfStore[]> {
  const rows =
    brand === undefined
      ? await all<StoreRow>(db, "SELECT * FROM shelf_stores ORDER BY store_id")
      : await all<StoreRow>(db, "SELECT * FROM shelf_stores WHERE brand = $1 ORDER BY store_id", [brand]);
  return rows.map(storeFromRow);
}

function selectorSql(selector: ShelfSelector): { sql: string; arg: string | number } {
  return "brand" in selector
    ? { sql: "s.brand = $1", arg: selector.brand }
    : { sql: "d.store_id = $1", arg: selector.storeId };
}

export async function countAvailableShelfPg(db: Db, selector: ShelfSelector): Promise<number> {
  const w = selectorSql(selector);
  const row = await one<{ n: number }>(
    db,
    `SELECT count(*) AS n FROM shelf_devices d JOIN shelf_stores s ON s.store_id = d.store_id
     WHERE ${w.sql} AND d.chip_id IS NULL AND d.status = 'pending_activation'`,
    [w.arg],
  );
  return row?.n ?? 0;
}

/** The shared check, with the ledger's codes and stores of these rows fetched first. */
async function checkImport(db: Db, rows: readonly ShelfImportRow[]) {
  const keys = shelfRowKeys(rows);
  const known = new Set(
    (await all<{ code: string }>(db, "SELECT code FROM shelf_codes WHERE code = ANY($1::text[])", [keys.codes])).map(
      (r) => r.code,
    ),
  );
  const brands = new Map(
    (
      await all<{ store_id: number; brand: string }>(
        db,
        "SELECT store_id, brand FROM shelf_stores WHERE store_id = ANY($1::bigint[])",
        [keys.storeIds],
      )
    ).map((r) => [r.store_id, r.brand]),
  );
  return checkShelfImport(rows, { codeKnown: (c) => known.has(c), storeBrand: (id) => brands.get(id) });
}

export async function checkShelfRowsPg(db: Db, rows: readonly ShelfImportRow[]): Promise<ShelfRowIssue[]> {
  return (await checkImport(db, rows)).issues.sort((a, b) => a.row - b.row);
}

/** All rows or none (a concurrent import of the same code fails on its unique key and is retried, then refused). */
export async function importShelfPg(
  db: Db,
  rows: readonly ShelfImportRow[],
  source: ShelfSource,
  actor: Actor,
  now: number,
  audit: PgAuditAppend,
): Promise<ShelfImportResult> {
  if (rows.length === 0) throw new TriadkitError("import.empty_file", "no shelf devices to add");
  const { issues, good } = await checkImport(db, rows);
  if (issues.length > 0) return { ok: false, issues: issues.sort((a, b) => a.row - b.row) };
  const newBrands: string[] = [];
  const newStores: number[] = [];
  const note = source.via === "import" ? `${source.fileName} row ` : undefined;
  const seqs: number[] = [];
  for (const { row, device } of good) {
    const brand = await db.query("INSERT INTO shelf_brands (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING", [
      device.brand,
      now,
    ]);
    if (brand.rowCount === 1) newBrands.push(device.brand);
    const store = await one<{ name: string | null }>(
      db,
      "SELECT name FROM shelf_stores WHERE store_id = $1 FOR UPDATE",
      [device.storeId],
    );
    if (store === undefined) {
      await db.query(
        "INSERT INTO shelf_stores (store_id, brand, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
        [device.storeId, device.brand, device.storeName ?? null, now],
      );
      newStores.push(device.storeId);
    } else if (device.storeName !== undefined && device.storeName !== store.name) {
      await db.query("UPDATE shelf_stores SET name = $1, updated_at = $2 WHERE store_id = $3", [
        device.storeName,
        now,
        device.storeId,
      ]);
    }
    const inserted = (await one<{ seq: number }>(
      db,
      `INSERT INTO shelf_devices (store_id, code, name, status, created_at, updated_at)
       VALUES ($1, $2, $3, 'pending_activation', $4, $4) RETURNING seq`,
      [device.storeId, device.deviceCode, device.deviceName ?? null, now],
    )) as { seq: number };
    await db.query("INSERT INTO shelf_codes (code, device_seq, source, valid_from, note) VALUES ($1, $2, $3, $4, $5)", [
      device.deviceCode,
      inserted.seq,
      source.via,
      now,
      note === undefined ? null : `${note}${row}`,
    ]);
    seqs.push(inserted.seq);
  }
  const devices: ShelfDevice[] = [];
  for (const s of seqs) devices.push(await deviceBySeq(db, s));
  const entry = await audit(actor, shelfImportEvent(devices, source, newBrands, newStores));
  return { ok: true, imported: devices.length, devices, newBrands, newStores, auditSeq: entry.seq };
}

export async function assignShelfPg(
  db: Db,
  chipId: string,
  selector: ShelfSelector,
  actor: Actor,
  now: number,
  audit: PgAuditAppend,
): Promise<ShelfDevice> {
  checkChipId(chipId);
  if ("brand" in selector) checkShelfName(selector.brand, "brand");
  else checkStoreId(selector.storeId);
  const held = await readShelfDeviceOfChipPg(db, chipId);
  if (held !== undefined) {
    if (matchesSelector(held, selector)) return held;
    throw chipAssignedError(chipId, held, selector);
  }
  const w = selectorSql(selector);
  const pick = `SELECT d.seq FROM shelf_devices d JOIN shelf_stores s ON s.store_id = d.store_id
     WHERE ${w.sql} AND d.chip_id IS NULL AND d.status = 'pending_activation' ORDER BY d.seq LIMIT 1 FOR UPDATE OF d`;
  // As `reserve`: a code no other transaction holds, else wait for the first held one.
  const row =
    (await one<{ seq: number }>(db, `${pick} SKIP LOCKED`, [w.arg])) ?? (await one<{ seq: number }>(db, pick, [w.arg]));
  if (row === undefined) throw noCodeError(selector);
  // A concurrent assignment of this chip elsewhere fails on the one-code-per-chip index (23505) and is not retried.
  await db.query("UPDATE shelf_devices SET chip_id = $1, assigned_at = $2, updated_at = $2 WHERE seq = $3", [
    chipId,
    now,
    row.seq,
  ]);
  const device = await deviceBySeq(db, row.seq);
  await audit(actor, shelfAssignEvent(chipId, device, selector));
  return device;
}

/** Inside `linkDevice`: the shelf device named in the record must be the one this chip holds. */
export async function attachShelfTriadPg(
  db: Db,
  triadId: string,
  chipId: string,
  shelf: { readonly storeId: number; readonly deviceCode: string },
  now: number,
): Promise<AuditDetails> {
  const device = checkAttach(await readShelfDevicePg(db, shelf.deviceCode), chipId, shelf);
  await db.query("UPDATE shelf_devices SET triad_id = $1, updated_at = $2 WHERE seq = $3", [triadId, now, device.seq]);
  return attachDetails(device, triadId);
}

/** A scrapped board gives its not-yet-activated code back. */
export async function releaseShelfOfChipPg(db: Db, chipId: string, now: number): Promise<AuditDetails | undefined> {
  const held = await readShelfDeviceOfChipPg(db, chipId);
  if (held === undefined || held.status !== "pending_activation") return undefined;
  await releaseHeld(db, held.seq, now);
  return { released: true, storeId: held.storeId, deviceCode: held.deviceCode };
}

/** The device of a code, its row locked for the change. */
async function currentDevice(db: Db, code: string): Promise<ShelfDevice> {
  await db.query(
    "SELECT 1 FROM shelf_devices WHERE seq = (SELECT device_seq FROM shelf_codes WHERE code = $1) FOR UPDATE",
    [code],
  );
  const device = await readShelfDevicePg(db, code);
  if (device === undefined) throw unknownCodeError(code);
  return device;
}

export async function activateShelfPg(
  db: Db,
  code: string,
  activation: ShelfActivation,
  actor: Actor,
  now: number,
  audit: PgAuditAppend,
): Promise<ShelfDevice> {
  const device = await currentDevice(db, code);
  if (device.status === "activated") return device;
  const evidence = activationEvidence(activation);
  await db.query(
    "UPDATE shelf_devices SET status = 'activated', activated_at = $1, evidence = $2, updated_at = $3 WHERE seq = $4",
    [activation.observedAt, JSON.stringify(evidence), now, device.seq],
  );
  await audit(actor, shelfActivateEvent(device, evidence));
  return deviceBySeq(db, device.seq);
}

export async function changeShelfCodePg(
  db: Db,
  code: string,
  newCode: string,
  source: ShelfCodeSource,
  note: string | undefined,
  actor: Actor,
  now: number,
  audit: PgAuditAppend,
): Promise<ShelfDevice> {
  checkDeviceCode(newCode, "new device code");
  const device = await currentDevice(db, code);
  if (device.deviceCode !== code) throw notCurrentCodeError(code, device);
  if ((await one(db, "SELECT 1 FROM shelf_codes WHERE code = $1", [newCode])) !== undefined) {
    throw codeExistsError(newCode);
  }
  const text = note?.trim();
  await db.query("UPDATE shelf_codes SET valid_to = $1 WHERE code = $2", [now, code]);
  await db.query("INSERT INTO shelf_codes (code, device_seq, source, valid_from, note) VALUES ($1, $2, $3, $4, $5)", [
    newCode,
    device.seq,
    source,
    now,
    text === undefined || text === "" ? null : text,
  ]);
  await db.query("UPDATE shelf_devices SET code = $1, updated_at = $2 WHERE seq = $3", [newCode, now, device.seq]);
  const after = await deviceBySeq(db, device.seq);
  await audit(actor, shelfCodeChangeEvent(device, after, code, newCode, source, text));
  return after;
}

export async function releaseShelfPg(
  db: Db,
  code: string,
  decision: HumanDecision,
  actor: Actor,
  now: number,
  audit: PgAuditAppend,
): Promise<ShelfDevice> {
  if (decision.operator.trim() === "" || decision.reason.trim() === "") {
    throw new TriadkitError("config.invalid", "a human decision needs an operator and a reason");
  }
  const device = await currentDevice(db, code);
  if (device.chipId === undefined) return device;
  const link =
    device.triadId === undefined
      ? undefined
      : await one<{ status: string }>(db, "SELECT status FROM device_links WHERE triad_id = $1", [device.triadId]);
  const refusal = releaseRefusal(device, link?.status);
  if (refusal !== undefined) throw refusal;
  await releaseHeld(db, device.seq, now);
  await audit(actor, shelfReleaseEvent(device, decision));
  return deviceBySeq(db, device.seq);
}

async function releaseHeld(db: Db, seq: number, now: number): Promise<void> {
  await db.query(
    "UPDATE shelf_devices SET chip_id = NULL, triad_id = NULL, assigned_at = NULL, updated_at = $1 WHERE seq = $2",
    [now, seq],
  );
}
