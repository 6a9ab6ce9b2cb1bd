/**
 * The audit chain in SQLite, on one connection. `append` and `checkpoint` run inside the caller's write
 * transaction (BEGIN IMMEDIATE serialises every writer of the file, so seq and prevMac are read and written
 * atomically even with several processes); the head file is advanced by the caller after COMMIT.
 */
import { TriadkitError } from "@triadkit/protocol";
import type Database from "better-sqlite3";
import { auditEntryMac, encodeDetails, GENESIS_MAC, signCheckpoint } from "../../audit/encoding.js";
import type { AuditCheckpoint, AuditEntry, AuditEvent, AuditKeys } from "../../audit/types.js";
import type { Actor } from "../types.js";

export interface EntryRow {
  station_id: string;
  seq: number;
  time: number;
  operator: string;
  fixture: string;
  action: string;
  triad_id: string;
  identity: string;
  details: string;
  prev_mac: Buffer;
  mac: Buffer;
}

export interface CheckpointRow {
  station_id: string;
  seq: number;
  head_mac: Buffer;
  time: number;
  signature: Buffer;
}

const u8 = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export function entryFromRow(r: EntryRow): AuditEntry {
  return {
    stationId: r.station_id,
    seq: r.seq,
    time: r.time,
    operator: r.operator,
    fixture: r.fixture,
    action: r.action,
    triadId: r.triad_id,
    identity: r.identity,
    details: r.details,
    prevMac: u8(r.prev_mac),
    mac: u8(r.mac),
  };
}

export function checkpointFromRow(r: CheckpointRow): AuditCheckpoint {
  return {
    stationId: r.station_id,
    seq: r.seq,
    headMac: u8(r.head_mac),
    time: r.time,
    signature: u8(r.signature),
  };
}

/** The actor must be this station, with an operator. */
export function checkActor(actor: Actor, stationId: string): void {
  if (actor.stationId !== stationId) {
    throw new TriadkitError("config.invalid", `this ledger is opened as station ${stationId}, not ${actor.stationId}`);
  }
  if (actor.operator.trim() === "") throw new TriadkitError("config.invalid", "an operator name is required");
}

/** The next entry of a station's chain after `head`, MAC'd (`config.invalid` for details naming a secret). */
export function chainEntry(
  keys: AuditKeys,
  time: number,
  actor: Actor,
  event: AuditEvent,
  head: { readonly seq: number; readonly mac: Uint8Array },
): AuditEntry {
  const unsigned = {
    stationId: keys.stationId,
    seq: head.seq + 1,
    time,
    operator: actor.operator,
    fixture: actor.fixture ?? "",
    action: event.action,
    triadId: event.triadId ?? "",
    identity: event.identity ?? "",
    details: encodeDetails(event.details),
    prevMac: head.mac,
  };
  return { ...unsigned, mac: auditEntryMac(keys.auditMacKey, unsigned) };
}

/** An entry's column values in the order of the audit_entries table. */
export function entryValues(e: AuditEntry): unknown[] {
  return [
    e.stationId,
    e.seq,
    e.time,
    e.operator,
    e.fixture,
    e.action,
    e.triadId,
    e.identity,
    e.details,
    Buffer.from(e.prevMac),
    Buffer.from(e.mac),
  ];
}

export class SqliteAuditLog {
  private readonly lastStmt: Database.Statement;
  private readonly insertStmt: Database.Statement;
  private readonly checkpointAtStmt: Database.Statement;
  private readonly insertCheckpointStmt: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly keys: AuditKeys,
    private readonly now: () => number,
    /** Write a checkpoint with every entry whose seq is a multiple of this (0: never). */
    private readonly checkpointEvery: number,
  ) {
    this.lastStmt = db.prepare("SELECT seq, mac FROM audit_entries WHERE station_id = ? ORDER BY seq DESC LIMIT 1");
    this.insertStmt = db.prepare(
      `INSERT INTO audit_entries (station_id, seq, time, operator, fixture, action, triad_id, identity, details,
         prev_mac, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.checkpointAtStmt = db.prepare("SELECT * FROM audit_checkpoints WHERE station_id = ? AND seq = ?");
    this.insertCheckpointStmt = db.prepare(
      "INSERT INTO audit_checkpoints (station_id, seq, head_mac, time, signature) VALUES (?, ?, ?, ?, ?)",
    );
  }

  private head(): { seq: number; mac: Uint8Array } {
    const last = this.lastStmt.get(this.keys.stationId) as { seq: number; mac: Buffer } | undefined;
    return last === undefined ? { seq: 0, mac: GENESIS_MAC } : { seq: last.seq, mac: u8(last.mac) };
  }

  /** Appends one entry; call inside a write transaction. */
  append(actor: Actor, event: AuditEvent): AuditEntry {
    checkActor(actor, this.keys.stationId);
    const e = chainEntry(this.keys, this.now(), actor, event, this.head());
    this.insertStmt.run(...entryValues(e));
    if (this.checkpointEvery > 0 && e.seq % this.checkpointEvery === 0) this.store(e.seq, e.mac, e.time);
    return e;
  }

  /** A signed checkpoint of the current head (the stored one if that seq has one already); inside a transaction. */
  checkpoint(): AuditCheckpoint {
    const head = this.head();
    return this.store(head.seq, head.mac, this.now());
  }

  private store(seq: number, mac: Uint8Array, time: number): AuditCheckpoint {
    const existing = this.checkpointAtStmt.get(this.keys.stationId, seq) as CheckpointRow | undefined;
    if (existing !== undefined) return checkpointFromRow(existing);
    const c = signCheckpoint(this.keys, { seq, headMac: mac, time });
    this.insertCheckpointStmt.run(c.stationId, c.seq, Buffer.from(c.headMac), c.time, Buffer.from(c.signature));
    return c;
  }
}

export function readAuditEntries(
  db: Database.Database,
  stationId: string,
  afterSeq: number,
  limit: number,
): AuditEntry[] {
  const rows = db
    .prepare("SELECT * FROM audit_entries WHERE station_id = ? AND seq > ? ORDER BY seq LIMIT ?")
    .all(stationId, afterSeq, limit) as EntryRow[];
  return rows.map(entryFromRow);
}

export function readAuditCheckpoints(db: Database.Database, stationId: string): AuditCheckpoint[] {
  const rows = db
    .prepare("SELECT * FROM audit_checkpoints WHERE station_id = ? ORDER BY seq")
    .all(stationId) as CheckpointRow[];
  return rows.map(checkpointFromRow);
}
