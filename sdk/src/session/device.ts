import { EventEmitter } from "node:events";
import {
  type AlinkReply,
  type ConnectSigner,
  configGetTopic,
  createConnectSigner,
  createIdGenerator,
  type DeviceIdentity,
  decodeRequest,
  deviceinfoDeleteTopic,
  deviceinfoUpdateTopic,
  deviceSubscriptionFilters,
  encodeRequest,
  eventPostTopic,
  type IdGenerator,
  identityOf,
  type NtpResponse,
  propertyPostTopic,
  TriadkitError,
} from "@triadkit/protocol";
import { type Clock, SystemClock, type TimerHandle } from "../clock.js";
import { redactSecrets, silentLogger } from "../logging/index.js";
import type { Logger } from "../logging/logger.js";
import { nodeKeyer } from "../node-hmac.js";
import { MemoryMessageStore } from "../queue/memory-message-store.js";
import type { MessageStore } from "../queue/message-store.js";
import { CryptoRandom } from "../random.js";
import { Backoff, type FailureKind } from "./backoff.js";
import type { DeviceEvents, DeviceState, PlatformStatus } from "./device-events.js";
import {
  Downstream,
  type DownstreamDeps,
  type PropertyGetHandler,
  type PropertySetHandler,
  type ServiceHandler,
} from "./downstream.js";
import { type DeviceOptions, isLoopbackHost, type ResolvedOptions, resolveOptions } from "./options.js";
import { Outbox, type OutboxDeps } from "./outbox.js";
import { TimeSync } from "./time-sync.js";
import { type MqttConnection, type MqttConnector, mqttJsConnector } from "./transport.js";

export interface RequestOptions {
  /** Default: the device's `requestTimeoutMs`, counted from when the request is sent. */
  readonly timeoutMs?: number;
  /** `queue` (default): wait in the offline queue. `reject`: fail at once with `session.not_connected`. */
  readonly whenOffline?: "queue" | "reject";
  readonly signal?: AbortSignal;
}

/**
 * A device's session with the platform: triad-signed MQTT, TLS by default, reconnect with back-off,
 * an offline queue, device-side rate limits, time sync, and the thing model. Create with {@link createDevice}.
 */
export class Device extends EventEmitter<DeviceEvents> {
  readonly identity: DeviceIdentity;
  private currentState: DeviceState = "idle";
  private status: PlatformStatus = "enabled";
  private readonly options: ResolvedOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly queue: MessageStore;
  private readonly ownsQueue: boolean;
  private readonly connector: MqttConnector;
  private readonly backoff: Backoff;
  private readonly time: TimeSync;
  private readonly ids: IdGenerator;
  private readonly downstream: Downstream;
  private readonly outbox: Outbox;
  private conn: MqttConnection | undefined;
  /** Prepared on the first attempt (triad, style, sign method and broker URL are fixed for the device's life). */
  private signer: ConnectSigner | undefined;
  private onlineSinceMs = 0;
  private lastFailure: FailureKind = "network";
  private retryTimer: TimerHandle | undefined;
  private ntpTimer: TimerHandle | undefined;
  private warnedPlainTcp = false;
  private readonly secrets: string[];

  constructor(options: DeviceOptions) {
    super();
    this.options = resolveOptions(options);
    this.identity = identityOf(this.options.triad);
    this.clock = options.clock ?? new SystemClock();
    const random = options.random ?? new CryptoRandom();
    this.secrets = [this.options.triad.deviceSecret];
    this.log = redactSecrets(options.logger ?? silentLogger, () => this.secrets).child({
      productKey: this.identity.productKey,
      deviceName: this.identity.deviceName,
    });
    this.ownsQueue = options.queue === undefined;
    this.queue =
      options.queue ??
      new MemoryMessageStore({
        maxMessages: this.options.queueLimits.maxMessages ?? 1_000,
        maxBytes: this.options.queueLimits.maxBytes ?? 1_048_576,
        overflow: this.options.queueLimits.overflow ?? "drop-oldest",
      });
    this.connector = options.connector ?? mqttJsConnector;
    this.backoff = new Backoff(this.options.backoff, random);
    this.time = new TimeSync(this.clock);
    const start = random.bytes(3);
    this.ids = createIdGenerator(
      1 + (((start[0] as number) << 16) | ((start[1] as number) << 8) | (start[2] as number)),
    );
    // One link object each (methods on a shared prototype) rather than a closure per callback: a fleet of
    // devices pays for two small objects per device instead of nine closures.
    this.outbox = new Outbox(new OutboxLink(this, this.queue, this.clock, this.log, this.options.rateLimits));
    this.downstream = new Downstream(new DownstreamLink(this, this.log));
  }

  get state(): DeviceState {
    return this.currentState;
  }

  get platformStatus(): PlatformStatus {
    return this.status;
  }

  /** Milliseconds added to the local clock after NTP; undefined before the first sync. */
  get timeOffsetMs(): number | undefined {
    return this.time.offsetMs;
  }

  /** Corrected wall-clock time (local time before the first sync). */
  nowMs(): number {
    return this.time.nowMs();
  }

  /** Offline queue figures: messages and bytes waiting, and how many were dropped at the bound. */
  queueStats(): { messages: number; bytes: number; dropped: number } {
    return this.outbox.stats();
  }

  /** Requests waiting for a reply. */
  get pendingRequests(): number {
    return this.outbox.pendingRequests;
  }

  /**
   * Starts connecting (and keeps reconnecting until `close()`); resolves the first time the device is online.
   * Rejects with `session.closed` if closed first, or with the abort reason.
   */
  connect(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.currentState === "closed") return Promise.reject(closedError());
    if (this.currentState === "idle") this.attempt();
    if (this.currentState === "online") return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const cleanup = () => {
        this.off("online", onOnline);
        this.off("closed", onClosed);
        options.signal?.removeEventListener("abort", onAbort);
      };
      const onOnline = () => {
        cleanup();
        resolve();
      };
      const onClosed = () => {
        cleanup();
        reject(closedError());
      };
      const onAbort = () => {
        cleanup();
        reject(options.signal?.reason);
      };
      this.on("online", onOnline);
      this.on("closed", onClosed);
      options.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Closes the session for good: rejects pending requests with `session.closed`, keeps the queue's contents. */
  async close(): Promise<void> {
    if (this.currentState === "closed") return;
    this.setState("closed");
    this.retryTimer?.cancel();
    this.ntpTimer?.cancel();
    const conn = this.conn;
    this.conn = undefined;
    if (conn) await new Promise<void>((resolve) => conn.end(true, () => resolve()));
    this.outbox.rejectAll(closedError);
    if (this.ownsQueue) await this.queue.close();
    this.emit("closed");
    this.removeAllListeners();
  }

  // ----- thing model (upstream) -----

  postProperties(properties: Record<string, unknown>, options?: RequestOptions): Promise<AlinkReply> {
    return this.request(propertyPostTopic(this.identity), "thing.event.property.post", properties, options);
  }

  /** Posts a TSL event: params `{ value, time }`. */
  postEvent(identifier: string, value: Record<string, unknown>, options?: RequestOptions): Promise<AlinkReply> {
    return this.request(
      eventPostTopic(this.identity, identifier),
      `thing.event.${identifier}.post`,
      { value, time: this.time.nowMs() },
      options,
    );
  }

  updateTags(tags: Record<string, string>, options?: RequestOptions): Promise<AlinkReply> {
    const params = Object.entries(tags).map(([attrKey, attrValue]) => ({ attrKey, attrValue }));
    return this.request(deviceinfoUpdateTopic(this.identity), "thing.deviceinfo.update", params, options);
  }

  deleteTags(keys: readonly string[], options?: RequestOptions): Promise<AlinkReply> {
    const params = keys.map((attrKey) => ({ attrKey }));
    return this.request(deviceinfoDeleteTopic(this.identity), "thing.deviceinfo.delete", params, options);
  }

  /** Asks for the product's remote configuration; the reply's `data` carries it. */
  getConfig(options?: RequestOptions): Promise<AlinkReply> {
    const params = { configScope: "product", getType: "file" };
    return this.request(configGetTopic(this.identity), "thing.config.get", params, options);
  }

  /**
   * Sends an already encoded Alink request (e.g. a carrier from `@triadkit/protocol`) through the queue and
   * waits for its reply. The id inside `payload` is the one the reply is matched on.
   */
  sendEncoded(topic: string, payload: Uint8Array, options?: RequestOptions): Promise<AlinkReply> {
    const request = decodeRequest(payload);
    return this.enqueue(topic, request.id, request.method, payload, options);
  }

  /** A fresh request id from this device's generator. */
  nextId(): string {
    return this.ids.next();
  }

  // ----- thing model (downstream) -----

  onPropertySet(handler: PropertySetHandler): void {
    this.downstream.propertySet = handler;
  }

  onPropertyGet(handler: PropertyGetHandler): void {
    this.downstream.propertyGet = handler;
  }

  /** Registers a service; any number of them. The same handler answers async calls and RRPC (sync) calls. */
  onService(name: string, handler: ServiceHandler): void {
    this.downstream.services.set(name, handler);
  }

  // ----- internals -----

  private request(topic: string, method: string, params: unknown, options?: RequestOptions): Promise<AlinkReply> {
    const id = this.ids.next();
    return this.enqueue(topic, id, method, encodeRequest({ id, params: params as object, method }), options);
  }

  private enqueue(
    topic: string,
    id: string,
    method: string,
    payload: Uint8Array,
    options: RequestOptions = {},
  ): Promise<AlinkReply> {
    if (this.currentState === "closed") return Promise.reject(closedError());
    if (options.whenOffline === "reject" && this.currentState !== "online") {
      return Promise.reject(new TriadkitError("session.not_connected", `device is ${this.currentState}, not online`));
    }
    return this.outbox.send(topic, id, method, payload, {
      timeoutMs: options.timeoutMs ?? this.options.requestTimeoutMs,
      signal: options.signal,
    });
  }

  /** @internal A reply from the platform (called by the session's downstream side). */
  handleReply(reply: AlinkReply, topic: string): void {
    const late = !this.outbox.receive(reply, topic);
    this.emit("reply", reply, { topic, late });
  }

  private setState(next: DeviceState): void {
    const previous = this.currentState;
    if (previous === next) return;
    this.currentState = next;
    this.emit("state", next, previous);
  }

  /** @internal */
  setPlatformStatus(status: PlatformStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.log.warn({ status }, "platform changed the device's status");
    this.emit("platformStatus", status);
    if (status === "deleted") void this.close();
  }

  private attempt(): void {
    if (this.currentState === "closed") return;
    this.setState("connecting");
    const url = new URL(this.options.brokerUrl);
    if (url.protocol === "mqtt:" && !isLoopbackHost(url.hostname)) {
      if (this.options.requireTls) {
        this.emit(
          "connectError",
          new TriadkitError("session.tls_config", "plain TCP to a non-loopback host is refused (requireTls)"),
        );
        void this.close();
        return;
      }
      if (!this.warnedPlainTcp) {
        this.warnedPlainTcp = true;
        this.log.warn(
          { host: url.hostname },
          "connecting over plain TCP to a non-loopback host: credentials and data are not encrypted",
        );
      }
    }
    this.signer ??= createConnectSigner({
      triad: this.options.triad,
      style: this.options.wireStyle,
      signMethod: this.options.signMethod,
      secureMode: url.protocol === "mqtts:" ? 2 : 3,
      keyer: nodeKeyer,
    });
    const creds = this.signer(this.time.signingTimestamp());
    this.secrets.push(creds.password);
    if (this.secrets.length > 4) this.secrets.splice(1, 1);
    this.lastFailure = "network";
    const conn = this.connector(this.options.brokerUrl, {
      clientId: creds.clientId,
      username: creds.username,
      password: creds.password,
      keepalive: this.options.keepaliveSec,
      connectTimeout: this.options.connectTimeoutMs,
      rejectUnauthorized: true,
      ...(this.options.caPem === undefined ? {} : { ca: this.options.caPem }),
      ...(this.options.servername === undefined ? {} : { servername: this.options.servername }),
    });
    this.conn = conn;
    conn.on("connect", () => {
      if (this.conn !== conn) return;
      conn.subscribe(deviceSubscriptionFilters(this.identity), { qos: 0 }, (err) => {
        if (this.conn !== conn) return;
        if (err) {
          this.log.warn({ err: err.message }, "subscription failed");
          conn.end(true);
          return;
        }
        this.onlineSinceMs = this.clock.monotonicMs();
        this.setState("online");
        this.log.info({ url: this.options.brokerUrl }, "online");
        this.emit("online");
        this.syncTime();
        this.outbox.kick();
      });
    });
    conn.on("message", (topic, payload) => {
      if (this.conn === conn) this.downstream.handle(topic, new Uint8Array(payload));
    });
    conn.on("error", (err) => {
      if (this.conn !== conn) return;
      const auth = err.code === 4 || err.code === 5;
      if (auth) this.lastFailure = "auth";
      const coded = new TriadkitError(
        auth ? "session.auth_refused" : "session.not_connected",
        auth ? `platform refused the login (CONNACK ${err.code})` : `connection failed: ${err.message}`,
        { connack: typeof err.code === "number" ? err.code : undefined },
      );
      this.log.warn({ code: coded.code }, coded.message);
      this.emit("connectError", coded);
    });
    conn.on("close", () => {
      if (this.conn !== conn) return;
      this.conn = undefined;
      conn.end(true);
      this.ntpTimer?.cancel();
      if (this.currentState === "online") {
        const upMs = this.clock.monotonicMs() - this.onlineSinceMs;
        this.backoff.connectionLasted(upMs);
        this.log.warn({ upMs }, "offline");
        this.emit("offline", { upMs });
      }
      if (this.currentState !== "closed") this.scheduleRetry();
    });
  }

  private scheduleRetry(): void {
    const kind = this.lastFailure;
    const delayMs = this.backoff.nextDelayMs(kind);
    this.setState("backoff");
    this.emit("backoff", { delayMs, failures: this.backoff.failures, kind });
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      this.attempt();
    }, delayMs);
  }

  private syncTime(): void {
    if (this.options.ntpResyncSec === 0) return;
    this.downstream.requestTime((topic, payload) => this.publishNow(topic, payload, 0));
    this.ntpTimer?.cancel();
    this.ntpTimer = this.clock.setTimeout(() => {
      if (this.currentState === "online") this.syncTime();
    }, this.options.ntpResyncSec * 1000);
  }

  /** @internal */
  applyTimeSample(sample: NtpResponse): void {
    const offsetMs = this.time.apply(sample);
    this.log.info({ offsetMs }, "time synchronised over /ext/ntp");
    this.emit("timeSynced", { offsetMs });
  }

  /** @internal The local (uncorrected) clock. */
  localNowMs(): number {
    return this.clock.nowMs();
  }

  /** @internal Publishes now (rejects with `session.not_connected` when not online). */
  publishNow(topic: string, payload: Uint8Array, qos: 0 | 1): Promise<void> {
    const conn = this.conn;
    if (conn === undefined || this.currentState !== "online") {
      return Promise.reject(new TriadkitError("session.not_connected", "not online"));
    }
    return new Promise<void>((resolve, reject) => {
      conn.publish(topic, payload, { qos }, (err) => (err ? reject(err) : resolve()));
    });
  }
}

/** Creates a device; validates options once (throws `config.invalid` listing every problem with its range). */
export function createDevice(options: DeviceOptions): Device {
  return new Device(options);
}

function closedError(): TriadkitError {
  return new TriadkitError("session.closed", "the device session is closed");
}

/** The device's side of its {@link Outbox}. */
class OutboxLink implements OutboxDeps {
  constructor(
    private readonly device: Device,
    readonly queue: MessageStore,
    readonly clock: Clock,
    readonly log: Logger,
    readonly rateLimits: ResolvedOptions["rateLimits"],
  ) {}
  publish(topic: string, payload: Uint8Array): Promise<void> {
    return this.device.publishNow(topic, payload, 1);
  }
  isOnline(): boolean {
    return this.device.state === "online";
  }
  onDropped(info: { count: number; total: number }): void {
    this.device.emit("dropped", info);
  }
}

/** The device's side of its {@link Downstream}. */
class DownstreamLink implements DownstreamDeps {
  constructor(
    private readonly device: Device,
    readonly log: Logger,
  ) {}
  get identity(): DeviceIdentity {
    return this.device.identity;
  }
  emit(event: string, ...args: unknown[]): boolean {
    return (this.device.emit as (e: string, ...a: unknown[]) => boolean).call(this.device, event, ...args);
  }
  publish(topic: string, payload: Uint8Array): Promise<void> {
    return this.device.publishNow(topic, payload, 0);
  }
  onReply(reply: AlinkReply, topic: string): void {
    this.device.handleReply(reply, topic);
  }
  onNtp(sample: NtpResponse): void {
    this.device.applyTimeSample(sample);
  }
  onPlatformStatus(status: PlatformStatus): void {
    this.device.setPlatformStatus(status);
  }
  localNowMs(): number {
    return this.device.localNowMs();
  }
}
