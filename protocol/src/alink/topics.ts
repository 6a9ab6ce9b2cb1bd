/**
 * Alink MQTT topics: typed builders, a parser returning a discriminated union, the subscription filters a
 * device needs, and request → reply topic mapping.
 *
 * Topic families (productKey = pk, deviceName = dn):
 * - `/sys/{pk}/{dn}/thing/...`: thing model (properties, events, services), deviceinfo tags, remote config,
 *   OTA firmware pull and lifecycle (disable/enable/delete), each request with a `_reply` topic;
 * - `/sys/{pk}/{dn}/rrpc/request/{messageId}` and `/rrpc/response/{messageId}` (synchronous services);
 * - `/ext/ntp/{pk}/{dn}/request|response`, `/ext/error/{pk}/{dn}`;
 * - `/ota/device/inform|upgrade|progress/{pk}/{dn}`;
 * - `/ext/register` and `/ext/regnwl`: dynamic-registration results, the only topics without a device.
 *
 * Segment rule: every topic level must be non-empty and contain no `/`, `+`, `#` or U+0000 (MQTT 3.1.1 §4.7).
 * Product keys and device names are not checked further here; the triad module owns their formats.
 * Event and service identifiers must be TSL identifiers ({@link TSL_IDENTIFIER_PATTERN}); `property` is
 * refused (it is the property post/set/get path) and so is a service identifier ending in `_reply`
 * (its topic would read as the reply of another service). These rules make build → parse → build lossless.
 */

import { fail } from "../errors.js";
import type { DeviceIdentity } from "../triad/alibaba.js";

/** The two parts of a triad that address a device in a topic (the triad module's `DeviceIdentity`). */
export type DeviceRef = DeviceIdentity;

/** `/sys/{pk}/{dn}/` topics whose remainder is fixed, keyed by kind. */
const SYS_PATHS = {
  "property.post": "thing/event/property/post",
  "property.post_reply": "thing/event/property/post_reply",
  "property.set": "thing/service/property/set",
  "property.set_reply": "thing/service/property/set_reply",
  "property.get": "thing/service/property/get",
  "property.get_reply": "thing/service/property/get_reply",
  "deviceinfo.update": "thing/deviceinfo/update",
  "deviceinfo.update_reply": "thing/deviceinfo/update_reply",
  "deviceinfo.delete": "thing/deviceinfo/delete",
  "deviceinfo.delete_reply": "thing/deviceinfo/delete_reply",
  "config.get": "thing/config/get",
  "config.get_reply": "thing/config/get_reply",
  "config.push": "thing/config/push",
  "config.push_reply": "thing/config/push_reply",
  "ota.firmware_get": "thing/ota/firmware/get",
  "ota.firmware_get_reply": "thing/ota/firmware/get_reply",
  "thing.disable": "thing/disable",
  "thing.disable_reply": "thing/disable_reply",
  "thing.enable": "thing/enable",
  "thing.enable_reply": "thing/enable_reply",
  "thing.delete": "thing/delete",
  "thing.delete_reply": "thing/delete_reply",
} as const;

/** `/ext/ntp/{pk}/{dn}/…`, `/ext/error/{pk}/{dn}` and `/ota/device/{op}/{pk}/{dn}` kinds. */
const EXT_DEVICE_KINDS = ["ntp.request", "ntp.response", "error", "ota.inform", "ota.upgrade", "ota.progress"] as const;

export type SysTopicKind = keyof typeof SYS_PATHS;
export type ExtDeviceTopicKind = (typeof EXT_DEVICE_KINDS)[number];

/** A topic fully determined by its kind and device. */
export interface PlainTopic extends DeviceRef {
  readonly kind: SysTopicKind | ExtDeviceTopicKind;
}

/** Event post (`thing/event/{identifier}/post`) and service (`thing/service/{identifier}`) topics. */
export interface IdentifierTopic extends DeviceRef {
  readonly kind: "event.post" | "event.post_reply" | "service.request" | "service.reply";
  readonly identifier: string;
}

/** RRPC topics; `messageId` is the platform's id from the request topic, echoed in the response topic. */
export interface RrpcTopic extends DeviceRef {
  readonly kind: "rrpc.request" | "rrpc.response";
  readonly messageId: string;
}

/** Dynamic-registration result topics: `/ext/register` (pre-registered) and `/ext/regnwl` (without). */
export interface RegistrationTopic {
  readonly kind: "register" | "regnwl";
}

/** Every topic {@link parseTopic} understands. Discriminated by `kind`. */
export type AlinkTopic = PlainTopic | IdentifierTopic | RrpcTopic | RegistrationTopic;
export type AlinkTopicKind = AlinkTopic["kind"];
/** Topics addressed to one device (all but the registration topics). */
export type DeviceTopic = Exclude<AlinkTopic, RegistrationTopic>;

/** TSL identifier, optionally prefixed by a custom module id (`module:identifier`): letters, digits, `_`. */
export const TSL_IDENTIFIER_PATTERN = /^(?:[A-Za-z0-9_]{1,30}:)?[A-Za-z0-9_]{1,50}$/;

const REPLY_SUFFIX = "_reply";

// ---------------------------------------------------------------------------------------------------------------
// Validation

function badTopic(message: string, context?: Record<string, unknown>): never {
  return fail("alink.bad_topic", message, context);
}

/** True when `segment` may be one MQTT topic level of a topic name (not a filter). */
export function isValidTopicSegment(segment: string): boolean {
  return typeof segment === "string" && segment.length > 0 && !/[/+#\u0000]/.test(segment);
}

function checkSegment(value: unknown, field: string): string {
  if (typeof value !== "string" || !isValidTopicSegment(value)) {
    badTopic(`${field} must be a non-empty topic level without '/', '+', '#' or NUL`, { field });
  }
  return value;
}

function checkIdentifier(value: unknown, kind: IdentifierTopic["kind"]): string {
  if (typeof value !== "string" || !TSL_IDENTIFIER_PATTERN.test(value)) {
    badTopic(`${kind} identifier must be a TSL identifier (letters, digits, '_', optional 'module:' prefix)`, {
      kind,
    });
  }
  if (value === "property") badTopic(`"property" is reserved and cannot be an ${kind} identifier`, { kind });
  if (kind.startsWith("service.") && value.endsWith(REPLY_SUFFIX)) {
    badTopic(`a service identifier cannot end in "${REPLY_SUFFIX}"`, { kind });
  }
  return value;
}

function sysPrefix(device: DeviceRef): string {
  return `/sys/${checkSegment(device.productKey, "productKey")}/${checkSegment(device.deviceName, "deviceName")}`;
}

function deviceSuffix(device: DeviceRef): string {
  return `${checkSegment(device.productKey, "productKey")}/${checkSegment(device.deviceName, "deviceName")}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Building

/** Builds the topic string of any {@link AlinkTopic}; the inverse of {@link parseTopic}. Throws `alink.bad_topic`. */
export function buildTopic(topic: AlinkTopic): string {
  switch (topic.kind) {
    case "register":
      return "/ext/register";
    case "regnwl":
      return "/ext/regnwl";
    case "event.post":
      return `${sysPrefix(topic)}/thing/event/${checkIdentifier(topic.identifier, topic.kind)}/post`;
    case "event.post_reply":
      return `${sysPrefix(topic)}/thing/event/${checkIdentifier(topic.identifier, topic.kind)}/post_reply`;
    case "service.request":
      return `${sysPrefix(topic)}/thing/service/${checkIdentifier(topic.identifier, topic.kind)}`;
    case "service.reply":
      return `${sysPrefix(topic)}/thing/service/${checkIdentifier(topic.identifier, topic.kind)}${REPLY_SUFFIX}`;
    case "rrpc.request":
      return `${sysPrefix(topic)}/rrpc/request/${checkSegment(topic.messageId, "messageId")}`;
    case "rrpc.response":
      return `${sysPrefix(topic)}/rrpc/response/${checkSegment(topic.messageId, "messageId")}`;
    case "ntp.request":
      return `/ext/ntp/${deviceSuffix(topic)}/request`;
    case "ntp.response":
      return `/ext/ntp/${deviceSuffix(topic)}/response`;
    case "error":
      return `/ext/error/${deviceSuffix(topic)}`;
    case "ota.inform":
      return `/ota/device/inform/${deviceSuffix(topic)}`;
    case "ota.upgrade":
      return `/ota/device/upgrade/${deviceSuffix(topic)}`;
    case "ota.progress":
      return `/ota/device/progress/${deviceSuffix(topic)}`;
    default: {
      const kind: SysTopicKind = topic.kind;
      const path = (SYS_PATHS as Record<string, string | undefined>)[kind];
      if (path === undefined) return badTopic("unknown topic kind", { kind: String(kind) });
      return `${sysPrefix(topic)}/${path}`;
    }
  }
}

const plain =
  (kind: PlainTopic["kind"]) =>
  (device: DeviceRef): string =>
    buildTopic({ kind, productKey: device.productKey, deviceName: device.deviceName });

/** `/sys/{pk}/{dn}/thing/event/property/post` */
export const propertyPostTopic = plain("property.post");
/** `/sys/{pk}/{dn}/thing/event/property/post_reply` */
export const propertyPostReplyTopic = plain("property.post_reply");
/** `/sys/{pk}/{dn}/thing/service/property/set` */
export const propertySetTopic = plain("property.set");
/** `/sys/{pk}/{dn}/thing/service/property/set_reply` */
export const propertySetReplyTopic = plain("property.set_reply");
/** `/sys/{pk}/{dn}/thing/service/property/get` */
export const propertyGetTopic = plain("property.get");
/** `/sys/{pk}/{dn}/thing/service/property/get_reply` */
export const propertyGetReplyTopic = plain("property.get_reply");
/** `/sys/{pk}/{dn}/thing/deviceinfo/update` */
export const deviceinfoUpdateTopic = plain("deviceinfo.update");
/** `/sys/{pk}/{dn}/thing/deviceinfo/update_reply` */
export const deviceinfoUpdateReplyTopic = plain("deviceinfo.update_reply");
/** `/sys/{pk}/{dn}/thing/deviceinfo/delete` */
export const deviceinfoDeleteTopic = plain("deviceinfo.delete");
/** `/sys/{pk}/{dn}/thing/deviceinfo/delete_reply` */
export const deviceinfoDeleteReplyTopic = plain("deviceinfo.delete_reply");
/** `/sys/{pk}/{dn}/thing/config/get` */
export const configGetTopic = plain("config.get");
/** `/sys/{pk}/{dn}/thing/config/get_reply` */
export const configGetReplyTopic = plain("config.get_reply");
/** `/sys/{pk}/{dn}/thing/config/push` */
export const configPushTopic = plain("config.push");
/** `/sys/{pk}/{dn}/thing/config/push_reply` */
export const configPushReplyTopic = plain("config.push_reply");
/** `/sys/{pk}/{dn}/thing/ota/firmware/get` */
export const otaFirmwareGetTopic = plain("ota.firmware_get");
/** `/sys/{pk}/{dn}/thing/ota/firmware/get_reply` */
export const otaFirmwareGetReplyTopic = plain("ota.firmware_get_reply");
/** `/sys/{pk}/{dn}/thing/disable` */
export const thingDisableTopic = plain("thing.disable");
/** `/sys/{pk}/{dn}/thing/disable_reply` */
export const thingDisableReplyTopic = plain("thing.disable_reply");
/** `/sys/{pk}/{dn}/thing/enable` */
export const thingEnableTopic = plain("thing.enable");
/** `/sys/{pk}/{dn}/thing/enable_reply` */
export const thingEnableReplyTopic = plain("thing.enable_reply");
/** `/sys/{pk}/{dn}/thing/delete` */
export const thingDeleteTopic = plain("thing.delete");
/** `/sys/{pk}/{dn}/thing/delete_reply` */
export const thingDeleteReplyTopic = plain("thing.delete_reply");
/** `/ext/ntp/{pk}/{dn}/request` */
export const ntpRequestTopic = plain("ntp.request");
/** `/ext/ntp/{pk}/{dn}/response` */
export const ntpResponseTopic = plain("ntp.response");
/** `/ext/error/{pk}/{dn}` */
export const extErrorTopic = plain("error");
/** `/ota/device/inform/{pk}/{dn}` */
export const otaInformTopic = plain("ota.inform");
/** `/ota/device/upgrade/{pk}/{dn}` */
export const otaUpgradeTopic = plain("ota.upgrade");
/** `/ota/device/progress/{pk}/{dn}` */
export const otaProgressTopic = plain("ota.progress");

/** `/sys/{pk}/{dn}/thing/event/{identifier}/post` */
export function eventPostTopic(device: DeviceRef, identifier: string): string {
  return buildTopic({ kind: "event.post", productKey: device.productKey, deviceName: device.deviceName, identifier });
}

/** `/sys/{pk}/{dn}/thing/event/{identifier}/post_reply` */
export function eventPostReplyTopic(device: DeviceRef, identifier: string): string {
  const { productKey, deviceName } = device;
  return buildTopic({ kind: "event.post_reply", productKey, deviceName, identifier });
}

/** `/sys/{pk}/{dn}/thing/service/{identifier}` (asynchronous service call, cloud → device) */
export function serviceTopic(device: DeviceRef, identifier: string): string {
  const { productKey, deviceName } = device;
  return buildTopic({ kind: "service.request", productKey, deviceName, identifier });
}

/** `/sys/{pk}/{dn}/thing/service/{identifier}_reply` */
export function serviceReplyTopic(device: DeviceRef, identifier: string): string {
  const { productKey, deviceName } = device;
  return buildTopic({ kind: "service.reply", productKey, deviceName, identifier });
}

/** `/sys/{pk}/{dn}/rrpc/request/{messageId}` */
export function rrpcRequestTopic(device: DeviceRef, messageId: string): string {
  const { productKey, deviceName } = device;
  return buildTopic({ kind: "rrpc.request", productKey, deviceName, messageId });
}

/** `/sys/{pk}/{dn}/rrpc/response/{messageId}` */
export function rrpcResponseTopic(device: DeviceRef, messageId: string): string {
  const { productKey, deviceName } = device;
  return buildTopic({ kind: "rrpc.response", productKey, deviceName, messageId });
}

/** `/ext/register` (`authType=register`) or `/ext/regnwl` (`authType=regnwl`). */
export function registrationResultTopic(authType: "register" | "regnwl"): string {
  if (authType !== "register" && authType !== "regnwl") badTopic("authType must be register or regnwl");
  return buildTopic({ kind: authType });
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing

const SYS_BY_PATH: ReadonlyMap<string, SysTopicKind> = new Map(
  Object.entries(SYS_PATHS).map(([kind, path]) => [path, kind as SysTopicKind]),
);

const OTA_OPS: Readonly<Record<string, PlainTopic["kind"] | undefined>> = {
  inform: "ota.inform",
  upgrade: "ota.upgrade",
  progress: "ota.progress",
};

function parseSys(levels: readonly string[], device: DeviceRef): DeviceTopic | undefined {
  const { productKey, deviceName } = device;
  const sysKind = SYS_BY_PATH.get(levels.join("/"));
  if (sysKind !== undefined) return { kind: sysKind, productKey, deviceName };
  const [a, b, c, d, ...extra] = levels;
  if (extra.length > 0 || a === undefined || b === undefined || c === undefined) return undefined;
  if (a === "thing" && b === "event" && (d === "post" || d === "post_reply")) {
    const kind = d === "post" ? "event.post" : "event.post_reply";
    return { kind, productKey, deviceName, identifier: checkIdentifier(c, kind) };
  }
  if (a === "thing" && b === "service" && d === undefined) {
    if (c.endsWith(REPLY_SUFFIX)) {
      const identifier = checkIdentifier(c.slice(0, -REPLY_SUFFIX.length), "service.reply");
      return { kind: "service.reply", productKey, deviceName, identifier };
    }
    return { kind: "service.request", productKey, deviceName, identifier: checkIdentifier(c, "service.request") };
  }
  if (a === "rrpc" && d === undefined && (b === "request" || b === "response")) {
    return { kind: b === "request" ? "rrpc.request" : "rrpc.response", productKey, deviceName, messageId: c };
  }
  return undefined;
}

/**
 * Parses an Alink topic name into its kind and fields. Throws `alink.bad_topic` for anything else, including
 * wildcards (a filter is not a topic), empty levels, a trailing `/` and unknown paths.
 */
export function parseTopic(topic: string): AlinkTopic {
  if (typeof topic !== "string") return badTopic("topic must be a string");
  if (topic.length > 65535) return badTopic("topic is longer than MQTT allows", { length: topic.length });
  const levels = topic.split("/");
  if (levels[0] !== "" || levels.length < 3) return badTopic("not an Alink topic", { topic: clip(topic) });
  const rest = levels.slice(1);
  for (const level of rest) {
    if (!isValidTopicSegment(level)) {
      return badTopic("topic levels must be non-empty, without wildcards or NUL", { topic: clip(topic) });
    }
  }
  const [root, l2, l3, l4, l5, ...tail] = rest;
  let parsed: AlinkTopic | undefined;
  if (root === "sys" && l2 !== undefined && l3 !== undefined && l4 !== undefined) {
    parsed = parseSys([l4, ...(l5 === undefined ? [] : [l5]), ...tail], { productKey: l2, deviceName: l3 });
  } else if (root === "ext") {
    if ((l2 === "register" || l2 === "regnwl") && l3 === undefined) parsed = { kind: l2 };
    else if (l2 === "error" && l3 !== undefined && l4 !== undefined && l5 === undefined) {
      parsed = { kind: "error", productKey: l3, deviceName: l4 };
    } else if (l2 === "ntp" && l3 !== undefined && l4 !== undefined && tail.length === 0) {
      if (l5 === "request") parsed = { kind: "ntp.request", productKey: l3, deviceName: l4 };
      else if (l5 === "response") parsed = { kind: "ntp.response", productKey: l3, deviceName: l4 };
    }
  } else if (root === "ota" && l2 === "device" && l3 !== undefined && l4 !== undefined && l5 !== undefined) {
    const kind = OTA_OPS[l3];
    if (kind !== undefined && tail.length === 0) parsed = { kind, productKey: l4, deviceName: l5 };
  }
  if (parsed === undefined) return badTopic("unknown Alink topic", { topic: clip(topic) });
  return parsed;
}

/** Like {@link parseTopic} but returns `undefined` instead of throwing. */
export function tryParseTopic(topic: string): AlinkTopic | undefined {
  try {
    return parseTopic(topic);
  } catch {
    return undefined;
  }
}

function clip(topic: string): string {
  return topic.length > 200 ? `${topic.slice(0, 200)}…` : topic;
}

// ---------------------------------------------------------------------------------------------------------------
// Replies

const REPLY_OF: Partial<Record<AlinkTopicKind, AlinkTopicKind>> = {
  "property.post": "property.post_reply",
  "property.set": "property.set_reply",
  "property.get": "property.get_reply",
  "deviceinfo.update": "deviceinfo.update_reply",
  "deviceinfo.delete": "deviceinfo.delete_reply",
  "config.get": "config.get_reply",
  "config.push": "config.push_reply",
  "ota.firmware_get": "ota.firmware_get_reply",
  "thing.disable": "thing.disable_reply",
  "thing.enable": "thing.enable_reply",
  "thing.delete": "thing.delete_reply",
  "ntp.request": "ntp.response",
  "event.post": "event.post_reply",
  "service.request": "service.reply",
  "rrpc.request": "rrpc.response",
};

/**
 * The parsed reply topic for a parsed request topic, or `undefined` when the kind has no reply
 * (replies themselves, OTA inform/upgrade/progress, `/ext/error`, registration results).
 */
export function replyOf(request: AlinkTopic): AlinkTopic | undefined {
  const kind = REPLY_OF[request.kind];
  if (kind === undefined) return undefined;
  return { ...request, kind } as AlinkTopic;
}

/**
 * The reply topic for a request topic: `…/post` → `…/post_reply`, `thing/service/{id}` → `…/{id}_reply`,
 * `rrpc/request/{mid}` → `rrpc/response/{mid}`, `/ext/ntp/…/request` → `…/response`, and so on.
 * Returns `undefined` when the topic is an Alink topic without a reply; throws `alink.bad_topic` when it is not
 * an Alink topic at all.
 */
export function replyTopicOf(requestTopic: string): string | undefined {
  const reply = replyOf(parseTopic(requestTopic));
  return reply === undefined ? undefined : buildTopic(reply);
}

/** True for kinds that answer a request (`*_reply`, `rrpc.response`, `ntp.response`). */
export function isReplyKind(kind: AlinkTopicKind): boolean {
  return (Object.values(REPLY_OF) as AlinkTopicKind[]).includes(kind);
}

// ---------------------------------------------------------------------------------------------------------------
// Subscriptions

/** Which downstream topic groups a device subscribes to; every group defaults to on. */
export interface SubscriptionOptions {
  /** Replies to property and event posts: `thing/event/+/post_reply` (also matches `property/post_reply`). */
  readonly eventReplies?: boolean;
  /** `thing/service/property/set` and `thing/service/property/get`. */
  readonly properties?: boolean;
  /** Asynchronous services `thing/service/+` and synchronous `rrpc/request/+`. */
  readonly services?: boolean;
  /** `thing/deviceinfo/update_reply` and `delete_reply`. */
  readonly deviceinfo?: boolean;
  /** `thing/config/get_reply` and `thing/config/push`. */
  readonly config?: boolean;
  /** `/ext/ntp/{pk}/{dn}/response`. */
  readonly ntp?: boolean;
  /** `/ota/device/upgrade/{pk}/{dn}` and `thing/ota/firmware/get_reply`. */
  readonly ota?: boolean;
  /** `thing/disable`, `thing/enable`, `thing/delete`. */
  readonly lifecycle?: boolean;
  /** `/ext/error/{pk}/{dn}`. */
  readonly errors?: boolean;
}

/** `/sys/{pk}/{dn}/thing/event/+/post_reply`: replies to every event post, property post included. */
export function eventPostReplyFilter(device: DeviceRef): string {
  return `${sysPrefix(device)}/thing/event/+/post_reply`;
}

/**
 * `/sys/{pk}/{dn}/thing/service/+`: every asynchronous service call. It also matches the device's own
 * `{id}_reply` publishes if the broker echoes them; {@link parseTopic} tells them apart (`service.reply`).
 */
export function serviceRequestFilter(device: DeviceRef): string {
  return `${sysPrefix(device)}/thing/service/+`;
}

/** `/sys/{pk}/{dn}/rrpc/request/+`: synchronous (RRPC) service calls. */
export function rrpcRequestFilter(device: DeviceRef): string {
  return `${sysPrefix(device)}/rrpc/request/+`;
}

/**
 * The subscription filters a directly connected device needs, in a stable order. `+` is used only where a
 * level is an open set (event ids, service ids, RRPC message ids); `#` is never used.
 */
export function deviceSubscriptionFilters(device: DeviceRef, options: SubscriptionOptions = {}): string[] {
  const on = (group: keyof SubscriptionOptions): boolean => options[group] ?? true;
  const out: string[] = [];
  if (on("eventReplies")) out.push(eventPostReplyFilter(device));
  if (on("properties")) out.push(propertySetTopic(device), propertyGetTopic(device));
  if (on("services")) out.push(serviceRequestFilter(device), rrpcRequestFilter(device));
  if (on("deviceinfo")) out.push(deviceinfoUpdateReplyTopic(device), deviceinfoDeleteReplyTopic(device));
  if (on("config")) out.push(configGetReplyTopic(device), configPushTopic(device));
  if (on("ntp")) out.push(ntpResponseTopic(device));
  if (on("ota")) out.push(otaUpgradeTopic(device), otaFirmwareGetReplyTopic(device));
  if (on("lifecycle")) out.push(thingDisableTopic(device), thingEnableTopic(device), thingDeleteTopic(device));
  if (on("errors")) out.push(extErrorTopic(device));
  return out;
}

/**
 * MQTT 3.1.1 topic-filter matching (§4.7): `+` matches one level, a trailing `#` matches the parent and any
 * number of levels. Filters and topics starting with `$` are not special-cased (Alink has none).
 */
export function topicMatchesFilter(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === "#") return i === f.length - 1;
    if (i >= t.length) return false;
    if (level !== "+" && level !== t[i]) return false;
  }
  return f.length === t.length;
}
