/**
 * Triads, device links, the factory anchor, stations and pool keys in PostgreSQL. Writers run inside one
 * transaction of PgLedger.write with their audit entry (appended last). A triad about to change is locked
 * FOR UPDATE; `reserve` takes the first available triad that no other transaction holds (FOR UPDATE SKIP LOCKED),
 * so concurrent stations never get the same one and never queue behind each other.
 */
import { TriadkitError } from "@triadkit/protocol";
import type { AuditEntry, AuditEvent } from "../../audit/types.js";
import { describeIdentity, identityKeys } from "../identity.js";
import {
  checkChipFree,
  checkNewLink,
  checkRelink,
  type LinkRow,
  linkDetails,
  linkFromRow,
  linkStatusEvent,
  linkValues,
} from "../sqlite/device-store.js";
import { tallyCounts } from "../sqlite/queries.js";
import { type TriadRow, triadFromRow } from "../sqlite/rows.js";
import { checkTransition, transitionEvent, transitionReason } from "../state-machine.js";
import type {
  Actor,
  DeviceLink,
  DeviceLinkStatus,
  FactoryAnchorRecord,
  LedgerCounts,
  NewDeviceLink,
  Resealer,
  StateCounts,
  StationRecord,
  TransitionRequest,
  TriadIdentity,
  TriadQuery,
  TriadRecord,
  WrappedPoolKey,
} from "../types.js";
import { all, type Db, one, RetryTransaction } from "./pg-schema.js";
import { attachShelfTriadPg, releaseShelfOfChipPg } from "./pg-shelf.js";

export type PgAuditAppend = (actor: Actor, e: AuditEvent) => Promise<AuditEntry>;

const u8 = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

async function lockedTriad(db: Db, id: string): Promise<TriadRow> {
  const row = await one<TriadRow>(db, "SELECT * FROM triads WHERE id = $1 FOR UPDATE", [id]);
  if (row === undefined) throw new TriadkitError("ledger.unknown_triad", `no triad ${id}`, { triadId: id });
  return row;
}

export async function readTriad(db: Db, id: string): Promise<TriadRecord | undefined> {
  const row = await one<TriadRow>(db, "SELECT * FROM triads WHERE id = $1", [id]);
  return row === undefined ? undefined : triadFromRow(row);
}

export async function findTriadPg(db: Db, identity: TriadIdentity): Promise<TriadRecord | undefined> {
  for (const k of identityKeys(identity)) {
    const row = await one<TriadRow>(
      db,
      "SELECT t.* FROM triad_identities i JOIN triads t ON t.id = i.triad_id WHERE i.identity_key = $1",
      [k.key],
    );
    if (row !== undefined) return triadFromRow(row);
  }
  return undefined;
}

export async function queryTriadsPg(db: Db, query: TriadQuery): Promise<TriadRecord[]> {
  const where: string[] = [];
  const args: unknown[] = [];
  const arg = (v: unknown) => {
    args.push(v);
    return `$${args.length}`;
  };
  if (query.workOrderId !== undefined) where.push(`work_order_id = ${arg(query.workOrderId)}`);
  if (query.states !== undefined) where.push(`state = ANY(${arg([...query.states])}::text[])`);
  if (query.afterId !== undefined) {
    where.push(`seq > coalesce((SELECT seq FROM triads WHERE id = ${arg(query.afterId)}), 0)`);
  }
  const sql = `SELECT * FROM triads ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq LIMIT ${arg(query.limit ?? 1000)}`;
  return (await all<TriadRow>(db, sql, args)).map(triadFromRow);
}

export async function countTriadsPg(db: Db): Promise<LedgerCounts> {
  const ids = (await all<{ id: string }>(db, "SELECT id FROM work_orders")).map((r) => r.id);
  const rows = await all<{ w: string; s: keyof StateCounts; n: number }>(
    db,
    "SELECT work_order_id AS w, state AS s, count(*) AS n FROM triads GROUP BY work_order_id, state",
  );
  return tallyCounts(ids, rows);
}

export async function reservePg(
  db: Db,
  workOrderId: string,
  actor: Actor,
  now: number,
  audit: PgAuditAppend,
): Promise<TriadRecord> {
  // The first available triad no other transaction holds; when every one is held, wait for the first (its holder
  // commits or rolls back; a row no longer available is passed over), so "exhausted" is never said too early.
  const pick = `SELECT * FROM triads WHERE work_order_id = $1 AND state = 'available' ORDER BY seq LIMIT 1 FOR UPDATE`;
  const row =
    (await one<TriadRow>(db, `${pick} SKIP LOCKED`, [workOrderId])) ?? (await one<TriadRow>(db, pick, [workOrderId]));
  if (row === undefined) {
    if ((await one(db, "SELECT 1 FROM work_orders WHERE id = $1", [workOrderId])) === undefined) {
      throw new TriadkitError("ledger.unknown_work_order", `no work order ${workOrderId}`, { workOrderId });
    }
    throw new TriadkitError("ledger.pool_exhausted", `work order ${workOrderId} has no available triad left`, {
      workOrderId,
    });
  }
  const action = checkTransition(row.id, row.state, { to: "reserved" }, true);
  const updated = await one<TriadRow>(
    db,
    `UPDATE triads SET state = 'reserved', reason = NULL, holder_station = $1, holder_fixture = $2, updated_at = $3
     WHERE seq = $4 AND state = 'available' RETURNING *`,
    [actor.stationId, actor.fixture ?? null, now, row.seq],
  );
  if (updated === undefined) throw new RetryTransaction("the triad changed under its lock");
  const record = triadFromRow(updated);
  await audit(actor, {
    action,
    triadId: row.id,
    identity: describeIdentity(record.identity),
    details: { workOrderId, from: "available", to: "reserved" },
  });
  return record;
}

export async function transitionPg(
  db: Db,
  triadId: string,
  request: TransitionRequest,
  now: number,
  audit: PgAuditAppend,
): Promise<TriadRecord> {
  const row = await lockedTriad(db, triadId);
  const action = checkTransition(triadId, row.state, request);
  const reason = transitionReason(request);
  const toAvailable = request.to === "available";
  const updated = (await one<TriadRow>(
    db,
    `UPDATE triads SET state = $1, reason = $2, updated_at = $3,
       holder_station = CASE WHEN $4 THEN NULL ELSE holder_station END,
       holder_fixture = CASE WHEN $4 THEN NULL ELSE holder_fixture END
     WHERE seq = $5 RETURNING *`,
    [request.to, reason ?? null, now, toAvailable, row.seq],
  )) as TriadRow;
  const linked =
    request.linkStatus === undefined ? undefined : await setLinkStatusPg(db, triadId, request.linkStatus, now);
  const shelf =
    request.linkStatus === "scrapped" && linked !== undefined ? await releaseShelfOfChipPg(db, linked, now) : undefined;
  const record = triadFromRow(updated);
  await audit(request.actor, transitionEvent(action, row.state, record, request, linked, shelf));
  return record;
}

export async function readLinkPg(db: Db, triadId: string): Promise<DeviceLink | undefined> {
  const row = await one<LinkRow>(db, "SELECT * FROM device_links WHERE triad_id = $1", [triadId]);
  return row === undefined ? undefined : linkFromRow(row);
}

export async function readLinksByChipPg(db: Db, chipId: string): Promise<DeviceLink[]> {
  const rows = await all<LinkRow>(db, "SELECT * FROM device_links WHERE chip_id = $1 ORDER BY linked_at, triad_id", [
    chipId,
  ]);
  return rows.map(linkFromRow);
}

async function setLinkStatusPg(
  db: Db,
  triadId: string,
  status: DeviceLinkStatus,
  now: number,
): Promise<string | undefined> {
  const row = await one<{ chip_id: string }>(
    db,
    "UPDATE device_links SET status = $1, updated_at = $2 WHERE triad_id = $3 RETURNING chip_id",
    [status, now, triadId],
  );
  return row?.chip_id;
}

export async function linkDevicePg(
  db: Db,
  triadId: string,
  link: NewDeviceLink,
  actor: Actor,
  now: number,
  audit: PgAuditAppend,
): Promise<DeviceLink> {
  checkNewLink(link);
  const row = await lockedTriad(db, triadId);
  if (row.state !== "reserved" || row.holder_station !== actor.stationId) {
    throw new TriadkitError(
      "ledger.bad_transition",
      `triad ${triadId} is ${row.state}${row.holder_station === null ? "" : ` (held by ${row.holder_station})`}: ` +
        "a device is linked only to a triad this station has reserved",
      { triadId, state: row.state },
    );
  }
  const existing = await readLinkPg(db, triadId);
  checkRelink(triadId, link, existing);
  const other = await one<{ triad_id: string }>(
    db,
    "SELECT triad_id FROM device_links WHERE chip_id = $1 AND status = 'active' AND triad_id <> $2",
    [link.chipId, triadId],
  );
  checkChipFree(triadId, link, other?.triad_id);
  const fixture = link.fixture ?? actor.fixture;
  const stored = (await one<LinkRow>(
    db,
    `INSERT INTO device_links (triad_id, chip_id, wifi_mac, ble_mac, model, firmware, fixture, station_id,
       record_hash, written_at, sealed_pop, pop_salt, imei, iccid, imsi, status, linked_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'active', $16, $17)
     ON CONFLICT (triad_id) DO UPDATE SET chip_id = EXCLUDED.chip_id, wifi_mac = EXCLUDED.wifi_mac,
       ble_mac = EXCLUDED.ble_mac, model = EXCLUDED.model, firmware = EXCLUDED.firmware, fixture = EXCLUDED.fixture,
       station_id = EXCLUDED.station_id, record_hash = EXCLUDED.record_hash, written_at = EXCLUDED.written_at,
       sealed_pop = EXCLUDED.sealed_pop, pop_salt = EXCLUDED.pop_salt, imei = EXCLUDED.imei,
       iccid = EXCLUDED.iccid, imsi = EXCLUDED.imsi, status = 'active', updated_at = EXCLUDED.updated_at
     RETURNING *`,
    linkValues(
      triadId,
      { ...link, ...(fixture === undefined ? {} : { fixture }) },
      actor.stationId,
      existing?.linkedAt ?? now,
      now,
    ),
  )) as LinkRow;
  const shelf =
    link.shelf === undefined ? undefined : await attachShelfTriadPg(db, triadId, link.chipId, link.shelf, now);
  await audit(actor, {
    action: "device.link",
    triadId,
    identity: describeIdentity(triadFromRow(row).identity),
    details: { workOrderId: row.work_order_id, ...linkDetails(link), ...(shelf === undefined ? {} : { shelf }) },
  });
  return linkFromRow(stored);
}

export async function setLinkStatusTxPg(
  db: Db,
  triadId: string,
  status: Exclude<DeviceLinkStatus, "active">,
  reason: string,
  actor: Actor,
  now: number,
  audit: PgAuditAppend,
): Promise<DeviceLink> {
  const row = await lockedTriad(db, triadId);
  const before = await readLinkPg(db, triadId);
  if (before === undefined) {
    throw new TriadkitError("ledger.unknown_triad", `triad ${triadId} has no device link`, { triadId });
  }
  if (reason.trim() === "") throw new TriadkitError("config.invalid", "a reason is required");
  await setLinkStatusPg(db, triadId, status, now);
  const shelf = status === "scrapped" ? await releaseShelfOfChipPg(db, before.chipId, now) : undefined;
  await audit(actor, linkStatusEvent(triadFromRow(row), before, status, reason, shelf));
  return (await readLinkPg(db, triadId)) as DeviceLink;
}

export async function readAnchorPg(db: Db): Promise<FactoryAnchorRecord | undefined> {
  const row = await one<{ public_key: Buffer; sealed_seed: Buffer; created_at: number }>(
    db,
    "SELECT * FROM factory_anchor WHERE singleton = 1",
  );
  return row === undefined
    ? undefined
    : { publicKey: u8(row.public_key), sealedSeed: u8(row.sealed_seed), createdAt: row.created_at };
}

export async function insertAnchorPg(db: Db, anchor: FactoryAnchorRecord): Promise<boolean> {
  if (anchor.publicKey.length !== 32) throw new TriadkitError("config.invalid", "the anchor public key is 32 bytes");
  const { rowCount } = await db.query(
    `INSERT INTO factory_anchor (singleton, public_key, sealed_seed, created_at) VALUES (1, $1, $2, $3)
     ON CONFLICT DO NOTHING`,
    [Buffer.from(anchor.publicKey), Buffer.from(anchor.sealedSeed), anchor.createdAt],
  );
  return rowCount === 1;
}

export async function readStationsPg(db: Db): Promise<StationRecord[]> {
  const rows = await all<{ station_id: string; public_key: Buffer; created_at: number }>(
    db,
    "SELECT * FROM stations ORDER BY created_at, station_id",
  );
  return rows.map((r) => ({ stationId: r.station_id, publicKey: u8(r.public_key), createdAt: r.created_at }));
}

export async function readPoolKeysPg(db: Db): Promise<WrappedPoolKey[]> {
  const rows = await all<{ version: number; station_id: string; wrapped: Buffer; created_at: number }>(
    db,
    "SELECT * FROM pool_keys ORDER BY version, station_id",
  );
  return rows.map((r) => ({
    version: r.version,
    stationId: r.station_id,
    wrapped: u8(r.wrapped),
    createdAt: r.created_at,
  }));
}

/** Locks the pool row (key changes and station registration are serialised pool-wide; they are rare). */
export async function lockPool(db: Db): Promise<void> {
  await db.query("SELECT 1 FROM pool WHERE singleton = 1 FOR UPDATE");
}

export async function latestKeyVersionPg(db: Db): Promise<number> {
  return (await one<{ v: number }>(db, "SELECT coalesce(max(version), 0)::int AS v FROM pool_keys"))?.v ?? 0;
}

export async function storeWrapPg(db: Db, w: WrappedPoolKey): Promise<void> {
  await db.query(
    `INSERT INTO pool_keys (version, station_id, wrapped, created_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (version, station_id) DO UPDATE SET wrapped = EXCLUDED.wrapped, created_at = EXCLUDED.created_at`,
    [w.version, w.stationId, Buffer.from(w.wrapped), w.createdAt],
  );
}

/** As the SQLite ledger's registerStation: call with the pool row locked. True when inserted now. */
export async function registerStationPg(db: Db, station: StationRecord, onlyFirst: boolean): Promise<boolean> {
  const row = await one<{ public_key: Buffer }>(db, "SELECT public_key FROM stations WHERE station_id = $1", [
    station.stationId,
  ]);
  if (row !== undefined) {
    if (!row.public_key.equals(Buffer.from(station.publicKey))) {
      throw new TriadkitError("keys.wrong_key", `another key is registered for station ${station.stationId}`, {
        stationId: station.stationId,
      });
    }
    return false;
  }
  if (onlyFirst && (await one(db, "SELECT 1 FROM stations LIMIT 1")) !== undefined) {
    throw new TriadkitError(
      "keys.wrong_key",
      `station ${station.stationId} is not a member of this pool: another station's key file, or never granted`,
      { stationId: station.stationId },
    );
  }
  await db.query("INSERT INTO stations (station_id, public_key, created_at) VALUES ($1, $2, $3)", [
    station.stationId,
    Buffer.from(station.publicKey),
    station.createdAt,
  ]);
  return true;
}

/** Re-seals every secret, PoP and the anchor seed (pages of 1000, in the rekey transaction). */
export async function resealAllPg(db: Db, reseal: Resealer): Promise<{ resealed: number; resealedPops: number }> {
  let resealed = 0;
  for (let after = 0; ; ) {
    const rows = await all<{ seq: number; id: string; sealed_secret: Buffer }>(
      db,
      "SELECT seq, id, sealed_secret FROM triads WHERE seq > $1 ORDER BY seq LIMIT 1000 FOR UPDATE",
      [after],
    );
    for (const r of rows) {
      const s = reseal.secret(r.id, u8(r.sealed_secret));
      await db.query("UPDATE triads SET sealed_secret = $1, secret_fp = $2 WHERE seq = $3", [
        Buffer.from(s.sealedSecret),
        Buffer.from(s.secretFingerprint, "hex"),
        r.seq,
      ]);
      resealed++;
      after = r.seq;
    }
    if (rows.length < 1000) break;
  }
  let resealedPops = 0;
  for (let after = ""; ; ) {
    const rows = await all<{ triad_id: string; sealed_pop: Buffer }>(
      db,
      "SELECT triad_id, sealed_pop FROM device_links WHERE triad_id > $1 ORDER BY triad_id LIMIT 1000 FOR UPDATE",
      [after],
    );
    for (const r of rows) {
      await db.query("UPDATE device_links SET sealed_pop = $1 WHERE triad_id = $2", [
        Buffer.from(reseal.pop(r.triad_id, u8(r.sealed_pop))),
        r.triad_id,
      ]);
      resealedPops++;
      after = r.triad_id;
    }
    if (rows.length < 1000) break;
  }
  const anchor = await readAnchorPg(db);
  if (anchor !== undefined) {
    await db.query("UPDATE factory_anchor SET sealed_seed = $1 WHERE singleton = 1", [
      Buffer.from(reseal.anchorSeed(anchor.sealedSeed)),
    ]);
  }
  return { resealed, resealedPops };
}
