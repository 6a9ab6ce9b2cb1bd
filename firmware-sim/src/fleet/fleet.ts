/**
 * A fleet of virtual devices in one process (see docs/fleet.md): N {@link FleetDevice}s against a broker (an
 * in-process {@link PlatformEmulator} with its binding monitor, or `cloud`), optionally behind a {@link FaultProxy},
 * on an injected clock. `runFleet` runs one for a while and returns the report; the scenario engine drives a `Fleet`.
 */
import { performance } from "node:perf_hooks";
import { type AlibabaTriad, parseAlibabaTriad, TriadkitError } from "@triadkit/protocol";
import { BINDING_RECORD_KEY, type Clock, SeededRandom, SystemClock } from "@triadkit/sdk";
import { z } from "zod";
import { parseTriadCsv } from "../emulator/csv-import.js";
import { MemoryDeviceDirectory } from "../emulator/device-directory.js";
import { PlatformEmulator } from "../emulator/platform-emulator.js";
import { createVirtualIdentity } from "../identity.js";
import { createSourceBoundConnector } from "./connector.js";
import { FaultProxy } from "./fault-proxy.js";
import { FleetDevice, type FleetDeviceSpec } from "./fleet-device.js";
import { type FleetReport, measureRss } from "./report.js";
import { sourceAddress } from "./source-address.js";
import { summariseLatency } from "./stats.js";

export const fleetOptionsSchema = z
  .object({
    devices: z.number().int().min(1, { message: "must be between 1 and 200000" }).max(200_000),
    /** The broker: `mqtt://` or `mqtts://`. Default: an in-process platform emulator on 127.0.0.1. */
    cloud: z
      .string()
      .regex(/^mqtts?:\/\//, { message: "must be an mqtt:// or mqtts:// URL" })
      .optional(),
    /** CA bundle (PEM) for an `mqtts://` cloud. */
    caPem: z.string().optional(),
    /** A triad sheet (the emulator's CSV import format); default: generated triads. */
    triadsCsv: z.string().optional(),
    heartbeatSec: z.number().int().min(10, { message: "must be between 10 and 86400" }).max(86_400).default(300),
    keepaliveSec: z.number().int().min(30).max(1200).default(300),
    /** Reply timeout of each device request (heartbeats), ms on the fleet's clock. */
    requestTimeoutMs: z.number().int().min(100).max(300_000).default(30_000),
    seed: z.number().int().min(0).max(0xffff_ffff).optional(),
    productKey: z.string().default("a1FleetSim0"),
    /** Logins in flight at once (a device counts until it is online or 30 s passed); also heartbeats in flight. */
    connectConcurrency: z.number().int().min(1).max(10_000).default(100),
    /** Spread client source addresses over 127.0.0.0/8 (`perAddress` devices each); false: the OS picks. */
    spreadAddresses: z.boolean().default(true),
    perAddress: z.number().int().min(1).max(20_000).default(10_000),
    /** Put a TCP fault proxy between devices and broker (then every device gets its own source address). */
    faultProxy: z.boolean().default(false),
    /** First device index (a shard's offset); device names and addresses follow it. */
    indexOffset: z.number().int().min(0).default(0),
    /** Binding monitor: heartbeat intervals without a heartbeat before `silent` (in-process emulator). */
    silentAfterIntervals: z.number().int().min(1).max(1000).default(3),
  })
  .strict();

export type FleetOptionsInput = z.input<typeof fleetOptionsSchema>;
export type ResolvedFleetOptions = z.output<typeof fleetOptionsSchema> & { readonly seed: number };

export interface FleetDeps {
  /** Time for devices and the in-process emulator; a `ManualClock` runs them on virtual time. Default the host's. */
  readonly clock?: Clock;
  /** Live progress while devices start. */
  readonly onProgress?: (progress: { started: number; online: number; total: number }) => void;
}

export type FleetOptions = FleetOptionsInput & FleetDeps;

export function resolveFleetOptions(input: FleetOptions): ResolvedFleetOptions {
  const { clock: _c, onProgress: _p, ...plain } = input;
  const parsed = fleetOptionsSchema.safeParse(plain);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "options"} ${i.message}`);
    throw new TriadkitError("config.invalid", `invalid fleet options: ${problems.join("; ")}`, {
      fields: parsed.error.issues.map((i) => i.path.join(".")),
    });
  }
  const seed = parsed.data.seed ?? (Math.random() * 0xffff_ffff) >>> 0;
  return { ...parsed.data, seed };
}

/** Device specs: the sheet's triads (first `devices` rows) or generated ones; modem identities from the seed. */
export function fleetSpecs(options: ResolvedFleetOptions): FleetDeviceSpec[] {
  const random = new SeededRandom(options.seed);
  let triads: AlibabaTriad[] | undefined;
  if (options.triadsCsv !== undefined) {
    const sheet = parseTriadCsv(options.triadsCsv);
    if (sheet.errors.length > 0) {
      throw new TriadkitError("config.invalid", `triad sheet: ${sheet.errors.map((e) => e.message).join("; ")}`);
    }
    triads = sheet.triads.map((t) => t.triad).slice(options.indexOffset, options.indexOffset + options.devices);
    if (triads.length < options.devices) {
      throw new TriadkitError(
        "config.invalid",
        `the triad sheet has ${sheet.triads.length} devices; ${options.indexOffset + options.devices} needed`,
      );
    }
  }
  const specs: FleetDeviceSpec[] = [];
  for (let i = 0; i < options.indexOffset + options.devices; i++) {
    const name = `fleet-${String(i).padStart(6, "0")}`;
    const id = createVirtualIdentity(random, { productKey: options.productKey, deviceName: name });
    if (i < options.indexOffset) continue;
    const triad = triads?.[i - options.indexOffset] ?? parseAlibabaTriad(id.triad).value;
    specs.push({ index: i, triad, imei: id.imei, iccid: id.iccid, imsi: id.imsi });
  }
  return specs;
}

export class Fleet {
  readonly options: ResolvedFleetOptions;
  readonly devices: readonly FleetDevice[];
  readonly clock: Clock;
  readonly emulator: PlatformEmulator | undefined;
  readonly proxy: FaultProxy | undefined;
  readonly random: SeededRandom;
  private readonly onProgress: FleetDeps["onProgress"];
  private rss = { before: 0, after: 0, gc: false };
  private readonly startedAtMs = performance.now();

  private constructor(init: {
    options: ResolvedFleetOptions;
    devices: FleetDevice[];
    clock: Clock;
    emulator: PlatformEmulator | undefined;
    proxy: FaultProxy | undefined;
    random: SeededRandom;
    onProgress: FleetDeps["onProgress"];
  }) {
    this.options = init.options;
    this.devices = init.devices;
    this.clock = init.clock;
    this.emulator = init.emulator;
    this.proxy = init.proxy;
    this.random = init.random;
    this.onProgress = init.onProgress;
  }

  /** Builds the fleet (emulator and proxy started, devices created but off). Throws `config.invalid`. */
  static async create(input: FleetOptions): Promise<Fleet> {
    const options = resolveFleetOptions(input);
    const clock = input.clock ?? new SystemClock();
    const random = new SeededRandom(options.seed ^ 0x5a5a_5a5a);
    const specs = fleetSpecs(options);
    let emulator: PlatformEmulator | undefined;
    let brokerUrl = options.cloud;
    if (brokerUrl === undefined) {
      emulator = await PlatformEmulator.start({
        directory: new MemoryDeviceDirectory(specs.map((s) => s.triad)),
        clock,
        rateLimit: false,
        bindings: {
          heartbeatIntervalSec: options.heartbeatSec,
          silentAfterIntervals: options.silentAfterIntervals,
          expectedCsv: ["imei,iccid,imsi", ...specs.map((s) => `${s.imei},${s.iccid},${s.imsi}`)].join("\n"),
        },
      });
      brokerUrl = emulator.url;
    }
    let proxy: FaultProxy | undefined;
    if (options.faultProxy) {
      const target = new URL(brokerUrl);
      if (target.protocol !== "mqtt:") throw new TriadkitError("config.invalid", "the fault proxy needs mqtt://");
      proxy = await FaultProxy.start({
        target: { host: target.hostname, port: Number(target.port || 1883) },
        random,
        clock,
      });
      brokerUrl = proxy.url;
    }
    const perAddress = options.faultProxy ? 1 : options.perAddress;
    const devices = specs.map(
      (spec) =>
        new FleetDevice(spec, {
          brokerUrl: brokerUrl as string,
          clock,
          random: new SeededRandom((options.seed + spec.index * 7919) >>> 0),
          connector: createSourceBoundConnector({
            localAddress: options.spreadAddresses ? sourceAddress(spec.index, perAddress) : undefined,
            clock,
          }),
          heartbeatSec: options.heartbeatSec,
          keepaliveSec: options.keepaliveSec,
          requestTimeoutMs: options.requestTimeoutMs,
          ...(options.caPem === undefined ? {} : { caPem: options.caPem }),
        }),
    );
    return new Fleet({ options, devices, clock, emulator, proxy, random, onProgress: input.onProgress });
  }

  /** The source address of a device (what the fault proxy matches on). */
  addressOf(device: FleetDevice): string {
    return sourceAddress(device.spec.index, this.options.faultProxy ? 1 : this.options.perAddress);
  }

  /**
   * Powers every device on with at most `connectConcurrency` logins in flight (a login counts until the device is
   * online, or for 30 real seconds); measures RSS before (after GC if exposed).
   */
  async start(): Promise<void> {
    this.rss.before = measureRss();
    let next = 0;
    let started = 0;
    const worker = async () => {
      while (next < this.devices.length) {
        const device = this.devices[next++] as FleetDevice;
        await device.start();
        await Promise.race([device.online1, sleep(30_000)]);
        started++;
        if (started % 50 === 0 || started === this.devices.length) this.progress(started);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.connectConcurrency, this.devices.length) }, worker));
  }

  private progress(started: number): void {
    this.onProgress?.({ started, online: this.onlineCount(), total: this.devices.length });
  }

  onlineCount(): number {
    let n = 0;
    for (const d of this.devices) if (d.online) n++;
    return n;
  }

  /** Resolves true once every device is online (polling real time), false after `timeoutMs` real milliseconds. */
  async waitAllOnline(timeoutMs: number, devices: readonly FleetDevice[] = this.devices): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (devices.every((d) => d.online)) {
        this.rss.after = measureRss();
        return true;
      }
      if (performance.now() > deadline) return false;
      this.progress(this.devices.length);
      await sleep(20);
    }
  }

  /** Waits (real time, at most `timeoutMs`) until no device has a request waiting for its reply. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline && this.devices.some((d) => d.pendingRequests > 0)) await sleep(20);
  }

  /**
   * Sends one heartbeat from every device, keeping at most `connectConcurrency` requests waiting for their reply
   * (flow control: a storm of N heartbeats at once measures the broker's queue, not the fleet).
   */
  async heartbeatAll(): Promise<void> {
    const limit = this.options.connectConcurrency;
    for (const d of this.devices) {
      while (this.pendingTotal() >= limit) await sleep(2);
      await d.heartbeat();
    }
  }

  private pendingTotal(): number {
    let n = 0;
    for (const d of this.devices) n += d.pendingRequests;
    return n;
  }

  report(): FleetReport {
    if (this.rss.after === 0) this.rss.after = measureRss();
    let sent = 0;
    let acked = 0;
    let reconnects = 0;
    let authRefused = 0;
    let flashRecoveries = 0;
    const latencies: number[] = [];
    for (const d of this.devices) {
      sent += d.counters.sent;
      acked += d.counters.acked;
      reconnects += d.counters.reconnects;
      authRefused += d.counters.authRefused;
      flashRecoveries += d.counters.flashRecoveries;
      if (d.counters.connectLatencyMs !== undefined) latencies.push(d.counters.connectLatencyMs);
    }
    const n = this.devices.length;
    return {
      seed: this.options.seed,
      devices: n,
      online: this.onlineCount(),
      broker: this.emulator === undefined ? "cloud" : "in-process emulator",
      durationMs: Math.round(performance.now() - this.startedAtMs),
      connectLatency: summariseLatency(latencies),
      heartbeats: { sent, acked, lost: Math.max(0, sent - acked) },
      reconnects,
      authRefused,
      flashRecoveries,
      memory: {
        rssBeforeBytes: this.rss.before,
        rssAfterBytes: this.rss.after,
        perDeviceBytes: Math.round((this.rss.after - this.rss.before) / n),
        afterGc: typeof (globalThis as { gc?: unknown }).gc === "function",
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.devices.map((d) => d.close().catch(() => undefined)));
    await this.proxy?.close();
    await this.emulator?.close();
  }
}

/** Flash key of the binding record (what `flashCorrupt` damages). */
export const BINDING_FLASH_KEY = BINDING_RECORD_KEY;

export interface RunFleetOptions {
  /** Real seconds to keep the fleet running once online (heartbeats flow). Default 0. */
  readonly durationSec?: number;
  /** Real milliseconds to wait for every device to come online. Default 60000. */
  readonly onlineTimeoutMs?: number;
  /** Heartbeats sent by every device at once after all are online (besides the reporter's own). Default 1. */
  readonly extraHeartbeats?: number;
}

/** Starts a fleet, waits for it to be online, runs it, drains replies and returns the report. */
export async function runFleet(options: FleetOptions & RunFleetOptions): Promise<FleetReport> {
  const { durationSec = 0, onlineTimeoutMs = 60_000, extraHeartbeats = 1, ...fleetOptions } = options;
  const fleet = await Fleet.create(fleetOptions);
  try {
    await fleet.start();
    await fleet.waitAllOnline(onlineTimeoutMs);
    for (let i = 0; i < extraHeartbeats; i++) await fleet.heartbeatAll();
    if (durationSec > 0) await sleep(durationSec * 1000);
    await fleet.drain(10_000);
    return fleet.report();
  } finally {
    await fleet.close();
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
