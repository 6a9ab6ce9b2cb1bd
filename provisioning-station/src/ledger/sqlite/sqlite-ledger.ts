/**
 * The single-station ledger: one SQLite file (better-sqlite3) is one pool. Every mutation runs in a BEGIN IMMEDIATE
 * transaction together with its audit entry, so writers in several processes are serialised by SQLite itself and a
 * triad is never reserved twice. After COMMIT the head file outside the database is advanced.
 */
import { TriadkitError } from "@triadkit/protocol";
import type { Random } from "@triadkit/sdk";
import type Database from "better-sqlite3";
import { advanceAuditHead, auditHeadPathFor } from "../../audit/head-file.js";
import type { AuditCheckpoint, AuditEntry, AuditEvent, AuditKeys } from "../../audit/types.js";
import { SqliteProductTables } from "../../products/product-store.js";
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
import { checkActor, readAuditCheckpoints, readAuditEntries, SqliteAuditLog } from "./audit-log.js";
import { insertAnchor, readAnchor, readLink, readLinksByChip, resealDeviceSecrets } from "./device-store.js";
import { beginSqliteImport } from "./import-session.js";
import {
  checkFirstPoolKey,
  checkNextPoolKey,
  grantEvent,
  latestKeyVersion,
  readPoolKeys,
  readStations,
  registerStation,
  resealAll,
  revokeEvent,
  stationsToRegrant,
  storeWrap,
} from "./key-store.js";
import { countTriads, findTriadByIdentity, queryTriads } from "./queries.js";
import { type TriadRow, triadFromRow, type WorkOrderRow, workOrderFromRow } from "./rows.js";
import { asLedgerError, migrate, openConnection } from "./schema.js";
import {
  activateShelfTx,
  assignShelfTx,
  changeShelfCodeTx,
  checkShelfRows,
  countAvailableShelf,
  importShelfTx,
  queryShelfDevices,
  readShelfCodeHistory,
  readShelfDevice,
  readShelfDeviceOfChip,
  readShelfStores,
  releaseShelfTx,
} from "./shelf-store.js";
import { linkDeviceTx, reserveTx, setLinkStatusTx, transitionTx } from "./triad-writes.js";

export interface SqliteLedgerOptions {
  readonly path: string;
  /** This station's audit keys (a StationKey from ../keys will do). */
  readonly keys: AuditKeys;
  readonly now: () => number;
  readonly random: Random;
  /** Default `<path>.audit-head`. */
  readonly headFile?: string;
  readonly busyTimeoutMs?: number;
  /** A signed checkpoint every this many entries; default 1000. */
  readonly checkpointEvery?: number;
  /** Who is recorded for `station.add` when this station first opens the pool; default "station". */
  readonly operator?: string;
  /** The head file could not be written after a commit (the commit stands; the head stays behind). */
  readonly onHeadError?: (err: unknown) => void;
}

const u8 = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export async function openSqliteLedger(options: SqliteLedgerOptions): Promise<SqliteLedger> {
  const db = openConnection(options.path, options);
  try {
    migrate(db, options.path, options.now);
    return new SqliteLedger(db, options);
  } catch (err) {
    db.close();
    throw asLedgerError(err);
  }
}

export class SqliteLedger implements Ledger {
  readonly poolId: string;
  readonly stationId: string;
  readonly headFile: string;
  private readonly log: SqliteAuditLog;
  private session: Promise<void> | undefined;
  private readonly headMayBeCreated: boolean;

  constructor(
    private readonly db: Database.Database,
    private readonly options: SqliteLedgerOptions,
  ) {
    this.stationId = options.keys.stationId;
    this.headFile = options.headFile ?? auditHeadPathFor(options.path);
    this.log = new SqliteAuditLog(db, options.keys, options.now, options.checkpointEvery ?? 1000);
    let added: AuditEntry | undefined;
    // A chain that already had entries when this station opened must already have its head file: if that file is
    // missing, it is never recreated by an ordinary write (that would hide a deleted tail); `audit accept-head` does.
    const before = db.prepare("SELECT count(*) AS n FROM audit_entries WHERE station_id = ?").get(this.stationId) as {
      n: number;
    };
    this.headMayBeCreated = before.n === 0;
    this.poolId = db
      .transaction(() => {
        let pool = db.prepare("SELECT pool_id FROM pool").get() as { pool_id: string } | undefined;
        if (pool === undefined) {
          pool = { pool_id: Buffer.from(options.random.bytes(16)).toString("hex") };
          db.prepare("INSERT INTO pool (singleton, pool_id, created_at) VALUES (1, ?, ?)").run(
            pool.pool_id,
            options.now(),
          );
        }
        added = this.registerSelf();
        return pool.pool_id;
      })
      .immediate();
    if (added !== undefined) this.advanceHead(added);
  }

  private registerSelf(): AuditEntry | undefined {
    const { keys, now } = this.options;
    const station = { stationId: keys.stationId, publicKey: keys.publicKey, createdAt: now() };
    if (!registerStation(this.db, station, true)) return undefined;
    const actor = { stationId: keys.stationId, operator: this.options.operator ?? "station" };
    return this.log.append(actor, {
      action: "station.add",
      details: { stationId: keys.stationId, publicKey: Buffer.from(keys.publicKey).toString("hex") },
    });
  }

  private advanceHead(entry: AuditEntry): void {
    try {
      const macAt = this.db.prepare("SELECT mac FROM audit_entries WHERE station_id = ? AND seq = ?");
      advanceAuditHead(
        this.headFile,
        this.options.keys,
        entry,
        (seq) => {
          const row = macAt.get(this.stationId, seq) as { mac: Buffer } | undefined;
          return row === undefined ? undefined : u8(row.mac);
        },
        { mayCreate: this.headMayBeCreated },
      );
    } catch (err) {
      this.options.onHeadError?.(err);
    }
  }

  /** Waits while an import session of this ledger holds the write lock. */
  private async writable(): Promise<void> {
    while (this.session !== undefined) await this.session;
  }

  /** One IMMEDIATE transaction; `audit` appends to this station's chain inside it; the head advances after. */
  private async write<T>(fn: (audit: (actor: Actor, e: AuditEvent) => AuditEntry) => T): Promise<T> {
    await this.writable();
    let last: AuditEntry | undefined;
    const audit = (actor: Actor, e: AuditEvent) => {
      last = this.log.append(actor, e);
      return last;
    };
    let result: T;
    try {
      result = this.db
        .transaction(() => {
          last = undefined;
          return fn(audit);
        })
        .immediate();
    } catch (err) {
      throw asLedgerError(err);
    }
    if (last !== undefined) this.advanceHead(last);
    return result;
  }

  private triadRow(id: string): TriadRow | undefined {
    return this.db.prepare("SELECT * FROM triads WHERE id = ?").get(id) as TriadRow | undefined;
  }

  async addWorkOrder(order: NewWorkOrder, actor: Actor): Promise<WorkOrder> {
    checkActor(actor, this.stationId);
    const wo = validateWorkOrder(order, this.options.now());
    return this.write((audit) => {
      if (this.db.prepare("SELECT 1 FROM work_orders WHERE id = ?").get(wo.id) !== undefined) {
        throw new TriadkitError("ledger.work_order_exists", `work order ${wo.id} exists; ids are never reused`, {
          workOrderId: wo.id,
        });
      }
      this.db
        .prepare(
          `INSERT INTO work_orders (id, product, family, model, min_firmware, quantity, line, brand, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          wo.id,
          wo.product,
          wo.family,
          wo.model,
          wo.minFirmware,
          wo.quantity ?? null,
          wo.line ?? null,
          wo.brand ?? null,
          wo.createdAt,
        );
      audit(actor, { action: "work_order.add", details: { ...wo } });
      return wo;
    });
  }

  async getWorkOrder(id: string): Promise<WorkOrder | undefined> {
    const row = this.db.prepare("SELECT * FROM work_orders WHERE id = ?").get(id) as WorkOrderRow | undefined;
    return row === undefined ? undefined : workOrderFromRow(row);
  }

  async listWorkOrders(): Promise<readonly WorkOrder[]> {
    const rows = this.db.prepare("SELECT * FROM work_orders ORDER BY created_at, id").all() as WorkOrderRow[];
    return rows.map(workOrderFromRow);
  }

  async beginImport(workOrderId: string, source: ImportSource, actor: Actor): Promise<ImportSession> {
    await this.writable();
    let release = () => {};
    this.session = new Promise<void>((resolve) => {
      release = resolve;
    });
    return beginSqliteImport(
      {
        path: this.options.path,
        busyTimeoutMs: this.options.busyTimeoutMs ?? 10_000,
        keys: this.options.keys,
        now: this.options.now,
        checkpointEvery: this.options.checkpointEvery ?? 1000,
        onCommitted: (entry) => this.advanceHead(entry),
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
    const row = this.triadRow(id);
    return row === undefined ? undefined : triadFromRow(row);
  }

  async findTriad(identity: TriadIdentity): Promise<TriadRecord | undefined> {
    return findTriadByIdentity(this.db, identity);
  }

  async listTriads(query: TriadQuery = {}): Promise<readonly TriadRecord[]> {
    return queryTriads(this.db, query);
  }

  async reserve(workOrderId: string, actor: Actor): Promise<TriadRecord> {
    checkActor(actor, this.stationId);
    return this.write((audit) => reserveTx(this.db, workOrderId, actor, this.options.now(), audit));
  }

  async transition(triadId: string, request: TransitionRequest): Promise<TriadRecord> {
    checkActor(request.actor, this.stationId);
    return this.write((audit) => transitionTx(this.db, triadId, request, this.options.now(), audit));
  }

  async release(triadId: string, decision: HumanDecision, actor: Actor): Promise<TriadRecord> {
    return this.transition(triadId, { to: "available", actor, humanDecision: decision });
  }

  async counts(): Promise<LedgerCounts> {
    return countTriads(this.db);
  }

  async stations(): Promise<readonly StationRecord[]> {
    return readStations(this.db);
  }

  async poolKeys(): Promise<readonly WrappedPoolKey[]> {
    return readPoolKeys(this.db);
  }

  async createPoolKey(wrapped: WrappedPoolKey, actor: Actor): Promise<boolean> {
    checkActor(actor, this.stationId);
    checkFirstPoolKey(wrapped, this.stationId);
    return this.write((audit) => {
      if (latestKeyVersion(this.db) > 0) return false;
      storeWrap(this.db, wrapped);
      audit(actor, { action: "keys.create", details: { keyVersion: 1, stationId: wrapped.stationId } });
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
    await this.write((audit) => {
      const event = grantEvent(station, wrapped, options.line);
      registerStation(this.db, station, false);
      for (const w of wrapped) storeWrap(this.db, w);
      audit(actor, event);
    });
  }

  async revokeStation(stationId: string, actor: Actor): Promise<readonly number[]> {
    checkActor(actor, this.stationId);
    return this.write((audit) => {
      const rows = this.db
        .prepare("SELECT version FROM pool_keys WHERE station_id = ? ORDER BY version")
        .all(stationId) as { version: number }[];
      const versions = rows.map((r) => r.version);
      const event = revokeEvent(stationId, this.stationId, versions);
      this.db.prepare("DELETE FROM pool_keys WHERE station_id = ?").run(stationId);
      audit(actor, event);
      return versions;
    });
  }

  async rekey(next: WrappedPoolKey, reseal: Resealer, actor: Actor): Promise<RekeyResult> {
    checkActor(actor, this.stationId);
    return this.write((audit) => {
      const v = latestKeyVersion(this.db);
      checkNextPoolKey(next, v, this.stationId);
      storeWrap(this.db, next);
      const resealed = resealAll(this.db, (id, sealed) => reseal.secret(id, sealed));
      const resealedPops = resealDeviceSecrets(this.db, reseal);
      const regrant = stationsToRegrant(readPoolKeys(this.db), this.stationId);
      this.db.prepare("DELETE FROM pool_keys WHERE version < ?").run(next.version);
      audit(actor, {
        action: "keys.rotate",
        details: { fromVersion: v, toVersion: next.version, resealed, resealedPops, stationsToRegrant: regrant },
      });
      return { resealed, resealedPops, stationsToRegrant: regrant };
    });
  }

  async linkDevice(triadId: string, link: NewDeviceLink, actor: Actor): Promise<DeviceLink> {
    checkActor(actor, this.stationId);
    return this.write((audit) => linkDeviceTx(this.db, triadId, link, actor, this.options.now(), audit));
  }

  async deviceLink(triadId: string): Promise<DeviceLink | undefined> {
    return readLink(this.db, triadId);
  }

  async setDeviceLinkStatus(
    triadId: string,
    status: Exclude<DeviceLinkStatus, "active">,
    reason: string,
    actor: Actor,
  ): Promise<DeviceLink> {
    checkActor(actor, this.stationId);
    return this.write((audit) => setLinkStatusTx(this.db, triadId, status, reason, actor, this.options.now(), audit));
  }

  async deviceLinksByChip(chipId: string): Promise<readonly DeviceLink[]> {
    return readLinksByChip(this.db, chipId);
  }

  async factoryAnchor(): Promise<FactoryAnchorRecord | undefined> {
    return readAnchor(this.db);
  }

  async createFactoryAnchor(anchor: FactoryAnchorRecord, actor: Actor): Promise<boolean> {
    checkActor(actor, this.stationId);
    return this.write((audit) => {
      if (!insertAnchor(this.db, anchor)) return false;
      audit(actor, { action: "anchor.create", details: { publicKey: Buffer.from(anchor.publicKey).toString("hex") } });
      return true;
    });
  }

  async importShelfDevices(
    rows: readonly ShelfImportRow[],
    source: ShelfSource,
    actor: Actor,
  ): Promise<ShelfImportResult> {
    checkActor(actor, this.stationId);
    return this.write((audit) => importShelfTx(this.db, rows, source, actor, this.options.now(), audit));
  }

  async checkShelfDevices(rows: readonly ShelfImportRow[]): Promise<readonly ShelfRowIssue[]> {
    return checkShelfRows(this.db, rows);
  }

  async shelfDevice(deviceCode: string): Promise<ShelfDevice | undefined> {
    return readShelfDevice(this.db, deviceCode);
  }

  async shelfDeviceOfChip(chipId: string): Promise<ShelfDevice | undefined> {
    return readShelfDeviceOfChip(this.db, chipId);
  }

  async listShelfDevices(query: ShelfQuery = {}): Promise<readonly ShelfDevice[]> {
    return queryShelfDevices(this.db, query);
  }

  async shelfCodeHistory(deviceCode: string): Promise<readonly ShelfCodeRecord[]> {
    return readShelfCodeHistory(this.db, deviceCode);
  }

  async shelfStores(brand?: string): Promise<readonly ShelfStore[]> {
    return readShelfStores(this.db, brand);
  }

  async availableShelfDevices(selector: ShelfSelector): Promise<number> {
    return countAvailableShelf(this.db, selector);
  }

  async assignShelfDevice(chipId: string, selector: ShelfSelector, actor: Actor): Promise<ShelfDevice> {
    checkActor(actor, this.stationId);
    return this.write((audit) => assignShelfTx(this.db, chipId, selector, actor, this.options.now(), audit));
  }

  async activateShelfDevice(deviceCode: string, activation: ShelfActivation, actor: Actor): Promise<ShelfDevice> {
    checkActor(actor, this.stationId);
    return this.write((audit) => activateShelfTx(this.db, deviceCode, activation, actor, this.options.now(), audit));
  }

  async changeShelfCode(
    deviceCode: string,
    newCode: string,
    source: ShelfCodeSource,
    note: string | undefined,
    actor: Actor,
  ): Promise<ShelfDevice> {
    checkActor(actor, this.stationId);
    return this.write((audit) =>
      changeShelfCodeTx(this.db, deviceCode, newCode, source, note, actor, this.options.now(), audit),
    );
  }

  async releaseShelfDevice(deviceCode: string, decision: HumanDecision, actor: Actor): Promise<ShelfDevice> {
    checkActor(actor, this.stationId);
    return this.write((audit) => releaseShelfTx(this.db, deviceCode, decision, actor, this.options.now(), audit));
  }

  async appendAudit(actor: Actor, event: AuditEvent): Promise<AuditEntry> {
    return this.write((audit) => audit(actor, event));
  }

  async checkpoint(): Promise<AuditCheckpoint> {
    return this.write(() => this.log.checkpoint());
  }

  async auditEntries(stationId: string, afterSeq: number, limit: number): Promise<readonly AuditEntry[]> {
    return readAuditEntries(this.db, stationId, afterSeq, limit);
  }

  async auditCheckpoints(stationId: string): Promise<readonly AuditCheckpoint[]> {
    return readAuditCheckpoints(this.db, stationId);
  }

  /** Product recommendation tables (schema v4), written in this ledger's transactions and audit chain. */
  get products(): SqliteProductTables {
    return new SqliteProductTables(this.db, {
      write: (fn) => this.write(fn),
      now: this.options.now,
      stationId: this.stationId,
    });
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
