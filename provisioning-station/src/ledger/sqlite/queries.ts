/** Read queries of the SQLite ledger over triads. */
import type Database from "better-sqlite3";
import { identityKeys } from "../identity.js";
import {
  type LedgerCounts,
  type StateCounts,
  TRIAD_STATES,
  type TriadIdentity,
  type TriadQuery,
  type TriadRecord,
} from "../types.js";
import { type TriadRow, triadFromRow } from "./rows.js";

export function zeroCounts(): StateCounts {
  return Object.fromEntries(TRIAD_STATES.map((s) => [s, 0])) as StateCounts;
}

export function findTriadByIdentity(db: Database.Database, identity: TriadIdentity): TriadRecord | undefined {
  const stmt = db.prepare(
    "SELECT t.* FROM triad_identities i JOIN triads t ON t.id = i.triad_id WHERE i.identity_key = ?",
  );
  for (const k of identityKeys(identity)) {
    const row = stmt.get(k.key) as TriadRow | undefined;
    if (row !== undefined) return triadFromRow(row);
  }
  return undefined;
}

export function queryTriads(db: Database.Database, query: TriadQuery): TriadRecord[] {
  const where: string[] = [];
  const args: unknown[] = [];
  if (query.workOrderId !== undefined) {
    where.push("work_order_id = ?");
    args.push(query.workOrderId);
  }
  if (query.states !== undefined) {
    where.push(`state IN (${query.states.map(() => "?").join(", ") || "NULL"})`);
    args.push(...query.states);
  }
  if (query.afterId !== undefined) {
    where.push("seq > coalesce((SELECT seq FROM triads WHERE id = ?), 0)");
    args.push(query.afterId);
  }
  const sql = `SELECT * FROM triads ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq LIMIT ?`;
  return (db.prepare(sql).all(...args, query.limit ?? 1000) as TriadRow[]).map(triadFromRow);
}

export function countTriads(db: Database.Database): LedgerCounts {
  const ids = (db.prepare("SELECT id FROM work_orders").all() as { id: string }[]).map((r) => r.id);
  const rows = db
    .prepare("SELECT work_order_id AS w, state AS s, count(*) AS n FROM triads GROUP BY work_order_id, state")
    .all() as { w: string; s: keyof StateCounts; n: number }[];
  return tallyCounts(ids, rows);
}

/** Counts by state from (work order, state, count) rows; every work order listed, all seven keys. */
export function tallyCounts(
  workOrderIds: readonly string[],
  rows: readonly { w: string; s: keyof StateCounts; n: number }[],
): LedgerCounts {
  const total = zeroCounts();
  const byWorkOrder: Record<string, StateCounts> = {};
  for (const id of workOrderIds) byWorkOrder[id] = zeroCounts();
  for (const { w, s, n } of rows) {
    total[s] += n;
    const counts = byWorkOrder[w] ?? zeroCounts();
    counts[s] += n;
    byWorkOrder[w] = counts;
  }
  return { total, byWorkOrder };
}
