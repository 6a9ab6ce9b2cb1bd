/**
 * One device of a fleet: the real SDK session (`createDevice`) with its own authenticated MQTT connection, a virtual
 * modem on an in-memory AT line, a small simulated flash chip holding the binding record and heartbeat counter, and
 * the binding reporter posting heartbeats. Counts what the report needs. Faults act on these parts.
 */
import { performance } from "node:perf_hooks";
import { type AlibabaTriad, bindingEventTopic, identityOf } from "@triadkit/protocol";
import {
  type AtModem,
  type BindingReporter,
  type Clock,
  createAtModem,
  createBindingReporter,
  createDevice,
  type Device,
  type Random,
  SystemClock,
  type TimerHandle,
} from "@triadkit/sdk";
import { SimulatedFlash } from "../flash/simulated-flash.js";
import { SimulatedFlashStore } from "../flash/simulated-flash-store.js";
import { createVirtualModemPair } from "../modem/serve.js";
import type { VirtualModem } from "../modem/virtual-modem.js";
import type { FleetConnector } from "./connector.js";

/** What a fleet device is born with. Not secret except `triad.deviceSecret`, which never leaves the SDK. */
export interface FleetDeviceSpec {
  readonly index: number;
  readonly triad: AlibabaTriad;
  readonly imei: string;
  readonly iccid: string;
  readonly imsi: string;
}

export interface FleetDeviceDeps {
  readonly brokerUrl: string;
  readonly clock: Clock;
  readonly random: Random;
  readonly connector: FleetConnector;
  readonly heartbeatSec: number;
  readonly keepaliveSec: number;
  /** Reply timeout of every request (heartbeats included), on the device's clock. */
  readonly requestTimeoutMs: number;
  readonly caPem?: string;
}

/** A small chip per device (16 KiB: 16 blocks of 1 KiB) so that thousands fit in memory. */
export const FLEET_FLASH_GEOMETRY = { pageSize: 256, pagesPerBlock: 4, blockCount: 16 } as const;

/** The device's view of time: the fleet's clock plus a wall-clock skew a scenario can set (monotonic untouched). */
export class SkewedClock implements Clock {
  skewMs = 0;
  constructor(private readonly base: Clock) {}
  nowMs(): number {
    return this.base.nowMs() + this.skewMs;
  }
  monotonicMs(): number {
    return this.base.monotonicMs();
  }
  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    return this.base.setTimeout(fn, delayMs);
  }
}

export interface FleetDeviceCounters {
  /** Heartbeats handed to the device's queue. */
  sent: number;
  /** Heartbeats the platform answered with code 200. */
  acked: number;
  /** Times the session came online again after the first time. */
  reconnects: number;
  /** Logins the platform refused (CONNACK 4/5). */
  authRefused: number;
  /** Real milliseconds from the first connect to the first online; undefined until then. */
  connectLatencyMs: number | undefined;
  /** Boots that found an unreadable flash record and erased it (the device starts that record afresh). */
  flashRecoveries: number;
  /** Times an online session was lost. */
  disconnects: number;
  /** The last connection error's code and message (never a secret: the SDK redacts them). */
  lastError: string | undefined;
}

export class FleetDevice {
  readonly spec: FleetDeviceSpec;
  readonly clock: SkewedClock;
  readonly flash: SimulatedFlash;
  readonly counters: FleetDeviceCounters = {
    sent: 0,
    acked: 0,
    reconnects: 0,
    authRefused: 0,
    connectLatencyMs: undefined,
    flashRecoveries: 0,
    disconnects: 0,
    lastError: undefined,
  };
  private readonly deps: FleetDeviceDeps;
  private secret: string;
  private modem: VirtualModem | undefined;
  private atModem: AtModem | undefined;
  private store: SimulatedFlashStore | undefined;
  private session: Device | undefined;
  private reporter: BindingReporter | undefined;
  private everOnline = false;
  private startedAt = 0;
  /** Real time of the first online (performance.now()). */
  onlineAt: number | undefined;
  private firstOnline: (() => void) | undefined;
  /** Resolves the first time the device is online. */
  readonly online1: Promise<void> = new Promise((resolve) => {
    this.firstOnline = resolve;
  });

  constructor(spec: FleetDeviceSpec, deps: FleetDeviceDeps) {
    this.spec = spec;
    this.deps = deps;
    this.secret = spec.triad.deviceSecret;
    this.clock = new SkewedClock(deps.clock);
    this.flash = SimulatedFlash.inMemory(FLEET_FLASH_GEOMETRY);
  }

  get identity() {
    return identityOf(this.spec.triad);
  }

  get online(): boolean {
    return this.session?.state === "online";
  }

  get state(): string {
    return this.session?.state ?? "off";
  }

  /** Its connection sent a PINGREQ still unanswered (on a healthy link: for a moment). */
  get awaitingPong(): boolean {
    return this.deps.connector.awaitingPong;
  }

  get pendingRequests(): number {
    return this.session?.pendingRequests ?? 0;
  }

  get virtualModem(): VirtualModem | undefined {
    return this.modem;
  }

  /** Powers the device on: flash scan, modem, session, reporter. The session connects in the background. */
  async start(): Promise<void> {
    if (this.modem === undefined) {
      const pair = createVirtualModemPair({
        dialect: "quectel",
        imei: this.spec.imei,
        iccid: this.spec.iccid,
        imsi: this.spec.imsi,
      });
      this.modem = pair.modem;
      // AT timeouts run on real time: the modem is in memory and answers at once.
      this.atModem = await createAtModem({ link: pair.hostLink, dialect: "quectel", clock: new SystemClock() });
    }
    if (!this.flash.powered) this.flash.reboot();
    this.store = await SimulatedFlashStore.open(this.flash, { blocksPerSlot: 1 });
    const device = createDevice({
      triad: { ...this.spec.triad, deviceSecret: this.secret },
      brokerUrl: this.deps.brokerUrl,
      keepaliveSec: this.deps.keepaliveSec,
      requestTimeoutMs: this.deps.requestTimeoutMs,
      ntpResyncSec: 0,
      ...(this.deps.caPem === undefined ? {} : { caPem: this.deps.caPem }),
      clock: this.clock,
      random: this.deps.random,
      connector: this.deps.connector,
    });
    this.session = device;
    const heartbeatReply = `${bindingEventTopic(device.identity, "BindingHeartbeat")}_reply`;
    device.on("reply", (reply, info) => {
      if (info.topic === heartbeatReply && reply.code === 200) this.counters.acked++;
    });
    device.on("online", () => {
      if (this.everOnline) this.counters.reconnects++;
      else {
        this.everOnline = true;
        this.onlineAt = performance.now();
        this.counters.connectLatencyMs = this.onlineAt - this.startedAt;
        this.firstOnline?.();
      }
    });
    device.on("connectError", (err) => {
      if (err.code === "session.auth_refused") this.counters.authRefused++;
      this.counters.lastError = `${err.code}: ${err.message}`;
    });
    device.on("offline", () => this.counters.disconnects++);
    this.startedAt = this.startedAt || performance.now();
    void device.connect().catch(() => undefined);
    // A binding record or counter that failed its checksum in both slots is erased by the SDK's reporter itself (a new
    // epoch, as after a factory reset); the fleet counts those boots.
    await this.startReporter(device, this.store);
  }

  private async startReporter(device: Device, store: SimulatedFlashStore): Promise<void> {
    const reporter = createBindingReporter({
      device,
      modem: this.atModem as AtModem,
      store,
      intervalSec: this.deps.heartbeatSec,
      clock: this.clock,
      random: this.deps.random,
    });
    this.reporter = reporter;
    reporter.on("heartbeat", () => this.counters.sent++);
    reporter.on("flashRecovered", () => this.counters.flashRecoveries++);
    await reporter.start();
  }

  /** Sends one heartbeat now (outside the reporter's schedule). */
  async heartbeat(): Promise<void> {
    await this.reporter?.heartbeat();
  }

  /** Powers the device off: session closed (its queue with it), reporter stopped. The flash keeps its contents. */
  async stop(): Promise<void> {
    await this.reporter?.stop();
    this.reporter = undefined;
    await this.session?.close();
    this.session = undefined;
  }

  /** Power off, then on (the flash is scanned again, as at boot). */
  async reboot(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** A wrong DeviceSecret from the next login on (a mis-burnt device): reboots with it. */
  async useWrongSecret(secret: string): Promise<void> {
    this.secret = secret;
    await this.reboot();
  }

  /** Flips one bit in every written slot of the binding record (flash corruption), then reboots. */
  async corruptFlash(key: string): Promise<boolean> {
    const location = this.store?.locate(key);
    await this.stop();
    if (location !== undefined) for (const offset of location.slotOffsets) this.flash.flipBit(offset + 40, 3);
    await this.start();
    return location !== undefined;
  }

  /**
   * Power fails during the next flash write (`afterPages` pages into it: at boot, the heartbeat counter's reservation),
   * then comes back and the device boots again. Resolves true when the cut hit a write during that boot.
   */
  async powerCutDuringWrite(afterPages: number): Promise<boolean> {
    this.flash.powerCutAtPage(afterPages);
    const failed = await this.reboot().then(
      () => false,
      () => true,
    );
    await this.reboot();
    return failed;
  }

  async close(): Promise<void> {
    await this.stop();
    await this.atModem?.close();
    await this.modem?.close();
  }
}
