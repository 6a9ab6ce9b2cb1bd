/**
 * What the platform does with a message a device published: record it, apply the rate limit, answer NTP, hand
 * replies to the calls waiting for them, and answer every Alink request on its reply topic (200; 460 when a
 * payload does not decode; 429 over the rate limit).
 */
import {
  type AlinkRequest,
  type DeviceIdentity,
  decodeBindingEvent,
  decodeIdentityReport,
  decodeNtpRequest,
  decodeRequest,
  type ErrorCode,
  encodeNtpResponse,
  encodeReply,
  isReplyKind,
  isTriadkitError,
  ntpResponseTopic,
  REPLY_CODES,
  replyTopicOf,
  tryParseTopic,
} from "@triadkit/protocol";
import type { Clock } from "@triadkit/sdk";
import { deviceKey } from "./device-directory.js";
import type { MessageLog } from "./message-log.js";
import type { EmulatorLogger, PlatformEmulatorEvents } from "./options.js";
import { decodeDeviceReply, type PendingReplies } from "./pending-replies.js";
import type { RateLimiter } from "./rate-limit.js";

const BINDING_IDENTIFIERS = new Set(["BindingHeartbeat", "BindingChanged", "SimRemoved"]);

export interface InboxDeps {
  readonly clock: Clock;
  readonly log: MessageLog;
  readonly pending: PendingReplies;
  readonly limiter: RateLimiter | undefined;
  readonly logger: EmulatorLogger;
  readonly emit: <K extends keyof PlatformEmulatorEvents>(event: K, ...args: PlatformEmulatorEvents[K]) => void;
  /** Publishes as the platform (QoS 0, not retained). */
  readonly publish: (topic: string, payload: Uint8Array) => void;
}

function codeOf(err: unknown): ErrorCode {
  return isTriadkitError(err) ? err.code : "internal.unexpected";
}

export class DeviceInbox {
  constructor(private readonly deps: InboxDeps) {}

  receive(identity: DeviceIdentity, clientId: string, topic: string, payload: Uint8Array): void {
    const { deps } = this;
    const receivedAtMs = deps.clock.nowMs();
    const limited = deps.limiter !== undefined && !deps.limiter.allow(deviceKey(identity));
    deps.log.push({ identity, clientId, topic, payload, receivedAtMs, rateLimited: limited });
    if (limited) {
      this.refuseOverLimit(identity, clientId, topic, payload);
      return;
    }

    const parsed = tryParseTopic(topic);
    // Custom `/{pk}/{dn}/user/…` and shadow topics are recorded only.
    if (parsed === undefined || !("productKey" in parsed)) return;
    if (parsed.kind === "ntp.request") {
      this.answerNtp(identity, topic, payload, receivedAtMs);
    } else if (isReplyKind(parsed.kind)) {
      this.takeReply(identity, topic, payload);
    } else {
      const reply = replyTopicOf(topic);
      if (reply !== undefined) this.answerRequest(identity, topic, reply, payload, parsed);
    }
  }

  private refuseOverLimit(identity: DeviceIdentity, clientId: string, topic: string, payload: Uint8Array): void {
    this.deps.emit("rateLimited", { identity, clientId, topic });
    this.deps.logger.warn(
      { event: "rateLimited", productKey: identity.productKey, deviceName: identity.deviceName, topic },
      "message over the device's rate limit",
    );
    const parsed = tryParseTopic(topic);
    const reply =
      parsed !== undefined && "productKey" in parsed && !isReplyKind(parsed.kind) ? safeReply(topic) : undefined;
    if (reply === undefined || parsed?.kind === "ntp.request") return;
    let message: AlinkRequest;
    try {
      message = decodeRequest(payload);
    } catch {
      return;
    }
    if (message.sys?.ack === 0) return;
    this.reply(reply, message, REPLY_CODES.tooFrequent, "request too frequent");
  }

  private answerNtp(identity: DeviceIdentity, topic: string, payload: Uint8Array, serverRecvTime: number): void {
    let deviceSendTime: number;
    try {
      deviceSendTime = decodeNtpRequest(payload).deviceSendTime;
    } catch (err) {
      this.deps.emit("badMessage", { identity, topic, code: codeOf(err) });
      return;
    }
    const serverSendTime = Math.max(serverRecvTime, this.deps.clock.nowMs());
    this.deps.publish(
      ntpResponseTopic(identity),
      encodeNtpResponse({ deviceSendTime, serverRecvTime, serverSendTime }),
    );
  }

  private takeReply(identity: DeviceIdentity, topic: string, payload: Uint8Array): void {
    const reply = decodeDeviceReply(payload);
    if (reply === undefined) {
      this.deps.emit("badMessage", { identity, topic, code: "alink.bad_payload" });
      return;
    }
    this.deps.pending.settle(topic, reply);
  }

  private answerRequest(
    identity: DeviceIdentity,
    topic: string,
    replyTopic: string,
    payload: Uint8Array,
    parsed: { kind: string; identifier?: string },
  ): void {
    let message: AlinkRequest;
    try {
      message = decodeRequest(payload);
    } catch (err) {
      this.deps.emit("badMessage", { identity, topic, code: codeOf(err) });
      return;
    }
    this.deps.emit("request", { identity, topic, message });
    let code: number = REPLY_CODES.ok;
    try {
      // A tag update is an identity report when it carries identity tags; other tags (a shelf's codes) are plain.
      if (parsed.kind === "deviceinfo.update" && hasIdentityTags(message.params)) {
        const value = decodeIdentityReport(payload).value;
        this.deps.emit("identityReport", { identity, value });
      } else if (parsed.kind === "event.post" && BINDING_IDENTIFIERS.has(parsed.identifier ?? "")) {
        const value = decodeBindingEvent(payload).value;
        this.deps.emit("bindingEvent", { identity, value });
      }
    } catch (err) {
      code = REPLY_CODES.badParams;
      this.deps.emit("badMessage", { identity, topic, code: codeOf(err) });
    }
    if (message.sys?.ack === 0) return;
    this.reply(replyTopic, message, code, code === REPLY_CODES.ok ? "success" : "request parameter error");
  }

  private reply(topic: string, message: AlinkRequest, code: number, text: string): void {
    const body = encodeReply({ id: message.id, code, data: {}, message: text, method: message.method, version: "1.0" });
    this.deps.publish(topic, body);
  }
}

const IDENTITY_TAGS: readonly string[] = ["imei", "iccid", "imsi", "modem"];

function hasIdentityTags(params: unknown): boolean {
  return (
    Array.isArray(params) &&
    params.some((p) => IDENTITY_TAGS.includes((p as { attrKey?: unknown } | null)?.attrKey as string))
  );
}

function safeReply(topic: string): string | undefined {
  try {
    return replyTopicOf(topic);
  } catch {
    return undefined;
  }
}
