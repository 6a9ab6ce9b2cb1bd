/**
 * The binding monitor's tables and their versions. `binding_schema` holds the version; each migration runs once, in
 * order, in a transaction, when a writer opens the database. A database at a higher version is refused.
 */
import { TriadkitError } from "@triadkit/protocol";
import type Database from "better-sqlite3";

/** The version this code writes. A database at a higher version is refused (`binding.unsupported_schema`). */
export const BINDING_SCHEMA_VERSION = 1;

/** Migrations by target version; each runs once, in order, inside a transaction. */
const MIGRATIONS: Readonly<Record<number, string>> = {
  1: `
CREATE TABLE binding_expected (
  imei        TEXT PRIMARY KEY,
  iccid       TEXT NOT NULL UNIQUE,
  imsi        TEXT NOT NULL UNIQUE,
  imported_at INTEGER NOT NULL
);
CREATE TABLE binding_devices (
  product_key    TEXT NOT NULL,
  device_name    TEXT NOT NULL,
  state          TEXT NOT NULL,
  imei           TEXT NOT NULL,
  iccid          TEXT NOT NULL,
  imsi           TEXT NOT NULL,
  modem          TEXT,
  reason         TEXT NOT NULL,
  imei_since     INTEGER NOT NULL,
  state_since    INTEGER NOT NULL,
  first_seen     INTEGER NOT NULL,
  last_seen      INTEGER NOT NULL,
  last_heartbeat INTEGER,
  epoch          INTEGER,
  boot_id        TEXT,
  seq            INTEGER,
  sim_removed    INTEGER,
  last_iccid     TEXT,
  PRIMARY KEY (product_key, device_name)
);
CREATE INDEX binding_devices_by_imei ON binding_devices (imei);
CREATE TABLE binding_epochs (
  product_key TEXT NOT NULL,
  device_name TEXT NOT NULL,
  epoch       INTEGER NOT NULL,
  first_seen  INTEGER NOT NULL,
  PRIMARY KEY (product_key, device_name, epoch)
);
CREATE TABLE binding_seen (
  product_key TEXT NOT NULL,
  device_name TEXT NOT NULL,
  epoch       INTEGER NOT NULL,
  boot_id     TEXT NOT NULL,
  seq         INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (product_key, device_name, epoch, boot_id, seq)
);
CREATE TABLE binding_alerts (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  product_key TEXT NOT NULL,
  device_name TEXT NOT NULL,
  state       TEXT NOT NULL,
  imei        TEXT NOT NULL,
  iccid       TEXT NOT NULL,
  imsi        TEXT NOT NULL,
  reason      TEXT NOT NULL,
  source      TEXT NOT NULL,
  details     TEXT NOT NULL DEFAULT '{}',
  first_seen  INTEGER NOT NULL,
  last_seen   INTEGER NOT NULL,
  count       INTEGER NOT NULL DEFAULT 1,
  closed_at   INTEGER,
  closed_by   TEXT,
  suspended   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX binding_alerts_by_device ON binding_alerts (product_key, device_name, closed_at);
CREATE TABLE binding_suspended (
  iccid        TEXT PRIMARY KEY,
  imei         TEXT NOT NULL,
  product_key  TEXT NOT NULL,
  device_name  TEXT NOT NULL,
  reason       TEXT NOT NULL,
  suspended_at INTEGER NOT NULL
);
`,
};

function readVersion(db: Database.Database): number {
  const row = db.prepare("SELECT MAX(version) AS v FROM binding_schema").get() as { v: number | null };
  return row.v ?? 0;
}

/** The version of the open database (0 before the first migration). */
export function schemaVersion(db: Database.Database): number {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'binding_schema'").get();
  return has === undefined ? 0 : readVersion(db);
}

/**
 * Brings the tables to {@link BINDING_SCHEMA_VERSION}. Read-only: only checks that they are there, at this version.
 * Throws `binding.unsupported_schema`.
 */
export function migrate(db: Database.Database, readonly: boolean): void {
  const version = schemaVersion(db);
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'binding_schema'").get();
  if (readonly && has === undefined) {
    throw new TriadkitError("binding.unsupported_schema", "the database has no binding monitor tables", {
      found: 0,
      supported: BINDING_SCHEMA_VERSION,
    });
  }
  if (version > BINDING_SCHEMA_VERSION || (readonly && version < BINDING_SCHEMA_VERSION)) {
    throw new TriadkitError(
      "binding.unsupported_schema",
      `the binding monitor tables are at schema version ${version}; this code reads version ${BINDING_SCHEMA_VERSION}`,
      { found: version, supported: BINDING_SCHEMA_VERSION },
    );
  }
  if (readonly || version === BINDING_SCHEMA_VERSION) return;
  db.transaction(() => {
    db.exec("CREATE TABLE IF NOT EXISTS binding_schema (version INTEGER NOT NULL)");
    for (let v = readVersion(db) + 1; v <= BINDING_SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v] ?? "");
    db.exec("DELETE FROM binding_schema");
    db.prepare("INSERT INTO binding_schema (version) VALUES (?)").run(BINDING_SCHEMA_VERSION);
  })();
}
