import {
  type AlinkReply,
  buildTopic,
  configPushReplyTopic,
  type DeviceIdentity,
  decodeExtError,
  decodeNtpResponse,
  decodeReply,
  decodeRequest,
  encodeNtpRequest,
  encodeReply,
  isReplyKind,
  isTriadkitError,
  type NtpResponse,
  ntpRequestTopic,
  propertyGetReplyTopic,
  propertySetReplyTopic,
  rrpcResponseTopic,
  serviceReplyTopic,
  TriadkitError,
  thingDeleteReplyTopic,
  thingDisableReplyTopic,
  thingEnableReplyTopic,
  tryParseTopic,
} from "@triadkit/protocol";
import type { Logger } from "../logging/logger.js";
import type { PlatformStatus } from "./device-events.js";

export type PropertySetHandler = (properties: Record<string, unknown>) => void | Promise<void>;
export type PropertyGetHandler = (keys: string[]) => Record<string, unknown> | Promise<Record<string, unknown>>;
/** Returns the service's output (`data`). Throw a `TriadkitError` to answer 460, anything else answers 400. */
export type ServiceHandler = (
  params: unknown,
  context: { readonly name: string; readonly sync: boolean; readonly id: string },
) => unknown | Promise<unknown>;

export interface DownstreamDeps {
  readonly identity: DeviceIdentity;
  readonly log: Logger;
  readonly emit: (event: string, ...args: unknown[]) => boolean;
  readonly publish: (topic: string, payload: Uint8Array) => Promise<void>;
  readonly onReply: (reply: AlinkReply, topic: string) => void;
  readonly onNtp: (sample: NtpResponse) => void;
  readonly onPlatformStatus: (status: PlatformStatus) => void;
  /** The local (uncorrected) clock, for NTP's deviceSendTime. */
  readonly localNowMs: () => number;
}

/** Everything that arrives from the platform: replies, NTP, property set/get, services, control, errors. */
export class Downstream {
  propertySet: PropertySetHandler | undefined;
  propertyGet: PropertyGetHandler | undefined;
  private serviceTable: Map<string, ServiceHandler> | undefined;

  constructor(private readonly deps: DownstreamDeps) {}

  /** The registered service handlers, by name (the map is created on first use: most devices register none). */
  get services(): Map<string, ServiceHandler> {
    this.serviceTable ??= new Map();
    return this.serviceTable;
  }

  requestTime(publish: (topic: string, payload: Uint8Array) => Promise<void>): void {
    const payload = encodeNtpRequest({ deviceSendTime: this.deps.localNowMs() });
    publish(ntpRequestTopic(this.deps.identity), payload).catch(() => undefined);
  }

  handle(topic: string, payload: Uint8Array): void {
    try {
      this.dispatch(topic, payload);
    } catch (err) {
      const error = isTriadkitError(err) ? err : new TriadkitError("internal.unexpected", (err as Error).message);
      this.deps.log.warn({ topic, code: error.code }, "could not handle a downstream message");
      this.deps.emit("badMessage", { topic, error });
    }
  }

  private dispatch(topic: string, payload: Uint8Array): void {
    const parsed = tryParseTopic(topic);
    if (parsed === undefined || !("productKey" in parsed)) return;
    const id = this.deps.identity;
    switch (parsed.kind) {
      case "ntp.response":
        this.deps.onNtp(decodeNtpResponse(payload));
        return;
      case "error": {
        const e = decodeExtError(payload);
        this.deps.emit(
          "platformError",
          new TriadkitError("alink.platform_error", `platform error ${e.code ?? "?"}: ${e.message ?? "(no message)"}`, {
            platformCode: e.code,
            id: e.id,
          }),
        );
        return;
      }
      case "property.set": {
        const req = decodeRequest(payload);
        const props = (req.params ?? {}) as Record<string, unknown>;
        this.deps.emit("propertySet", props);
        this.answer(propertySetReplyTopic(id), req.id, async () => {
          await this.propertySet?.(props);
          return {};
        });
        return;
      }
      case "property.get": {
        const req = decodeRequest(payload);
        const keys = Array.isArray(req.params) ? (req.params as unknown[]).map(String) : [];
        this.answer(propertyGetReplyTopic(id), req.id, async () => (this.propertyGet ? this.propertyGet(keys) : {}));
        return;
      }
      case "service.request": {
        const req = decodeRequest(payload);
        const name = parsed.identifier;
        this.answer(serviceReplyTopic(id, name), req.id, () => this.callService(name, req.params, false, req.id));
        return;
      }
      case "rrpc.request": {
        const req = decodeRequest(payload);
        const name = req.method.replace(/^thing\.service\./, "");
        this.answer(rrpcResponseTopic(id, parsed.messageId), req.id, () =>
          this.callService(name, req.params, true, req.id),
        );
        return;
      }
      case "config.push": {
        const req = decodeRequest(payload);
        this.deps.emit("configPush", req.params);
        this.answer(configPushReplyTopic(id), req.id, async () => ({}));
        return;
      }
      case "thing.disable":
      case "thing.enable":
      case "thing.delete": {
        const req = decodeRequest(payload);
        const reply = {
          "thing.disable": thingDisableReplyTopic,
          "thing.enable": thingEnableReplyTopic,
          "thing.delete": thingDeleteReplyTopic,
        }[parsed.kind](id);
        this.answer(reply, req.id, async () => ({}));
        const status = ({ "thing.disable": "disabled", "thing.enable": "enabled", "thing.delete": "deleted" } as const)[
          parsed.kind
        ];
        this.deps.onPlatformStatus(status);
        return;
      }
      default:
        if (isReplyKind(parsed.kind)) this.deps.onReply(decodeReply(payload), buildTopic(parsed));
    }
  }

  private async callService(name: string, params: unknown, sync: boolean, requestId: string): Promise<unknown> {
    const handler = this.serviceTable?.get(name);
    if (handler === undefined) {
      throw new TriadkitError("alink.bad_payload", `no handler for service ${name}`, { service: name });
    }
    return handler(params, { name, sync, id: requestId });
  }

  /** Runs `work` and publishes `{id, code, data}`: 200, 460 for a coded error, 400 for anything else. */
  private answer(topic: string, requestId: string, work: () => Promise<unknown>): void {
    work().then(
      (data) => this.reply(topic, requestId, 200, data ?? {}),
      (err: unknown) => {
        const coded = isTriadkitError(err);
        this.deps.log.warn({ topic, code: coded ? err.code : "internal.unexpected" }, "handler failed");
        this.reply(topic, requestId, coded ? 460 : 400, {}, coded ? err.message : "device handler failed");
      },
    );
  }

  private reply(topic: string, requestId: string, code: number, data: unknown, message?: string): void {
    const body = encodeReply({ id: requestId, code, data, ...(message === undefined ? {} : { message }) });
    this.deps.publish(topic, body).catch((err: unknown) => {
      this.deps.log.warn({ topic, err: (err as Error).message }, "could not send a reply");
    });
  }
}
