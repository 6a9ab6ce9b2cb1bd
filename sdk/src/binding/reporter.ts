import { EventEmitter } from "node:events";
import {
  type AlinkReply,
  bindingEventTopic,
  deviceinfoUpdateTopic,
  encodeBindingChanged,
  encodeBindingHeartbeat,
  encodeIdentityReport,
  encodeSimRemoved,
  isTriadkitError,
  type SimBinding,
  TriadkitError,
  toHex,
} from "@triadkit/protocol";
import { type Clock, SystemClock, type TimerHandle } from "../clock.js";
import { silentLogger } from "../logging/index.js";
import type { Logger } from "../logging/logger.js";
import type { Modem, ModemIdentity } from "../modem/modem.js";
import { CryptoRandom, type Random } from "../random.js";
import type { Device } from "../session/device.js";
import type { FlashStore } from "../storage/flash-store.js";
import { PersistentCounter } from "../storage/persistent-counter.js";
import { BINDING_RECORD_KEY, BINDING_SEQ_KEY, bindingRecord, type StoredBinding } from "./binding-record.js";

export interface BindingReporterOptions {
  readonly device: Device;
  readonly modem: Modem;
  /** The device's FlashStore: the last reported binding, its epoch and the heartbeat counter live there. */
  readonly store: FlashStore;
  /** Heartbeat interval. Default 300 s; 10–86400. */
  readonly intervalSec?: number;
  /** Each interval is drawn uniformly in ±jitterPct % of `intervalSec`. Default 10; 0–50. */
  readonly jitterPct?: number;
  /** Heartbeat seq values reserved per flash write (see PersistentCounter). Default 100. */
  readonly seqReserve?: number;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly logger?: Logger;
}

export interface BindingReporterEvents {
  /** The SIM (or modem) differs from the one reported before; `BindingChanged` is being posted. */
  bindingChanged: [change: { old: SimBinding; new: SimBinding }];
  simRemoved: [];
  /** A heartbeat was handed to the device's queue. */
  heartbeat: [info: { seq: number }];
  /** The platform told the device its card is suspended (binding monitor `suspend` policy). */
  suspended: [info: { iccid?: string; reason?: string }];
  /** Reading the modem failed; the reporter keeps going and retries on the next heartbeat. */
  modemError: [error: Error];
  /**
   * The binding record or the heartbeat counter failed its checksum in both flash slots: both were erased and the
   * reporter starts a new epoch, as after a factory reset (the monitor takes a new epoch as a reset, not an alert).
   */
  flashRecovered: [info: { key: string }];
}

const INT31 = 0x7fff_ffff;

/**
 * Machine-card binding reporter. At start it reads the modem's identity, compares it with the pair in flash and, on a
 * change, posts `BindingChanged` (old and new) first; then the identity tags. Afterwards a `BindingHeartbeat` every
 * interval with jitter; `SimRemoved` at once on the modem's URC. Everything goes through the device's bounded queue,
 * so while offline heartbeats wait and leave in order.
 */
export class BindingReporter extends EventEmitter<BindingReporterEvents> {
  private readonly device: Device;
  private readonly modem: Modem;
  private readonly store: FlashStore;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly log: Logger;
  private readonly intervalMs: number;
  private readonly jitterPct: number;
  private readonly seqReserve: number;
  private binding: StoredBinding | undefined;
  private counter: PersistentCounter | undefined;
  private timer: TimerHandle | undefined;
  private startedAtMs = 0;
  private running = false;
  readonly bootId: string;

  constructor(options: BindingReporterOptions) {
    super();
    const intervalSec = options.intervalSec ?? 300;
    const jitterPct = options.jitterPct ?? 10;
    if (!Number.isFinite(intervalSec) || intervalSec < 10 || intervalSec > 86_400) {
      throw new TriadkitError("config.invalid", "intervalSec must be between 10 and 86400 seconds", { intervalSec });
    }
    if (!Number.isFinite(jitterPct) || jitterPct < 0 || jitterPct > 50) {
      throw new TriadkitError("config.invalid", "jitterPct must be between 0 and 50 percent", { jitterPct });
    }
    this.device = options.device;
    this.modem = options.modem;
    this.store = options.store;
    this.clock = options.clock ?? new SystemClock();
    this.random = options.random ?? new CryptoRandom();
    this.log = (options.logger ?? silentLogger).child({ component: "binding" });
    this.intervalMs = intervalSec * 1000;
    this.jitterPct = jitterPct;
    this.seqReserve = options.seqReserve ?? 100;
    this.bootId = toHex(this.random.bytes(8));
  }

  /** The binding epoch (after `start`). */
  get epoch(): number | undefined {
    return this.binding?.epoch;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.startedAtMs = this.clock.monotonicMs();
    const stored = await this.openFlash();
    this.device.onService("BindingSuspended", (params) => {
      const p = (params ?? {}) as { iccid?: unknown; reason?: unknown };
      this.emit("suspended", {
        ...(typeof p.iccid === "string" ? { iccid: p.iccid } : {}),
        ...(typeof p.reason === "string" ? { reason: p.reason } : {}),
      });
      return {};
    });
    this.modem.on("simRemoved", this.onSimRemoved);
    this.modem.on("simInserted", this.onSimInserted);
    // A factory-fresh flash (first boot, or after a factory reset) gets a new epoch.
    this.epoch0 = stored?.epoch ?? this.newEpoch();
    this.binding = stored;
    try {
      await this.reconcile(await this.modem.readIdentity(), this.epoch0);
    } catch (err) {
      // No SIM, or a silent modem: keep going; the next heartbeat (or a SIM insertion) tries again.
      this.emit("modemError", err as Error);
      this.log.warn({ err: (err as Error).message }, "could not read the modem's identity at boot");
    }
    this.schedule();
  }

  /**
   * Opens the heartbeat counter and loads the stored pair. A record damaged beyond both slots is not a reason to stop
   * reporting: the pair and the counter are erased together (a counter restarting inside an old epoch would look
   * like a replay) and the device carries on as factory-fresh, with a new epoch.
   */
  private async openFlash(): Promise<StoredBinding | undefined> {
    try {
      this.counter = await PersistentCounter.open(this.store, BINDING_SEQ_KEY, { reserve: this.seqReserve });
      return await bindingRecord.load(this.store);
    } catch (err) {
      if (!isTriadkitError(err, "store.corrupt_record")) throw err;
      const key = typeof err.context?.["key"] === "string" ? (err.context["key"] as string) : BINDING_RECORD_KEY;
      this.log.warn({ key }, "binding flash record damaged in both slots: erased, starting a new epoch");
      await this.store.delete(bindingRecord.key);
      await this.store.delete(BINDING_SEQ_KEY);
      this.counter = await PersistentCounter.open(this.store, BINDING_SEQ_KEY, { reserve: this.seqReserve });
      this.emit("flashRecovered", { key });
      return undefined;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.timer?.cancel();
    this.modem.off("simRemoved", this.onSimRemoved);
    this.modem.off("simInserted", this.onSimInserted);
  }

  /** Sends one heartbeat now (also what the timer does). Resolves when it is queued, not when it is answered. */
  async heartbeat(): Promise<void> {
    const binding = this.binding ?? (await this.retryIdentity());
    if (binding === undefined || this.counter === undefined) return;
    const seq = await this.counter.next();
    const signal = await this.modem.signal().catch(() => undefined);
    const payload = encodeBindingHeartbeat(
      {
        imei: binding.imei,
        iccid: binding.iccid,
        imsi: binding.imsi,
        epoch: binding.epoch,
        bootId: this.bootId,
        seq,
        uptimeS: Math.floor((this.clock.monotonicMs() - this.startedAtMs) / 1000),
        ...(signal?.rssiDbm === undefined ? {} : { rssiDbm: signal.rssiDbm }),
        ts: this.device.nowMs(),
      },
      this.device.nextId(),
    );
    this.post(bindingEventTopic(this.device.identity, "BindingHeartbeat"), payload);
    this.emit("heartbeat", { seq });
  }

  /** The epoch of this flash: the stored one, or a fresh one for a factory-fresh flash. */
  private epoch0 = 0;

  private newEpoch(): number {
    const b = this.random.bytes(4);
    return (((b[0] as number) << 24) | ((b[1] as number) << 16) | ((b[2] as number) << 8) | (b[3] as number)) & INT31;
  }

  private async retryIdentity(): Promise<StoredBinding | undefined> {
    try {
      await this.reconcile(await this.modem.readIdentity(), this.epoch0);
    } catch (err) {
      this.emit("modemError", err as Error);
    }
    return this.binding;
  }

  /** Compares the modem's identity with the stored pair; posts BindingChanged on a change, then the tags. */
  private async reconcile(identity: ModemIdentity, epoch: number): Promise<void> {
    const now: SimBinding = { imei: identity.imei, iccid: identity.iccid, imsi: identity.imsi };
    const old = this.binding;
    const changed = old !== undefined && (old.imei !== now.imei || old.iccid !== now.iccid || old.imsi !== now.imsi);
    const next: StoredBinding = { epoch, ...now };
    if (old === undefined || changed) await bindingRecord.save(this.store, next);
    this.binding = next;
    if (changed) {
      const prev = { imei: old.imei, iccid: old.iccid, imsi: old.imsi };
      this.log.warn({ oldIccid: prev.iccid, newIccid: now.iccid }, "SIM or modem changed since the last report");
      this.emit("bindingChanged", { old: prev, new: now });
      this.post(
        bindingEventTopic(this.device.identity, "BindingChanged"),
        encodeBindingChanged(
          { old: prev, new: now, epoch, bootId: this.bootId, ts: this.device.nowMs() },
          this.device.nextId(),
        ),
      );
    }
    this.post(
      deviceinfoUpdateTopic(this.device.identity),
      encodeIdentityReport(
        { ...now, modem: identity.firmware.slice(0, 128) || identity.dialect },
        this.device.nextId(),
      ),
    );
  }

  private readonly onSimRemoved = (): void => {
    const binding = this.binding;
    this.emit("simRemoved");
    if (binding === undefined) return;
    this.post(
      bindingEventTopic(this.device.identity, "SimRemoved"),
      encodeSimRemoved(
        {
          imei: binding.imei,
          lastIccid: binding.iccid,
          epoch: binding.epoch,
          bootId: this.bootId,
          ts: this.device.nowMs(),
        },
        this.device.nextId(),
      ),
    );
  };

  private readonly onSimInserted = (): void => {
    this.modem.readIdentity().then(
      (identity) => this.reconcile(identity, this.epoch0),
      (err: unknown) => this.emit("modemError", err as Error),
    );
  };

  private post(topic: string, payload: Uint8Array): void {
    this.device.sendEncoded(topic, payload).then(
      (reply: AlinkReply) => {
        if (reply.code !== 200) this.log.warn({ topic, code: reply.code }, "platform did not accept a binding report");
      },
      (err: unknown) => this.log.warn({ topic, err: (err as Error).message }, "binding report not acknowledged"),
    );
  }

  private schedule(): void {
    if (!this.running) return;
    const spread = (this.intervalMs * this.jitterPct) / 100;
    const b = this.random.bytes(2);
    const u = (((b[0] as number) << 8) | (b[1] as number)) / 0x1_0000;
    const delay = Math.max(1_000, Math.round(this.intervalMs - spread + 2 * spread * u));
    this.timer = this.clock.setTimeout(() => {
      this.heartbeat()
        .catch((err: unknown) => this.log.warn({ err: (err as Error).message }, "heartbeat failed"))
        .finally(() => this.schedule());
    }, delay);
  }
}

export function createBindingReporter(options: BindingReporterOptions): BindingReporter {
  return new BindingReporter(options);
}
