/**
 * Opening a station: on a SQLite ledger (a file path) or a shared PostgreSQL pool (a `postgres://` URL). Resolve and
 * load (or, beside a new database, create) the station key, open the ledger as that station, load the pool keyring
 * (creating the pool's first data key on a new pool).
 *
 * With a URL there is no `<db>.key` default: the key file is `--key-file` or $TRIADKIT_STATION_KEY_FILE, and a
 * missing one is created only when `createKeyFile` is set (the CLI's `orders add`). The URL's password is never put
 * in an error or a log: `redactDbUrl`.
 */
import { statSync } from "node:fs";
import { TriadkitError } from "@triadkit/protocol";
import { CryptoRandom, type Random } from "@triadkit/sdk";
import type { AuditVerification } from "../audit/types.js";
import { verifyAudit } from "../audit/verify.js";
import type { PoolKeyring } from "../keys/pool-keyring.js";
import { grantStation, openPoolKeyring, type RotationResult, rotatePoolKey } from "../keys/pool-keys.js";
import { obtainStationKey, resolveStationKeyFile, STATION_KEY_ENV, type StationKey } from "../keys/station-key.js";
import { openPgLedger, type PgLedger } from "./postgres/pg-ledger.js";
import { checkSchemaName, connectPool, openFailed } from "./postgres/pg-schema.js";
import { probeLedgerFile } from "./sqlite/schema.js";
import { openSqliteLedger, type SqliteLedger } from "./sqlite/sqlite-ledger.js";
import type { Actor } from "./types.js";

export interface OpenStationOptions {
  /** A SQLite file path, or a `postgres://` / `postgresql://` URL of a shared pool. */
  readonly dbPath: string;
  /** `--key-file`; else `env.TRIADKIT_STATION_KEY_FILE`; else `<dbPath>.key` (SQLite only). */
  readonly keyFile?: string | undefined;
  /** The environment to read TRIADKIT_STATION_KEY_FILE from (the CLI passes process.env); default none. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly now?: () => number;
  readonly random?: Random;
  /** Recorded for what opening does on a new pool (`station.add`, `keys.create`); default "station". */
  readonly operator?: string;
  /** Station id for a key file created now; default random "st-…". */
  readonly stationId?: string;
  readonly busyTimeoutMs?: number;
  readonly checkpointEvery?: number;
  readonly onHeadError?: (err: unknown) => void;
  /**
   * PostgreSQL: this command may start a pool in an empty schema and create a missing key file (a new station of
   * the pool); default false: no pool there is `ledger.open_failed`, no key file `keys.missing_key_file`.
   */
  readonly create?: boolean;
}

export type StationLedger = SqliteLedger | PgLedger;

export interface Station {
  readonly ledger: StationLedger;
  readonly backend: "sqlite" | "postgres";
  /** Seals, opens and fingerprints secrets; replaced by `rotateKeys`. */
  readonly keyring: PoolKeyring;
  readonly stationKey: StationKey;
  readonly stationId: string;
  readonly poolId: string;
  readonly keyFile: { readonly path: string; readonly source: "option" | "env" | "default" };
  /** The audit head file beside a SQLite ledger; none on PostgreSQL (the database is the only copy). */
  readonly headFile: string | undefined;
  /** What this open created: the CLI warns about a new key file (back it up; it guards this database). */
  readonly created: { readonly database: boolean; readonly keyFile: boolean };
  actor(operator: string, fixture?: string): Actor;
  verifyAudit(): Promise<AuditVerification>;
  rotateKeys(actor: Actor): Promise<RotationResult>;
  /** Grants another station (its key loaded from its key file) this pool's keys. */
  grant(other: StationKey, actor: Actor, options?: { readonly line?: string }): Promise<void>;
  close(): Promise<void>;
}

function databaseExists(path: string): boolean {
  try {
    return statSync(path).size > 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

/** True for a `postgres://` or `postgresql://` URL (a shared PostgreSQL pool), false for a SQLite path. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(db);
}

/** The URL with its password replaced by `***` (for messages, logs and --json); other text unchanged. */
export function redactDbUrl(db: string): string {
  if (!isPostgresUrl(db)) return db;
  try {
    const url = new URL(db);
    if (url.password !== "") url.password = "***";
    return url.toString();
  } catch {
    return redactUrlPasswords(db);
  }
}

/** Any `postgres://user:password@` in `text` with the password as `***` (a pool URL's password is never printed). */
export function redactUrlPasswords(text: string): string {
  return text.replace(/(postgres(?:ql)?:\/\/[^:/@\s"]*:)[^@\s"]*@/gi, "$1***@");
}

/**
 * The connection string and schema of a pool URL: `?schema=<name>` (removed from the URL), else
 * `?options=-c search_path=<name>`, else `public`.
 */
export function pgTarget(db: string): { readonly connectionString: string; readonly schema: string } {
  let url: URL;
  try {
    url = new URL(db);
  } catch {
    throw new TriadkitError("config.invalid", "not a valid PostgreSQL URL", { db: redactDbUrl(db) });
  }
  let schema = url.searchParams.get("schema") ?? undefined;
  url.searchParams.delete("schema");
  if (schema === undefined) {
    const m = /(?:^|\s)-c\s*search_path=([A-Za-z0-9_]+)/.exec(url.searchParams.get("options") ?? "");
    if (m !== null) {
      schema = m[1];
      url.searchParams.delete("options");
    }
  }
  return { connectionString: url.toString(), schema: schema ?? "public" };
}

/** Whether the URL's schema holds a pool; `ledger.open_failed` when the server cannot be reached. */
async function pgPoolExists(target: { readonly connectionString: string; readonly schema: string }): Promise<boolean> {
  const pool = connectPool({ connectionString: target.connectionString, maxConnections: 1 });
  try {
    const { rows } = await pool.query<{ t: string | null }>("SELECT to_regclass($1) AS t", [
      `${checkSchemaName(target.schema)}.pool`,
    ]);
    if (rows[0]?.t === null || rows[0]?.t === undefined) return false;
    const { rows: pools } = await pool.query(`SELECT 1 FROM ${target.schema}.pool LIMIT 1`);
    return pools.length > 0;
  } catch (err) {
    if (err instanceof TriadkitError) throw err;
    throw openFailed((err as NodeJS.ErrnoException).code ?? "connection refused", err);
  } finally {
    await pool.end().catch(() => {});
  }
}

export async function openStation(options: OpenStationOptions): Promise<Station> {
  const now = options.now ?? Date.now;
  const random = options.random ?? new CryptoRandom();
  if (isPostgresUrl(options.dbPath)) return openPgStation(options, now, random);
  const exists = databaseExists(options.dbPath);
  if (exists) probeLedgerFile(options.dbPath); // a foreign or too-new file is reported before any key lookup
  const obtained = obtainStationKey({
    dbPath: options.dbPath,
    keyFile: options.keyFile,
    ...(options.env === undefined ? {} : { env: options.env }),
    databaseExists: exists,
    random,
    now,
    ...(options.stationId === undefined ? {} : { stationId: options.stationId }),
  });
  const stationKey = obtained.key;
  const operator = options.operator ?? "station";
  const ledger = await openSqliteLedger({
    path: options.dbPath,
    keys: stationKey,
    now,
    random,
    operator,
    ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }),
    ...(options.checkpointEvery === undefined ? {} : { checkpointEvery: options.checkpointEvery }),
    ...(options.onHeadError === undefined ? {} : { onHeadError: options.onHeadError }),
  });
  return assemble(
    ledger,
    stationKey,
    operator,
    { random, now },
    {
      backend: "sqlite",
      keyFile: { path: obtained.path, source: obtained.source },
      headFile: ledger.headFile,
      created: { database: !exists, keyFile: obtained.created },
    },
  );
}

async function openPgStation(options: OpenStationOptions, now: () => number, random: Random): Promise<Station> {
  const where = resolveStationKeyFile({ keyFile: options.keyFile, env: options.env ?? {}, dbPath: options.dbPath });
  if (where.source === "default") {
    throw new TriadkitError(
      "keys.missing_key_file",
      `a PostgreSQL pool has no default station key file: give --key-file or $${STATION_KEY_ENV}`,
      { db: redactDbUrl(options.dbPath) },
    );
  }
  const target = pgTarget(options.dbPath);
  // Before any key file is created: the server answers, and the schema holds a pool unless this command starts one
  // (a mistyped schema must not quietly give a fresh, empty pool that `status` then reports as fine).
  if (!(await pgPoolExists(target)) && options.create !== true) {
    throw new TriadkitError(
      "ledger.open_failed",
      `no triadkit pool in schema ${target.schema} of ${redactDbUrl(options.dbPath)}: check --db; a new pool is ` +
        "started with `triadkit-station orders add`",
      { db: redactDbUrl(options.dbPath), schema: target.schema },
    );
  }
  const obtained = obtainStationKey({
    keyFile: where.path,
    dbPath: where.path,
    databaseExists: options.create !== true,
    random,
    now,
    ...(options.stationId === undefined ? {} : { stationId: options.stationId }),
  });
  const stationKey = obtained.key;
  const operator = options.operator ?? "station";
  const ledger = await openPgLedger({
    ...target,
    keys: stationKey,
    now,
    random,
    operator,
    ...(options.checkpointEvery === undefined ? {} : { checkpointEvery: options.checkpointEvery }),
  });
  return assemble(
    ledger,
    stationKey,
    operator,
    { random, now },
    {
      backend: "postgres",
      keyFile: { path: obtained.path, source: where.source },
      headFile: undefined,
      created: { database: false, keyFile: obtained.created },
    },
  );
}

/** The Station over an opened ledger: loads (or on a new pool creates) the keyring; closes the ledger on failure. */
async function assemble(
  ledger: StationLedger,
  stationKey: StationKey,
  operator: string,
  deps: { readonly random: Random; readonly now: () => number },
  about: Pick<Station, "backend" | "keyFile" | "headFile" | "created">,
): Promise<Station> {
  const { now } = deps;
  const actor = (op: string, fixture?: string): Actor => ({
    stationId: stationKey.stationId,
    operator: op,
    ...(fixture === undefined ? {} : { fixture }),
  });
  let keyring: PoolKeyring;
  try {
    keyring = await openPoolKeyring(ledger, stationKey, actor(operator), deps);
  } catch (err) {
    await ledger.close();
    throw err;
  }
  const headFile = about.headFile;
  return {
    ...about,
    ledger,
    get keyring() {
      return keyring;
    },
    stationKey,
    stationId: stationKey.stationId,
    poolId: ledger.poolId,
    actor,
    verifyAudit: () =>
      verifyAudit({ source: ledger, keys: stationKey, ...(headFile === undefined ? {} : { headFile }) }),
    async rotateKeys(a: Actor) {
      const result = await rotatePoolKey(ledger, keyring, stationKey, a, deps);
      keyring = result.keyring;
      return result;
    },
    grant: (other: StationKey, a: Actor, o?: { readonly line?: string }) =>
      grantStation(ledger, keyring, other, a, { now }, o),
    close: () => ledger.close(),
  };
}
