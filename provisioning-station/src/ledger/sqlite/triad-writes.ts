/**
 * The SQLite ledger's triad mutations, each run inside one write transaction with its audit entry (see
 * SqliteLedger.write): reserve, transition (with an optional device link status), link a device.
 */
import { TriadkitError } from "@triadkit/protocol";
import type Database from "better-sqlite3";
import type { AuditEntry, AuditEvent } from "../../audit/types.js";
import { describeIdentity } from "../identity.js";
import { checkTransition, transitionEvent, transitionReason } from "../state-machine.js";
import type { Actor, DeviceLink, DeviceLinkStatus, NewDeviceLink, TransitionRequest, TriadRecord } from "../types.js";
import { checkNewLink, linkDetails, linkStatusEvent, readLink, setLinkStatus, storeLink } from "./device-store.js";
import { type TriadRow, triadFromRow } from "./rows.js";
import { attachShelfTriad, releaseShelfOfChip } from "./shelf-store.js";

export type AuditAppend = (actor: Actor, e: AuditEvent) => AuditEntry;

function triadRow(db: Database.Database, id: string): TriadRow | undefined {
  return db.prepare("SELECT * FROM triads WHERE id = ?").get(id) as TriadRow | undefined;
}

function existingRow(db: Database.Database, id: string): TriadRow {
  const row = triadRow(db, id);
  if (row === undefined) throw new TriadkitError("ledger.unknown_triad", `no triad ${id}`, { triadId: id });
  return row;
}

export function reserveTx(
  db: Database.Database,
  workOrderId: string,
  actor: Actor,
  now: number,
  audit: AuditAppend,
): TriadRecord {
  if (db.prepare("SELECT 1 FROM work_orders WHERE id = ?").get(workOrderId) === undefined) {
    throw new TriadkitError("ledger.unknown_work_order", `no work order ${workOrderId}`, { workOrderId });
  }
  const row = db
    .prepare("SELECT * FROM triads WHERE work_order_id = ? AND state = 'available' ORDER BY seq LIMIT 1")
    .get(workOrderId) as TriadRow | undefined;
  if (row === undefined) {
    throw new TriadkitError("ledger.pool_exhausted", `work order ${workOrderId} has no available triad left`, {
      workOrderId,
    });
  }
  const action = checkTransition(row.id, row.state, { to: "reserved" }, true);
  db.prepare(
    `UPDATE triads SET state = 'reserved', reason = NULL, holder_station = ?, holder_fixture = ?, updated_at = ?
     WHERE seq = ? AND state = 'available'`,
  ).run(actor.stationId, actor.fixture ?? null, now, row.seq);
  const record = triadFromRow(existingRow(db, row.id));
  audit(actor, {
    action,
    triadId: row.id,
    identity: describeIdentity(record.identity),
    details: { workOrderId, from: "available", to: "reserved" },
  });
  return record;
}

export function transitionTx(
  db: Database.Database,
  triadId: string,
  request: TransitionRequest,
  now: number,
  audit: AuditAppend,
): TriadRecord {
  const row = existingRow(db, triadId);
  const action = checkTransition(triadId, row.state, request);
  const reason = transitionReason(request);
  const toAvailable = request.to === "available" ? 1 : 0;
  db.prepare(
    `UPDATE triads SET state = ?, reason = ?, updated_at = ?,
       holder_station = CASE WHEN ? THEN NULL ELSE holder_station END,
       holder_fixture = CASE WHEN ? THEN NULL ELSE holder_fixture END
     WHERE seq = ? AND state = ?`,
  ).run(request.to, reason ?? null, now, toAvailable, toAvailable, row.seq, row.state);
  const linked = request.linkStatus === undefined ? undefined : setLinkStatus(db, triadId, request.linkStatus, now);
  const shelf =
    request.linkStatus === "scrapped" && linked !== undefined ? releaseShelfOfChip(db, linked, now) : undefined;
  const record = triadFromRow(existingRow(db, triadId));
  audit(request.actor, transitionEvent(action, row.state, record, request, linked, shelf));
  return record;
}

export function linkDeviceTx(
  db: Database.Database,
  triadId: string,
  link: NewDeviceLink,
  actor: Actor,
  now: number,
  audit: AuditAppend,
): DeviceLink {
  checkNewLink(link);
  const row = existingRow(db, triadId);
  if (row.state !== "reserved" || row.holder_station !== actor.stationId) {
    throw new TriadkitError(
      "ledger.bad_transition",
      `triad ${triadId} is ${row.state}${row.holder_station === null ? "" : ` (held by ${row.holder_station})`}: ` +
        "a device is linked only to a triad this station has reserved",
      { triadId, state: row.state },
    );
  }
  const fixture = link.fixture ?? actor.fixture;
  const stored = storeLink(
    db,
    triadId,
    { ...link, ...(fixture === undefined ? {} : { fixture }) },
    actor.stationId,
    now,
  );
  const shelf = link.shelf === undefined ? undefined : attachShelfTriad(db, triadId, link.chipId, link.shelf, now);
  audit(actor, {
    action: "device.link",
    triadId,
    identity: describeIdentity(triadFromRow(row).identity),
    details: { workOrderId: row.work_order_id, ...linkDetails(link), ...(shelf === undefined ? {} : { shelf }) },
  });
  return stored;
}

export function setLinkStatusTx(
  db: Database.Database,
  triadId: string,
  status: Exclude<DeviceLinkStatus, "active">,
  reason: string,
  actor: Actor,
  now: number,
  audit: AuditAppend,
): DeviceLink {
  const row = existingRow(db, triadId);
  const before = readLink(db, triadId);
  if (before === undefined) {
    throw new TriadkitError("ledger.unknown_triad", `triad ${triadId} has no device link`, { triadId });
  }
  if (reason.trim() === "") throw new TriadkitError("config.invalid", "a reason is required");
  setLinkStatus(db, triadId, status, now);
  const shelf = status === "scrapped" ? releaseShelfOfChip(db, before.chipId, now) : undefined;
  audit(actor, linkStatusEvent(triadFromRow(row), before, status, reason, shelf));
  return readLink(db, triadId) as DeviceLink;
}
