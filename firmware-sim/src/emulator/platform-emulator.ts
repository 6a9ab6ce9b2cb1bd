import { EventEmitter } from "node:events";
import { type AddressInfo, createServer, type Server } from "node:net";
import {
  type AlinkRequest,
  type BindingEvent,
  type ConnectVerifyOptions,
  type DeviceIdentity,
  decodeBindingEvent,
  decodeIdentityReport,
  decodeRequest,
  type ErrorCode,
  encodeReply,
  type IdentityReport,
  isTriadkitError,
  REPLY_CODES,
  replyTopicOf,
  tryParseTopic,
  verifyConnect,
} from "@triadkit/protocol";
import { Aedes, type AuthenticateError, type Client } from "aedes";
import type { DeviceDirectory } from "./device-directory.js";

export interface PlatformEmulatorOptions {
  readonly directory: DeviceDirectory;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: a free port. Never 1883 by accident. */
  readonly port?: number;
  /** Passed to the signature verifier (refuse weak methods, timestamp window, …). */
  readonly verify?: ConnectVerifyOptions;
}

export interface PlatformEmulatorEvents {
  online: [identity: DeviceIdentity, clientId: string];
  offline: [identity: DeviceIdentity];
  rejected: [rejection: { code: ErrorCode; username: string | undefined }];
  request: [request: { identity: DeviceIdentity; topic: string; message: AlinkRequest }];
  identityReport: [report: { identity: DeviceIdentity; value: IdentityReport }];
  bindingEvent: [event: { identity: DeviceIdentity; value: BindingEvent }];
  badMessage: [bad: { identity: DeviceIdentity; topic: string; code: ErrorCode }];
}

/** MQTT CONNACK return codes for a refused login (MQTT 3.1.1 §3.2.2.3). */
const BAD_USERNAME_OR_PASSWORD = 4;
const IDENTIFIER_REJECTED = 2;

/**
 * A local stand-in for the Alibaba Cloud IoT MQTT endpoint: an embedded aedes broker whose `authenticate`
 * hook is triadkit's signature verifier and whose ACL confines each device to its own topics. Every Alink
 * request is answered on its reply topic (code 200, or 460 for a payload that does not decode); identity
 * reports and binding events are decoded and emitted.
 */
export class PlatformEmulator extends EventEmitter<PlatformEmulatorEvents> {
  private readonly identities = new WeakMap<Client, DeviceIdentity>();

  private constructor(
    private readonly broker: Aedes,
    private readonly server: Server,
  ) {
    super();
  }

  static async start(options: PlatformEmulatorOptions): Promise<PlatformEmulator> {
    const broker = await Aedes.createBroker();
    const server = createServer(broker.handle);
    const emulator = new PlatformEmulator(broker, server);
    emulator.install(options);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    return emulator;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    const { address, port } = this.server.address() as AddressInfo;
    return `mqtt://${address.includes(":") ? `[${address}]` : address}:${port}`;
  }

  get connectedClients(): number {
    return this.broker.connectedClients;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.broker.close(() => resolve()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private install(options: PlatformEmulatorOptions): void {
    const broker = this.broker;
    broker.authenticate = (client, username, password, done) => {
      try {
        const parsed = verifyConnect(
          { clientId: client.id, username: username ?? "", password: password?.toString("utf8") ?? "" },
          (identity) => options.directory.lookupSecret(identity),
          options.verify,
        );
        this.identities.set(client, parsed.identity);
        done(null, true);
      } catch (err) {
        const code: ErrorCode = isTriadkitError(err) ? err.code : "internal.unexpected";
        this.emit("rejected", { code, username });
        const refusal = new Error(`login refused (${code})`) as AuthenticateError;
        refusal.returnCode = code === "triad.bad_client_id" ? IDENTIFIER_REJECTED : BAD_USERNAME_OR_PASSWORD;
        done(refusal, false);
      }
    };
    broker.authorizePublish = (client, packet, callback) => {
      if (client === null) return callback(null); // the platform itself
      const identity = this.identities.get(client);
      callback(identity !== undefined && ownsTopic(identity, packet.topic) ? null : new Error("topic not allowed"));
    };
    broker.authorizeSubscribe = (client, subscription, callback) => {
      const identity = this.identities.get(client);
      callback(null, identity !== undefined && ownsTopic(identity, subscription.topic) ? subscription : null);
    };
    broker.on("clientReady", (client) => {
      const identity = this.identities.get(client);
      if (identity) this.emit("online", identity, client.id);
    });
    broker.on("clientDisconnect", (client) => {
      const identity = this.identities.get(client);
      if (identity) this.emit("offline", identity);
    });
    broker.on("publish", (packet, client) => {
      if (client === null) return;
      const identity = this.identities.get(client);
      if (identity) this.onDevicePublish(identity, packet.topic, new Uint8Array(packet.payload as Buffer));
    });
  }

  private onDevicePublish(identity: DeviceIdentity, topic: string, payload: Uint8Array): void {
    const parsed = tryParseTopic(topic);
    if (parsed === undefined || !("productKey" in parsed)) return;
    const reply = replyTopicOf(topic);
    if (reply === undefined || parsed.kind.endsWith("reply")) return;
    let message: AlinkRequest;
    try {
      message = decodeRequest(payload);
    } catch (err) {
      this.emit("badMessage", { identity, topic, code: isTriadkitError(err) ? err.code : "internal.unexpected" });
      return;
    }
    this.emit("request", { identity, topic, message });
    let code: number = REPLY_CODES.ok;
    try {
      if (parsed.kind === "deviceinfo.update") {
        this.emit("identityReport", { identity, value: decodeIdentityReport(payload).value });
      } else if (
        parsed.kind === "event.post" &&
        ["BindingHeartbeat", "BindingChanged", "SimRemoved"].includes(parsed.identifier)
      ) {
        this.emit("bindingEvent", { identity, value: decodeBindingEvent(payload).value });
      }
    } catch (err) {
      code = REPLY_CODES.badParams;
      this.emit("badMessage", { identity, topic, code: isTriadkitError(err) ? err.code : "internal.unexpected" });
    }
    if (message.sys?.ack === 0) return;
    const body = encodeReply({ id: message.id, code, data: {}, method: message.method, version: "1.0" });
    this.broker.publish(
      { cmd: "publish", topic: reply, payload: Buffer.from(body), qos: 0, retain: false, dup: false },
      () => {},
    );
  }
}

/** A device may use its own Alink topics and its custom `/{pk}/{dn}/user/…` topics, nothing else. */
export function ownsTopic(identity: DeviceIdentity, topicOrFilter: string): boolean {
  const { productKey: pk, deviceName: dn } = identity;
  if (topicOrFilter.startsWith(`/${pk}/${dn}/user/`)) return true;
  const sys = `/sys/${pk}/${dn}/`;
  if (topicOrFilter.startsWith(sys))
    return !topicOrFilter.slice(sys.length).includes("#") || topicOrFilter.endsWith("/#");
  for (const prefix of [`/ext/ntp/${pk}/${dn}/`, `/ext/error/${pk}/${dn}`]) {
    if (topicOrFilter.startsWith(prefix)) return true;
  }
  return /^\/ota\/device\/(inform|upgrade|progress)\//.test(topicOrFilter) && topicOrFilter.endsWith(`/${pk}/${dn}`);
}
