import { EventEmitter } from "node:events";
import type { Server, Socket } from "node:net";
import { TLSSocket } from "node:tls";
import {
  type AlinkReply,
  type DeviceIdentity,
  type ErrorCode,
  encodeRegisterResult,
  encodeRegnwlResult,
  isTriadkitError,
  parseUsername,
  registrationResultTopic,
  TriadkitError,
  thingDeleteReplyTopic,
  thingDeleteTopic,
  thingDisableReplyTopic,
  thingDisableTopic,
  thingEnableReplyTopic,
  thingEnableTopic,
  verifyConnect,
} from "@triadkit/protocol";
import { nodeHmac } from "@triadkit/sdk";
import { Aedes, type AuthenticateError, type Client } from "aedes";
import { BindingMonitor, bindingMonitorOff } from "../binding/monitor.js";
import { operatorMaySubscribe } from "../binding/operator.js";
import { wireBindingMonitor } from "../binding/wire.js";
import { ProductTablePush } from "../products/product-push.js";
import { topicAllowed } from "./acl.js";
import { BrokerEmitter } from "./broker-emitter.js";
import { CloudCalls } from "./cloud-calls.js";
import { asDeviceRegistry, type DeviceRecord, type DeviceRegistry, deviceKey } from "./device-directory.js";
import { DeviceInbox } from "./device-inbox.js";
import { closeServer, createMqttServer, createRegistrationServer, listen, portOf, urlOf } from "./listeners.js";
import { type MessageFilter, MessageLog, type ReceivedMessage } from "./message-log.js";
import {
  type CallOptions,
  type InvokeOptions,
  type KickReason,
  type OnlineDevice,
  type PlatformEmulatorEvents,
  type PlatformEmulatorOptions,
  type ResolvedOptions,
  resolveOptions,
  type Transport,
} from "./options.js";
import { PendingReplies } from "./pending-replies.js";
import { RateLimiter } from "./rate-limit.js";
import { Registrar, type RegistrationGrant } from "./registration.js";
import { SqliteDeviceRegistry } from "./sqlite-registry.js";

/** MQTT 3.1.1 CONNACK return code for every refused login: 5, "not authorized". */
export const CONNACK_NOT_AUTHORIZED = 5;

type ClientInfo =
  | { readonly kind: "device"; readonly identity: DeviceIdentity; readonly transport: Transport }
  | { readonly kind: "register"; readonly grant: RegistrationGrant }
  | { readonly kind: "operator" };

interface Session extends OnlineDevice {
  readonly client: Client;
}

/** How long a registration connection stays open after its result was written. */
const REGISTRATION_CLOSE_DELAY_MS = 100;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A local stand-in for the Alibaba Cloud IoT platform: an embedded aedes broker on TCP (and TLS) whose login hook is
 * triadkit's signature verifier, a per-device topic ACL, one session per device, dynamic registration over MQTT and
 * HTTP(S), NTP, a per-device rate limit, device lifecycle (disable/enable/delete), and a typed API to call devices.
 * See docs/emulator.md.
 */
export class PlatformEmulator extends EventEmitter<PlatformEmulatorEvents> {
  private readonly clients = new WeakMap<Client, ClientInfo>();
  private readonly sessions = new Map<string, Session>();
  private readonly sockets = new Set<Socket>();
  private readonly pending: PendingReplies;
  private readonly calls: CloudCalls;
  private readonly log: MessageLog;
  private readonly inbox: DeviceInbox;
  private readonly registrar: Registrar;
  private readonly servers: { mqtt: Server; mqtts?: Server; http?: Server };
  private closed = false;
  private productPush: ProductTablePush | undefined;

  private constructor(
    private readonly broker: Aedes,
    readonly registry: DeviceRegistry,
    private readonly ownsRegistry: boolean,
    private readonly options: ResolvedOptions,
    private readonly monitor: BindingMonitor | undefined,
  ) {
    super();
    this.pending = new PendingReplies(options.clock);
    this.log = new MessageLog(options.messageBufferSize);
    const limiter = options.rateLimit && new RateLimiter(options.rateLimit, options.clock);
    this.inbox = new DeviceInbox({
      clock: options.clock,
      log: this.log,
      pending: this.pending,
      limiter,
      logger: options.logger,
      emit: (event, ...args) => this.emit(event, ...(args as never)),
      publish: (topic, payload) => this.publish(topic, payload),
    });
    this.calls = new CloudCalls({
      pending: this.pending,
      publish: (topic, payload) => this.publish(topic, payload),
      isOnline: (identity) => this.isOnline(identity),
      isClosed: () => this.closed,
      replyTimeoutMs: options.replyTimeoutMs,
    });
    this.registrar = new Registrar(registry, options.random, options.registration);
    if (monitor)
      wireBindingMonitor(monitor, this, options.logger, {
        publish: (topic, payload) => this.publish(topic, payload),
        invokeService: (identity, name, params) => this.calls.invokeService(identity, name, params),
      });
    const handle = (socket: Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
      broker.handle(socket);
    };
    this.servers = { mqtt: createMqttServer(handle) };
    if (options.tls) this.servers.mqtts = createMqttServer(handle, options.tls);
    if (options.http) {
      this.servers.http = createRegistrationServer(
        this.registrar,
        {
          onRegistered: (grant) => this.registered(grant, "http"),
          onRefused: ({ code, replyCode, username }) =>
            this.emit("rejected", { code, username, returnCode: replyCode }),
        },
        options.http.tls ? options.tls : undefined,
      );
    }
  }

  /** Starts the broker and its listeners. Throws `config.invalid` for bad options. */
  static async start(options: PlatformEmulatorOptions = {}): Promise<PlatformEmulator> {
    const resolved = resolveOptions(options);
    const { bindings, clock, logger } = resolved;
    const monitor = bindings && new BindingMonitor(bindings, { clock, logger });
    const given = options.registry ?? options.directory;
    const registry = given === undefined ? new SqliteDeviceRegistry() : asDeviceRegistry(given);
    // Our own message bus: mqemitter's queue overflows the stack in a reconnect storm (see broker-emitter.ts).
    const broker = await Aedes.createBroker({ mq: new BrokerEmitter() });
    const emulator = new PlatformEmulator(broker, registry, given === undefined, resolved, monitor);
    emulator.install();
    try {
      const { mqtt, mqtts, http } = emulator.servers;
      await listen(mqtt, resolved.port, resolved.host);
      if (mqtts && resolved.tls) await listen(mqtts, resolved.tls.port, resolved.host);
      if (http && resolved.http) await listen(http, resolved.http.port, resolved.host);
    } catch (err) {
      await emulator.close();
      throw err;
    }
    return emulator;
  }

  get port(): number {
    return portOf(this.servers.mqtt);
  }
  /** `mqtt://host:port`. */
  get url(): string {
    return urlOf("mqtt", this.servers.mqtt);
  }
  get tlsPort(): number | undefined {
    return this.servers.mqtts && portOf(this.servers.mqtts);
  }
  /** `mqtts://host:port` when TLS is on. */
  get tlsUrl(): string | undefined {
    return this.servers.mqtts && urlOf("mqtts", this.servers.mqtts);
  }
  get httpPort(): number | undefined {
    return this.servers.http && portOf(this.servers.http);
  }
  /** `http://host:port` or `https://host:port` of the registration endpoint, when on. */
  get httpUrl(): string | undefined {
    return this.servers.http && urlOf(this.options.http?.tls ? "https" : "http", this.servers.http);
  }
  get connectedClients(): number {
    return this.broker.connectedClients;
  }
  /** The binding monitor (docs/binding.md). Throws `config.invalid` when started without the `bindings` option. */
  get binding(): BindingMonitor {
    return this.monitor ?? bindingMonitorOff();
  }

  /** Product recommendation tables: push to devices over `UpdateProductTable`, acknowledged versions. */
  get products(): ProductTablePush {
    this.productPush ??= new ProductTablePush({
      invokeService: (identity, name, params, options) => this.invokeService(identity, name, params, options),
      isOnline: (identity) => this.isOnline(identity),
      nowMs: () => this.options.clock.nowMs(),
    });
    return this.productPush;
  }

  /** Devices with a live session, in login order. */
  onlineDevices(): OnlineDevice[] {
    return [...this.sessions.values()]
      .filter((s) => !s.client.closed)
      .map(({ identity, clientId, transport, sinceMs }) => ({ identity, clientId, transport, sinceMs }));
  }

  isOnline(identity: DeviceIdentity): boolean {
    const session = this.sessions.get(deviceKey(identity));
    return session !== undefined && !session.client.closed;
  }

  /** Messages devices published, oldest first (a bounded ring buffer, see `messageBufferSize`). */
  messages(filter?: MessageFilter): ReceivedMessage[] {
    return this.log.list(filter);
  }

  /**
   * Calls a service on the device and resolves with its reply: asynchronous on `thing/service/{name}` (reply on
   * `{name}_reply`), or synchronous (`sync: true`) over RRPC `rrpc/request/{messageId}` → `rrpc/response/{messageId}`.
   * Throws `emulator.device_offline`, `alink.reply_timeout`, `alink.bad_topic` (a bad service name).
   */
  invokeService(
    identity: DeviceIdentity,
    name: string,
    params: Record<string, unknown>,
    options: InvokeOptions = {},
  ): Promise<AlinkReply> {
    return this.calls.invokeService(identity, name, params, options);
  }

  /** `thing.service.property.set`; resolves with the device's `set_reply`. Throws like {@link invokeService}. */
  setProperty(
    identity: DeviceIdentity,
    props: Record<string, unknown>,
    options: CallOptions = {},
  ): Promise<AlinkReply> {
    return this.calls.setProperty(identity, props, options);
  }

  /** `thing.service.property.get` for `names`; the reply's `data` holds the values. */
  getProperty(identity: DeviceIdentity, names: readonly string[], options: CallOptions = {}): Promise<AlinkReply> {
    return this.calls.getProperty(identity, names, options);
  }

  /**
   * Disables the device: status `disabled`, `thing/disable` sent to it, its connection closed once it answered (or
   * after `kickGraceMs`); later logins are refused with CONNACK 5 until {@link enableDevice}.
   * Throws `emulator.unknown_device`, `emulator.device_deleted`.
   */
  async disableDevice(identity: DeviceIdentity): Promise<DeviceRecord> {
    this.requireNotDeleted(identity);
    const record = this.registry.setStatus(identity, "disabled");
    await this.notifyAndKick(identity, thingDisableTopic(identity), thingDisableReplyTopic(identity), "disabled");
    return record;
  }

  /** Status back to `active` (and `thing/enable` to the device should it be online). Throws like {@link disableDevice}. */
  async enableDevice(identity: DeviceIdentity): Promise<DeviceRecord> {
    this.requireNotDeleted(identity);
    const record = this.registry.setStatus(identity, "active");
    if (this.isOnline(identity)) {
      const grace = this.options.kickGraceMs;
      await this.calls.notify(thingEnableTopic(identity), thingEnableReplyTopic(identity), "thing.enable", grace);
    }
    return record;
  }

  /** Soft-deletes the device (`thing/delete`, then its connection is closed); it can no longer log in. */
  async deleteDevice(identity: DeviceIdentity): Promise<DeviceRecord> {
    const record = this.registry.setStatus(identity, "deleted");
    await this.notifyAndKick(identity, thingDeleteTopic(identity), thingDeleteReplyTopic(identity), "deleted");
    return record;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pending.rejectAll(new TriadkitError("emulator.closed", "the platform emulator was closed"));
    await new Promise<void>((resolve) => this.broker.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(Object.values(this.servers).map((s) => closeServer(s)));
    await this.monitor?.close();
    if (this.ownsRegistry) this.registry.close();
  }

  private requireNotDeleted(identity: DeviceIdentity): void {
    const record = this.registry.get(identity);
    if (record?.status === "deleted") {
      throw new TriadkitError("emulator.device_deleted", "the device was deleted", { ...identityOnly(identity) });
    }
  }

  private async notifyAndKick(identity: DeviceIdentity, topic: string, replyTopic: string, reason: KickReason) {
    const session = this.sessions.get(deviceKey(identity));
    if (session === undefined || session.client.closed) return;
    const method = reason === "disabled" ? "thing.disable" : "thing.delete";
    await this.calls.notify(topic, replyTopic, method, this.options.kickGraceMs);
    if (!session.client.closed) this.kick(session, reason);
  }

  private kick(session: Session, reason: KickReason, byClientId?: string): void {
    const { identity, clientId } = session;
    this.emit("kicked", { identity, clientId, reason, ...(byClientId === undefined ? {} : { byClientId }) });
    this.options.logger.info({ event: "kicked", ...identityOnly(identity), clientId, reason }, "session closed");
    if (this.sessions.get(deviceKey(identity))?.client === session.client) this.sessions.delete(deviceKey(identity));
    session.client.close();
  }

  private publish(topic: string, payload: Uint8Array): void {
    this.broker.publish(
      { cmd: "publish", topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false },
      () => {},
    );
  }

  private registered(grant: RegistrationGrant, via: "mqtt" | "http"): void {
    this.emit("registered", { identity: grant.identity, mode: grant.mode, via });
    this.options.logger.info({ event: "registered", ...identityOnly(grant.identity), mode: grant.mode, via });
  }

  private refuse(username: string | undefined, err: unknown): AuthenticateError {
    let code: ErrorCode = isTriadkitError(err) ? err.code : "internal.unexpected";
    if (code === "triad.bad_signature" && username !== undefined) {
      try {
        if (this.registry.get(parseUsername(username))?.status === "deleted") code = "emulator.device_deleted";
      } catch {
        // not a username we can read: keep the code
      }
    }
    this.emit("rejected", { code, username, returnCode: CONNACK_NOT_AUTHORIZED });
    this.options.logger.info({ event: "rejected", code, username }, "login refused");
    const refusal = new Error(`login refused (${code})`) as AuthenticateError;
    refusal.returnCode = CONNACK_NOT_AUTHORIZED;
    return refusal;
  }

  private authenticateDevice(client: Client, creds: { clientId: string; username: string; password: string }) {
    const identity = Registrar.isTokenLogin(creds.clientId)
      ? this.registrar.verifyTokenLogin(creds)
      : verifyConnect(creds, (id) => this.registry.lookupSecret(id), { hmac: nodeHmac, ...this.options.verify })
          .identity;
    if (this.registry.get(identity)?.status === "disabled") {
      throw new TriadkitError("emulator.device_disabled", "the device is disabled", { ...identityOnly(identity) });
    }
    const transport: Transport = client.conn instanceof TLSSocket ? "tls" : "tcp";
    this.clients.set(client, { kind: "device", identity, transport });
    // One session per device: the platform closes the older connection when the same device logs in again.
    // (With the same clientId aedes takes the old session over itself; closing it here too would race that.)
    const key = deviceKey(identity);
    const old = this.sessions.get(key);
    if (old !== undefined && old.client !== client && !old.client.closed) {
      if (old.clientId === client.id) {
        this.emit("kicked", { identity, clientId: old.clientId, reason: "duplicate_login", byClientId: client.id });
      } else {
        this.kick(old, "duplicate_login", client.id);
      }
    }
    // The session exists from the CONNACK on (aedes reports `clientReady` only after sending it).
    this.sessions.set(key, { client, identity, clientId: client.id, transport, sinceMs: this.options.clock.nowMs() });
    this.registry.markActivated(identity);
  }

  private install(): void {
    const broker = this.broker;
    broker.authenticate = (client, username, password, done) => {
      const creds = { clientId: client.id, username: username ?? "", password: password?.toString("utf8") ?? "" };
      try {
        if (this.monitor?.isOperatorLogin(creds)) {
          this.clients.set(client, { kind: "operator" });
        } else if (Registrar.isRegistration(creds.clientId)) {
          const grant = this.registrar.mqtt(creds, client.conn instanceof TLSSocket);
          this.clients.set(client, { kind: "register", grant });
        } else {
          this.authenticateDevice(client, creds);
        }
        done(null, true);
      } catch (err) {
        done(this.refuse(username, err), false);
      }
    };
    broker.authorizePublish = (client, packet, callback) => {
      if (client === null) return callback(null); // the platform itself
      if (this.allowed(client, packet.topic, "publish")) return callback(null);
      callback(new Error("topic not allowed"));
    };
    broker.authorizeSubscribe = (client, subscription, callback) => {
      callback(null, this.allowed(client, subscription.topic, "subscribe") ? subscription : null);
    };
    broker.on("clientReady", (client) => {
      const info = this.clients.get(client);
      if (info?.kind === "register") return this.deliverRegistration(client, info.grant);
      if (info?.kind === "device") this.emit("online", info.identity, client.id);
    });
    broker.on("clientDisconnect", (client) => {
      const info = this.clients.get(client);
      if (info?.kind !== "device") return;
      const key = deviceKey(info.identity);
      if (this.sessions.get(key)?.client === client) this.sessions.delete(key);
      this.emit("offline", info.identity, client.id);
    });
    broker.on("publish", (packet, client) => {
      const info = client === null ? undefined : this.clients.get(client);
      if (client === null || info?.kind !== "device") return;
      this.inbox.receive(info.identity, client.id, packet.topic, new Uint8Array(packet.payload as Buffer));
    });
  }

  private allowed(client: Client, topic: string, action: "publish" | "subscribe"): boolean {
    const info = this.clients.get(client);
    if (info?.kind === "operator") return action === "subscribe" && operatorMaySubscribe(topic);
    if (info?.kind === "device" && topicAllowed(info.identity, topic)) return true;
    const identity = info?.kind === "device" ? info.identity : info?.grant.identity;
    if (identity !== undefined) {
      this.emit("aclDenied", { identity, clientId: client.id, topic, action });
      this.options.logger.warn({ event: "aclDenied", ...identityOnly(identity), topic, action }, "topic refused");
    }
    return false;
  }

  private deliverRegistration(client: Client, grant: RegistrationGrant): void {
    const payload = grant.mode === "register" ? encodeRegisterResult(grant.result) : encodeRegnwlResult(grant.result);
    const topic = registrationResultTopic(grant.mode);
    this.registered(grant, "mqtt");
    client.publish({ cmd: "publish", topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false }, () => {
      // The platform closes a registration connection once the result is out; give the bytes time to leave.
      delay(REGISTRATION_CLOSE_DELAY_MS).then(() => client.close());
    });
  }
}

function identityOnly(identity: DeviceIdentity): { productKey: string; deviceName: string } {
  return { productKey: identity.productKey, deviceName: identity.deviceName };
}
