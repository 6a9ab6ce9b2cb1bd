/**
 * The binding monitor (机卡绑定 监控): judges every identity report and binding event a device sends against the
 * expected IMEI–card bindings, keeps one state per device (productKey/deviceName) in SQLite, and raises an alert on
 * each transition into an alert state: stored, emitted, published on MQTT and optionally POSTed to a webhook. With
 * the `suspend` policy a card found in `mismatch` is suspended and the device told. docs/binding.md is the operator's
 * description; ./classify.ts holds the precedence and sequence rules.
 */
import type { BindingEvent, DeviceIdentity, IdentityReport } from "@triadkit/protocol";
import { TriadkitError, utf8 } from "@triadkit/protocol";
import type { Clock, TimerHandle } from "@triadkit/sdk";
import type { EmulatorLogger } from "../emulator/options.js";
import { type Classification, classify, judgeHeartbeat } from "./classify.js";
import { type AlertMessage, alertMessage, alertTopic, recoveryMessage, WebhookSender } from "./delivery.js";
import { normaliseReported, parseExpectedCsv, storeExpected } from "./expected-csv.js";
import { isOperatorLogin } from "./operator.js";
import type { BindingOptions, ResolvedBindingOptions } from "./options.js";
import { resolveBindingOptions } from "./options.js";
import { BindingStore, type StoredDevice } from "./store.js";
import {
  ALERT_STATES,
  type AlertFilter,
  type BindingAlert,
  type BindingDeviceFilter,
  type BindingOutcome,
  type BindingRecovery,
  type BindingSource,
  type BindingState,
  type DeviceBindingState,
  type ExpectedBinding,
  type ExpectedImportReport,
  type SimTriple,
  type SuspendedCard,
} from "./types.js";
import { WriteBehindStore } from "./write-behind.js";

/** The device service the `suspend` policy calls: params `{iccid, reason}`. */
export const SUSPEND_SERVICE = "BindingSuspended";

/** What the monitor needs from the platform it runs in (the emulator, or a test). */
export interface BindingHost {
  /** Publishes as the platform (QoS 0, not retained). */
  publish(topic: string, payload: Uint8Array): void;
  /** Calls a device service; may reject (offline, timeout): the monitor only logs it. */
  invokeService(identity: DeviceIdentity, name: string, params: Record<string, unknown>): Promise<unknown>;
  /** Called for each alert raised. */
  onAlert?(alert: BindingAlert): void;
  /** Called when a device goes back to `bound` from an alert state. */
  onRecovered?(recovery: BindingRecovery): void;
}

export interface BindingMonitorDeps {
  /** Server time: every time the monitor stores and the silence check. Never device time. */
  readonly clock: Clock;
  readonly logger?: EmulatorLogger;
  readonly host?: BindingHost;
}

const silentLogger: EmulatorLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** A verdict about one message, before it is applied. */
interface Verdict {
  readonly state: BindingState;
  readonly reason: string;
  readonly details: Pick<Classification, "expected" | "cardBoundImei" | "otherDevice">;
}

const triple = (t: SimTriple): SimTriple => ({ imei: t.imei, iccid: t.iccid, imsi: t.imsi });
const sameTriple = (a: SimTriple, b: SimTriple) => a.imei === b.imei && a.iccid === b.iccid && a.imsi === b.imsi;
const idOf = (i: DeviceIdentity): DeviceIdentity => ({ productKey: i.productKey, deviceName: i.deviceName });
const nameKey = (d: DeviceIdentity) => `${d.productKey}/${d.deviceName}`;

export class BindingMonitor {
  readonly options: ResolvedBindingOptions;
  /** The import of `expectedCsv` at start, when given. */
  readonly initialImport: ExpectedImportReport | undefined;
  private readonly store: BindingStore;
  private readonly clock: Clock;
  private readonly logger: EmulatorLogger;
  private host: BindingHost | undefined;
  private readonly webhook: WebhookSender | undefined;
  private readonly calls = new Set<Promise<void>>();
  private timer: TimerHandle | undefined;
  private flushTimer: TimerHandle | undefined;
  private closed = false;

  /**
   * Opens (or creates) the monitor's tables and imports `expectedCsv`. Throws `config.invalid`, the sheet's header
   * errors, `binding.unsupported_schema`.
   */
  constructor(options: BindingOptions, deps: BindingMonitorDeps) {
    this.options = resolveBindingOptions(options);
    this.clock = deps.clock;
    this.logger = deps.logger ?? silentLogger;
    this.host = deps.host;
    this.store =
      this.options.writeBehind === undefined
        ? new BindingStore(this.options.db)
        : new WriteBehindStore(this.options.db);
    this.webhook = this.options.webhook && new WebhookSender(this.options.webhook, this.clock, this.logger);
    this.initialImport =
      this.options.expectedCsv === undefined ? undefined : this.importExpected(this.options.expectedCsv);
    for (const e of this.initialImport?.errors ?? [])
      this.logger.warn({ event: "bindingImport", code: e.code }, e.message);
    this.schedule();
  }

  /** Connects the monitor to its platform (publishing, service calls, events). */
  attach(host: BindingHost): void {
    this.host = host;
  }

  /** True for the operator's MQTT login; throws `triad.bad_signature` for the operator's name with a wrong password. */
  isOperatorLogin(creds: { readonly username: string; readonly password: string }): boolean {
    return isOperatorLogin(this.options.operator, creds);
  }

  // --- expected bindings ---

  /**
   * Imports expected bindings from CSV (`imei,iccid,imsi`, any header case). Bad rows are reported by line and never
   * imported; a row equal to one already imported is `unchanged`; a row sharing an IMEI, ICCID or IMSI with another
   * imported binding is refused (`binding.duplicate_expected`) unless `replace`, which removes the old one first.
   * Throws for a bad header (`import.missing_column`, `import.ambiguous_column`) or broken quoting.
   */
  importExpected(csv: string, options: { readonly replace?: boolean } = {}): ExpectedImportReport {
    this.ensureOpen();
    const sheet = parseExpectedCsv(csv);
    return this.store.transaction(() => storeExpected(this.store, sheet, this.clock.nowMs(), options.replace ?? false));
  }

  /** The expected bindings, by IMEI. */
  expected(): ExpectedBinding[] {
    this.ensureOpen();
    return this.store.listExpected();
  }

  // --- messages ---

  /** Judges an identity self-report (`thing.deviceinfo.update` tags). */
  handleIdentityReport(identity: DeviceIdentity, report: IdentityReport): BindingOutcome {
    this.ensureOpen();
    return this.apply(() => this.judge(identity, normaliseReported(report), "identity", { modem: report.modem }));
  }

  /** Judges a `BindingHeartbeat`, `BindingChanged` or `SimRemoved` event. */
  handleBindingEvent(identity: DeviceIdentity, event: BindingEvent): BindingOutcome {
    this.ensureOpen();
    return this.apply(() => this.judgeEvent(identity, event));
  }

  /**
   * Judges a batch of binding events, in order, in ONE transaction: the same verdicts as calling
   * {@link handleBindingEvent} for each in turn, at a fraction of the commits. Nothing is returned or announced before
   * the whole batch is committed; if any judgement throws, the batch is rolled back, nothing is announced and the error
   * propagates. After the commit, alerts and recoveries are announced once each, in message order (with the `suspend`
   * policy, a card is therefore suspended after its batch commits, not before the batch's next message is judged).
   */
  handleBindingEvents(
    batch: readonly { readonly identity: DeviceIdentity; readonly event: BindingEvent }[],
  ): BindingOutcome[] {
    this.ensureOpen();
    const outcomes = this.store.transaction(() => batch.map(({ identity, event }) => this.judgeEvent(identity, event)));
    this.queued();
    return outcomes.map((outcome) => this.announce(outcome));
  }

  /**
   * Writes the write-behind queue to the file now (it is also written when full, on a timer and on close). A no-op
   * without write-behind.
   */
  flush(): void {
    this.ensureOpen();
    this.flushTimer?.cancel();
    this.flushTimer = undefined;
    if (this.store instanceof WriteBehindStore) this.store.flush();
  }

  /**
   * Marks `silent` every device without a heartbeat (or, before its first heartbeat, without any message) for
   * `silentAfterIntervals × heartbeatIntervalSec`, on the server clock. Runs by itself every `silenceCheckMs`.
   * Returns the alerts raised.
   */
  checkSilence(): BindingAlert[] {
    this.ensureOpen();
    const now = this.clock.nowMs();
    const limitMs = this.options.silentAfterIntervals * this.options.heartbeatIntervalSec * 1000;
    const raised: BindingAlert[] = [];
    for (const device of this.store.silentCandidates(now - limitMs)) {
      const since = device.lastHeartbeatMs ?? device.firstSeenMs;
      const what = device.lastHeartbeatMs === undefined ? "no heartbeat since first seen" : "no heartbeat since";
      const reason = `${what} ${new Date(since).toISOString()} (${Math.floor((now - since) / 1000)} s; limit ${limitMs / 1000} s)`;
      const outcome = this.apply(() =>
        this.transition(device, { ...device }, { state: "silent", reason, details: {} }, "silence", device, now),
      );
      if (outcome.alert) raised.push(outcome.alert);
    }
    return raised;
  }

  // --- queries ---

  state(identity: DeviceIdentity): DeviceBindingState | undefined {
    this.ensureOpen();
    const d = this.store.device(identity);
    return d && publicDevice(d);
  }

  devices(filter: BindingDeviceFilter = {}): DeviceBindingState[] {
    this.ensureOpen();
    return this.store.devices(filter).map(publicDevice);
  }

  alerts(filter: AlertFilter = {}): BindingAlert[] {
    this.ensureOpen();
    return this.store.alerts(filter);
  }

  suspended(): SuspendedCard[] {
    this.ensureOpen();
    return this.store.suspendedCards();
  }

  /** Lifts a suspension (the operator resumed the card, 复机). True if the card was suspended. */
  unsuspend(iccid: string): boolean {
    this.ensureOpen();
    return this.store.unsuspend(normaliseReported({ imei: "", iccid, imsi: "" }).iccid);
  }

  /**
   * Forgets a device (its state, epochs and sequence; its open alert is closed as `forgotten`), e.g. after it was
   * re-provisioned under another name and still holds its IMEI. True if it was known.
   */
  forget(identity: DeviceIdentity): boolean {
    this.ensureOpen();
    return this.store.transaction(() => this.store.forgetDevice(identity, this.clock.nowMs()));
  }

  /** Resolves when every webhook delivery and `suspend` service call started so far has finished. */
  async settled(): Promise<void> {
    while (this.calls.size > 0) await Promise.all([...this.calls]);
    await this.webhook?.settled();
  }

  /** Stops the silence timer, gives up pending webhook retries and closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timer?.cancel();
    this.flushTimer?.cancel();
    await this.webhook?.close();
    await Promise.all([...this.calls]);
    this.store.close();
  }

  // --- internals ---

  private ensureOpen(): void {
    if (this.closed) throw new TriadkitError("emulator.closed", "the binding monitor was closed");
  }

  private schedule(): void {
    if (this.options.silenceCheckMs === 0 || this.closed) return;
    this.timer = this.clock.setTimeout(() => {
      if (this.closed) return;
      try {
        this.checkSilence();
      } catch (err) {
        this.logger.error({ event: "bindingSilenceCheck", error: String(err) }, "silence check failed");
      }
      this.schedule();
    }, this.options.silenceCheckMs);
  }

  /** Runs a judgement in one transaction, then announces what it raised. */
  private apply(judge: () => BindingOutcome): BindingOutcome {
    const outcome = this.store.transaction(judge);
    this.queued();
    return this.announce(outcome);
  }

  /** Write-behind: flushes a full queue at once, else makes sure a flush is due within `flushMs`. */
  private queued(): void {
    const bounds = this.options.writeBehind;
    if (bounds === undefined || !(this.store instanceof WriteBehindStore) || this.store.pending === 0) return;
    if (this.store.pending >= bounds.maxQueue) {
      this.flush();
      return;
    }
    this.flushTimer ??= this.clock.setTimeout(() => {
      this.flushTimer = undefined;
      if (this.closed) return;
      try {
        this.flush();
      } catch (err) {
        // The queue is kept: the next message or timer tries again.
        this.logger.error({ event: "bindingFlush", error: String(err) }, "writing the binding queue failed");
      }
    }, bounds.flushMs);
  }

  /** Judges one binding event; the caller holds the transaction. */
  private judgeEvent(identity: DeviceIdentity, event: BindingEvent): BindingOutcome {
    if (event.kind === "BindingChanged") return this.judge(identity, normaliseReported(event.new), "changed", {});
    if (event.kind === "SimRemoved") return this.simRemoved(identity, event.imei, event.lastIccid);
    return this.heartbeat(identity, event);
  }

  private heartbeat(identity: DeviceIdentity, hb: Extract<BindingEvent, { kind: "BindingHeartbeat" }>): BindingOutcome {
    // Checked before anything is judged: a value SQLite cannot store must never reach the write-behind queue.
    if (!Number.isSafeInteger(hb.epoch) || !Number.isSafeInteger(hb.seq) || typeof hb.bootId !== "string") {
      throw new TriadkitError("binding.bad_event", "a heartbeat's epoch and seq must be integers and bootId a string", {
        productKey: identity.productKey,
        deviceName: identity.deviceName,
      });
    }
    const now = this.clock.nowMs();
    const device = this.store.device(identity);
    const last =
      device?.epoch !== undefined && device.bootId !== undefined && device.seq !== undefined
        ? { epoch: device.epoch, bootId: device.bootId, seq: device.seq }
        : undefined;
    const position = { epoch: hb.epoch, bootId: hb.bootId, seq: hb.seq };
    const verdict = judgeHeartbeat(last, position, {
      recently: this.store.seenRecently(identity, hb.epoch, hb.bootId, hb.seq),
      retiredEpoch: last !== undefined && hb.epoch !== last.epoch && this.store.epochKnown(identity, hb.epoch),
    });
    if (verdict.kind === "duplicate") return { result: "duplicate" };
    this.store.addSeen(identity, hb.epoch, hb.bootId, hb.seq, now);
    const reported = normaliseReported(hb);
    if (verdict.kind === "replayed" && device !== undefined) {
      // The replayed content is not trusted: the device keeps its last accepted triple and sequence.
      const v: Verdict = { state: "replayed", reason: verdict.reason, details: {} };
      return this.transition(device, { ...device, lastSeenMs: now }, v, "heartbeat", reported, now);
    }
    // An epoch the device's last accepted heartbeat carried is already recorded (that heartbeat added it).
    if (device?.epoch !== hb.epoch) this.store.addEpoch(identity, hb.epoch, now);
    return this.judge(identity, reported, "heartbeat", { heartbeat: position });
  }

  private judge(
    identity: DeviceIdentity,
    reported: SimTriple,
    source: BindingSource,
    extra: { modem?: string; heartbeat?: { epoch: number; bootId: string; seq: number } },
  ): BindingOutcome {
    const now = this.clock.nowMs();
    const device = this.store.device(identity);
    const keepsImei = device !== undefined && device.imei === reported.imei;
    const imeiSinceMs = keepsImei ? device.imeiSinceMs : now;
    // The device that reported the IMEI first holds it; a device new to the IMEI never wins a tie.
    const holder = this.store
      .devicesWithImei(reported.imei, identity)
      .find(
        (d) =>
          !keepsImei ||
          d.imeiSinceMs < imeiSinceMs ||
          (d.imeiSinceMs === imeiSinceMs && nameKey(d) < nameKey(identity)),
      );
    const c = classify(reported, {
      byImei: this.store.expectedBy("imei", reported.imei),
      byIccid: this.store.expectedBy("iccid", reported.iccid),
      byImsi: this.store.expectedBy("imsi", reported.imsi),
      imeiHolder: holder,
    });
    const hb = extra.heartbeat;
    // Spelled out, not spread: V8 (Node 20) builds a spread object that is then extended very slowly (~10 µs).
    const next: StoredDevice = {
      productKey: identity.productKey,
      deviceName: identity.deviceName,
      imei: reported.imei,
      iccid: reported.iccid,
      imsi: reported.imsi,
      state: c.state,
      reason: c.reason,
      modem: extra.modem ?? device?.modem,
      imeiSinceMs,
      stateSinceMs: device?.stateSinceMs ?? now,
      firstSeenMs: device?.firstSeenMs ?? now,
      lastSeenMs: now,
      lastHeartbeatMs: hb === undefined ? device?.lastHeartbeatMs : now,
      epoch: hb?.epoch ?? device?.epoch,
      bootId: hb?.bootId ?? device?.bootId,
      seq: hb?.seq ?? device?.seq,
      simRemovedMs: undefined,
      lastIccid: device?.lastIccid,
    };
    const { state, reason, ...details } = c;
    return this.transition(device, next, { state, reason, details }, source, reported, now);
  }

  private simRemoved(identity: DeviceIdentity, imei: string, lastIccid: string): BindingOutcome {
    const now = this.clock.nowMs();
    const device = this.store.device(identity);
    const normalisedImei = normaliseReported({ imei, iccid: lastIccid, imsi: "" });
    const base: StoredDevice = device ?? {
      ...idOf(identity),
      imei: normalisedImei.imei,
      iccid: "",
      imsi: "",
      state: "sim_removed",
      reason: "",
      modem: undefined,
      imeiSinceMs: now,
      stateSinceMs: now,
      firstSeenMs: now,
      lastSeenMs: now,
      lastHeartbeatMs: undefined,
      epoch: undefined,
      bootId: undefined,
      seq: undefined,
      simRemovedMs: undefined,
      lastIccid: undefined,
    };
    const next = { ...base, lastSeenMs: now, simRemovedMs: now, lastIccid: normalisedImei.iccid };
    const reason = `the device reported its SIM removed (last ICCID ${normalisedImei.iccid})`;
    return this.transition(device, next, { state: "sim_removed", reason, details: {} }, "sim_removed", base, now);
  }

  /**
   * Applies a verdict. An alert state raises an alert unless the device's open alert has the same state and triple
   * (then its count grows): alerts follow state transitions, not messages. `bound` closes the open alert as
   * `recovered`; `sim_removed` leaves it open.
   */
  private transition(
    previous: StoredDevice | undefined,
    next: StoredDevice,
    verdict: Verdict,
    source: BindingSource,
    subject: SimTriple,
    now: number,
  ): BindingOutcome {
    const identity = idOf(next);
    const stateSinceMs = previous?.state === verdict.state ? previous.stateSinceMs : now;
    this.store.putDevice({ ...next, state: verdict.state, reason: verdict.reason, stateSinceMs });
    const open = this.store.openAlert(identity);
    if (ALERT_STATES.has(verdict.state)) {
      if (open !== undefined && open.state === verdict.state && sameTriple(open, subject)) {
        this.store.bumpAlert(open.id, now);
        return { result: verdict.state };
      }
      if (open !== undefined) this.store.closeAlert(open.id, now, "superseded");
      const alert = this.store.addAlert({
        ...identity,
        ...triple(subject),
        state: verdict.state,
        reason: verdict.reason,
        source,
        details: verdict.details,
        atMs: now,
      });
      return { result: verdict.state, alert };
    }
    if (verdict.state === "bound" && open !== undefined) {
      this.store.closeAlert(open.id, now, "recovered");
      const recovered = {
        ...identity,
        ...triple(subject),
        alertId: open.id,
        previousState: open.state,
        recoveredMs: now,
      };
      return { result: "bound", recovered };
    }
    return { result: verdict.state };
  }

  /** Side effects after the transaction: the suspend policy, events, MQTT, webhook. */
  private announce(outcome: BindingOutcome): BindingOutcome {
    let { alert } = outcome;
    if (alert !== undefined) {
      if (alert.state === "mismatch" && this.options.policy === "suspend") alert = this.suspend(alert);
      this.logger.info({ event: "bindingAlert", ...alertFields(alert) }, alert.reason);
      this.safely(() => this.host?.onAlert?.(alert as BindingAlert));
      this.deliver(alertMessage(alert));
    }
    const { recovered } = outcome;
    if (recovered !== undefined) {
      this.logger.info({
        event: "bindingRecovered",
        productKey: recovered.productKey,
        deviceName: recovered.deviceName,
      });
      this.safely(() => this.host?.onRecovered?.(recovered));
      this.deliver(recoveryMessage(recovered));
    }
    return alert === outcome.alert ? outcome : { ...outcome, ...(alert === undefined ? {} : { alert }) };
  }

  private suspend(alert: BindingAlert): BindingAlert {
    const reason = `mismatch: ${alert.reason}`;
    const card = { ...idOf(alert), iccid: alert.iccid, imei: alert.imei, reason, suspendedMs: alert.firstSeenMs };
    this.store.transaction(() => {
      this.store.suspend(card);
      this.store.markAlertSuspended(alert.id);
    });
    const host = this.host;
    if (host !== undefined) {
      const call = host
        .invokeService(idOf(alert), SUSPEND_SERVICE, { iccid: alert.iccid, reason })
        .then(
          () => undefined,
          (err: unknown) =>
            this.logger.info(
              {
                event: "bindingSuspendCall",
                productKey: alert.productKey,
                deviceName: alert.deviceName,
                error: String(err),
              },
              "the device did not acknowledge BindingSuspended",
            ),
        )
        .finally(() => this.calls.delete(call));
      this.calls.add(call);
    }
    return { ...alert, suspended: true };
  }

  private deliver(message: AlertMessage): void {
    const host = this.host;
    if (host !== undefined) this.safely(() => host.publish(alertTopic(message), utf8(JSON.stringify(message))));
    this.webhook?.send(message);
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logger.error({ event: "bindingAnnounce", error: String(err) }, "an alert listener failed");
    }
  }
}

function publicDevice(d: StoredDevice & { suspended: boolean }): DeviceBindingState {
  const { imeiSinceMs: _, ...rest } = d;
  return rest;
}

function alertFields(alert: BindingAlert): Record<string, unknown> {
  const { productKey, deviceName, state, imei, iccid, imsi, id } = alert;
  return { id, productKey, deviceName, state, imei, iccid, imsi };
}

/** Thrown by `emulator.binding` when the emulator runs without the `bindings` option. */
export function bindingMonitorOff(): never {
  throw new TriadkitError("config.invalid", "the binding monitor is off: start the emulator with the bindings option", {
    option: "bindings",
  });
}
