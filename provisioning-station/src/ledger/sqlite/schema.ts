/**
 * The SQLite ledger's schema, versioned: `schema_migrations` lists applied versions; each migration runs once, in
 * order, in one IMMEDIATE transaction. A database above LEDGER_SCHEMA_VERSION is refused (`ledger.schema_too_new`);
 * a SQLite file that is not a triadkit ledger (other application id, or tables without `schema_migrations`) and a
 * file that is not SQLite are refused (`ledger.open_failed`).
 *
 * Connection settings: WAL, synchronous=FULL (better-sqlite3's WAL default, NORMAL, can lose the last commit on
 * power loss), foreign keys, busy timeout.
 */
import { closeSync, openSync } from "node:fs";
import { TriadkitError } from "@triadkit/protocol";
import Database from "better-sqlite3";
import { PRODUCT_TABLES_MIGRATION } from "../../products/schema-v4.js";
import { TRIAD_STATES } from "../types.js";

export const LEDGER_SCHEMA_VERSION = 4;
/** PRAGMA application_id of a triadkit ledger: "TKLG". */
export const LEDGER_APPLICATION_ID = 0x544b4c47;

const STATES = TRIAD_STATES.map((s) => `'${s}'`).join(", ");
const appendOnly = (table: string) => `
CREATE TRIGGER ${table}_no_update BEFORE UPDATE ON ${table} BEGIN SELECT RAISE(ABORT, '${table} is append-only'); END;
CREATE TRIGGER ${table}_no_delete BEFORE DELETE ON ${table} BEGIN SELECT RAISE(ABORT, '${table} is append-only'); END;`;

const MIGRATIONS: Readonly<Record<number, string>> = {
  1: `
CREATE TABLE pool (
  singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
  pool_id    TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE stations (
  station_id TEXT PRIMARY KEY,
  public_key BLOB NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE pool_keys (
  version    INTEGER NOT NULL CHECK (version >= 1),
  station_id TEXT NOT NULL REFERENCES stations (station_id),
  wrapped    BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (version, station_id)
);
CREATE TABLE work_orders (
  id           TEXT PRIMARY KEY,
  product      TEXT NOT NULL,
  family       TEXT NOT NULL CHECK (family IN ('alibaba', 'genie')),
  model        TEXT NOT NULL,
  min_firmware TEXT NOT NULL,
  quantity     INTEGER CHECK (quantity IS NULL OR quantity >= 1),
  line         TEXT,
  brand        TEXT,
  created_at   INTEGER NOT NULL
);
CREATE TABLE imports (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  work_order_id TEXT NOT NULL REFERENCES work_orders (id),
  file_name     TEXT NOT NULL,
  sha256        TEXT NOT NULL,
  station_id    TEXT NOT NULL,
  operator      TEXT NOT NULL,
  started_at    INTEGER NOT NULL,
  rows          INTEGER,
  committed_at  INTEGER
);
CREATE TABLE triads (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  id             TEXT NOT NULL UNIQUE,
  work_order_id  TEXT NOT NULL REFERENCES work_orders (id),
  import_id      INTEGER NOT NULL REFERENCES imports (id),
  source_row     INTEGER NOT NULL,
  family         TEXT NOT NULL CHECK (family IN ('alibaba', 'genie')),
  product_key    TEXT,
  device_name    TEXT,
  product_id     INTEGER,
  mac            TEXT,
  ble_mac        TEXT,
  md5            TEXT,
  sealed_secret  BLOB NOT NULL,
  secret_fp      BLOB NOT NULL UNIQUE,
  state          TEXT NOT NULL CHECK (state IN (${STATES})),
  reason         TEXT,
  holder_station TEXT,
  holder_fixture TEXT,
  updated_at     INTEGER NOT NULL
);
CREATE INDEX triads_pick ON triads (work_order_id, state, seq);
CREATE TABLE triad_identities (
  identity_key TEXT PRIMARY KEY,
  triad_id     TEXT NOT NULL REFERENCES triads (id)
) WITHOUT ROWID;
CREATE TRIGGER triads_no_delete BEFORE DELETE ON triads BEGIN SELECT RAISE(ABORT, 'triads are kept forever'); END;
CREATE TRIGGER triad_identities_no_delete BEFORE DELETE ON triad_identities
  BEGIN SELECT RAISE(ABORT, 'identities are kept forever'); END;
CREATE TABLE audit_entries (
  station_id TEXT NOT NULL,
  seq        INTEGER NOT NULL CHECK (seq >= 1),
  time       INTEGER NOT NULL,
  operator   TEXT NOT NULL,
  fixture    TEXT NOT NULL,
  action     TEXT NOT NULL,
  triad_id   TEXT NOT NULL,
  identity   TEXT NOT NULL,
  details    TEXT NOT NULL,
  prev_mac   BLOB NOT NULL,
  mac        BLOB NOT NULL,
  PRIMARY KEY (station_id, seq)
) WITHOUT ROWID;
CREATE TABLE audit_checkpoints (
  station_id TEXT NOT NULL,
  seq        INTEGER NOT NULL CHECK (seq >= 0),
  head_mac   BLOB NOT NULL,
  time       INTEGER NOT NULL,
  signature  BLOB NOT NULL,
  PRIMARY KEY (station_id, seq)
) WITHOUT ROWID;
${appendOnly("audit_entries")}
${appendOnly("audit_checkpoints")}
`,
  // Burning (issue 7): the pool's factory anchor, and per triad the device it went to with its sealed PoP.
  2: `
CREATE TABLE factory_anchor (
  singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
  public_key  BLOB NOT NULL CHECK (length(public_key) = 32),
  sealed_seed BLOB NOT NULL,
  created_at  INTEGER NOT NULL
);
CREATE TRIGGER factory_anchor_no_delete BEFORE DELETE ON factory_anchor
  BEGIN SELECT RAISE(ABORT, 'the factory anchor is kept forever'); END;
CREATE TRIGGER factory_anchor_same_key BEFORE UPDATE OF public_key ON factory_anchor
  BEGIN SELECT RAISE(ABORT, 'the factory anchor public key never changes'); END;
CREATE TABLE device_links (
  triad_id    TEXT PRIMARY KEY REFERENCES triads (id),
  chip_id     TEXT NOT NULL,
  wifi_mac    TEXT NOT NULL,
  ble_mac     TEXT,
  model       TEXT NOT NULL,
  firmware    TEXT NOT NULL,
  fixture     TEXT,
  station_id  TEXT NOT NULL,
  record_hash BLOB NOT NULL CHECK (length(record_hash) = 32),
  written_at  INTEGER NOT NULL,
  sealed_pop  BLOB NOT NULL,
  pop_salt    BLOB NOT NULL CHECK (length(pop_salt) = 16),
  imei        TEXT,
  iccid       TEXT,
  imsi        TEXT,
  status      TEXT NOT NULL CHECK (status IN ('active', 'voided', 'scrapped')),
  linked_at   INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX device_links_chip ON device_links (chip_id, linked_at);
CREATE UNIQUE INDEX device_links_one_active ON device_links (chip_id) WHERE status = 'active';
CREATE TRIGGER device_links_no_delete BEFORE DELETE ON device_links
  BEGIN SELECT RAISE(ABORT, 'device links are kept forever'); END;
`,
  // Smart-shelf codes (issue 8): brands, their stores (门店id), the devices the brand created in the smart-store
  // console with their device codes (设备码) and every code a device ever had, the chip each was burnt into, and
  // pending_activation (待激活) → activated with the evidence. See ../shelf.ts.
  3: `
CREATE TABLE shelf_brands (
  name       TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE shelf_stores (
  store_id   INTEGER PRIMARY KEY CHECK (store_id >= 1),
  brand      TEXT NOT NULL REFERENCES shelf_brands (name),
  name       TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE shelf_devices (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  store_id     INTEGER NOT NULL REFERENCES shelf_stores (store_id),
  code         TEXT NOT NULL UNIQUE,
  name         TEXT,
  status       TEXT NOT NULL CHECK (status IN ('pending_activation', 'activated')),
  chip_id      TEXT,
  triad_id     TEXT REFERENCES triads (id),
  assigned_at  INTEGER,
  activated_at INTEGER,
  evidence     TEXT,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  CHECK (triad_id IS NULL OR chip_id IS NOT NULL),
  CHECK ((status = 'activated') = (activated_at IS NOT NULL))
);
CREATE UNIQUE INDEX shelf_devices_one_per_chip ON shelf_devices (chip_id) WHERE chip_id IS NOT NULL;
CREATE INDEX shelf_devices_pick ON shelf_devices (store_id, seq) WHERE chip_id IS NULL;
CREATE TABLE shelf_codes (
  code       TEXT PRIMARY KEY,
  device_seq INTEGER NOT NULL REFERENCES shelf_devices (seq),
  source     TEXT NOT NULL CHECK (source IN ('import', 'line', 'platform')),
  valid_from INTEGER NOT NULL,
  valid_to   INTEGER,
  note       TEXT
) WITHOUT ROWID;
CREATE INDEX shelf_codes_device ON shelf_codes (device_seq, valid_from);
CREATE TRIGGER shelf_brands_no_delete BEFORE DELETE ON shelf_brands
  BEGIN SELECT RAISE(ABORT, 'shelf brands are kept forever'); END;
CREATE TRIGGER shelf_stores_no_delete BEFORE DELETE ON shelf_stores
  BEGIN SELECT RAISE(ABORT, 'shelf stores are kept forever'); END;
CREATE TRIGGER shelf_stores_same_brand BEFORE UPDATE OF brand ON shelf_stores
  BEGIN SELECT RAISE(ABORT, 'a store never changes brand'); END;
CREATE TRIGGER shelf_devices_no_delete BEFORE DELETE ON shelf_devices
  BEGIN SELECT RAISE(ABORT, 'shelf devices are kept forever'); END;
CREATE TRIGGER shelf_codes_no_delete BEFORE DELETE ON shelf_codes
  BEGIN SELECT RAISE(ABORT, 'device codes are kept forever'); END;
CREATE TRIGGER shelf_codes_closed_once BEFORE UPDATE ON shelf_codes
  WHEN OLD.valid_to IS NOT NULL OR NEW.code IS NOT OLD.code OR NEW.device_seq IS NOT OLD.device_seq
    OR NEW.source IS NOT OLD.source OR NEW.valid_from IS NOT OLD.valid_from OR NEW.note IS NOT OLD.note
  BEGIN SELECT RAISE(ABORT, 'a device code history row only gets its end time, once'); END;
`,
  // Product recommendation tables (issue 8): versions, items, per-device acknowledged version. See
  // ../../products/schema-v4.ts.
  4: PRODUCT_TABLES_MIGRATION,
};

export interface ConnectionOptions {
  readonly busyTimeoutMs?: number;
}

function openFailed(path: string, why: string, cause?: unknown): TriadkitError {
  return new TriadkitError("ledger.open_failed", `cannot open the ledger database: ${why}`, { path }, { cause });
}

/** Opens a connection with the ledger's settings; checks that the file is a triadkit ledger (or empty). */
export function openConnection(path: string, options: ConnectionOptions = {}): Database.Database {
  let db: Database.Database;
  try {
    // A new ledger file is private to the station's user (SQLite gives its -wal and -shm files the same mode).
    if (path !== ":memory:") closeSync(openSync(path, "a", 0o600));
    db = new Database(path, { timeout: options.busyTimeoutMs ?? 10_000 });
  } catch (err) {
    throw openFailed(path, (err as NodeJS.ErrnoException).code ?? "open error", err);
  }
  try {
    const appId = db.pragma("application_id", { simple: true }) as number;
    const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
    if (tables.n > 0 && appId !== LEDGER_APPLICATION_ID) {
      throw openFailed(path, "the file is a SQLite database of another application, not a triadkit ledger");
    }
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    return db;
  } catch (err) {
    db.close();
    if (err instanceof TriadkitError) throw err;
    throw openFailed(path, "not a SQLite database, or unreadable", err);
  }
}

/** The applied schema version; `ledger.schema_too_new` above what this code knows. */
function schemaVersion(db: Database.Database, path: string): number {
  const { v } = db.prepare("SELECT coalesce(max(version), 0) AS v FROM schema_migrations").get() as { v: number };
  if (v > LEDGER_SCHEMA_VERSION) {
    throw new TriadkitError(
      "ledger.schema_too_new",
      `the ledger has schema version ${v}; this triadkit knows up to ${LEDGER_SCHEMA_VERSION}: upgrade the station`,
      { path, version: v, supported: LEDGER_SCHEMA_VERSION },
    );
  }
  return v;
}

/** Applies pending migrations; refuses a database newer than this code. */
export function migrate(db: Database.Database, path: string, now: () => number): void {
  const run = db.transaction(() => {
    db.pragma(`application_id = ${LEDGER_APPLICATION_ID}`);
    db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
    const v = schemaVersion(db, path);
    const insert = db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)");
    for (let next = v + 1; next <= LEDGER_SCHEMA_VERSION; next++) {
      db.exec(MIGRATIONS[next] as string);
      insert.run(next, now());
    }
  });
  run.immediate();
}

/** SQLite's "database is locked" (another writer held it past the busy timeout) as `ledger.busy`; others as is. */
export function asLedgerError(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && code.startsWith("SQLITE_BUSY")) {
    return new TriadkitError(
      "ledger.busy",
      "the ledger database is locked by another writer (an import or another station process); retry",
      { sqlite: code },
      { cause: err },
    );
  }
  return err;
}

/** Checks an existing file before anything else is done with it: a triadkit ledger this code can read. */
export function probeLedgerFile(path: string): void {
  const db = openConnection(path);
  try {
    const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
    if (has !== undefined) schemaVersion(db, path);
  } finally {
    db.close();
  }
}
