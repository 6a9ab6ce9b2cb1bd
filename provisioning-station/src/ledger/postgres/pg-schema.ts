/**
 * The PostgreSQL ledger's schema and connection: versioned migrations (`schema_migrations`, each version applied
 * once, in order, in one transaction under an advisory lock so several stations starting at once migrate once),
 * a pool whose connections use the ledger's schema (`search_path`), BIGINT read as a JS number (times and seqs
 * stay below 2^53), and the bounded retry of serialization failures and deadlocks.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { TriadkitError } from "@triadkit/protocol";
import pg from "pg";
import { TRIAD_STATES } from "../types.js";

export const PG_SCHEMA_VERSION = 3;
const STATES = TRIAD_STATES.map((s) => `'${s}'`).join(", ");
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** What runs a query: the pool (a read on any connection) or one client (inside a transaction). */
export interface Db {
  // biome-ignore lint/suspicious/noExplicitAny: node-postgres' own default row type
  query<R extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

export async function one<R extends pg.QueryResultRow>(
  db: Db,
  sql: string,
  values: unknown[] = [],
): Promise<R | undefined> {
  return (await db.query<R>(sql, values)).rows[0];
}

export async function all<R extends pg.QueryResultRow>(db: Db, sql: string, values: unknown[] = []): Promise<R[]> {
  return (await db.query<R>(sql, values)).rows;
}

const noChange = (table: string, what: string, events = "UPDATE OR DELETE") => `
CREATE TRIGGER ${table}_keep BEFORE ${events} ON ${table} FOR EACH ROW EXECUTE FUNCTION triadkit_refuse('${what}');`;

const MIGRATIONS: Readonly<Record<number, string>> = {
  1: `
CREATE FUNCTION triadkit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation'; END $$;
CREATE TABLE pool (
  singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
  pool_id    TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE stations (
  station_id TEXT PRIMARY KEY,
  public_key BYTEA NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE pool_keys (
  version    INTEGER NOT NULL CHECK (version >= 1),
  station_id TEXT NOT NULL REFERENCES stations (station_id),
  wrapped    BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
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
  created_at   BIGINT NOT NULL
);
CREATE TABLE imports (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  work_order_id TEXT NOT NULL REFERENCES work_orders (id),
  file_name     TEXT NOT NULL,
  sha256        TEXT NOT NULL,
  station_id    TEXT NOT NULL,
  operator      TEXT NOT NULL,
  started_at    BIGINT NOT NULL,
  rows          INTEGER,
  committed_at  BIGINT
);
CREATE TABLE triads (
  seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id             TEXT NOT NULL UNIQUE,
  work_order_id  TEXT NOT NULL REFERENCES work_orders (id),
  import_id      BIGINT NOT NULL REFERENCES imports (id),
  source_row     INTEGER NOT NULL,
  family         TEXT NOT NULL CHECK (family IN ('alibaba', 'genie')),
  product_key    TEXT,
  device_name    TEXT,
  product_id     BIGINT,
  mac            TEXT,
  ble_mac        TEXT,
  md5            TEXT,
  sealed_secret  BYTEA NOT NULL,
  secret_fp      BYTEA NOT NULL UNIQUE,
  state          TEXT NOT NULL CHECK (state IN (${STATES})),
  reason         TEXT,
  holder_station TEXT,
  holder_fixture TEXT,
  updated_at     BIGINT NOT NULL
);
CREATE INDEX triads_pick ON triads (work_order_id, seq) WHERE state = 'available';
CREATE INDEX triads_state ON triads (work_order_id, state);
CREATE TABLE triad_identities (
  identity_key TEXT PRIMARY KEY,
  triad_id     TEXT NOT NULL REFERENCES triads (id)
);
${noChange("triads", "triads are kept forever", "DELETE")}
${noChange("triad_identities", "identities are kept forever")}
CREATE TABLE audit_heads (
  station_id TEXT PRIMARY KEY,
  seq        BIGINT NOT NULL,
  mac        BYTEA NOT NULL
);
CREATE TABLE audit_entries (
  station_id TEXT NOT NULL,
  seq        BIGINT NOT NULL CHECK (seq >= 1),
  time       BIGINT NOT NULL,
  operator   TEXT NOT NULL,
  fixture    TEXT NOT NULL,
  action     TEXT NOT NULL,
  triad_id   TEXT NOT NULL,
  identity   TEXT NOT NULL,
  details    TEXT NOT NULL,
  prev_mac   BYTEA NOT NULL,
  mac        BYTEA NOT NULL,
  PRIMARY KEY (station_id, seq)
);
CREATE TABLE audit_checkpoints (
  station_id TEXT NOT NULL,
  seq        BIGINT NOT NULL CHECK (seq >= 0),
  head_mac   BYTEA NOT NULL,
  time       BIGINT NOT NULL,
  signature  BYTEA NOT NULL,
  PRIMARY KEY (station_id, seq)
);
${noChange("audit_entries", "audit_entries is append-only")}
${noChange("audit_checkpoints", "audit_checkpoints is append-only")}
`,
  2: `
CREATE TABLE factory_anchor (
  singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
  public_key  BYTEA NOT NULL CHECK (length(public_key) = 32),
  sealed_seed BYTEA NOT NULL,
  created_at  BIGINT NOT NULL
);
${noChange("factory_anchor", "the factory anchor is kept forever", "DELETE")}
CREATE TABLE device_links (
  triad_id    TEXT PRIMARY KEY REFERENCES triads (id),
  chip_id     TEXT NOT NULL,
  wifi_mac    TEXT NOT NULL,
  ble_mac     TEXT,
  model       TEXT NOT NULL,
  firmware    TEXT NOT NULL,
  fixture     TEXT,
  station_id  TEXT NOT NULL,
  record_hash BYTEA NOT NULL CHECK (length(record_hash) = 32),
  written_at  BIGINT NOT NULL,
  sealed_pop  BYTEA NOT NULL,
  pop_salt    BYTEA NOT NULL CHECK (length(pop_salt) = 16),
  imei        TEXT,
  iccid       TEXT,
  imsi        TEXT,
  status      TEXT NOT NULL CHECK (status IN ('active', 'voided', 'scrapped')),
  linked_at   BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL
);
CREATE INDEX device_links_chip ON device_links (chip_id, linked_at);
CREATE UNIQUE INDEX device_links_one_active ON device_links (chip_id) WHERE status = 'active';
${noChange("device_links", "device links are kept forever", "DELETE")}
`,
  3: `
CREATE TABLE shelf_brands (
  name       TEXT PRIMARY KEY,
  created_at BIGINT NOT NULL
);
CREATE TABLE shelf_stores (
  store_id   BIGINT PRIMARY KEY CHECK (store_id >= 1),
  brand      TEXT NOT NULL REFERENCES shelf_brands (name),
  name       TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE shelf_devices (
  seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  store_id     BIGINT NOT NULL REFERENCES shelf_stores (store_id),
  code         TEXT NOT NULL UNIQUE,
  name         TEXT,
  status       TEXT NOT NULL CHECK (status IN ('pending_activation', 'activated')),
  chip_id      TEXT,
  triad_id     TEXT REFERENCES triads (id),
  assigned_at  BIGINT,
  activated_at BIGINT,
  evidence     TEXT,
  created_at   BIGINT NOT NULL,
  updated_at   BIGINT NOT NULL,
  CHECK (triad_id IS NULL OR chip_id IS NOT NULL),
  CHECK ((status = 'activated') = (activated_at IS NOT NULL))
);
CREATE UNIQUE INDEX shelf_devices_one_per_chip ON shelf_devices (chip_id) WHERE chip_id IS NOT NULL;
CREATE INDEX shelf_devices_pick ON shelf_devices (store_id, seq) WHERE chip_id IS NULL;
CREATE TABLE shelf_codes (
  code       TEXT PRIMARY KEY,
  device_seq BIGINT NOT NULL REFERENCES shelf_devices (seq),
  source     TEXT NOT NULL CHECK (source IN ('import', 'line', 'platform')),
  valid_from BIGINT NOT NULL,
  valid_to   BIGINT,
  note       TEXT
);
CREATE INDEX shelf_codes_device ON shelf_codes (device_seq, valid_from);
${noChange("shelf_brands", "shelf brands are kept forever", "DELETE")}
${noChange("shelf_stores", "shelf stores are kept forever", "DELETE")}
${noChange("shelf_devices", "shelf devices are kept forever", "DELETE")}
${noChange("shelf_codes", "device codes are kept forever", "DELETE")}
`,
};

export interface PgConnectOptions {
  /** `postgres://…` */
  readonly connectionString: string;
  /** The schema holding this pool's tables (created if missing); default `public`. */
  readonly schema?: string;
  /** Connections of this station's pool; default 4. */
  readonly maxConnections?: number;
}

export function checkSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new TriadkitError("config.invalid", "a PostgreSQL schema name is lower-case letters, digits and _", {
      schema,
    });
  }
  return schema;
}

/** BIGINT (oid 20) as a number; everything else as node-postgres reads it. Per pool, no global type parser. */
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === 20
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig["getTypeParser"],
};

export function connectPool(options: PgConnectOptions): pg.Pool {
  const schema = checkSchemaName(options.schema ?? "public");
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 4,
    types,
    options: `-c search_path=${schema}`,
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on("error", () => {});
  return pool;
}

/** Driver and server errors as ledger errors: unreachable or refused → `ledger.open_failed`. */
export function openFailed(why: string, cause: unknown): TriadkitError {
  return new TriadkitError("ledger.open_failed", `cannot open the PostgreSQL ledger: ${why}`, {}, { cause });
}

/** Applies pending migrations (creating the schema); refuses a database newer than this code. */
export async function migratePg(pool: pg.Pool, schema: string, now: () => number): Promise<void> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw openFailed((err as NodeJS.ErrnoException).code ?? "connection refused", err);
  }
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended('triadkit.migrate.' || $1, 0))", [schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${checkSchemaName(schema)}`);
    await client.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
    );
    const { rows } = await client.query<{ v: number }>(
      "SELECT coalesce(max(version), 0)::int AS v FROM schema_migrations",
    );
    const v = rows[0]?.v ?? 0;
    if (v > PG_SCHEMA_VERSION) {
      throw new TriadkitError(
        "ledger.schema_too_new",
        `the ledger has schema version ${v}; this triadkit knows up to ${PG_SCHEMA_VERSION}: upgrade the station`,
        { schema, version: v, supported: PG_SCHEMA_VERSION },
      );
    }
    for (let next = v + 1; next <= PG_SCHEMA_VERSION; next++) {
      await client.query(MIGRATIONS[next] as string);
      await client.query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", [next, now()]);
    }
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    if (err instanceof TriadkitError) throw err;
    throw openFailed((err as { code?: string }).code ?? "migration failed", err);
  } finally {
    client.release();
  }
}

/** Asks the caller to run the whole transaction again (e.g. every available triad was locked by another station). */
export class RetryTransaction extends Error {}

const RETRYABLE = new Set(["40001", "40P01"]);

export interface TxOptions {
  /** Attempts in all (serialization failures, deadlocks, RetryTransaction); default 8. */
  readonly attempts?: number;
}

/**
 * Runs `fn` in one READ COMMITTED transaction on a pool client, again (bounded) after a serialization failure or a
 * deadlock; then `ledger.busy`.
 */
export async function inTransaction<T>(pool: pg.Pool, fn: (db: Db) => Promise<T>, options: TxOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 8;
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query("BEGIN");
      const result = await fn(client);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {
        broken = true;
      });
      const code = (err as { code?: unknown } | null)?.code;
      const retry = err instanceof RetryTransaction || (typeof code === "string" && RETRYABLE.has(code));
      if (!retry) throw err;
      if (attempt >= attempts) {
        throw new TriadkitError(
          "ledger.busy",
          "the ledger database kept refusing this write under concurrent writers (serialization failure or deadlock); retry",
          { attempts, ...(typeof code === "string" ? { sqlstate: code } : {}) },
          { cause: err },
        );
      }
    } finally {
      client.release(broken);
    }
    await sleep(attempt * 3);
  }
}
