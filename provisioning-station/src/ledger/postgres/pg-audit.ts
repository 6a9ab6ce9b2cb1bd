/**
 * One audit chain per station in PostgreSQL. The chain head (seq, mac) lives in `audit_heads`, one row per
 * station, locked FOR UPDATE by the appending transaction: writers of one station are serialised on that row,
 * stations never wait for each other. Call inside the mutation's transaction, last (after the data rows).
 */
import { GENESIS_MAC, signCheckpoint } from "../../audit/encoding.js";
import type { AuditCheckpoint, AuditEntry, AuditEvent, AuditKeys } from "../../audit/types.js";
import {
  type CheckpointRow,
  chainEntry,
  checkActor,
  checkpointFromRow,
  type EntryRow,
  entryFromRow,
  entryValues,
} from "../sqlite/audit-log.js";
import type { Actor } from "../types.js";
import type { Db } from "./pg-schema.js";

const u8 = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export class PgAuditLog {
  constructor(
    private readonly keys: AuditKeys,
    private readonly now: () => number,
    /** A checkpoint with every entry whose seq is a multiple of this (0: never). */
    private readonly checkpointEvery: number,
  ) {}

  /** Locks this station's head row (creating it at genesis) and returns it: one round trip. */
  private async lockHead(db: Db): Promise<{ seq: number; mac: Uint8Array }> {
    const { rows } = await db.query<{ seq: number; mac: Buffer }>(
      `INSERT INTO audit_heads (station_id, seq, mac) VALUES ($1, 0, $2)
       ON CONFLICT (station_id) DO UPDATE SET seq = audit_heads.seq RETURNING seq, mac`,
      [this.keys.stationId, Buffer.from(GENESIS_MAC)],
    );
    const head = rows[0] as { seq: number; mac: Buffer };
    return { seq: head.seq, mac: u8(head.mac) };
  }

  async append(db: Db, actor: Actor, event: AuditEvent): Promise<AuditEntry> {
    checkActor(actor, this.keys.stationId);
    // Built before the head is locked, so details naming a secret are refused without waiting.
    chainEntry(this.keys, 0, actor, event, { seq: 0, mac: GENESIS_MAC });
    const e = chainEntry(this.keys, this.now(), actor, event, await this.lockHead(db));
    // The entry and the new head in one statement.
    await db.query(
      `WITH e AS (
         INSERT INTO audit_entries (station_id, seq, time, operator, fixture, action, triad_id, identity, details,
           prev_mac, mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING station_id, seq, mac)
       UPDATE audit_heads h SET seq = e.seq, mac = e.mac FROM e WHERE h.station_id = e.station_id`,
      entryValues(e),
    );
    if (this.checkpointEvery > 0 && e.seq % this.checkpointEvery === 0) await this.store(db, e.seq, e.mac, e.time);
    return e;
  }

  /** A signed checkpoint of the current head (the stored one if that seq has one already). */
  async checkpoint(db: Db): Promise<AuditCheckpoint> {
    const head = await this.lockHead(db);
    return this.store(db, head.seq, head.mac, this.now());
  }

  private async store(db: Db, seq: number, mac: Uint8Array, time: number): Promise<AuditCheckpoint> {
    const { rows } = await db.query<CheckpointRow>(
      "SELECT * FROM audit_checkpoints WHERE station_id = $1 AND seq = $2",
      [this.keys.stationId, seq],
    );
    if (rows[0] !== undefined) return checkpointFromRow(rows[0]);
    const c = signCheckpoint(this.keys, { seq, headMac: mac, time });
    await db.query(
      "INSERT INTO audit_checkpoints (station_id, seq, head_mac, time, signature) VALUES ($1, $2, $3, $4, $5)",
      [c.stationId, c.seq, Buffer.from(c.headMac), c.time, Buffer.from(c.signature)],
    );
    return c;
  }
}

export async function readPgAuditEntries(
  db: Db,
  stationId: string,
  afterSeq: number,
  limit: number,
): Promise<AuditEntry[]> {
  const { rows } = await db.query<EntryRow>(
    "SELECT * FROM audit_entries WHERE station_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    [stationId, afterSeq, limit],
  );
  return rows.map(entryFromRow);
}

export async function readPgAuditCheckpoints(db: Db, stationId: string): Promise<AuditCheckpoint[]> {
  const { rows } = await db.query<CheckpointRow>("SELECT * FROM audit_checkpoints WHERE station_id = $1 ORDER BY seq", [
    stationId,
  ]);
  return rows.map(checkpointFromRow);
}
