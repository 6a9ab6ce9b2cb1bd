/**
 * An all-or-nothing import into PostgreSQL on its own pool client: BEGIN at the start (the work order row locked
 * FOR NO KEY UPDATE, so two stations importing into one work order queue and its quantity holds; the pool row
 * FOR SHARE, so no key rotation runs meanwhile), batches inserted with one statement each, one `import` audit
 * entry and COMMIT at the end. A lost connection or a killed process before COMMIT leaves nothing.
 */
import { TriadkitError } from "@triadkit/protocol";
import type pg from "pg";
import type { AuditKeys } from "../../audit/types.js";
import { type IdentityKey, identityKeys } from "../identity.js";
import { checkSealedRow, type ImportHit, sealedRowIssues } from "../import-rows.js";
import { checkActor } from "../sqlite/audit-log.js";
import { identityColumns, type WorkOrderRow, workOrderFromRow } from "../sqlite/rows.js";
import type {
  Actor,
  ImportSession,
  ImportSource,
  ImportSummary,
  LedgerRowIssue,
  SealedRow,
  WorkOrder,
} from "../types.js";
import { PgAuditLog } from "./pg-audit.js";
import { one } from "./pg-schema.js";

export interface PgImportDeps {
  readonly pool: pg.Pool;
  readonly keys: AuditKeys;
  readonly now: () => number;
  readonly checkpointEvery: number;
  /** After COMMIT or ROLLBACK: let the ledger's other writers go. */
  readonly onClosed: () => void;
}

const UNIQUE = "23505";
const isUnique = (err: unknown) => (err as { code?: unknown } | null)?.code === UNIQUE;

export async function beginPgImport(
  deps: PgImportDeps,
  workOrderId: string,
  source: ImportSource,
  actor: Actor,
): Promise<ImportSession> {
  checkActor(actor, deps.keys.stationId);
  if (!/^[0-9a-f]{64}$/.test(source.sha256)) {
    deps.onClosed();
    throw new TriadkitError("config.invalid", "import source sha256 must be 64 lower-case hex digits");
  }
  const fileName = source.fileName.split(/[\\/]/).pop() ?? "";
  let client: pg.PoolClient;
  try {
    client = await deps.pool.connect();
  } catch (err) {
    deps.onClosed();
    throw err;
  }
  let open = true;
  const close = async (rollback: boolean) => {
    if (!open) return;
    open = false;
    let broken = false;
    if (rollback) await client.query("ROLLBACK").catch(() => (broken = true));
    client.release(broken);
    deps.onClosed();
  };
  try {
    await client.query("BEGIN");
    const woRow = await one<WorkOrderRow>(client, "SELECT * FROM work_orders WHERE id = $1 FOR NO KEY UPDATE", [
      workOrderId,
    ]);
    if (woRow === undefined) {
      throw new TriadkitError("ledger.unknown_work_order", `no work order ${workOrderId}`, { workOrderId });
    }
    await client.query("SELECT 1 FROM pool FOR SHARE");
    const v = (await one<{ v: number }>(client, "SELECT coalesce(max(version), 0)::int AS v FROM pool_keys"))?.v ?? 0;
    if (v === 0) throw new TriadkitError("keys.unknown_key_version", "the pool has no data key yet");
    const inserted = (await one<{ id: number }>(
      client,
      `INSERT INTO imports (work_order_id, file_name, sha256, station_id, operator, started_at)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [workOrderId, fileName, source.sha256, actor.stationId, actor.operator, deps.now()],
    )) as { id: number };
    return new PgImportSession(
      client,
      deps,
      workOrderFromRow(woRow),
      v,
      inserted.id,
      { ...source, fileName },
      actor,
      close,
    );
  } catch (err) {
    await close(true);
    throw err;
  }
}

class PgImportSession implements ImportSession {
  added = 0;
  private refused = 0;
  private inserted = 0;
  private closed = false;
  private busy: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: pg.PoolClient,
    private readonly deps: PgImportDeps,
    readonly workOrder: WorkOrder,
    readonly keyVersion: number,
    private readonly importId: number,
    private readonly source: ImportSource,
    private readonly actor: Actor,
    private readonly close: (rollback: boolean) => Promise<void>,
  ) {}

  /** One call at a time on the session's connection; any error ends the session (rolled back). */
  private guard<T>(fn: () => Promise<T>): Promise<T> {
    const run = async () => {
      if (this.closed) throw new TriadkitError("config.invalid", "this import session is already closed");
      try {
        return await fn();
      } catch (err) {
        this.closed = true;
        await this.close(true);
        throw err;
      }
    };
    const result = this.busy.then(run, run);
    this.busy = result.catch(() => {});
    return result;
  }

  add(rows: readonly SealedRow[]): Promise<readonly LedgerRowIssue[]> {
    return this.guard(async () => {
      const issues: LedgerRowIssue[] = [];
      const time = this.deps.now();
      let direct = true;
      for (const row of rows) direct = this.checkRow(row) && direct;
      if (direct && (await this.insertBatch(rows, time))) {
        this.added += rows.length;
        this.inserted += rows.length;
        return issues;
      }
      // Some row is refused: row by row, with the lookups that say what each one repeats.
      for (const row of rows) {
        this.added++;
        for (let attempt = 0; ; attempt++) {
          const found = await this.check(row);
          if (found.length > 0) {
            this.refused++;
            issues.push(...found);
            break;
          }
          // Another station's import may commit the same identity meanwhile: then the check runs again.
          if (await this.insertBatch([row], time)) {
            this.inserted++;
            break;
          }
          if (attempt > 0) throw new TriadkitError("ledger.busy", "a row kept clashing with a concurrent import");
        }
      }
      return issues;
    });
  }

  /** Inserts the rows with one statement per table under a savepoint; false (undone) on a unique-key clash. */
  private async insertBatch(rows: readonly SealedRow[], time: number): Promise<boolean> {
    if (rows.length === 0) return true;
    const cols: unknown[][] = Array.from({ length: 12 }, () => []);
    const keys: string[] = [];
    const keyTriads: string[] = [];
    for (const row of rows) {
      const values = [
        row.id,
        row.sourceRow,
        row.identity.family,
        ...identityColumns(row.identity),
        Buffer.from(row.sealedSecret),
        Buffer.from(row.secretFingerprint, "hex"),
      ];
      for (const [i, v] of values.entries()) cols[i]?.push(v);
      for (const k of identityKeys(row.identity)) {
        keys.push(k.key);
        keyTriads.push(row.id);
      }
    }
    await this.db.query("SAVEPOINT import_batch");
    try {
      await this.db.query(
        `INSERT INTO triads (id, source_row, family, product_key, device_name, product_id, mac, ble_mac, md5,
           sealed_secret, secret_fp, work_order_id, import_id, state, updated_at)
         SELECT u.id, u.source_row, u.family, u.product_key, u.device_name, u.product_id, u.mac, u.ble_mac, u.md5,
           u.sealed_secret, u.secret_fp, $12, $13, 'available', $14
         FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[],
           $8::text[], $9::text[], $10::bytea[], $11::bytea[]) WITH ORDINALITY
           AS u (id, source_row, family, product_key, device_name, product_id, mac, ble_mac, md5, sealed_secret,
             secret_fp, ord)
         ORDER BY u.ord`,
        [...cols.slice(0, 11), this.workOrder.id, this.importId, time],
      );
      await this.db.query(
        "INSERT INTO triad_identities (identity_key, triad_id) SELECT * FROM unnest($1::text[], $2::text[])",
        [keys, keyTriads],
      );
    } catch (err) {
      await this.db.query("ROLLBACK TO SAVEPOINT import_batch");
      if (isUnique(err)) return false;
      throw err;
    }
    await this.db.query("RELEASE SAVEPOINT import_batch");
    return true;
  }

  /** The checks that need no lookup (../import-rows.ts); true when the row is the work order's product. */
  private checkRow(row: SealedRow): boolean {
    return checkSealedRow(row, this.keyVersion, this.workOrder);
  }

  private async check(row: SealedRow): Promise<LedgerRowIssue[]> {
    const matchesProduct = this.checkRow(row);
    const identityHits: { key: IdentityKey; hit: ImportHit | undefined }[] = [];
    for (const key of identityKeys(row.identity)) {
      const hit = await one<ImportHit>(
        this.db,
        "SELECT t.id, t.import_id FROM triad_identities i JOIN triads t ON t.id = i.triad_id WHERE i.identity_key = $1",
        [key.key],
      );
      identityHits.push({ key, hit });
    }
    const secretHit = await one<ImportHit>(this.db, "SELECT id, import_id FROM triads WHERE secret_fp = $1", [
      Buffer.from(row.secretFingerprint, "hex"),
    ]);
    return sealedRowIssues(
      row,
      { workOrder: this.workOrder, importId: this.importId, matchesProduct },
      identityHits,
      secretHit,
    );
  }

  commit(): Promise<ImportSummary> {
    return this.guard(async () => {
      if (this.refused > 0) {
        throw new TriadkitError("import.rejected", `${this.refused} row(s) refused: nothing was imported`, {
          refused: this.refused,
        });
      }
      const n =
        (
          await one<{ n: number }>(this.db, "SELECT count(*) AS n FROM triads WHERE work_order_id = $1", [
            this.workOrder.id,
          ])
        )?.n ?? 0;
      const quantity = this.workOrder.quantity;
      if (quantity !== undefined && n > quantity) {
        throw new TriadkitError(
          "import.over_quantity",
          `work order ${this.workOrder.id} would hold ${n} triads, over its quantity ${quantity}`,
          { workOrderId: this.workOrder.id, quantity, total: n, importing: this.inserted },
        );
      }
      await this.db.query("UPDATE imports SET rows = $1, committed_at = $2 WHERE id = $3", [
        this.inserted,
        this.deps.now(),
        this.importId,
      ]);
      const log = new PgAuditLog(this.deps.keys, this.deps.now, this.deps.checkpointEvery);
      const e = await log.append(this.db, this.actor, {
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
      await this.db.query("COMMIT");
      this.closed = true;
      await this.close(false);
      return {
        workOrderId: this.workOrder.id,
        importId: this.importId,
        imported: this.inserted,
        workOrderTotal: n,
        auditSeq: e.seq,
      };
    });
  }

  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.busy;
    await this.close(true);
  }
}
