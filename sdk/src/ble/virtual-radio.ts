/**
 * The virtual radio ("air"): BLE peripherals and centrals that meet in one process, with no hardware and no global
 * state. Create an {@link Air}, then `air.peripheral({ address })` (a {@link BlePeripheral}, what bleno is on a board)
 * and `air.central()` (a {@link BleCentral}, what noble or node-ble are on a PC).
 *
 * The model (docs/ble.md has the details):
 * - every packet takes `latencyMs` one way (about one connection interval); with 0 it is delivered on a microtask,
 *   so a ManualClock needs no advancing; with more it goes through the clock;
 * - a packet is lost with probability `lossRate` (drawn from `random`): a lost write or read request, or its lost
 *   response, surfaces on the central as `ble.timeout` after the ATT timeout; a lost write-without-response or
 *   notification simply never arrives; advertising and disconnects are never lost (they repeat, or time out, on air);
 * - connecting negotiates the ATT MTU = min(central's request, peripheral's max, air's max), bounded 23–517; writes and
 *   notifications longer than MTU−3 are refused with `ble.payload_too_large`, reads return at most MTU−1 bytes;
 * - a peripheral has one connection at a time (`ble.busy`) and stops advertising while connected;
 * - requests (writes with response, reads, subscriptions) are sequential per connection, as ATT allows one
 *   outstanding request per bearer;
 * - nothing is ever delivered over a connection after it went down.
 */
import { TriadkitError } from "@triadkit/protocol";
import { type Clock, SystemClock, type TimerHandle } from "../clock.js";
import { type Random, SeededRandom } from "../random.js";
import type {
  BleAdvertisement,
  BleCentral,
  BleCentralRef,
  BleConnection,
  BlePeripheral,
  BlePeripheralEvents,
  DiscoveredPeripheral,
  GattCharacteristicSpec,
  GattServiceSpec,
} from "./ble.js";
import { advertisementSizes, LEGACY_ADVERTISING_BYTES, normalizeBleAddress, normalizeUuid } from "./uuid.js";

/** ATT MTU bounds (Core spec: 23 minimum for LE, 517 the largest a 512-byte attribute needs). */
export const ATT_MTU_MIN = 23;
export const ATT_MTU_MAX = 517;
/** The spec's ATT transaction timeout. */
export const ATT_TIMEOUT_MS = 30_000;

export interface AirOptions {
  /** Time source for latency and timeouts (ManualClock in tests). Default: the system clock. */
  readonly clock?: Clock;
  /** Largest ATT MTU the controllers allow, 23–517. Default 247 (a common LE Data Length Extension setup). */
  readonly mtu?: number;
  /** One-way delay of every packet in ms (about one connection interval, 7.5–4000 on real links). Default 0. */
  readonly latencyMs?: number;
  /** Probability (0–1) that a packet is lost. Default 0. */
  readonly lossRate?: number;
  /** Draws loss and generated addresses. Default: `new SeededRandom(1)` (deterministic). */
  readonly random?: Random;
  /** How long a request waits for a response that will never come. Default 30 000 ms (ATT's). */
  readonly attTimeoutMs?: number;
  /** Errors from listeners and GATT handlers that have no caller to go to (write-without-response handlers). */
  readonly onError?: (error: unknown) => void;
}

export interface VirtualPeripheralOptions {
  /** 12 hex digits (colons allowed). Default: a random static address drawn from the air's random. */
  readonly address?: string;
  /** The largest ATT MTU this peripheral accepts. Default 517. */
  readonly maxMtu?: number;
  /** RSSI (dBm) centrals see. Default −60. */
  readonly rssi?: number;
}

export interface VirtualCentralOptions {
  /** 12 hex digits. Default: a random static address. */
  readonly address?: string;
}

/** Packet counters, for tests and simulations. */
export interface AirStats {
  /** Packets put on air. */
  readonly sent: number;
  /** Packets the loss model dropped. */
  readonly lost: number;
  /** Packets that arrived after their connection went down, and were discarded. */
  readonly discarded: number;
}

export interface Air {
  /** The air's largest ATT MTU. */
  readonly mtu: number;
  peripheral(options?: VirtualPeripheralOptions): BlePeripheral;
  central(options?: VirtualCentralOptions): BleCentral;
  /** Changes latency and loss from now on (a link that degrades mid-test). */
  setConditions(conditions: { latencyMs?: number; lossRate?: number }): void;
  stats(): AirStats;
  /** Closes every peripheral and central on this air. */
  close(): Promise<void>;
}

export function createAir(options: AirOptions = {}): Air {
  return new VirtualAir(options);
}

// ─────────────────────────────────────────────────────────────────────────────────────────────────────────────────────

function checkMtu(value: number, what: string): number {
  if (!Number.isInteger(value) || value < ATT_MTU_MIN || value > ATT_MTU_MAX) {
    throw new TriadkitError("config.invalid", `${what} must be an integer ${ATT_MTU_MIN}–${ATT_MTU_MAX}`, { value });
  }
  return value;
}

function checkLatency(value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new TriadkitError("config.invalid", "latencyMs must be a number ≥ 0", { value });
  }
  return value;
}

function checkLoss(value: number): number {
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new TriadkitError("config.invalid", "lossRate must be a number 0–1", { value });
  }
  return value;
}

function checkTimeout(value: number, what: string): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new TriadkitError("config.invalid", `${what} must be a number of ms ≥ 0`, { value });
  }
  return value;
}

function copy(data: Uint8Array): Uint8Array {
  return new Uint8Array(data);
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

type Listener = (...args: unknown[]) => void;

/** The few listeners a peripheral has; a throwing listener is reported, never thrown into the radio. */
class Listeners<Events extends { [K in keyof Events]: unknown[] }> {
  private readonly map = new Map<keyof Events, Set<Listener>>();
  constructor(private readonly onError: (error: unknown) => void) {}
  on<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): void {
    let set = this.map.get(event);
    if (set === undefined) {
      set = new Set();
      this.map.set(event, set);
    }
    set.add(listener as unknown as Listener);
  }
  off<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): void {
    this.map.get(event)?.delete(listener as unknown as Listener);
  }
  emit<E extends keyof Events>(event: E, ...args: Events[E]): void {
    for (const l of [...(this.map.get(event) ?? [])]) {
      try {
        l(...(args as unknown[]));
      } catch (err) {
        this.onError(err);
      }
    }
  }
}

type LinkState = "connecting" | "up" | "down";

interface Pending {
  reject(error: unknown): void;
}

/** One connection between a central and a peripheral. */
class Link {
  state: LinkState = "connecting";
  /** Requests in flight or queued; rejected with `ble.not_connected` when the link goes down. */
  readonly pending = new Set<Pending>();
  /** Central side: listeners per `service/characteristic`. */
  readonly listeners = new Map<string, Set<(data: Uint8Array) => void>>();
  /** Peripheral side: characteristics whose CCCD the central has written. */
  readonly subscribed = new Set<string>();
  readonly disconnectListeners = new Set<() => void>();
  /** ATT: one outstanding request per bearer. */
  queue: Promise<unknown> = Promise.resolve();
  readonly ref: BleCentralRef;
  constructor(
    readonly central: VirtualCentral,
    readonly peripheral: VirtualPeripheral,
    readonly mtu: number,
  ) {
    this.ref = Object.freeze({ address: central.address, mtu });
  }
}

/** A characteristic as the peripheral keeps it: canonical UUID, and the caller's spec (its handlers keep `this`). */
interface Characteristic {
  readonly uuid: string;
  readonly properties: GattCharacteristicSpec["properties"];
  readonly spec: GattCharacteristicSpec;
}

const key = (serviceUuid: string, characteristicUuid: string) => `${serviceUuid}/${characteristicUuid}`;

class VirtualAir implements Air {
  readonly mtu: number;
  readonly clock: Clock;
  readonly random: Random;
  readonly attTimeoutMs: number;
  readonly onError: (error: unknown) => void;
  latencyMs: number;
  lossRate: number;
  readonly peripherals = new Map<string, VirtualPeripheral>();
  readonly centrals = new Set<VirtualCentral>();
  readonly scans = new Set<Scan>();
  private counters = { sent: 0, lost: 0, discarded: 0 };

  constructor(options: AirOptions) {
    this.mtu = checkMtu(options.mtu ?? 247, "mtu");
    this.latencyMs = checkLatency(options.latencyMs ?? 0);
    this.lossRate = checkLoss(options.lossRate ?? 0);
    this.attTimeoutMs = checkTimeout(options.attTimeoutMs ?? ATT_TIMEOUT_MS, "attTimeoutMs");
    this.clock = options.clock ?? new SystemClock();
    this.random = options.random ?? new SeededRandom(1);
    this.onError = options.onError ?? (() => {});
  }

  peripheral(options: VirtualPeripheralOptions = {}): BlePeripheral {
    const address = options.address === undefined ? this.newAddress() : normalizeBleAddress(options.address);
    if (this.peripherals.has(address)) {
      throw new TriadkitError("config.invalid", "a peripheral with this address is already on the air", { address });
    }
    const p = new VirtualPeripheral(this, address, checkMtu(options.maxMtu ?? ATT_MTU_MAX, "maxMtu"), options.rssi);
    this.peripherals.set(address, p);
    return p;
  }

  central(options: VirtualCentralOptions = {}): BleCentral {
    const address = options.address === undefined ? this.newAddress() : normalizeBleAddress(options.address);
    const c = new VirtualCentral(this, address);
    this.centrals.add(c);
    return c;
  }

  setConditions(conditions: { latencyMs?: number; lossRate?: number }): void {
    if (conditions.latencyMs !== undefined) this.latencyMs = checkLatency(conditions.latencyMs);
    if (conditions.lossRate !== undefined) this.lossRate = checkLoss(conditions.lossRate);
  }

  stats(): AirStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    for (const p of [...this.peripherals.values()]) await p.close();
    for (const c of [...this.centrals]) await c.close();
  }

  /** A random static address (top two bits set, not all ones in the random part). */
  private newAddress(): string {
    for (;;) {
      const b = this.random.bytes(6);
      b[0] = ((b[0] as number) | 0xc0) & 0xff;
      const a = hex(b);
      if (a !== "ffffffffffff" && !this.peripherals.has(a)) return a;
    }
  }

  /** Runs `fn` after `delayMs` (on a microtask when 0), reporting what it throws. */
  after(delayMs: number, fn: () => void): void {
    const run = () => {
      try {
        fn();
      } catch (err) {
        this.onError(err);
      }
    };
    if (delayMs <= 0) queueMicrotask(run);
    else this.clock.setTimeout(run, delayMs);
  }

  private draw(): number {
    const b = this.random.bytes(4);
    return (
      ((((b[0] as number) << 24) | ((b[1] as number) << 16) | ((b[2] as number) << 8) | (b[3] as number)) >>> 0) /
      2 ** 32
    );
  }

  /**
   * Puts one packet of `link` on air: it may be lost; when it arrives, `deliver` runs only if the link is still in one
   * of `states` (a packet for a connection that went down is discarded).
   */
  send(link: Link, deliver: () => void, options: { lossy?: boolean; states?: readonly LinkState[] } = {}): void {
    this.counters.sent++;
    if ((options.lossy ?? true) && this.lossRate > 0 && this.draw() < this.lossRate) {
      this.counters.lost++;
      return;
    }
    const states = options.states ?? ["up"];
    this.after(this.latencyMs, () => {
      if (!states.includes(link.state)) {
        this.counters.discarded++;
        return;
      }
      deliver();
    });
  }

  /**
   * A request/response transaction on `link`: the request crosses, `atPeer` runs there, its result (or error) crosses
   * back. A lost packet leaves the caller waiting until the ATT timeout (`ble.timeout`); the link going down rejects
   * with `ble.not_connected`.
   */
  transaction<T>(link: Link, what: Record<string, unknown>, atPeer: () => T | PromiseLike<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (link.state !== "up") {
        reject(new TriadkitError("ble.not_connected", "the connection is down", what));
        return;
      }
      let settled = false;
      let timer: TimerHandle | undefined;
      const pending: Pending = {
        reject: (error) => settle(() => reject(error)),
      };
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        timer?.cancel();
        link.pending.delete(pending);
        fn();
      };
      link.pending.add(pending);
      timer = this.clock.setTimeout(
        () =>
          settle(() =>
            reject(
              new TriadkitError("ble.timeout", "no ATT response within the transaction timeout", {
                ...what,
                timeoutMs: this.attTimeoutMs,
              }),
            ),
          ),
        this.attTimeoutMs,
      );
      // A handler that answers synchronously answers within the same clock tick (one ManualClock.advance suffices).
      this.send(link, () => {
        const ok = (value: T) => this.send(link, () => settle(() => resolve(value)));
        const fail = (error: unknown) => this.send(link, () => settle(() => reject(error)));
        let result: T | PromiseLike<T>;
        try {
          result = atPeer();
        } catch (error) {
          fail(error);
          return;
        }
        if (isThenable(result)) result.then(ok, fail);
        else ok(result);
      });
    });
  }

  /** Takes `link` down; the side that hung up hears it now, the other after one packet's latency. */
  teardown(link: Link, initiator: "central" | "peripheral"): void {
    if (link.state === "down") return;
    const wasUp = link.state === "up";
    link.state = "down";
    const { central, peripheral } = link;
    central.links.delete(link);
    for (const p of [...link.pending]) {
      p.reject(new TriadkitError("ble.not_connected", "the connection went down", { address: peripheral.address }));
    }
    link.pending.clear();
    const tellCentral = () => {
      for (const l of [...link.disconnectListeners]) {
        try {
          l();
        } catch (err) {
          this.onError(err);
        }
      }
    };
    // The peripheral is free (and advertises again) once it knows: it never sees a new connect before the old
    // disconnect.
    const freePeripheral = () => {
      if (peripheral.link !== link) return;
      peripheral.link = undefined;
      if (wasUp) peripheral.events.emit("disconnect", link.ref);
      peripheral.resumeAdvertising();
    };
    if (initiator === "central" && wasUp) {
      this.after(0, tellCentral);
      this.after(this.latencyMs, freePeripheral);
    } else {
      freePeripheral();
      this.after(initiator === "central" ? 0 : this.latencyMs, tellCentral);
    }
  }
}

// ── Peripheral ───────────────────────────────────────────────────────────────────────────────────────────────────────

class VirtualPeripheral implements BlePeripheral {
  link: Link | undefined;
  advertisement: BleAdvertisement | undefined;
  /** Bumped on each startAdvertising: scans report a peripheral again when its advertisement changed. */
  epoch = 0;
  services: readonly { readonly uuid: string; readonly characteristics: readonly Characteristic[] }[] = [];
  closed = false;
  readonly events: Listeners<BlePeripheralEvents>;
  readonly rssi: number;

  constructor(
    private readonly air: VirtualAir,
    readonly address: string,
    readonly maxMtu: number,
    rssi: number | undefined,
  ) {
    this.events = new Listeners(air.onError);
    this.rssi = rssi ?? -60;
  }

  /** Advertising is visible when asked for and not connected. */
  get visible(): boolean {
    return !this.closed && this.advertisement !== undefined && this.link === undefined;
  }

  private checkOpen(): void {
    if (this.closed)
      throw new TriadkitError("ble.not_connected", "the peripheral is closed", { address: this.address });
  }

  async setServices(services: readonly GattServiceSpec[]): Promise<void> {
    this.checkOpen();
    this.services = services.map((s) => ({
      uuid: normalizeUuid(s.uuid),
      characteristics: s.characteristics.map((c) => ({
        uuid: normalizeUuid(c.uuid),
        properties: c.properties,
        spec: c,
      })),
    }));
  }

  characteristic(serviceUuid: string, characteristicUuid: string): Characteristic | undefined {
    return this.services
      .find((s) => s.uuid === serviceUuid)
      ?.characteristics.find((c) => c.uuid === characteristicUuid);
  }

  async startAdvertising(advertisement: BleAdvertisement): Promise<void> {
    this.checkOpen();
    const normalized: BleAdvertisement = {
      serviceUuids: advertisement.serviceUuids.map(normalizeUuid),
      ...(advertisement.localName === undefined ? {} : { localName: advertisement.localName }),
      ...(advertisement.manufacturerData === undefined
        ? {}
        : { manufacturerData: copy(advertisement.manufacturerData) }),
      ...(advertisement.serviceData === undefined
        ? {}
        : {
            serviceData: {
              uuid: normalizeUuid(advertisement.serviceData.uuid),
              data: copy(advertisement.serviceData.data),
            },
          }),
    };
    const sizes = advertisementSizes(normalized);
    if (sizes.advertisingData > LEGACY_ADVERTISING_BYTES || sizes.scanResponse > LEGACY_ADVERTISING_BYTES) {
      throw new TriadkitError(
        "ble.payload_too_large",
        `an advertisement has ${LEGACY_ADVERTISING_BYTES} bytes of advertising data and ${LEGACY_ADVERTISING_BYTES} of scan response`,
        { ...sizes, limit: LEGACY_ADVERTISING_BYTES },
      );
    }
    this.advertisement = normalized;
    this.epoch++;
    this.resumeAdvertising();
  }

  /** Reports this peripheral to running scans, if it is visible. */
  resumeAdvertising(): void {
    if (!this.visible) return;
    for (const scan of [...this.air.scans]) scan.report(this);
  }

  async stopAdvertising(): Promise<void> {
    this.advertisement = undefined;
  }

  async notify(characteristicUuid: string, data: Uint8Array): Promise<void> {
    this.checkOpen();
    const link = this.link;
    if (link === undefined || link.state !== "up") {
      throw new TriadkitError("ble.not_connected", "no central is connected", { address: this.address });
    }
    const uuid = normalizeUuid(characteristicUuid);
    let found: { service: string; spec: Characteristic } | undefined;
    for (const s of this.services) {
      const c = s.characteristics.find(
        (ch) => ch.uuid === uuid && (ch.properties.includes("notify") || ch.properties.includes("indicate")),
      );
      if (c !== undefined) {
        found = { service: s.uuid, spec: c };
        break;
      }
    }
    if (found === undefined) {
      throw new TriadkitError("ble.gatt_error", "no notify or indicate characteristic with this UUID", {
        characteristicUuid: uuid,
        attError: "attribute_not_found",
      });
    }
    if (data.length > link.mtu - 3) {
      throw new TriadkitError("ble.payload_too_large", "a notification carries at most MTU−3 bytes", {
        length: data.length,
        limit: link.mtu - 3,
        mtu: link.mtu,
      });
    }
    const k = key(found.service, uuid);
    if (!link.subscribed.has(k)) return; // no CCCD written: GATT sends nothing
    const value = copy(data);
    const deliver = () => {
      for (const l of [...(link.listeners.get(k) ?? [])]) {
        try {
          l(copy(value));
        } catch (err) {
          this.air.onError(err);
        }
      }
    };
    if (found.spec.properties.includes("notify")) {
      this.air.send(link, deliver);
      return;
    }
    // Indication: confirmed by the central.
    await this.air.transaction(link, { characteristicUuid: uuid, op: "indicate" }, deliver);
  }

  async disconnect(): Promise<void> {
    if (this.link !== undefined) this.air.teardown(this.link, "peripheral");
  }

  on<E extends keyof BlePeripheralEvents>(event: E, listener: (...args: BlePeripheralEvents[E]) => void): this {
    this.events.on(event, listener);
    return this;
  }

  off<E extends keyof BlePeripheralEvents>(event: E, listener: (...args: BlePeripheralEvents[E]) => void): this {
    this.events.off(event, listener);
    return this;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.advertisement = undefined;
    if (this.link !== undefined) this.air.teardown(this.link, "peripheral");
    this.closed = true;
    this.air.peripherals.delete(this.address);
  }
}

// ── Central ──────────────────────────────────────────────────────────────────────────────────────────────────────────

class Scan {
  private readonly seen = new Map<VirtualPeripheral, number>();
  active = true;
  constructor(
    private readonly air: VirtualAir,
    private readonly filter: readonly string[],
    private readonly onFound: (p: DiscoveredPeripheral) => void,
  ) {}

  report(p: VirtualPeripheral): void {
    const adv = p.advertisement;
    if (!this.active || adv === undefined || this.seen.get(p) === p.epoch) return;
    if (this.filter.length > 0 && !adv.serviceUuids.some((u) => this.filter.includes(u))) return;
    this.seen.set(p, p.epoch);
    this.air.after(this.air.latencyMs, () => {
      if (!this.active || !p.visible || p.advertisement !== adv) return;
      this.onFound({
        address: p.address,
        rssi: p.rssi,
        advertisement: {
          serviceUuids: [...adv.serviceUuids],
          ...(adv.localName === undefined ? {} : { localName: adv.localName }),
          ...(adv.manufacturerData === undefined ? {} : { manufacturerData: copy(adv.manufacturerData) }),
          ...(adv.serviceData === undefined
            ? {}
            : { serviceData: { uuid: adv.serviceData.uuid, data: copy(adv.serviceData.data) } }),
        },
      });
    });
  }
}

class VirtualCentral implements BleCentral {
  readonly links = new Set<Link>();
  private readonly scans = new Set<{ scan: Scan; end: () => void }>();
  private closed = false;

  constructor(
    private readonly air: VirtualAir,
    readonly address: string,
  ) {}

  private checkOpen(): void {
    if (this.closed) throw new TriadkitError("ble.not_connected", "the central is closed", { address: this.address });
  }

  scan(
    options: { serviceUuids?: readonly string[]; timeoutMs: number; signal?: AbortSignal },
    onFound: (peripheral: DiscoveredPeripheral) => void,
  ): Promise<void> {
    try {
      this.checkOpen();
      checkTimeout(options.timeoutMs, "timeoutMs");
    } catch (err) {
      return Promise.reject(err);
    }
    const filter = (options.serviceUuids ?? []).map(normalizeUuid);
    return new Promise<void>((resolve) => {
      const scan = new Scan(this.air, filter, (p) => {
        try {
          onFound(p);
        } catch (err) {
          this.air.onError(err);
        }
      });
      let timer: TimerHandle | undefined;
      const entry = {
        scan,
        end: () => {
          if (!scan.active) return;
          scan.active = false;
          timer?.cancel();
          options.signal?.removeEventListener("abort", entry.end);
          this.air.scans.delete(scan);
          this.scans.delete(entry);
          resolve();
        },
      };
      if (options.signal?.aborted) {
        resolve();
        return;
      }
      this.scans.add(entry);
      this.air.scans.add(scan);
      options.signal?.addEventListener("abort", entry.end, { once: true });
      timer = this.air.clock.setTimeout(entry.end, options.timeoutMs);
      for (const p of this.air.peripherals.values()) if (p.visible) scan.report(p);
    });
  }

  connect(address: string, options: { mtu?: number; timeoutMs?: number } = {}): Promise<BleConnection> {
    let target: VirtualPeripheral;
    let requested: number;
    let timeoutMs: number;
    let normalized: string;
    try {
      this.checkOpen();
      normalized = normalizeBleAddress(address);
      requested = checkMtu(options.mtu ?? ATT_MTU_MAX, "mtu");
      timeoutMs = checkTimeout(options.timeoutMs ?? 10_000, "timeoutMs");
      const p = this.air.peripherals.get(normalized);
      if (p?.link !== undefined) {
        throw new TriadkitError("ble.busy", "the peripheral already has a connection", { address: normalized });
      }
      if (p === undefined || !p.visible) {
        throw new TriadkitError("ble.not_found", "no peripheral is advertising at this address", {
          address: normalized,
        });
      }
      target = p;
    } catch (err) {
      return Promise.reject(err);
    }
    const mtu = Math.max(ATT_MTU_MIN, Math.min(requested, target.maxMtu, this.air.mtu, ATT_MTU_MAX));
    const link = new Link(this, target, mtu);
    target.link = link; // reserved: a second central gets ble.busy
    this.links.add(link);
    return new Promise<BleConnection>((resolve, reject) => {
      let settled = false;
      const timer = this.air.clock.setTimeout(() => {
        if (settled) return;
        settled = true;
        link.pending.delete(pending);
        this.air.teardown(link, "central");
        reject(
          new TriadkitError("ble.timeout", "the connection was not established in time", {
            address: normalized,
            timeoutMs,
          }),
        );
      }, timeoutMs);
      const pending: Pending = {
        reject: (error) => {
          if (settled) return;
          settled = true;
          timer.cancel();
          reject(error);
        },
      };
      link.pending.add(pending);
      // CONNECT_IND and the MTU request (lossy): the peripheral is connected when they arrive.
      this.air.send(
        link,
        () => {
          link.state = "up";
          target.events.emit("connect", link.ref);
          // The MTU response (the link layer retransmits it; not lossy).
          this.air.send(
            link,
            () => {
              if (settled) return;
              settled = true;
              timer.cancel();
              link.pending.delete(pending);
              resolve(new VirtualConnection(this.air, link));
            },
            { lossy: false },
          );
        },
        { states: ["connecting"] },
      );
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.scans]) s.end();
    for (const link of [...this.links]) this.air.teardown(link, "central");
    this.air.centrals.delete(this);
  }
}

class VirtualConnection implements BleConnection {
  readonly address: string;
  readonly mtu: number;

  constructor(
    private readonly air: VirtualAir,
    private readonly link: Link,
  ) {
    this.address = link.peripheral.address;
    this.mtu = link.mtu;
  }

  private notConnected(what: Record<string, unknown>): TriadkitError {
    return new TriadkitError("ble.not_connected", "the connection is down", { address: this.address, ...what });
  }

  /** Queues a transaction behind the link's outstanding one. */
  private request<T>(what: Record<string, unknown>, atPeer: () => T | PromiseLike<T>): Promise<T> {
    const link = this.link;
    if (link.state !== "up") return Promise.reject(this.notConnected(what));
    const run = link.queue.then(() => this.air.transaction(link, what, atPeer));
    link.queue = run.catch(() => {});
    return run;
  }

  write(serviceUuid: string, characteristicUuid: string, data: Uint8Array, withResponse = true): Promise<void> {
    let s: string;
    let c: string;
    try {
      s = normalizeUuid(serviceUuid);
      c = normalizeUuid(characteristicUuid);
    } catch (err) {
      return Promise.reject(err);
    }
    const what = { serviceUuid: s, characteristicUuid: c };
    if (this.link.state !== "up") return Promise.reject(this.notConnected(what));
    if (data.length > this.mtu - 3) {
      return Promise.reject(
        new TriadkitError("ble.payload_too_large", "an ATT write carries at most MTU−3 bytes", {
          ...what,
          length: data.length,
          limit: this.mtu - 3,
          mtu: this.mtu,
        }),
      );
    }
    const value = copy(data);
    const peripheral = this.link.peripheral;
    const ref = this.link.ref;
    if (!withResponse) {
      // Write Command: no response, no error, no timeout; the peripheral ignores what it cannot take.
      this.air.send(this.link, () => {
        const spec = peripheral.characteristic(s, c);
        if (spec === undefined || !spec.properties.includes("writeWithoutResponse")) return;
        Promise.resolve()
          .then(() => spec.spec.onWrite?.(value, ref))
          .catch((err: unknown) => this.air.onError(err));
      });
      return Promise.resolve();
    }
    return this.request({ ...what, op: "write" }, () => {
      const spec = peripheral.characteristic(s, c);
      if (spec === undefined) throw gattError("attribute_not_found", what);
      if (!spec.properties.includes("write")) throw gattError("write_not_permitted", what);
      return handle(
        () => spec.spec.onWrite?.(value, ref),
        () => undefined,
        (err) => gattError("unlikely_error", what, err),
      );
    });
  }

  read(serviceUuid: string, characteristicUuid: string): Promise<Uint8Array> {
    let s: string;
    let c: string;
    try {
      s = normalizeUuid(serviceUuid);
      c = normalizeUuid(characteristicUuid);
    } catch (err) {
      return Promise.reject(err);
    }
    const what = { serviceUuid: s, characteristicUuid: c };
    const peripheral = this.link.peripheral;
    const ref = this.link.ref;
    const limit = this.mtu - 1;
    return this.request({ ...what, op: "read" }, () => {
      const spec = peripheral.characteristic(s, c);
      if (spec === undefined) throw gattError("attribute_not_found", what);
      if (!spec.properties.includes("read")) throw gattError("read_not_permitted", what);
      return handle(
        () => spec.spec.onRead?.(ref),
        // one ATT Read Response: at most MTU−1 bytes (long reads with Read Blob are not modelled)
        (value) => (value ?? new Uint8Array(0)).slice(0, limit),
        (err) => gattError("unlikely_error", what, err),
      );
    });
  }

  async subscribe(
    serviceUuid: string,
    characteristicUuid: string,
    listener: (data: Uint8Array) => void,
  ): Promise<() => Promise<void>> {
    const s = normalizeUuid(serviceUuid);
    const c = normalizeUuid(characteristicUuid);
    const what = { serviceUuid: s, characteristicUuid: c };
    const link = this.link;
    const k = key(s, c);
    const peripheral = link.peripheral;
    let set = link.listeners.get(k);
    if (set === undefined) {
      set = new Set();
      link.listeners.set(k, set);
    }
    set.add(listener);
    const first = set.size === 1;
    const remove = () => {
      const current = link.listeners.get(k);
      current?.delete(listener);
      if (current?.size === 0) link.listeners.delete(k);
      return current === undefined || current.size === 0;
    };
    if (first) {
      try {
        await this.request({ ...what, op: "subscribe" }, () => {
          const spec = peripheral.characteristic(s, c);
          if (spec === undefined) throw gattError("attribute_not_found", what);
          if (!spec.properties.includes("notify") && !spec.properties.includes("indicate")) {
            throw gattError("write_not_permitted", { ...what, reason: "not notify or indicate" });
          }
          link.subscribed.add(k);
        });
      } catch (err) {
        remove();
        throw err;
      }
    } else if (link.state !== "up") {
      remove();
      throw this.notConnected(what);
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      const last = remove();
      if (!last || link.state !== "up") return;
      await this.request({ ...what, op: "unsubscribe" }, () => {
        link.subscribed.delete(k);
      }).catch(() => {}); // a lost unsubscribe leaves notifications arriving with no listener: harmless
    };
  }

  onDisconnect(listener: () => void): () => void {
    this.link.disconnectListeners.add(listener);
    return () => {
      this.link.disconnectListeners.delete(listener);
    };
  }

  async disconnect(): Promise<void> {
    this.air.teardown(this.link, "central");
  }
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === "function";
}

/** Runs a GATT handler that may answer synchronously or with a promise; maps its answer or its failure. */
function handle<T, U>(
  run: () => T | PromiseLike<T>,
  map: (value: T) => U,
  mapError: (error: unknown) => unknown,
): U | PromiseLike<U> {
  let result: T | PromiseLike<T>;
  try {
    result = run();
  } catch (err) {
    throw mapError(err);
  }
  if (isThenable(result)) {
    return result.then(map, (err: unknown) => {
      throw mapError(err);
    });
  }
  return map(result);
}

function gattError(attError: string, what: Record<string, unknown>, cause?: unknown): TriadkitError {
  const detail = cause instanceof Error ? `: ${cause.message}` : "";
  return new TriadkitError(
    "ble.gatt_error",
    `the peripheral answered with an ATT error (${attError})${detail}`,
    { ...what, attError },
    cause === undefined ? undefined : { cause },
  );
}
