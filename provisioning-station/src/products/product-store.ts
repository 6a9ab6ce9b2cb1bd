/**
 * The station's product recommendation tables in the SQLite ledger (schema v4, ./schema-v4.ts): import a validated
 * table as the next version, list them, find the devices a push reaches and the table each one should hold, record
 * what each device acknowledged. Every change runs in the ledger's write transaction with its audit entry
 * (`products.import`, `products.push`, `products.ack`).
 *
 * Which table a device should hold: the latest table of its store if the store has one, else the latest table of its
 * brand (a store's table overrides its brand's). Devices are the smart-shelf devices of schema v3 with a burnt triad
 * (`verified` or `registered`); `--work-order` pushes one scope's table to a work order's burnt devices instead.
 */
import {
  createProductTable,
  type ProductItem,
  type ProductLinkKind,
  type ProductPushResult,
  type ProductPushStatus,
  type ProductScope,
  type ProductTable,
  TriadkitError,
} from "@triadkit/protocol";
import type Database from "better-sqlite3";
import type { AuditEntry, AuditEvent } from "../audit/types.js";
import { checkActor } from "../ledger/sqlite/audit-log.js";
import type { Actor } from "../ledger/types.js";

/** How the ledger lets this module write: one IMMEDIATE transaction with an audit appender. */
export type LedgerWrite = <T>(fn: (audit: (actor: Actor, e: AuditEvent) => AuditEntry) => T) => Promise<T>;

export interface ProductStoreDeps {
  readonly write: LedgerWrite;
  readonly now: () => number;
  readonly stationId: string;
}

/** A row of the brand's sheet, already read (see ./product-sheet.ts). */
export interface ProductRowInput {
  readonly row: number;
  readonly name: string;
  readonly url: string;
}

export interface ProductTableInfo {
  readonly version: number;
  readonly scope: ProductScope;
  readonly hash: string;
  readonly itemCount: number;
  readonly fileName: string;
  readonly fileSha256: string;
  readonly operator: string;
  readonly createdAt: number;
}

export interface ImportedProductTable {
  readonly table: ProductTable;
  readonly info: ProductTableInfo;
  /** True when the scope's latest table already had this content: nothing was added. */
  readonly unchanged: boolean;
}

/** Which devices: a brand's or a store's shelf devices, or a work order's burnt devices (with one scope's table). */
export type ProductTargetSelector =
  | { readonly brand: string }
  | { readonly storeId: string }
  | { readonly workOrderId: string; readonly scope: ProductScope };

export interface ProductTarget {
  readonly triadId: string;
  readonly productKey: string;
  readonly deviceName: string;
  readonly brand?: string;
  readonly storeId?: string;
  readonly deviceCode?: string;
  /** The table the device should hold; absent when neither its store nor its brand has one. */
  readonly version?: number;
}

/** One device's push result, as the station records it: by triad rather than identity. */
export type ProductPushRecord = Omit<ProductPushResult, "productKey" | "deviceName" | "message"> & {
  readonly triadId: string;
};

export interface ProductDeviceStatus extends ProductTarget {
  readonly pushedVersion?: number;
  readonly lastStatus?: ProductPushStatus;
  readonly code?: string;
  readonly ackedVersion?: number;
  readonly ackedHash?: string;
  readonly pushedAt?: number;
  readonly ackedAt?: number;
  /** `current`: acknowledged the table it should hold (or newer); `behind`: not yet; `no_table`: nothing to hold. */
  readonly state: "current" | "behind" | "no_table";
}

interface TableRow {
  version: number;
  scope_type: "brand" | "store";
  scope_id: string;
  hash: string;
  item_count: number;
  file_name: string;
  file_sha256: string;
  operator: string;
  created_at: number;
}

interface ItemRow {
  name: string;
  url: string;
  kind: ProductLinkKind;
  item_id: string | null;
  sku_id: string | null;
  source_row: number;
}

interface TargetRow {
  triad_id: string;
  product_key: string;
  device_name: string;
  brand: string | null;
  store_id: number | null;
  code: string | null;
}

interface AckRow {
  triad_id: string;
  pushed_version: number;
  status: ProductPushStatus;
  code: string | null;
  acked_version: number | null;
  acked_hash: string | null;
  pushed_at: number;
  acked_at: number | null;
}

const BURNT = "('verified', 'registered')";

function infoOf(row: TableRow): ProductTableInfo {
  return {
    version: row.version,
    scope: { type: row.scope_type, id: row.scope_id },
    hash: row.hash,
    itemCount: row.item_count,
    fileName: row.file_name,
    fileSha256: row.file_sha256,
    operator: row.operator,
    createdAt: row.created_at,
  };
}

/** The push and ack fields of a device's status. */
function ackFields(ack: AckRow) {
  return {
    pushedVersion: ack.pushed_version,
    lastStatus: ack.status,
    pushedAt: ack.pushed_at,
    ...(ack.code === null ? {} : { code: ack.code }),
    ...(ack.acked_version === null
      ? {}
      : { ackedVersion: ack.acked_version, ackedHash: ack.acked_hash ?? "", ackedAt: ack.acked_at ?? 0 }),
  };
}

function scopeText(scope: ProductScope): string {
  return `${scope.type}:${scope.id}`;
}

export class SqliteProductTables {
  constructor(
    private readonly db: Database.Database,
    private readonly deps: ProductStoreDeps,
  ) {}

  /**
   * Validates the rows (all or nothing: the first bad row throws, with its `row` in the context; ./product-sheet.ts
   * reports every bad row before this is called) and stores them as the next version for `scope`.
   */
  async importTable(
    input: {
      readonly scope: ProductScope;
      readonly rows: readonly ProductRowInput[];
      readonly fileName: string;
      readonly fileSha256: string;
    },
    actor: Actor,
  ): Promise<ImportedProductTable> {
    checkActor(actor, this.deps.stationId);
    return this.deps.write((audit) => {
      const next = this.maxVersion() + 1;
      let table: ProductTable;
      try {
        table = createProductTable({ version: next, scope: input.scope, items: input.rows });
      } catch (err) {
        const index = err instanceof TriadkitError ? err.context?.["index"] : undefined;
        if (typeof index === "number" && err instanceof TriadkitError) {
          throw new TriadkitError(err.code, err.message.replace(/ \([a-z]+\.[a-z0-9_]+\)$/, ""), {
            ...err.context,
            row: input.rows[index]?.row,
          });
        }
        throw err;
      }
      const latest = this.latestRow(table.scope);
      if (latest !== undefined && latest.hash === table.hash) {
        return { table: this.tableOf(latest), info: infoOf(latest), unchanged: true };
      }
      const now = this.deps.now();
      this.db
        .prepare(
          `INSERT INTO product_tables (version, scope_type, scope_id, hash, item_count, file_name, file_sha256,
             station_id, operator, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          table.version,
          table.scope.type,
          table.scope.id,
          table.hash,
          table.items.length,
          input.fileName,
          input.fileSha256,
          actor.stationId,
          actor.operator,
          now,
        );
      const insert = this.db.prepare(
        `INSERT INTO product_items (version, position, source_row, name, url, kind, item_id, sku_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      table.items.forEach((item, i) => {
        const row = input.rows[i] as ProductRowInput;
        insert.run(
          table.version,
          i + 1,
          row.row,
          item.name,
          item.url,
          item.kind,
          item.itemId ?? null,
          item.skuId ?? null,
        );
      });
      const kinds = { tmall: 0, taobao: 0, other: 0 };
      for (const item of table.items) kinds[item.kind]++;
      audit(actor, {
        action: "products.import",
        details: {
          version: table.version,
          scope: scopeText(table.scope),
          hash: table.hash,
          items: table.items.length,
          kinds,
          fileName: input.fileName,
          sha256: input.fileSha256,
          ...(latest === undefined ? {} : { replaces: latest.version }),
        },
      });
      const info = infoOf(this.db.prepare("SELECT * FROM product_tables WHERE version = ?").get(next) as TableRow);
      return { table, info, unchanged: false };
    });
  }

  /** Tables, newest first; only one scope's when given. */
  list(scope?: ProductScope): ProductTableInfo[] {
    const rows =
      scope === undefined
        ? (this.db.prepare("SELECT * FROM product_tables ORDER BY version DESC").all() as TableRow[])
        : (this.db
            .prepare("SELECT * FROM product_tables WHERE scope_type = ? AND scope_id = ? ORDER BY version DESC")
            .all(scope.type, scope.id) as TableRow[]);
    return rows.map(infoOf);
  }

  /** One version with its items, or undefined. */
  get(version: number): ProductTable | undefined {
    const row = this.db.prepare("SELECT * FROM product_tables WHERE version = ?").get(version) as TableRow | undefined;
    return row === undefined ? undefined : this.tableOf(row);
  }

  /** The scope's latest table, or undefined. */
  latest(scope: ProductScope): ProductTable | undefined {
    const row = this.latestRow(scope);
    return row === undefined ? undefined : this.tableOf(row);
  }

  /** The devices a selector reaches, each with the table version it should hold. */
  targets(selector: ProductTargetSelector): ProductTarget[] {
    if ("workOrderId" in selector) {
      const version = this.latestRow(selector.scope)?.version;
      const rows = this.db
        .prepare(
          `SELECT id AS triad_id, product_key, device_name, NULL AS brand, NULL AS store_id, NULL AS code FROM triads
           WHERE work_order_id = ? AND family = 'alibaba' AND state IN ${BURNT} ORDER BY seq`,
        )
        .all(selector.workOrderId) as TargetRow[];
      return rows.map((r) => this.target(r, version));
    }
    const where = "brand" in selector ? "ss.brand = ?" : "sd.store_id = CAST(? AS INTEGER)";
    const rows = this.db
      .prepare(
        `SELECT sd.triad_id, t.product_key, t.device_name, ss.brand, sd.store_id, sd.code
         FROM shelf_devices sd JOIN shelf_stores ss ON ss.store_id = sd.store_id JOIN triads t ON t.id = sd.triad_id
         WHERE ${where} AND t.family = 'alibaba' AND t.state IN ${BURNT} ORDER BY sd.seq`,
      )
      .all("brand" in selector ? selector.brand : selector.storeId) as TargetRow[];
    return rows.map((r) => this.target(r, this.effectiveVersion(r)));
  }

  /**
   * Records a push: per device the last attempt and, when acknowledged, the version it holds (never lowered); one
   * `products.push` audit entry for the run and a `products.ack` entry per device whose acknowledged version rose.
   */
  async recordPush(
    run: { readonly selector: string; readonly cloud: string },
    records: readonly ProductPushRecord[],
    actor: Actor,
  ): Promise<void> {
    checkActor(actor, this.deps.stationId);
    await this.deps.write((audit) => {
      const read = this.db.prepare("SELECT * FROM product_device_acks WHERE triad_id = ?");
      const upsert = this.db.prepare(
        `INSERT INTO product_device_acks (triad_id, pushed_version, status, code, acked_version, acked_hash, pushed_at,
           acked_at) VALUES (@triadId, @pushed, @status, @code, @ackedVersion, @ackedHash, @pushedAt, @ackedAt)
         ON CONFLICT (triad_id) DO UPDATE SET pushed_version = excluded.pushed_version, status = excluded.status,
           code = excluded.code, acked_version = excluded.acked_version, acked_hash = excluded.acked_hash,
           pushed_at = excluded.pushed_at, acked_at = excluded.acked_at`,
      );
      const identity = this.db.prepare("SELECT product_key, device_name FROM triads WHERE id = ?");
      const counts: Record<string, number> = {};
      const versions = new Set<number>();
      for (const r of records) {
        counts[r.status] = (counts[r.status] ?? 0) + 1;
        versions.add(r.pushed);
        const old = read.get(r.triadId) as AckRow | undefined;
        const rose = r.status === "acked" && r.version !== undefined && r.version > (old?.acked_version ?? 0);
        const kept = old?.acked_version === null || old === undefined ? undefined : old;
        upsert.run({
          triadId: r.triadId,
          pushed: r.pushed,
          status: r.status,
          code: r.code ?? null,
          ackedVersion: rose ? r.version : (kept?.acked_version ?? null),
          ackedHash: rose ? (r.hash ?? null) : (kept?.acked_hash ?? null),
          pushedAt: r.atMs,
          ackedAt: rose ? r.atMs : (kept?.acked_at ?? null),
        });
        if (rose) {
          const id = identity.get(r.triadId) as { product_key: string; device_name: string } | undefined;
          audit(actor, {
            action: "products.ack",
            triadId: r.triadId,
            ...(id === undefined ? {} : { identity: `alibaba:${id.product_key}/${id.device_name}` }),
            details: { version: r.version, hash: r.hash, applied: r.applied ?? null, pushed: r.pushed },
          });
        }
      }
      audit(actor, {
        action: "products.push",
        details: {
          selector: run.selector,
          cloud: run.cloud,
          versions: [...versions].sort((a, b) => a - b),
          devices: records.length,
          ...counts,
        },
      });
    });
  }

  /** Per device of the selector: the table it should hold, the last push, and what it acknowledged. */
  status(selector: ProductTargetSelector): ProductDeviceStatus[] {
    const read = this.db.prepare("SELECT * FROM product_device_acks WHERE triad_id = ?");
    return this.targets(selector).map((t) => {
      const ack = read.get(t.triadId) as AckRow | undefined;
      const acked = ack?.acked_version ?? undefined;
      const state =
        t.version === undefined ? "no_table" : acked !== undefined && acked >= t.version ? "current" : "behind";
      return { ...t, ...(ack === undefined ? {} : ackFields(ack)), state };
    });
  }

  /** Every device with a recorded push (for `products status` without a selector). */
  recorded(): ProductDeviceStatus[] {
    const rows = this.db
      .prepare(
        `SELECT a.*, t.product_key, t.device_name FROM product_device_acks a JOIN triads t ON t.id = a.triad_id
         ORDER BY t.product_key, t.device_name`,
      )
      .all() as (AckRow & { product_key: string; device_name: string })[];
    return rows.map((a) => ({
      triadId: a.triad_id,
      productKey: a.product_key,
      deviceName: a.device_name,
      ...ackFields(a),
      state: a.acked_version !== null && a.acked_version >= a.pushed_version ? "current" : "behind",
    }));
  }

  private target(r: TargetRow, version: number | undefined): ProductTarget {
    return {
      triadId: r.triad_id,
      productKey: r.product_key,
      deviceName: r.device_name,
      ...(r.brand === null ? {} : { brand: r.brand }),
      ...(r.store_id === null ? {} : { storeId: String(r.store_id) }),
      ...(r.code === null ? {} : { deviceCode: r.code }),
      ...(version === undefined ? {} : { version }),
    };
  }

  private effectiveVersion(r: TargetRow): number | undefined {
    const store = r.store_id === null ? undefined : this.latestRow({ type: "store", id: String(r.store_id) });
    if (store !== undefined) return store.version;
    return r.brand === null ? undefined : this.latestRow({ type: "brand", id: r.brand })?.version;
  }

  private maxVersion(): number {
    return (this.db.prepare("SELECT coalesce(max(version), 0) AS v FROM product_tables").get() as { v: number }).v;
  }

  private latestRow(scope: ProductScope): TableRow | undefined {
    return this.db
      .prepare("SELECT * FROM product_tables WHERE scope_type = ? AND scope_id = ? ORDER BY version DESC LIMIT 1")
      .get(scope.type, scope.id) as TableRow | undefined;
  }

  private tableOf(row: TableRow): ProductTable {
    const items = this.db
      .prepare("SELECT * FROM product_items WHERE version = ? ORDER BY position")
      .all(row.version) as ItemRow[];
    const list: ProductItem[] = items.map((i) => ({
      name: i.name,
      url: i.url,
      kind: i.kind,
      ...(i.item_id === null ? {} : { itemId: i.item_id }),
      ...(i.sku_id === null ? {} : { skuId: i.sku_id }),
    }));
    return { version: row.version, scope: { type: row.scope_type, id: row.scope_id }, items: list, hash: row.hash };
  }
}
