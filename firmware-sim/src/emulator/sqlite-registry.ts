import type { AlibabaTriad, DeviceIdentity } from "@triadkit/protocol";
import Database from "better-sqlite3";
import {
  type DeviceFilter,
  type DeviceRecord,
  type DeviceRegistry,
  type DeviceStatus,
  duplicateDevice,
  normaliseProduct,
  normaliseTriad,
  type ProductInput,
  type ProductRecord,
  type RegistryOptions,
  unknownDevice,
} from "./device-directory.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS products (
  product_key      TEXT PRIMARY KEY,
  product_secret   TEXT NOT NULL,
  dynamic_register INTEGER NOT NULL DEFAULT 1,
  regnwl           INTEGER NOT NULL DEFAULT 0,
  created_at       INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
  product_key   TEXT NOT NULL,
  device_name   TEXT NOT NULL,
  device_secret TEXT NOT NULL,
  device_token  TEXT,
  status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled', 'deleted')),
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  activated_at  INTEGER,
  PRIMARY KEY (product_key, device_name)
);
CREATE INDEX IF NOT EXISTS devices_by_status ON devices (status);
`;

interface DeviceRow {
  product_key: string;
  device_name: string;
  status: DeviceStatus;
  created_at: number;
  updated_at: number;
  activated_at: number | null;
}

interface ProductRow {
  product_key: string;
  dynamic_register: number;
  regnwl: number;
  created_at: number;
}

const DEVICE_COLUMNS = "product_key, device_name, status, created_at, updated_at, activated_at";

function toDevice(row: DeviceRow): DeviceRecord {
  return {
    productKey: row.product_key,
    deviceName: row.device_name,
    status: row.status,
    createdAtMs: row.created_at,
    updatedAtMs: row.updated_at,
    activatedAtMs: row.activated_at ?? undefined,
  };
}

function toProduct(row: ProductRow): ProductRecord {
  return {
    productKey: row.product_key,
    dynamicRegister: row.dynamic_register !== 0,
    regnwl: row.regnwl !== 0,
    createdAtMs: row.created_at,
  };
}

/**
 * The platform's device and product tables in SQLite (better-sqlite3, synchronous). `:memory:` by default;
 * give a file path to keep devices across runs (the CLI's `--db`). Secrets are stored as given: this is a
 * test platform, keep its database file where you keep test secrets.
 */
export class SqliteDeviceRegistry implements DeviceRegistry {
  private readonly db: Database.Database;
  private readonly nowMs: () => number;

  constructor(path = ":memory:", options: RegistryOptions = {}) {
    this.nowMs = options.nowMs ?? Date.now;
    this.db = new Database(path);
    if (path !== ":memory:") this.db.pragma("journal_mode = WAL");
    this.db.exec(SCHEMA);
  }

  add(triad: AlibabaTriad, options: { readonly replace?: boolean } = {}): DeviceRecord {
    const t = normaliseTriad(triad);
    const now = this.nowMs();
    const insert = this.db.transaction(() => {
      const existing = this.get(t);
      if (existing && existing.status !== "deleted" && !options.replace) throw duplicateDevice(t);
      this.db
        .prepare(
          `INSERT OR REPLACE INTO devices (product_key, device_name, device_secret, device_token, status, created_at, updated_at, activated_at)
           VALUES (?, ?, ?, NULL, 'active', ?, ?, NULL)`,
        )
        .run(t.productKey, t.deviceName, t.deviceSecret, now, now);
    });
    insert();
    return this.get(t) as DeviceRecord;
  }

  lookupSecret(identity: DeviceIdentity): string | undefined {
    const row = this.db
      .prepare("SELECT device_secret FROM devices WHERE product_key = ? AND device_name = ? AND status != 'deleted'")
      .get(identity.productKey, identity.deviceName) as { device_secret: string } | undefined;
    return row?.device_secret;
  }

  get(identity: DeviceIdentity): DeviceRecord | undefined {
    const row = this.db
      .prepare(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE product_key = ? AND device_name = ?`)
      .get(identity.productKey, identity.deviceName) as DeviceRow | undefined;
    return row === undefined ? undefined : toDevice(row);
  }

  setStatus(identity: DeviceIdentity, status: DeviceStatus): DeviceRecord {
    const result = this.db
      .prepare("UPDATE devices SET status = ?, updated_at = ? WHERE product_key = ? AND device_name = ?")
      .run(status, this.nowMs(), identity.productKey, identity.deviceName);
    if (result.changes === 0) throw unknownDevice(identity);
    return this.get(identity) as DeviceRecord;
  }

  markActivated(identity: DeviceIdentity): void {
    this.db
      .prepare("UPDATE devices SET activated_at = ? WHERE product_key = ? AND device_name = ? AND activated_at IS NULL")
      .run(this.nowMs(), identity.productKey, identity.deviceName);
  }

  list(filter: DeviceFilter = {}): DeviceRecord[] {
    const where: string[] = [];
    const args: string[] = [];
    if (filter.productKey !== undefined) {
      where.push("product_key = ?");
      args.push(filter.productKey);
    }
    if (filter.status !== undefined) {
      where.push("status = ?");
      args.push(filter.status);
    }
    const clause = where.length === 0 ? "" : ` WHERE ${where.join(" AND ")}`;
    const rows = this.db
      .prepare(`SELECT ${DEVICE_COLUMNS} FROM devices${clause} ORDER BY product_key, device_name`)
      .all(...args) as DeviceRow[];
    return rows.map(toDevice);
  }

  addProduct(product: ProductInput): ProductRecord {
    const p = normaliseProduct(product);
    this.db
      .prepare(
        `INSERT INTO products (product_key, product_secret, dynamic_register, regnwl, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (product_key) DO UPDATE SET product_secret = excluded.product_secret,
           dynamic_register = excluded.dynamic_register, regnwl = excluded.regnwl`,
      )
      .run(p.productKey, p.productSecret, p.dynamicRegister ? 1 : 0, p.regnwl ? 1 : 0, this.nowMs());
    return this.getProduct(p.productKey) as ProductRecord;
  }

  getProduct(productKey: string): ProductRecord | undefined {
    const row = this.db
      .prepare("SELECT product_key, dynamic_register, regnwl, created_at FROM products WHERE product_key = ?")
      .get(productKey) as ProductRow | undefined;
    return row === undefined ? undefined : toProduct(row);
  }

  lookupProductSecret(productKey: string): string | undefined {
    const row = this.db.prepare("SELECT product_secret FROM products WHERE product_key = ?").get(productKey) as
      | { product_secret: string }
      | undefined;
    return row?.product_secret;
  }

  setDeviceToken(identity: DeviceIdentity, token: string): void {
    const result = this.db
      .prepare("UPDATE devices SET device_token = ?, updated_at = ? WHERE product_key = ? AND device_name = ?")
      .run(token, this.nowMs(), identity.productKey, identity.deviceName);
    if (result.changes === 0) throw unknownDevice(identity);
  }

  lookupDeviceToken(identity: DeviceIdentity): string | undefined {
    const row = this.db
      .prepare("SELECT device_token FROM devices WHERE product_key = ? AND device_name = ? AND status != 'deleted'")
      .get(identity.productKey, identity.deviceName) as { device_token: string | null } | undefined;
    return row?.device_token ?? undefined;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
