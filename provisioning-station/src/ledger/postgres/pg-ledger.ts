/**
 * The shared-pool ledger on PostgreSQL (`pg`): several stations, each opening the pool as itself, write one
 * database. Every mutation runs in one transaction with its audit entry (this station's chain, whose head row it
 * locks: stations never serialise on each other), retried a bounded number of times after a serialization failure
 * or deadlock. Same state machine, error codes and contract as the SQLite ledger; no head file (the database is the
 * only copy here: checkpoints binding the stations' heads are a later part).
 */
import { TriadkitError } from "@triadkit/protocol";
import type { Random } from "@triadkit/sdk";
import type pg from "pg";
import type { AuditCheckpoint, AuditEntry, AuditEvent, AuditKeys } from "../../audit/types.js";
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
} from "../shelf.js";
import { checkActor } from "../sqlite/audit-log.js";
import {
  checkFirstPoolKey,
  checkNextPoolKey,
  grantEvent,
  revokeEvent,
  stationsToRegrant,
} from "../sqlite/key-store.js";
import { type WorkOrderRow, workOrderFromRow } from "../sqlite/rows.js";
import type {
  Actor,
  DeviceLink,
  DeviceLinkStatus,
  FactoryAnchorRecord,
  HumanDecision,
  ImportSession,
  ImportSource,
  Ledger,
  LedgerCounts,
  NewDeviceLink,
  NewWorkOrder,
  RekeyResult,
  Resealer,
  StationRecord,
  TransitionRequest,
  TriadIdentity,
  TriadQuery,
  TriadRecord,
  WorkOrder,
  WrappedPoolKey,
} from "../types.js";
import { validateWorkOrder } from "../work-order.js";
import { PgAuditLog, readPgAuditCheckpoints, readPgAuditEntries } from "./pg-audit.js";
import { beginPgImport } from "./pg-import.js";
import { all, connectPool, type Db, inTransaction, migratePg, one, type PgConnectOptions } from "./pg-schema.js";
import {
  activateShelfPg,
  assignShelfPg,
  changeShelfCodePg,
  checkShelfRowsPg,
  countAvailableShelfPg,
  importShelfPg,
  queryShelfDevicesPg,
  readShelfCodeHistoryPg,
  readShelfDeviceOfChipPg,
  readShelfDevicePg,
  readShelfStoresPg,
  releaseShelfPg,
} from "./pg-shelf.js";
import {
  countTriadsPg,
  findTriadPg,
  insertAnchorPg,
  latestKeyVersionPg,
  linkDevicePg,
  lockPool,
  type PgAuditAppend,
  queryTriadsPg,
  readAnchorPg,
  readLinkPg,
  readLinksByChipPg,
  readPoolKeysPg,
  readStationsPg,
  readTriad,
  registerStationPg,
  resealAllPg,
  reservePg,
  setLinkStatusTxPg,
  storeWrapPg,
  transitionPg,
} from "./pg-triads.js";

export interface PgLedgerOptions extends PgConnectOptions {
  /** This station's audit keys (a StationKey from ../keys will do). */
  readonly keys: AuditKeys;
  readonly now: () => number;
  readonly random: Random;
  /** A signed checkpoint every this many entries; default 1000. */
  readonly checkpointEvery?: number;
  /** Who is recorded for `station.add` when this station first opens the pool; default "station". */
  readonly operator?: string;
  /** Attempts of one write under serialization failures/deadlocks before `ledger.busy`; default 8. */
  readonly attempts?: number;
}

export async function openPgLedger(options: PgLedgerOptions): Promise<PgLedger> {
  const pool = connectPool(options);
  try {
    await migratePg(pool, options.schema ?? "public", options.now);
    const ledger = new PgLedger(pool, options);
    await ledger.init();
    return ledger;
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
}

export class PgLedger implements Ledger {
  poolId = "";
  readonly stationId: string;
  private readonly log: PgAuditLog;
  private session: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: PgLedgerOptions,
  ) {
    this.stationId = options.keys.stationId;
    this.log = new PgAuditLog(options.keys, options.now, options.checkpointEvery ?? 1000);
  }

  /** Creates the pool row on a new database and registers this station (the first one, or a granted one). */
  async init(): Promise<void> {
    const { keys, now, random } = this.options;
    this.poolId = await this.write(async (db, audit) => {
      await db.query("INSERT INTO pool (singleton, pool_id, created_at) VALUES (1, $1, $2) ON CONFLICT DO NOTHING", [
        Buffer.from(random.bytes(16)).toString("hex"),
        now(),
      ]);
      await lockPool(db);
      const pool = (await one<{ pool_id: string }>(db, "SELECT pool_id FROM pool"))?.pool_id ?? "";
      const station = { stationId: keys.stationId, publicKey: keys.publicKey, createdAt: now() };
      if (await registerStationPg(db, station, true)) {
        await audit(
          { stationId: keys.stationId, operator: this.options.operator ?? "station" },
          {
            action: "station.add",
            details: { stationId: keys.stationId, publicKey: Buffer.from(keys.publicKey).toString("hex") },
          },
        );
      }
      return pool;
    });
  }

  /** Waits while an import session of this ledger is open. */
  private async writable(): Promise<void> {
    if (this.closed) throw new TriadkitError("config.invalid", "this ledger is closed");
    while (this.session !== undefined) await this.session;
  }

  /** One transaction; `audit` appends to this station's chain inside it. */
  private async write<T>(fn: (db: Db, audit: PgAuditAppend) => Promise<T>): Promise<T> {
    await this.writable();
    return inTransaction(
      this.pool,
      (db) => fn(db, (actor: Actor, e: AuditEvent) => this.log.append(db, actor, e)),
      this.options.attempts === undefined ? {} : { attempts: this.options.attempts },
    );
  }

  async addWorkOrder(order: NewWorkOrder, actor: Actor): Promise<WorkOrder> {
    checkActor(actor, this.stationId);
    const wo = validateWorkOrder(order, this.options.now());
    return this.write(async (db, audit) => {
      const { rowCount } = await db.query(
        `INSERT INTO work_orders (id, product, family, model, min_firmware, quantity, line, brand, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
        [
          wo.id,
          wo.product,
          wo.family,
          wo.model,
          wo.minFirmware,
          wo.quantity ?? null,
          wo.line ?? null,
          wo.brand ?? null,
          wo.createdAt,
        ],
      );
      if (rowCount !== 1) {
        throw new TriadkitError("ledger.work_order_exists", `work order ${wo.id} exists; ids are never reused`, {
          workOrderId: wo.id,
        });
      }
      await audit(actor, { action: "work_order.add", details: { ...wo } });
      return wo;
    });
  }

  async getWorkOrder(id: string): Promise<WorkOrder | undefined> {
    const row = await one<WorkOrderRow>(this.pool, "SELECT * FROM work_orders WHERE id = $1", [id]);
    return row === undefined ? undefined : workOrderFromRow(row);
  }

  async listWorkOrders(): Promise<readonly WorkOrder[]> {
    return (await all<WorkOrderRow>(this.pool, "SELECT * FROM work_orders ORDER BY created_at, id")).map(
      workOrderFromRow,
    );
  }

  async beginImport(workOrderId: string, source: ImportSource, actor: Actor): Promise<ImportSession> {
    await this.writable();
    let release = () => {};
    this.session = new Promise<void>((resolve) => {
      release = resolve;
    });
    return beginPgImport(
      {
        pool: this.pool,
        keys: this.options.keys,
        now: this.options.now,
        checkpointEvery: this.options.checkpointEvery ?? 1000,
        onClosed: () => {
          this.session = undefined;
          release();
        },
      },
      workOrderId,
      source,
      actor,
    );
  }

  async getTriad(id: string): Promise<TriadRecord | undefined> {
    return readTriad(this.pool, id);
  }

  async findTriad(identity: TriadIdentity): Promise<TriadRecord | undefined> {
    return findTriadPg(this.pool, identity);
  }

  async listTriads(query: TriadQuery = {}): Promise<readonly TriadRecord[]> {
    return queryTriadsPg(this.pool, query);
  }

  async reserve(workOrderId: string, actor: Actor): Promise<TriadRecord> {
    checkActor(actor, this.stationId);
    return this.write((db, audit) => reservePg(db, workOrderId, actor, this.options.now(), audit));
  }

  async transition(triadId: string, request: TransitionRequest): Promise<TriadRecord> {
    checkActor(request.actor, this.stationId);
    return this.write((db, audit) => transitionPg(db, triadId, request, this.options.now(), audit));
  }

  async release(triadId: string, decision: HumanDecision, actor: Actor): Promise<TriadRecord> {
    return this.transition(triadId, { to: "available", actor, humanDecision: decision });
  }

  async counts(): Promise<LedgerCounts> {
    return countTriadsPg(this.pool);
  }

  async stations(): Promise<readonly StationRecord[]> {
    return readStationsPg(this.pool);
  }

  async poolKeys(): Promise<readonly WrappedPoolKey[]> {
    return readPoolKeysPg(this.pool);
  }

  async createPoolKey(wrapped: WrappedPoolKey, actor: Actor): Promise<boolean> {
    checkActor(actor, this.stationId);
    checkFirstPoolKey(wrapped, this.stationId);
    return this.write(async (db, audit) => {
      await lockPool(db);
      if ((await latestKeyVersionPg(db)) > 0) return false;
      await storeWrapPg(db, wrapped);
      await audit(actor, { action: "keys.create", details: { keyVersion: 1, stationId: wrapped.stationId } });
      return true;
    });
  }

  async grantStation(
    station: StationRecord,
    wrapped: readonly WrappedPoolKey[],
    actor: Actor,
    options: { readonly line?: string } = {},
  ): Promise<void> {
    checkActor(actor, this.stationId);
    await this.write(async (db, audit) => {
      await lockPool(db);
      const event = grantEvent(station, wrapped, options.line);
      await registerStationPg(db, station, false);
      for (const w of wrapped) await storeWrapPg(db, w);
      await audit(actor, event);
    });
  }

  async revokeStation(stationId: string, actor: Actor): Promise<readonly number[]> {
    checkActor(actor, this.stationId);
    return this.write(async (db, audit) => {
      await lockPool(db);
      const rows = await all<{ version: number }>(
        db,
        "SELECT version FROM pool_keys WHERE station_id = $1 ORDER BY version",
        [stationId],
      );
      const versions = rows.map((r) => Number(r.version));
      const event = revokeEvent(stationId, this.stationId, versions);
      await db.query("DELETE FROM pool_keys WHERE station_id = $1", [stationId]);
      await audit(actor, event);
      return versions;
    });
  }

  async rekey(next: WrappedPoolKey, reseal: Resealer, actor: Actor): Promise<RekeyResult> {
    checkActor(actor, this.stationId);
    return this.write(async (db, audit) => {
      await lockPool(db);
      const v = await latestKeyVersionPg(db);
      checkNextPoolKey(next, v, this.stationId);
      await storeWrapPg(db, next);
      const { resealed, resealedPops } = await resealAllPg(db, reseal);
      const regrant = stationsToRegrant(await readPoolKeysPg(db), this.stationId);
      await db.query("DELETE FROM pool_keys WHERE version < $1", [next.version]);
      await audit(actor, {
        action: "keys.rotate",
        details: { fromVersion: v, toVersion: next.version, resealed, resealedPops, stationsToRegrant: regrant },
      });
      return { resealed, resealedPops, stationsToRegrant: regrant };
    });
  }

  async linkDevice(triadId: string, link: NewDeviceLink, actor: Actor): Promise<DeviceLink> {
    checkActor(actor, this.stationId);
    return this.write((db, audit) => linkDevicePg(db, triadId, link, actor, this.options.now(), audit));
  }

  async deviceLink(triadId: string): Promise<DeviceLink | undefined> {
    return readLinkPg(this.pool, triadId);
  }

  async setDeviceLinkStatus(
    triadId: string,
    status: Exclude<DeviceLinkStatus, "active">,
    reason: string,
    actor: Actor,
  ): Promise<DeviceLink> {
    checkActor(actor, this.stationId);
    return this.write((db, audit) => setLinkStatusTxPg(db, triadId, status, reason, actor, this.options.now(), audit));
  }

  async deviceLinksByChip(chipId: string): Promise<readonly DeviceLink[]> {
    return readLinksByChipPg(this.pool, chipId);
  }

  async factoryAnchor(): Promise<FactoryAnchorRecord | undefined> {
    return readAnchorPg(this.pool);
  }

  async createFactoryAnchor(anchor: FactoryAnchorRecord, actor: Actor): Promise<boolean> {
    checkActor(actor, this.stationId);
    return this.write(async (db, audit) => {
      if (!(await insertAnchorPg(db, anchor))) return false;
      await audit(actor, {
        action: "anchor.create",
        details: { publicKey: Buffer.from(anchor.publicKey).toString("hex") },
      });
      return true;
    });
  }

  async importShelfDevices(
    rows: readonly ShelfImportRow[],
    source: ShelfSource,
    actor: Actor,
  ): Promise<ShelfImportResult> {
    checkActor(actor, this.stationId);
    return this.write((db, audit) => importShelfPg(db, rows, source, actor, this.options.now(), audit));
  }

  async checkShelfDevices(rows: readonly ShelfImportRow[]): Promise<readonly ShelfRowIssue[]> {
    return checkShelfRowsPg(this.pool, rows);
  }

  async shelfDevice(deviceCode: string): Promise<ShelfDevice | undefined> {
    return readShelfDevicePg(this.pool, deviceCode);
  }

  async shelfDeviceOfChip(chipId: string): Promise<ShelfDevice | undefined> {
    return readShelfDeviceOfChipPg(this.pool, chipId);
  }

  async listShelfDevices(query: ShelfQuery = {}): Promise<readonly ShelfDevice[]> {
    return queryShelfDevicesPg(this.pool, query);
  }

  async shelfCodeHistory(deviceCode: string): Promise<readonly ShelfCodeRecord[]> {
    return readShelfCodeHistoryPg(this.pool, deviceCode);
  }

  async shelfStores(brand?: string): Promise<readonly ShelfStore[]> {
    return readShelfStoresPg(this.pool, brand);
  }

  async availableShelfDevices(selector: ShelfSelector): Promise<number> {
    return countAvailableShelfPg(this.pool, selector);
  }

  async assignShelfDevice(chipId: string, selector: ShelfSelector, actor: Actor): Promise<ShelfDevice> {
    checkActor(actor, this.stationId);
    return this.write((db, audit) => assignShelfPg(db, chipId, selector, actor, this.options.now(), audit));
  }

  async activateShelfDevice(deviceCode: string, activation: ShelfActivation, actor: Actor): Promise<ShelfDevice> {
    checkActor(actor, this.stationId);
    return this.write((db, audit) => activateShelfPg(db, deviceCode, activation, actor, this.options.now(), audit));
  }

  async changeShelfCode(
    deviceCode: string,
    newCode: string,
    source: ShelfCodeSource,
    note: string | undefined,
    actor: Actor,
  ): Promise<ShelfDevice> {
    checkActor(actor, this.stationId);
    return this.write((db, audit) =>
      changeShelfCodePg(db, deviceCode, newCode, source, note, actor, this.options.now(), audit),
    );
  }

  async releaseShelfDevice(deviceCode: string, decision: HumanDecision, actor: Actor): Promise<ShelfDevice> {
    checkActor(actor, this.stationId);
    return this.write((db, audit) => releaseShelfPg(db, deviceCode, decision, actor, this.options.now(), audit));
  }

  async appendAudit(actor: Actor, event: AuditEvent): Promise<AuditEntry> {
    return this.write((_db, audit) => audit(actor, event));
  }

  async checkpoint(): Promise<AuditCheckpoint> {
    return this.write((db) => this.log.checkpoint(db));
  }

  async auditEntries(stationId: string, afterSeq: number, limit: number): Promise<readonly AuditEntry[]> {
    return readPgAuditEntries(this.pool, stationId, afterSeq, limit);
  }

  async auditCheckpoints(stationId: string): Promise<readonly AuditCheckpoint[]> {
    return readPgAuditCheckpoints(this.pool, stationId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
