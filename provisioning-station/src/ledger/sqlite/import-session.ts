/**
 * An all-or-nothing import on its own connection: BEGIN IMMEDIATE at the start, rows inserted batch by batch with
 * prepared statements (memory stays bounded by SQLite's page cache; the open transaction spills to the WAL), one
 * `import` audit entry and COMMIT at the end. A process killed at any point before COMMIT leaves nothing: SQLite
 * discards the uncommitted WAL frames when the database is next opened.
 */
import { TriadkitError } from "@triadkit/protocol";
import type Database from "better-sqlite3";
import type { AuditEntry, AuditKeys } from "../../audit/types.js";
import { identityKeys } from "../identity.js";
import { checkSealedRow, type ImportHit, sealedRowIssues } from "../import-rows.js";
import type { Actor, ImportSession, ImportSource, LedgerRowIssue, SealedRow } from "../types.js";
import { checkActor, SqliteAuditLog } from "./audit-log.js";
import { identityColumns, type WorkOrderRow, workOrderFromRow } from "./rows.js";
import { asLedgerError, openConnection } from "./schema.js";

export interface ImportSessionDeps {
  readonly path: string;
  readonly busyTimeoutMs: number;
  readonly keys: AuditKeys;
  readonly now: () => number;
  readonly checkpointEvery: number;
  /** After COMMIT: advance the head file. */
  readonly onCommitted: (entry: AuditEntry) => void;
  /** After COMMIT or ROLLBACK: let the ledger's other writers go. */
  readonly onClosed: () => void;
}

export function beginSqliteImport(
  deps: ImportSessionDeps,
  workOrderId: string,
  source: ImportSource,
  actor: Actor,
): ImportSession {
  checkActor(actor, deps.keys.stationId);
  if (!/^[0-9a-f]{64}$/.test(source.sha256)) {
    throw new TriadkitError("config.invalid", "import source sha256 must be 64 lower-case hex digits");
  }
  const fileName = source.fileName.split(/[\\/]/).pop() ?? "";
  const db = openConnection(deps.path, { busyTimeoutMs: deps.busyTimeoutMs });
  let open = true;
  const close = () => {
    if (!open) return;
    open = false;
    try {
      if (db.inTransaction) db.exec("ROLLBACK");
    } finally {
      db.close();
      deps.onClosed();
    }
  };
  try {
    db.pragma("cache_size = -65536"); // 64 MiB of page cache: bounded, and large imports stay fast
    db.exec("BEGIN IMMEDIATE");
    const woRow = db.prepare("SELECT * FROM work_orders WHERE id = ?").get(workOrderId) as WorkOrderRow | undefined;
    if (woRow === undefined) {
      throw new TriadkitError("ledger.unknown_work_order", `no work order ${workOrderId}`, { workOrderId });
    }
    const { v } = db.prepare("SELECT coalesce(max(version), 0) AS v FROM pool_keys").get() as { v: number };
    if (v === 0) throw new TriadkitError("keys.unknown_key_version", "the pool has no data key yet");
    const importId = Number(
      db
        .prepare(
          `INSERT INTO imports (work_order_id, file_name, sha256, station_id, operator, started_at)
           VALUES (?, ?, ?, ?, ?, ?)`,
        )
        .run(workOrderId, fileName, source.sha256, actor.stationId, actor.operator, deps.now()).lastInsertRowid,
    );
    return new SqliteImportSession(
      db,
      deps,
      workOrderFromRow(woRow),
      v,
      importId,
      { ...source, fileName },
      actor,
      close,
    );
  } catch (err) {
    close();
    throw asLedgerError(err);
  }
}

/** SQLite refused a row for a UNIQUE or PRIMARY KEY index. */
function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

class SqliteImportSession implements ImportSession {
  added = 0;
  private refused = 0;
  private inserted = 0;
  private closed = false;
  private readonly findIdentity: Database.Statement;
  private readonly findSecret: Database.Statement;
  private readonly insertTriad: Database.Statement;
  private readonly insertIdentity: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly deps: ImportSessionDeps,
    readonly workOrder: ReturnType<typeof workOrderFromRow>,
    readonly keyVersion: number,
    private readonly importId: number,
    private readonly source: ImportSource,
    private readonly actor: Actor,
    private readonly close: () => void,
  ) {
    this.findIdentity = db.prepare(
      `SELECT t.id, t.import_id FROM triad_identities i JOIN triads t ON t.id = i.triad_id
       WHERE i.identity_key = ?`,
    );
    this.findSecret = db.prepare("SELECT id, import_id FROM triads WHERE secret_fp = ?");
    this.insertTriad = db.prepare(
      `INSERT INTO triads (id, work_order_id, import_id, source_row, family, product_key, device_name, product_id,
         mac, ble_mac, md5, sealed_secret, secret_fp, state, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'available', ?)`,
    );
    this.insertIdentity = db.prepare("INSERT INTO triad_identities (identity_key, triad_id) VALUES (?, ?)");
  }

  private guard<T>(fn: () => T): T {
    if (this.closed) throw new TriadkitError("config.invalid", "this import session is already closed");
    try {
      return fn();
    } catch (err) {
      this.finish();
      throw asLedgerError(err);
    }
  }

  private finish(): void {
    this.closed = true;
    this.close();
  }

  async add(rows: readonly SealedRow[]): Promise<readonly LedgerRowIssue[]> {
    return this.guard(() => {
      const issues: LedgerRowIssue[] = [];
      const time = this.deps.now();
      if (this.insertBatch(rows, time)) {
        this.added += rows.length;
        this.inserted += rows.length;
        return issues;
      }
      // Some row of the batch is refused: row by row, with the lookups that say what each one repeats.
      for (const row of rows) {
        const found = this.check(row);
        this.added++;
        if (found.length > 0) {
          this.refused++;
          issues.push(...found);
          continue;
        }
        this.insertRow(row, time);
        this.inserted++;
      }
      return issues;
    });
  }

  private insertRow(row: SealedRow, time: number): void {
    this.insertTriad.run(
      row.id,
      this.workOrder.id,
      this.importId,
      row.sourceRow,
      row.identity.family,
      ...identityColumns(row.identity),
      Buffer.from(row.sealedSecret.buffer, row.sealedSecret.byteOffset, row.sealedSecret.byteLength), // a view
      Buffer.from(row.secretFingerprint, "hex"),
      time,
    );
    for (const k of identityKeys(row.identity)) this.insertIdentity.run(k.key, row.id);
  }

  /**
   * The usual batch is all new rows: insert them straight away under a savepoint and let the unique indexes
   * (identity keys, secret fingerprint) notice a repeat, instead of two lookups per row. False (the batch undone)
   * at the first row that is refused (a repeat or another product): the caller then checks row by row.
   */
  private insertBatch(rows: readonly SealedRow[], time: number): boolean {
    this.db.exec("SAVEPOINT import_batch");
    try {
      for (const row of rows) {
        if (!this.checkRow(row)) {
          this.db.exec("ROLLBACK TO import_batch");
          return false;
        }
        this.insertRow(row, time);
      }
    } catch (err) {
      this.db.exec("ROLLBACK TO import_batch");
      if (isUniqueViolation(err)) return false;
      throw err;
    } finally {
      this.db.exec("RELEASE import_batch");
    }
    return true;
  }

  /** The checks that need no lookup (../import-rows.ts); true when the row may be inserted directly. */
  private checkRow(row: SealedRow): boolean {
    return checkSealedRow(row, this.keyVersion, this.workOrder);
  }

  /** Every issue of a row against the ledger (and the rows of this import before it). */
  private check(row: SealedRow): LedgerRowIssue[] {
    const matchesProduct = this.checkRow(row);
    const identityHits = identityKeys(row.identity).map((key) => ({
      key,
      hit: this.findIdentity.get(key.key) as ImportHit | undefined,
    }));
    const secretHit = this.findSecret.get(Buffer.from(row.secretFingerprint, "hex")) as ImportHit | undefined;
    return sealedRowIssues(
      row,
      { workOrder: this.workOrder, importId: this.importId, matchesProduct },
      identityHits,
      secretHit,
    );
  }

  async commit() {
    const entry = this.guard(() => {
      if (this.refused > 0) {
        throw new TriadkitError("import.rejected", `${this.refused} row(s) refused: nothing was imported`, {
          refused: this.refused,
        });
      }
      const { n } = this.db
        .prepare("SELECT count(*) AS n FROM triads WHERE work_order_id = ?")
        .get(this.workOrder.id) as { n: number };
      const quantity = this.workOrder.quantity;
      if (quantity !== undefined && n > quantity) {
        throw new TriadkitError(
          "import.over_quantity",
          `work order ${this.workOrder.id} would hold ${n} triads, over its quantity ${quantity}`,
          { workOrderId: this.workOrder.id, quantity, total: n, importing: this.inserted },
        );
      }
      this.db
        .prepare("UPDATE imports SET rows = ?, committed_at = ? WHERE id = ?")
        .run(this.inserted, this.deps.now(), this.importId);
      const log = new SqliteAuditLog(this.db, this.deps.keys, this.deps.now, this.deps.checkpointEvery);
      const e = log.append(this.actor, {
        action: "import",
        details: {
          ...this.source.details,
          workOrderId: this.workOrder.id,
          importId: this.importId,
          fileName: this.source.fileName,
          sha256: this.source.sha256,
          rows: this.inserted,
          workOrderTotal: n,
          keyVersion: this.keyVersion,
        },
      });
      this.db.exec("COMMIT");
      return { e, n };
    });
    this.finish();
    this.deps.onCommitted(entry.e);
    return {
      workOrderId: this.workOrder.id,
      importId: this.importId,
      imported: this.inserted,
      workOrderTotal: entry.n,
      auditSeq: entry.e.seq,
    };
  }

  async abort(): Promise<void> {
    if (!this.closed) this.finish();
  }
}
