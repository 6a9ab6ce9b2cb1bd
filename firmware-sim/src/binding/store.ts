/**
 * The binding monitor's tables in SQLite (better-sqlite3). They live beside the registry's tables in the same file
 * when the emulator runs with `--db` (separate connection, WAL), all prefixed `binding_`, with their own schema
 * version in `binding_schema` so the registry and the monitor migrate independently.
 */
import type { DeviceIdentity } from "@triadkit/protocol";
import Database from "better-sqlite3";
import { migrate, schemaVersion } from "./schema.js";
import type {
  AlertClosure,
  AlertFilter,
  BindingAlert,
  BindingDeviceFilter,
  BindingSource,
  BindingState,
  DeviceBindingState,
  ExpectedBinding,
  SimTriple,
  SuspendedCard,
} from "./types.js";

export { BINDING_SCHEMA_VERSION } from "./schema.js";

/** Recent (epoch, bootId, seq) kept per device to recognise redelivered heartbeats. */
export const SEEN_WINDOW = 64;

/** A device row as stored (the `suspended` flag is joined in on read). */
export interface StoredDevice extends Omit<DeviceBindingState, "suspended"> {
  /** Since when (server ms) the device reports its current IMEI; the earlier device keeps a shared IMEI. */
  readonly imeiSinceMs: number;
}

export interface NewAlert extends DeviceIdentity, SimTriple {
  readonly state: BindingState;
  readonly reason: string;
  readonly source: BindingSource;
  readonly details: Pick<BindingAlert, "expected" | "cardBoundImei" | "otherDevice">;
  readonly atMs: number;
}

export interface DeviceRow {
  product_key: string;
  device_name: string;
  state: BindingState;
  imei: string;
  iccid: string;
  imsi: string;
  modem: string | null;
  reason: string;
  imei_since: number;
  state_since: number;
  first_seen: number;
  last_seen: number;
  last_heartbeat: number | null;
  epoch: number | null;
  boot_id: string | null;
  seq: number | null;
  sim_removed: number | null;
  last_iccid: string | null;
  suspended?: number;
}

export interface AlertRow {
  id: number;
  product_key: string;
  device_name: string;
  state: BindingState;
  imei: string;
  iccid: string;
  imsi: string;
  reason: string;
  source: BindingSource;
  details: string;
  first_seen: number;
  last_seen: number;
  count: number;
  closed_at: number | null;
  closed_by: AlertClosure | null;
  suspended: number;
}

const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

export function toDevice(row: DeviceRow): StoredDevice & { suspended: boolean } {
  return {
    productKey: row.product_key,
    deviceName: row.device_name,
    state: row.state,
    imei: row.imei,
    iccid: row.iccid,
    imsi: row.imsi,
    modem: opt(row.modem),
    reason: row.reason,
    imeiSinceMs: row.imei_since,
    stateSinceMs: row.state_since,
    firstSeenMs: row.first_seen,
    lastSeenMs: row.last_seen,
    lastHeartbeatMs: opt(row.last_heartbeat),
    epoch: opt(row.epoch),
    bootId: opt(row.boot_id),
    seq: opt(row.seq),
    simRemovedMs: opt(row.sim_removed),
    lastIccid: opt(row.last_iccid),
    suspended: (row.suspended ?? 0) !== 0,
  };
}

export function toAlert(row: AlertRow): BindingAlert {
  const details = JSON.parse(row.details) as Pick<BindingAlert, "expected" | "cardBoundImei" | "otherDevice">;
  return {
    id: row.id,
    productKey: row.product_key,
    deviceName: row.device_name,
    state: row.state,
    imei: row.imei,
    iccid: row.iccid,
    imsi: row.imsi,
    reason: row.reason,
    source: row.source,
    ...details,
    firstSeenMs: row.first_seen,
    lastSeenMs: row.last_seen,
    count: row.count,
    ...(row.closed_at === null ? {} : { closedMs: row.closed_at }),
    ...(row.closed_by === null ? {} : { closedBy: row.closed_by }),
    ...(row.suspended === 0 ? {} : { suspended: true }),
  };
}

export const DEVICE_SELECT = `SELECT d.*, (s.iccid IS NOT NULL) AS suspended FROM binding_devices d
  LEFT JOIN binding_suspended s ON s.iccid = d.iccid`;

export const placeholders = (columns: number, rows: number) =>
  Array.from({ length: rows }, () => `(${Array.from({ length: columns }, () => "?").join(", ")})`).join(", ");

/** The device upsert, for `rows` rows at once (the write-behind store writes many per statement), positional. */
export const DEVICE_UPSERT = (rows: number) =>
  `INSERT INTO binding_devices (product_key, device_name, state, imei, iccid, imsi, modem, reason, imei_since,
     state_since, first_seen, last_seen, last_heartbeat, epoch, boot_id, seq, sim_removed, last_iccid)
   VALUES ${placeholders(18, rows)}
   ON CONFLICT (product_key, device_name) DO UPDATE SET state = excluded.state, imei = excluded.imei,
     iccid = excluded.iccid, imsi = excluded.imsi, modem = excluded.modem, reason = excluded.reason,
     imei_since = excluded.imei_since, state_since = excluded.state_since, last_seen = excluded.last_seen,
     last_heartbeat = excluded.last_heartbeat, epoch = excluded.epoch, boot_id = excluded.boot_id,
     seq = excluded.seq, sim_removed = excluded.sim_removed, last_iccid = excluded.last_iccid`;

export const deviceValues = (d: StoredDevice): unknown[] => [
  d.productKey,
  d.deviceName,
  d.state,
  d.imei,
  d.iccid,
  d.imsi,
  d.modem ?? null,
  d.reason,
  d.imeiSinceMs,
  d.stateSinceMs,
  d.firstSeenMs,
  d.lastSeenMs,
  d.lastHeartbeatMs ?? null,
  d.epoch ?? null,
  d.bootId ?? null,
  d.seq ?? null,
  d.simRemovedMs ?? null,
  d.lastIccid ?? null,
];

export interface BindingStoreOptions {
  /** Open an existing database for reading only (the `bindings` CLI): no tables are created or migrated. */
  readonly readonly?: boolean;
}

/** SQLite persistence of the binding monitor. Synchronous, like the registry. */
export class BindingStore {
  protected readonly db: Database.Database;
  /** Every statement prepared once, by its SQL (better-sqlite3 statements are reusable). */
  private readonly statements = new Map<string, Database.Statement>();

  /** `:memory:` by default. Throws `binding.unsupported_schema` for a newer schema (or, read-only, none). */
  constructor(path = ":memory:", options: BindingStoreOptions = {}) {
    const readonly = options.readonly ?? false;
    this.db = new Database(path, readonly ? { readonly: true, fileMustExist: true } : {});
    try {
      if (!readonly && path !== ":memory:") this.db.pragma("journal_mode = WAL");
      this.db.pragma("busy_timeout = 5000");
      migrate(this.db, readonly);
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  /** The schema version of the open database. */
  schemaVersion(): number {
    return schemaVersion(this.db);
  }

  /** Runs `fn` in one transaction (nested calls join the outer one). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** The statement for `sql`, prepared on first use and reused after. */
  protected stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  // --- expected bindings ---

  expectedBy(column: "imei" | "iccid" | "imsi", value: string): ExpectedBinding | undefined {
    const row = this.stmt(`SELECT imei, iccid, imsi, imported_at FROM binding_expected WHERE ${column} = ?`).get(
      value,
    ) as { imei: string; iccid: string; imsi: string; imported_at: number } | undefined;
    return row && { imei: row.imei, iccid: row.iccid, imsi: row.imsi, importedAtMs: row.imported_at };
  }

  listExpected(): ExpectedBinding[] {
    const rows = this.stmt("SELECT imei, iccid, imsi, imported_at FROM binding_expected ORDER BY imei").all() as {
      imei: string;
      iccid: string;
      imsi: string;
      imported_at: number;
    }[];
    return rows.map((r) => ({ imei: r.imei, iccid: r.iccid, imsi: r.imsi, importedAtMs: r.imported_at }));
  }

  /** Expected bindings sharing the IMEI, ICCID or IMSI of `triple`. */
  conflictingExpected(triple: SimTriple): ExpectedBinding[] {
    const rows = this.stmt(
      "SELECT imei, iccid, imsi, imported_at FROM binding_expected WHERE imei = ? OR iccid = ? OR imsi = ?",
    ).all(triple.imei, triple.iccid, triple.imsi) as {
      imei: string;
      iccid: string;
      imsi: string;
      imported_at: number;
    }[];
    return rows.map((r) => ({ imei: r.imei, iccid: r.iccid, imsi: r.imsi, importedAtMs: r.imported_at }));
  }

  addExpected(triple: SimTriple, atMs: number): void {
    this.stmt("INSERT INTO binding_expected (imei, iccid, imsi, imported_at) VALUES (?, ?, ?, ?)").run(
      triple.imei,
      triple.iccid,
      triple.imsi,
      atMs,
    );
  }

  removeExpected(imei: string): void {
    this.stmt("DELETE FROM binding_expected WHERE imei = ?").run(imei);
  }

  // --- devices ---

  device(identity: DeviceIdentity): (StoredDevice & { suspended: boolean }) | undefined {
    const row = this.stmt(`${DEVICE_SELECT} WHERE d.product_key = ? AND d.device_name = ?`).get(
      identity.productKey,
      identity.deviceName,
    ) as DeviceRow | undefined;
    return row && toDevice(row);
  }

  devices(filter: BindingDeviceFilter = {}): (StoredDevice & { suspended: boolean })[] {
    const where: string[] = [];
    const args: string[] = [];
    if (filter.state !== undefined) {
      where.push("d.state = ?");
      args.push(filter.state);
    }
    if (filter.productKey !== undefined) {
      where.push("d.product_key = ?");
      args.push(filter.productKey);
    }
    const clause = where.length === 0 ? "" : ` WHERE ${where.join(" AND ")}`;
    const rows = this.stmt(`${DEVICE_SELECT}${clause} ORDER BY d.product_key, d.device_name`).all(
      ...args,
    ) as DeviceRow[];
    return rows.map(toDevice);
  }

  /** Other devices whose last report carries `imei`, earliest first. */
  devicesWithImei(imei: string, except: DeviceIdentity): StoredDevice[] {
    const rows = this.stmt(
      `${DEVICE_SELECT} WHERE d.imei = ? AND NOT (d.product_key = ? AND d.device_name = ?)
         ORDER BY d.imei_since, d.product_key, d.device_name`,
    ).all(imei, except.productKey, except.deviceName) as DeviceRow[];
    return rows.map(toDevice);
  }

  /** Devices not heard from (heartbeat, or first message when none) since `beforeMs`, not yet silent. */
  silentCandidates(beforeMs: number): StoredDevice[] {
    const rows = this.stmt(
      `${DEVICE_SELECT} WHERE d.state != 'silent' AND COALESCE(d.last_heartbeat, d.first_seen) <= ?`,
    ).all(beforeMs) as DeviceRow[];
    return rows.map(toDevice);
  }

  putDevice(d: StoredDevice): void {
    this.stmt(DEVICE_UPSERT(1)).run(deviceValues(d));
  }

  /** Removes everything known about a device except its alerts (closed with `forgotten`). */
  forgetDevice(identity: DeviceIdentity, atMs: number): boolean {
    const args = [identity.productKey, identity.deviceName];
    for (const table of ["binding_epochs", "binding_seen"]) {
      this.stmt(`DELETE FROM ${table} WHERE product_key = ? AND device_name = ?`).run(...args);
    }
    this.stmt(
      "UPDATE binding_alerts SET closed_at = ?, closed_by = 'forgotten' WHERE product_key = ? AND device_name = ? AND closed_at IS NULL",
    ).run(atMs, ...args);
    return this.stmt("DELETE FROM binding_devices WHERE product_key = ? AND device_name = ?").run(...args).changes > 0;
  }

  // --- heartbeat sequence ---

  epochKnown(identity: DeviceIdentity, epoch: number): boolean {
    return (
      this.stmt("SELECT 1 FROM binding_epochs WHERE product_key = ? AND device_name = ? AND epoch = ?").get(
        identity.productKey,
        identity.deviceName,
        epoch,
      ) !== undefined
    );
  }

  addEpoch(identity: DeviceIdentity, epoch: number, atMs: number): void {
    this.stmt(
      "INSERT OR IGNORE INTO binding_epochs (product_key, device_name, epoch, first_seen) VALUES (?, ?, ?, ?)",
    ).run(identity.productKey, identity.deviceName, epoch, atMs);
  }

  seenRecently(identity: DeviceIdentity, epoch: number, bootId: string, seq: number): boolean {
    return (
      this.stmt(
        "SELECT 1 FROM binding_seen WHERE product_key = ? AND device_name = ? AND epoch = ? AND boot_id = ? AND seq = ?",
      ).get(identity.productKey, identity.deviceName, epoch, bootId, seq) !== undefined
    );
  }

  /** Records a heartbeat position and keeps only the last {@link SEEN_WINDOW} of the device. */
  addSeen(identity: DeviceIdentity, epoch: number, bootId: string, seq: number, atMs: number): void {
    const { productKey, deviceName } = identity;
    this.stmt(
      "INSERT OR IGNORE INTO binding_seen (product_key, device_name, epoch, boot_id, seq, received_at) VALUES (?, ?, ?, ?, ?, ?)",
    ).run(productKey, deviceName, epoch, bootId, seq, atMs);
    this.trimSeen(identity);
  }

  /** Keeps only the last {@link SEEN_WINDOW} heartbeat positions of the device. */
  protected trimSeen(identity: DeviceIdentity): void {
    const { productKey, deviceName } = identity;
    this.stmt(
      `DELETE FROM binding_seen WHERE product_key = ? AND device_name = ? AND rowid <= (
           SELECT rowid FROM binding_seen WHERE product_key = ? AND device_name = ? ORDER BY rowid DESC LIMIT 1 OFFSET ?)`,
    ).run(productKey, deviceName, productKey, deviceName, SEEN_WINDOW);
  }

  // --- alerts ---

  openAlert(identity: DeviceIdentity): BindingAlert | undefined {
    const row = this.stmt(
      "SELECT * FROM binding_alerts WHERE product_key = ? AND device_name = ? AND closed_at IS NULL ORDER BY id DESC LIMIT 1",
    ).get(identity.productKey, identity.deviceName) as AlertRow | undefined;
    return row && toAlert(row);
  }

  alert(id: number): BindingAlert | undefined {
    const row = this.stmt("SELECT * FROM binding_alerts WHERE id = ?").get(id) as AlertRow | undefined;
    return row && toAlert(row);
  }

  addAlert(a: NewAlert): BindingAlert {
    const result = this.stmt(
      `INSERT INTO binding_alerts (product_key, device_name, state, imei, iccid, imsi, reason, source, details,
           first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      a.productKey,
      a.deviceName,
      a.state,
      a.imei,
      a.iccid,
      a.imsi,
      a.reason,
      a.source,
      JSON.stringify(a.details),
      a.atMs,
      a.atMs,
    );
    return this.alert(Number(result.lastInsertRowid)) as BindingAlert;
  }

  bumpAlert(id: number, atMs: number): void {
    this.stmt("UPDATE binding_alerts SET count = count + 1, last_seen = ? WHERE id = ?").run(atMs, id);
  }

  closeAlert(id: number, atMs: number, by: AlertClosure): void {
    this.stmt("UPDATE binding_alerts SET closed_at = ?, closed_by = ? WHERE id = ? AND closed_at IS NULL").run(
      atMs,
      by,
      id,
    );
  }

  markAlertSuspended(id: number): void {
    this.stmt("UPDATE binding_alerts SET suspended = 1 WHERE id = ?").run(id);
  }

  alerts(filter: AlertFilter = {}): BindingAlert[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const eq = (column: string, value: string | undefined) => {
      if (value === undefined) return;
      where.push(`${column} = ?`);
      args.push(value);
    };
    eq("product_key", filter.productKey);
    eq("device_name", filter.deviceName);
    eq("state", filter.state);
    if (filter.open !== undefined) where.push(filter.open ? "closed_at IS NULL" : "closed_at IS NOT NULL");
    if (filter.afterId !== undefined) {
      where.push("id > ?");
      args.push(filter.afterId);
    }
    const clause = where.length === 0 ? "" : ` WHERE ${where.join(" AND ")}`;
    const rows = this.stmt(`SELECT * FROM binding_alerts${clause} ORDER BY id`).all(...args) as AlertRow[];
    return rows.map(toAlert);
  }

  // --- suspended cards ---

  suspend(card: SuspendedCard): boolean {
    return (
      this.stmt(
        `INSERT OR IGNORE INTO binding_suspended (iccid, imei, product_key, device_name, reason, suspended_at)
           VALUES (?, ?, ?, ?, ?, ?)`,
      ).run(card.iccid, card.imei, card.productKey, card.deviceName, card.reason, card.suspendedMs).changes > 0
    );
  }

  unsuspend(iccid: string): boolean {
    return this.stmt("DELETE FROM binding_suspended WHERE iccid = ?").run(iccid).changes > 0;
  }

  suspendedCards(): SuspendedCard[] {
    const rows = this.stmt("SELECT * FROM binding_suspended ORDER BY suspended_at, iccid").all() as {
      iccid: string;
      imei: string;
      product_key: string;
      device_name: string;
      reason: string;
      suspended_at: number;
    }[];
    return rows.map((r) => ({
      iccid: r.iccid,
      imei: r.imei,
      productKey: r.product_key,
      deviceName: r.device_name,
      reason: r.reason,
      suspendedMs: r.suspended_at,
    }));
  }

  get isOpen(): boolean {
    return this.db.open;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
