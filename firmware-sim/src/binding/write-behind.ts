/**
 * The binding monitor's write-behind store: the monitor's working state (devices, expected bindings, each device's
 * recent heartbeat positions and epochs, open alerts, suspended cards) is loaded from SQLite once, read and judged in
 * memory, and the hot-path writes (device rows, heartbeat positions, epochs, alert counts) are queued and written in
 * large transactions by {@link WriteBehindStore.flush}. The monitor flushes when the queue reaches its bound, on a
 * timer, and on close.
 *
 * Consistency: the file always holds a PREFIX of what the monitor judged. Every other write (a new or closed alert, a
 * suspension, an import, a forget) flushes the queue first and runs in the same SQLite transaction as the queued
 * writes of its judgement, and every query of the store (`devices`, `alerts`, …) flushes first, so what a query reads
 * equals what the monitor returned. A judgement that throws is undone in memory and in SQLite alike.
 *
 * What a process kill loses (docs/binding.md): the queued writes, at most the queue bound or one flush interval of
 * heartbeats, never an alert (alerts are written at once). On restart the monitor reloads the last flushed state;
 * each device's next heartbeat (every `heartbeatIntervalSec`) re-establishes its row, and a heartbeat redelivered
 * after the restart whose position was lost is judged again as new (correctly: its first judgement was lost too).
 */
import type { DeviceIdentity } from "@triadkit/protocol";
import {
  BindingStore,
  DEVICE_SELECT,
  DEVICE_UPSERT,
  type DeviceRow,
  deviceValues,
  type NewAlert,
  placeholders,
  SEEN_WINDOW,
  type StoredDevice,
  toDevice,
} from "./store.js";
import type {
  AlertClosure,
  AlertFilter,
  BindingAlert,
  BindingDeviceFilter,
  ExpectedBinding,
  SimTriple,
  SuspendedCard,
} from "./types.js";

type Key = string;
type Row = StoredDevice & { suspended: boolean };
const keyOf = (i: DeviceIdentity): Key => `${i.productKey}\n${i.deviceName}`;
const positionOf = (epoch: number, bootId: string, seq: number) => `${epoch}\n${bootId}\n${seq}`;

/** Rows per multi-row INSERT (18 columns × 64 = 1,152 parameters, well under SQLite's limit). */
const ROWS_PER_STATEMENT = 64;

/**
 * REPLACE, not IGNORE: a position still stored beyond the window (trimming is amortised) moves to the newest rowid,
 * as it would have been deleted and inserted again with eager trimming.
 */
const SEEN_INSERT = (rows: number) =>
  `INSERT OR REPLACE INTO binding_seen (product_key, device_name, epoch, boot_id, seq, received_at) VALUES ${placeholders(6, rows)}`;

const seenValues = (r: SeenRow): unknown[] => [
  r.identity.productKey,
  r.identity.deviceName,
  r.epoch,
  r.bootId,
  r.seq,
  r.atMs,
];

/** `devicesWithImei`'s order: who reported the IMEI first, then by name. */
function byImeiAge(a: StoredDevice, b: StoredDevice): number {
  if (a.imeiSinceMs !== b.imeiSinceMs) return a.imeiSinceMs - b.imeiSinceMs;
  if (a.productKey !== b.productKey) return a.productKey < b.productKey ? -1 : 1;
  return a.deviceName < b.deviceName ? -1 : a.deviceName > b.deviceName ? 1 : 0;
}

interface SeenRow {
  readonly identity: DeviceIdentity;
  readonly epoch: number;
  readonly bootId: string;
  readonly seq: number;
  readonly atMs: number;
}

/** Trim a device's stored positions once it has this many (amortised: one DELETE per {@link SEEN_WINDOW} heartbeats). */
const TRIM_AT = 2 * SEEN_WINDOW;

export class WriteBehindStore extends BindingStore {
  /** Every device, with its `suspended` flag kept current (the objects are never changed: replaced). */
  private readonly deviceByKey = new Map<Key, Row>();
  private readonly byImei = new Map<string, Set<Key>>();
  private readonly suspendedIccids = new Set<string>();
  private readonly expectedByColumn = {
    imei: new Map<string, ExpectedBinding>(),
    iccid: new Map<string, ExpectedBinding>(),
    imsi: new Map<string, ExpectedBinding>(),
  };
  /** Each device's last {@link SEEN_WINDOW} heartbeat positions, oldest first. */
  private readonly seen = new Map<Key, string[]>();
  /** Rows each device has in `binding_seen` (an upper bound; trimmed when it reaches {@link TRIM_AT}). */
  private readonly seenRows = new Map<Key, number>();
  private readonly epochs = new Map<Key, Set<number>>();
  private readonly openAlerts = new Map<Key, BindingAlert>();
  /** The device of each alert in {@link openAlerts}, by alert id. */
  private readonly openAlertKeys = new Map<number, Key>();

  private pendingDevices = new Map<Key, Row>();
  private pendingSeen: SeenRow[] = [];
  private pendingEpochs: { identity: DeviceIdentity; epoch: number; atMs: number }[] = [];
  private pendingBumps = new Map<number, { count: number; lastSeenMs: number }>();

  /** The undo log of the judgement in progress (undefined outside {@link transaction}). */
  private undo: (() => void)[] | undefined;
  /** True while this store holds an SQLite transaction open for the judgement in progress. */
  private inSql = false;

  /** Opens the file like {@link BindingStore} and loads the monitor's working state once. */
  constructor(path = ":memory:") {
    super(path);
    // WAL with NORMAL: a commit is not fsynced (a checkpoint is). A killed process loses nothing committed; a power
    // cut may also lose the last flushes. The queue is the larger loss either way (docs/binding.md).
    if (path !== ":memory:") this.db.pragma("synchronous = NORMAL");
    for (const row of this.stmt(DEVICE_SELECT).all() as DeviceRow[]) {
      const device = toDevice(row);
      this.deviceByKey.set(keyOf(device), device);
      this.indexImei(keyOf(device), undefined, device.imei);
    }
    for (const e of super.listExpected()) this.setExpected(e);
    for (const card of super.suspendedCards()) this.suspendedIccids.add(card.iccid);
    const seenRows = this.stmt(
      "SELECT product_key, device_name, epoch, boot_id, seq FROM binding_seen ORDER BY rowid",
    ).all() as { product_key: string; device_name: string; epoch: number; boot_id: string; seq: number }[];
    for (const r of seenRows) {
      const key = keyOf({ productKey: r.product_key, deviceName: r.device_name });
      const window = this.seen.get(key) ?? [];
      window.push(positionOf(r.epoch, r.boot_id, r.seq));
      if (window.length > SEEN_WINDOW) window.shift();
      this.seen.set(key, window);
      this.seenRows.set(key, (this.seenRows.get(key) ?? 0) + 1);
    }
    const epochRows = this.stmt("SELECT product_key, device_name, epoch FROM binding_epochs").all() as {
      product_key: string;
      device_name: string;
      epoch: number;
    }[];
    for (const r of epochRows)
      this.epochSet(keyOf({ productKey: r.product_key, deviceName: r.device_name })).add(r.epoch);
    // Ascending id: a device's newest open alert wins, as in `openAlert`'s query.
    for (const a of super.alerts({ open: true })) this.setOpenAlert(keyOf(a), a);
  }

  /** Queued row writes (device rows, heartbeat positions, epochs, alert counts). */
  get pending(): number {
    return this.pendingDevices.size + this.pendingSeen.length + this.pendingEpochs.length + this.pendingBumps.size;
  }

  /**
   * Writes every queued row in one SQLite transaction (inside the judgement's when one is open). On failure nothing
   * is dropped: the queue is kept for the next flush and the error propagates.
   */
  flush(): void {
    if (this.pending === 0) return;
    this.ensureSql();
    const devices = this.pendingDevices;
    const seen = this.pendingSeen;
    const epochs = this.pendingEpochs;
    const bumps = this.pendingBumps;
    const write = () => {
      this.insertRows(DEVICE_UPSERT, [...devices.values()], deviceValues);
      this.insertRows(SEEN_INSERT, seen, seenValues);
      const grown = new Map<Key, DeviceIdentity>();
      for (const r of seen) {
        const key = keyOf(r.identity);
        const rows = (this.seenRows.get(key) ?? 0) + 1;
        this.seenRows.set(key, rows);
        if (rows >= TRIM_AT) grown.set(key, r.identity);
      }
      for (const [key, identity] of grown) {
        this.trimSeen(identity);
        this.seenRows.set(key, SEEN_WINDOW);
      }
      for (const e of epochs) super.addEpoch(e.identity, e.epoch, e.atMs);
      const bump = this.stmt("UPDATE binding_alerts SET count = ?, last_seen = ? WHERE id = ?");
      for (const [id, b] of bumps) bump.run(b.count, b.lastSeenMs, id);
    };
    if (this.inSql) write();
    else this.db.transaction(write)();
    this.pendingDevices = new Map();
    this.pendingSeen = [];
    this.pendingEpochs = [];
    this.pendingBumps = new Map();
    // Inside a judgement that later fails, SQLite rolls these writes back: queue them again.
    this.record(() => {
      this.pendingDevices = devices;
      this.pendingSeen = seen;
      this.pendingEpochs = epochs;
      this.pendingBumps = bumps;
    });
  }

  /**
   * Runs a judgement: its memory changes are undone and its SQLite writes (if it made any beyond the queue) rolled
   * back when it throws. Nested calls join the outer one.
   */
  override transaction<T>(fn: () => T): T {
    if (this.undo !== undefined) return fn();
    const undo: (() => void)[] = [];
    this.undo = undo;
    try {
      const result = fn();
      if (this.inSql) this.db.exec("COMMIT");
      return result;
    } catch (err) {
      if (this.inSql && this.db.inTransaction) this.db.exec("ROLLBACK");
      for (let i = undo.length - 1; i >= 0; i--) undo[i]?.();
      throw err;
    } finally {
      this.inSql = false;
      this.undo = undefined;
    }
  }

  /** Writes the queue, then closes the file (closed even when the last flush fails; that error propagates). */
  override close(): void {
    try {
      if (this.isOpen) this.flush();
    } finally {
      super.close();
    }
  }

  // --- read in memory ---

  override expectedBy(column: "imei" | "iccid" | "imsi", value: string): ExpectedBinding | undefined {
    return this.expectedByColumn[column].get(value);
  }

  override device(identity: DeviceIdentity): Row | undefined {
    return this.deviceByKey.get(keyOf(identity));
  }

  override devicesWithImei(imei: string, except: DeviceIdentity): StoredDevice[] {
    const keys = this.byImei.get(imei);
    if (keys === undefined) return [];
    const skip = keyOf(except);
    const found: Row[] = [];
    for (const key of keys) {
      const d = key === skip ? undefined : this.deviceByKey.get(key);
      if (d !== undefined) found.push(d);
    }
    return found.length < 2 ? found : found.sort(byImeiAge);
  }

  override epochKnown(identity: DeviceIdentity, epoch: number): boolean {
    return this.epochs.get(keyOf(identity))?.has(epoch) ?? false;
  }

  override seenRecently(identity: DeviceIdentity, epoch: number, bootId: string, seq: number): boolean {
    return this.seen.get(keyOf(identity))?.includes(positionOf(epoch, bootId, seq)) ?? false;
  }

  override openAlert(identity: DeviceIdentity): BindingAlert | undefined {
    return this.openAlerts.get(keyOf(identity));
  }

  // --- queued writes ---

  override putDevice(d: StoredDevice): void {
    const key = keyOf(d);
    const device = this.row(d);
    const before = this.deviceByKey.get(key);
    const queued = this.pendingDevices.get(key);
    this.deviceByKey.set(key, device);
    this.indexImei(key, before?.imei, device.imei);
    this.pendingDevices.set(key, device);
    this.record(() => {
      this.indexImei(key, device.imei, before?.imei);
      if (before === undefined) this.deviceByKey.delete(key);
      else this.deviceByKey.set(key, before);
      if (queued === undefined) this.pendingDevices.delete(key);
      else this.pendingDevices.set(key, queued);
    });
  }

  override addSeen(identity: DeviceIdentity, epoch: number, bootId: string, seq: number, atMs: number): void {
    const key = keyOf(identity);
    const position = positionOf(epoch, bootId, seq);
    const window = this.seen.get(key) ?? [];
    if (window.includes(position)) return;
    if (window.length === 0) this.seen.set(key, window);
    window.push(position);
    const dropped = window.length > SEEN_WINDOW ? window.shift() : undefined;
    this.pendingSeen.push({
      identity: { productKey: identity.productKey, deviceName: identity.deviceName },
      epoch,
      bootId,
      seq,
      atMs,
    });
    const queued = this.pendingSeen;
    this.record(() => {
      window.pop();
      if (dropped !== undefined) window.unshift(dropped);
      queued.pop();
    });
  }

  override addEpoch(identity: DeviceIdentity, epoch: number, atMs: number): void {
    const set = this.epochSet(keyOf(identity));
    if (set.has(epoch)) return;
    set.add(epoch);
    this.pendingEpochs.push({
      identity: { productKey: identity.productKey, deviceName: identity.deviceName },
      epoch,
      atMs,
    });
    const queued = this.pendingEpochs;
    this.record(() => {
      set.delete(epoch);
      queued.pop();
    });
  }

  override bumpAlert(id: number, atMs: number): void {
    const entry = this.openById(id);
    if (entry === undefined) {
      this.flush();
      super.bumpAlert(id, atMs);
      return;
    }
    const [key, before] = entry;
    const after = { ...before, count: before.count + 1, lastSeenMs: atMs };
    const queued = this.pendingBumps.get(id);
    this.openAlerts.set(key, after);
    this.pendingBumps.set(id, { count: after.count, lastSeenMs: atMs });
    this.record(() => {
      this.openAlerts.set(key, before);
      if (queued === undefined) this.pendingBumps.delete(id);
      else this.pendingBumps.set(id, queued);
    });
  }

  // --- written at once, after the queue ---

  override addAlert(a: NewAlert): BindingAlert {
    this.flush();
    const alert = super.addAlert(a);
    this.setOpenAlert(keyOf(a), alert);
    return alert;
  }

  override closeAlert(id: number, atMs: number, by: AlertClosure): void {
    this.flush();
    super.closeAlert(id, atMs, by);
    const entry = this.openById(id);
    if (entry !== undefined) this.setOpenAlert(entry[0], super.openAlert(entry[1]));
  }

  override markAlertSuspended(id: number): void {
    this.flush();
    super.markAlertSuspended(id);
    const entry = this.openById(id);
    if (entry !== undefined) this.setOpenAlert(entry[0], { ...entry[1], suspended: true });
  }

  override suspend(card: SuspendedCard): boolean {
    this.flush();
    const added = super.suspend(card);
    if (added) this.setSuspended(card.iccid, true);
    return added;
  }

  override unsuspend(iccid: string): boolean {
    this.flush();
    const removed = super.unsuspend(iccid);
    if (removed) this.setSuspended(iccid, false);
    return removed;
  }

  override forgetDevice(identity: DeviceIdentity, atMs: number): boolean {
    this.flush();
    const known = super.forgetDevice(identity, atMs);
    const key = keyOf(identity);
    const device = this.deviceByKey.get(key);
    const saved = {
      seen: this.seen.get(key),
      seenRows: this.seenRows.get(key),
      epochs: this.epochs.get(key),
    };
    this.deviceByKey.delete(key);
    this.indexImei(key, device?.imei, undefined);
    this.seen.delete(key);
    this.seenRows.delete(key);
    this.epochs.delete(key);
    this.setOpenAlert(key, undefined);
    this.record(() => {
      if (device !== undefined) {
        this.deviceByKey.set(key, device);
        this.indexImei(key, undefined, device.imei);
      }
      if (saved.seen !== undefined) this.seen.set(key, saved.seen);
      if (saved.seenRows !== undefined) this.seenRows.set(key, saved.seenRows);
      if (saved.epochs !== undefined) this.epochs.set(key, saved.epochs);
    });
    return known;
  }

  override addExpected(triple: SimTriple, atMs: number): void {
    this.flush();
    super.addExpected(triple, atMs);
    const e: ExpectedBinding = { imei: triple.imei, iccid: triple.iccid, imsi: triple.imsi, importedAtMs: atMs };
    this.setExpected(e);
    this.record(() => this.deleteExpected(e));
  }

  override removeExpected(imei: string): void {
    this.flush();
    super.removeExpected(imei);
    const e = this.expectedByColumn.imei.get(imei);
    if (e === undefined) return;
    this.deleteExpected(e);
    this.record(() => this.setExpected(e));
  }

  // --- queries: flush, then read the file ---

  override listExpected(): ExpectedBinding[] {
    this.flush();
    return super.listExpected();
  }

  override conflictingExpected(triple: SimTriple): ExpectedBinding[] {
    this.flush();
    return super.conflictingExpected(triple);
  }

  override devices(filter: BindingDeviceFilter = {}): (StoredDevice & { suspended: boolean })[] {
    this.flush();
    return super.devices(filter);
  }

  override silentCandidates(beforeMs: number): StoredDevice[] {
    this.flush();
    return super.silentCandidates(beforeMs);
  }

  override alert(id: number): BindingAlert | undefined {
    this.flush();
    return super.alert(id);
  }

  override alerts(filter: AlertFilter = {}): BindingAlert[] {
    this.flush();
    return super.alerts(filter);
  }

  override suspendedCards(): SuspendedCard[] {
    this.flush();
    return super.suspendedCards();
  }

  // --- internals ---

  /** Inside a judgement, opens its SQLite transaction before its first write to the file. */
  private ensureSql(): void {
    if (this.undo !== undefined && !this.inSql) {
      this.db.exec("BEGIN");
      this.inSql = true;
    }
  }

  /**
   * The device as kept in memory: a fresh object of one fixed shape (V8 copies objects built by spreading and then
   * extended very slowly), without any extra field the caller's object had, with its `suspended` flag.
   */
  private row(d: StoredDevice): Row {
    return {
      productKey: d.productKey,
      deviceName: d.deviceName,
      state: d.state,
      imei: d.imei,
      iccid: d.iccid,
      imsi: d.imsi,
      modem: d.modem,
      reason: d.reason,
      imeiSinceMs: d.imeiSinceMs,
      stateSinceMs: d.stateSinceMs,
      firstSeenMs: d.firstSeenMs,
      lastSeenMs: d.lastSeenMs,
      lastHeartbeatMs: d.lastHeartbeatMs,
      epoch: d.epoch,
      bootId: d.bootId,
      seq: d.seq,
      simRemovedMs: d.simRemovedMs,
      lastIccid: d.lastIccid,
      suspended: this.suspendedIccids.has(d.iccid),
    };
  }

  /** Suspends or resumes a card in memory and refreshes the flag of every device that has it (rare: a scan). */
  private setSuspended(iccid: string, suspended: boolean): void {
    const apply = (flag: boolean) => {
      if (flag) this.suspendedIccids.add(iccid);
      else this.suspendedIccids.delete(iccid);
      for (const [key, d] of this.deviceByKey) if (d.iccid === iccid) this.deviceByKey.set(key, this.row(d));
    };
    apply(suspended);
    this.record(() => apply(!suspended));
  }

  /** Writes rows with multi-row statements of {@link ROWS_PER_STATEMENT} rows (the rest one row each). */
  private insertRows<T>(sql: (rows: number) => string, rows: readonly T[], values: (row: T) => unknown[]): void {
    let i = 0;
    if (rows.length >= ROWS_PER_STATEMENT) {
      const many = this.stmt(sql(ROWS_PER_STATEMENT));
      for (; i + ROWS_PER_STATEMENT <= rows.length; i += ROWS_PER_STATEMENT) {
        const args: unknown[] = [];
        for (let k = i; k < i + ROWS_PER_STATEMENT; k++) for (const v of values(rows[k] as T)) args.push(v);
        many.run(args);
      }
    }
    const one = this.stmt(sql(1));
    for (; i < rows.length; i++) one.run(values(rows[i] as T));
  }

  private record(undo: () => void): void {
    this.undo?.push(undo);
  }

  private openById(id: number): [Key, BindingAlert] | undefined {
    const key = this.openAlertKeys.get(id);
    const alert = key === undefined ? undefined : this.openAlerts.get(key);
    return key === undefined || alert === undefined ? undefined : [key, alert];
  }

  private setOpenAlert(key: Key, alert: BindingAlert | undefined): void {
    const before = this.openAlerts.get(key);
    const put = (a: BindingAlert | undefined, b: BindingAlert | undefined) => {
      if (b !== undefined) this.openAlertKeys.delete(b.id);
      if (a === undefined) this.openAlerts.delete(key);
      else {
        this.openAlerts.set(key, a);
        this.openAlertKeys.set(a.id, key);
      }
    };
    put(alert, before);
    this.record(() => put(before, alert));
  }

  private indexImei(key: Key, from: string | undefined, to: string | undefined): void {
    if (from === to) return;
    if (from !== undefined) {
      const keys = this.byImei.get(from);
      keys?.delete(key);
      if (keys?.size === 0) this.byImei.delete(from);
    }
    if (to !== undefined) {
      const keys = this.byImei.get(to) ?? new Set<Key>();
      keys.add(key);
      this.byImei.set(to, keys);
    }
  }

  private epochSet(key: Key): Set<number> {
    let set = this.epochs.get(key);
    if (set === undefined) {
      set = new Set();
      this.epochs.set(key, set);
    }
    return set;
  }

  private setExpected(e: ExpectedBinding): void {
    this.expectedByColumn.imei.set(e.imei, e);
    this.expectedByColumn.iccid.set(e.iccid, e);
    this.expectedByColumn.imsi.set(e.imsi, e);
  }

  private deleteExpected(e: ExpectedBinding): void {
    this.expectedByColumn.imei.delete(e.imei);
    this.expectedByColumn.iccid.delete(e.iccid);
    this.expectedByColumn.imsi.delete(e.imsi);
  }
}
