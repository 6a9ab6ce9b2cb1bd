/** Platform → device requests: services (async and RRPC), property set/get, and lifecycle notices. */
import {
  type AlinkReply,
  createIdGenerator,
  type DeviceIdentity,
  encodeRequest,
  propertyGetReplyTopic,
  propertyGetTopic,
  propertySetReplyTopic,
  propertySetTopic,
  rrpcRequestTopic,
  rrpcResponseTopic,
  serviceReplyTopic,
  serviceTopic,
  TriadkitError,
} from "@triadkit/protocol";
import type { CallOptions, InvokeOptions } from "./options.js";
import type { PendingReplies } from "./pending-replies.js";

export interface CloudCallDeps {
  readonly pending: PendingReplies;
  readonly publish: (topic: string, payload: Uint8Array) => void;
  readonly isOnline: (identity: DeviceIdentity) => boolean;
  readonly isClosed: () => boolean;
  readonly replyTimeoutMs: number;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class CloudCalls {
  private readonly ids = createIdGenerator();

  constructor(private readonly deps: CloudCallDeps) {}

  async invokeService(
    identity: DeviceIdentity,
    name: string,
    params: Record<string, unknown>,
    options: InvokeOptions = {},
  ): Promise<AlinkReply> {
    const asyncTopic = serviceTopic(identity, name); // validates the name for both paths
    const method = `thing.service.${name}`;
    if (!options.sync)
      return this.call(identity, asyncTopic, serviceReplyTopic(identity, name), method, params, options);
    const messageId = this.ids.next();
    const request = rrpcRequestTopic(identity, messageId);
    return this.call(identity, request, rrpcResponseTopic(identity, messageId), method, params, options, messageId);
  }

  setProperty(
    identity: DeviceIdentity,
    props: Record<string, unknown>,
    options: CallOptions = {},
  ): Promise<AlinkReply> {
    const method = "thing.service.property.set";
    return this.call(identity, propertySetTopic(identity), propertySetReplyTopic(identity), method, props, options);
  }

  async getProperty(
    identity: DeviceIdentity,
    names: readonly string[],
    options: CallOptions = {},
  ): Promise<AlinkReply> {
    const method = "thing.service.property.get";
    return this.call(
      identity,
      propertyGetTopic(identity),
      propertyGetReplyTopic(identity),
      method,
      [...names],
      options,
    );
  }

  /**
   * Sends a request with empty params (`thing.disable`, `thing.enable`, `thing.delete`) and waits for the device's
   * `_reply` or `graceMs` of real time, whichever comes first. Never throws for a silent device.
   */
  async notify(topic: string, replyTopic: string, method: string, graceMs: number) {
    const id = this.ids.next();
    const answered = this.deps.pending.wait(replyTopic, id, graceMs).catch(() => undefined);
    this.deps.publish(topic, encodeRequest({ id, params: {}, method }));
    await Promise.race([answered, delay(graceMs)]);
  }

  private async call(
    identity: DeviceIdentity,
    topic: string,
    replyTopic: string,
    method: string,
    params: object,
    options: CallOptions,
    id: string = this.ids.next(),
  ): Promise<AlinkReply> {
    if (this.deps.isClosed()) throw new TriadkitError("emulator.closed", "the platform emulator was closed");
    if (!this.deps.isOnline(identity)) {
      throw new TriadkitError("emulator.device_offline", "the device has no live session", {
        productKey: identity.productKey,
        deviceName: identity.deviceName,
      });
    }
    const body = encodeRequest({ id, params, method });
    const answered = this.deps.pending.wait(replyTopic, id, options.timeoutMs ?? this.deps.replyTimeoutMs);
    this.deps.publish(topic, body);
    return answered;
  }
}
