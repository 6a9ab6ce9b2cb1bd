/**
 * triadkit's own messages, carried on the platform's generic mechanisms (neither SDK has machine-card binding):
 *
 * - Identity self-report: a `thing.deviceinfo.update` tag list `[{attrKey, attrValue}, …]` with the keys
 *   {@link IDENTITY_ATTR_KEYS}, published on `/sys/{pk}/{dn}/thing/deviceinfo/update`.
 * - Binding events, posted as TSL events on `/sys/{pk}/{dn}/thing/event/{identifier}/post` with method
 *   `thing.event.{identifier}.post` and the platform's event params shape `{"value":{…fields},"time":<ms>}`;
 *   the event timestamp `ts` travels as `time`, not inside `value`. The TSL that declares them is
 *   `docs/tsl-binding.json`.
 *
 * Field rules (checked on encode and decode alike, so whatever encodes also decodes):
 * - `imei`, `iccid`, `imsi`, `lastIccid`: 1–32 ASCII letters or digits. Only the charset and length are checked
 *   here; check digits and structure belong to the identifier module.
 * - `bootId`: 1–64 of letters, digits, `_`, `-` (e.g. a UUID or a hex nonce drawn at boot).
 * - `epoch`, `seq`, `uptimeS`: integers in [0, 2^31 - 1], the range of a TSL `int`.
 * - `rssiDbm`: an integer in [-150, 0], optional.
 * - `ts`: milliseconds since the Unix epoch, a non-negative safe integer.
 * Decoders tolerate unknown extra members (newer firmware may add fields) and drop them.
 */

import type { AlinkSys } from "./envelope.js";
import { decodeRequestFor, requestObject } from "./envelope.js";
import {
  badField,
  encodeJson,
  type IntegerRule,
  isJsonObject,
  JsonReader,
  NON_NEGATIVE,
  type StringRule,
} from "./json.js";
import { type DeviceRef, eventPostTopic } from "./topics.js";

/** Options for the request envelope of a carrier message. */
export interface CarrierOptions {
  /** `sys.ack`: 0 asks the platform not to reply. Omitted by default (the platform replies). */
  readonly ack?: 0 | 1;
}

const TELECOM_ID: StringRule = { maxLength: 32, pattern: /^[0-9A-Za-z]+$/, describe: "1-32 ASCII letters or digits" };
const BOOT_ID: StringRule = { maxLength: 64, pattern: /^[0-9A-Za-z_-]+$/, describe: "1-64 of [0-9A-Za-z_-]" };
/** Printable ASCII, no leading or trailing space, 1–128 characters. */
const TAG_TEXT: StringRule = {
  maxLength: 128,
  pattern: /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/,
  describe: "1-128 printable ASCII characters without leading or trailing spaces",
};
/** Store ids and device codes from the smart-store console (e.g. `184454101`, `8F6A77C73E`). */
const SHELF_CODE: StringRule = { maxLength: 64, pattern: /^[0-9A-Za-z_-]+$/, describe: "1-64 of [0-9A-Za-z_-]" };

const INT32: IntegerRule = { min: 0, max: 2147483647 };
const RSSI: IntegerRule = { min: -150, max: 0 };

function sysOf(options: CarrierOptions | undefined): AlinkSys | undefined {
  return options?.ack === undefined ? undefined : { ack: options.ack };
}

// ---------------------------------------------------------------------------------------------------------------
// Identity self-report (thing.deviceinfo.update)

export const DEVICEINFO_UPDATE_METHOD = "thing.deviceinfo.update";

/** The tag keys of the identity report, in the order they are sent. */
export const IDENTITY_ATTR_KEYS = ["imei", "iccid", "imsi", "modem", "shelfStoreId", "shelfDeviceCode"] as const;
export type IdentityAttrKey = (typeof IDENTITY_ATTR_KEYS)[number];

/** What a device reports about its hardware, SIM and (for smart-store shelves) its store registration. */
export interface IdentityReport {
  readonly imei: string;
  readonly iccid: string;
  readonly imsi: string;
  /** Modem model or firmware string, e.g. `Quectel EC200U-CN`. */
  readonly modem: string;
  /** Smart-store store id (门店id), when the device is a shelf. */
  readonly shelfStoreId?: string;
  /** Smart-store device code (设备码), when the device is a shelf. */
  readonly shelfDeviceCode?: string;
}

const IDENTITY_RULES: Readonly<Record<IdentityAttrKey, StringRule>> = {
  imei: TELECOM_ID,
  iccid: TELECOM_ID,
  imsi: TELECOM_ID,
  modem: TAG_TEXT,
  shelfStoreId: SHELF_CODE,
  shelfDeviceCode: SHELF_CODE,
};
const OPTIONAL_IDENTITY_KEYS: readonly IdentityAttrKey[] = ["shelfStoreId", "shelfDeviceCode"];

/** Reads the tag list; unknown keys are ignored, a known key twice or a required key missing is an error. */
function readIdentityParams(params: readonly unknown[], what: string): IdentityReport {
  const found = new Map<IdentityAttrKey, string>();
  params.forEach((item, i) => {
    const path = `params[${i}].`;
    if (!isJsonObject(item)) badField(what, `params[${i}]`, "a JSON object");
    const reader = new JsonReader(item, what, path);
    const key = reader.string("attrKey");
    if (!(IDENTITY_ATTR_KEYS as readonly string[]).includes(key)) return;
    const attrKey = key as IdentityAttrKey;
    if (found.has(attrKey)) reader.bad("attrKey", `unique (${attrKey} appears twice)`);
    found.set(attrKey, reader.string("attrValue", IDENTITY_RULES[attrKey]));
  });
  const get = (key: IdentityAttrKey): string => found.get(key) ?? badField(what, `params tag "${key}"`, "present");
  const shelfStoreId = found.get("shelfStoreId");
  const shelfDeviceCode = found.get("shelfDeviceCode");
  return {
    imei: get("imei"),
    iccid: get("iccid"),
    imsi: get("imsi"),
    modem: get("modem"),
    ...(shelfStoreId === undefined ? {} : { shelfStoreId }),
    ...(shelfDeviceCode === undefined ? {} : { shelfDeviceCode }),
  };
}

/**
 * Encodes the identity report, e.g.
 * `{"id":"7","version":"1.0","params":[{"attrKey":"imei","attrValue":"490154203237518"},…],
 * "method":"thing.deviceinfo.update"}`. Optional tags are sent only when set. Throws `alink.bad_payload`.
 */
export function encodeIdentityReport(identity: IdentityReport, id: string, options?: CarrierOptions): Uint8Array {
  const what = "identity report";
  const params: { attrKey: IdentityAttrKey; attrValue: unknown }[] = [];
  for (const key of IDENTITY_ATTR_KEYS) {
    const value = identity[key];
    if (value === undefined && OPTIONAL_IDENTITY_KEYS.includes(key)) continue;
    params.push({ attrKey: key, attrValue: value });
  }
  readIdentityParams(params, what);
  const sys = sysOf(options);
  return encodeJson(requestObject({ id, params, method: DEVICEINFO_UPDATE_METHOD, ...(sys ? { sys } : {}) }, what));
}

/** A decoded carrier message: the request id and its typed content. */
export interface CarrierMessage<T> {
  readonly id: string;
  readonly value: T;
}

/** Decodes an identity report. Requires method `thing.deviceinfo.update`; throws `alink.bad_payload`. */
export function decodeIdentityReport(bytes: Uint8Array): CarrierMessage<IdentityReport> {
  const what = "identity report";
  const request = decodeRequestFor(bytes, DEVICEINFO_UPDATE_METHOD, what);
  if (!Array.isArray(request.params)) badField(what, "params", "a JSON array");
  return { id: request.id, value: readIdentityParams(request.params, what) };
}

// ---------------------------------------------------------------------------------------------------------------
// Binding events

/** TSL event identifiers of the binding events. */
export const BINDING_EVENTS = {
  heartbeat: "BindingHeartbeat",
  changed: "BindingChanged",
  simRemoved: "SimRemoved",
} as const;

export type BindingEventIdentifier = (typeof BINDING_EVENTS)[keyof typeof BINDING_EVENTS];

/** The IMEI–SIM triple a binding is about. */
export interface SimBinding {
  readonly imei: string;
  readonly iccid: string;
  readonly imsi: string;
}

/** Common to every binding event. */
export interface BindingEventBase {
  /**
   * Binding epoch: a number the device keeps in flash and changes on factory reset, so the platform can tell
   * a reset device (new epoch, counters from zero) from a replayed or cloned one.
   */
  readonly epoch: number;
  /** Identifies one boot of the device. */
  readonly bootId: string;
  /** Event time, ms since the Unix epoch (sent as the event's `time`). */
  readonly ts: number;
}

/** Periodic proof that the device still runs with the bound SIM. */
export interface BindingHeartbeat extends SimBinding, BindingEventBase {
  /** Heartbeat counter within the boot. */
  readonly seq: number;
  readonly uptimeS: number;
  readonly rssiDbm?: number;
}

/** The IMEI–SIM triple changed (new SIM, or the modem was swapped). */
export interface BindingChanged extends BindingEventBase {
  readonly old: SimBinding;
  readonly new: SimBinding;
}

/** The SIM is gone; `lastIccid` is the card seen before. */
export interface SimRemoved extends BindingEventBase {
  readonly imei: string;
  readonly lastIccid: string;
}

/** A decoded binding event of any of the three kinds, discriminated by `kind` (the TSL identifier). */
export type BindingEvent =
  | ({ readonly kind: "BindingHeartbeat" } & BindingHeartbeat)
  | ({ readonly kind: "BindingChanged" } & BindingChanged)
  | ({ readonly kind: "SimRemoved" } & SimRemoved);

/** `thing.event.{identifier}.post` */
export function eventMethod(identifier: string): string {
  return `thing.event.${identifier}.post`;
}

/** `/sys/{pk}/{dn}/thing/event/{identifier}/post` for one of the binding events. */
export function bindingEventTopic(device: DeviceRef, identifier: BindingEventIdentifier): string {
  return eventPostTopic(device, identifier);
}

function readSim(reader: JsonReader): SimBinding {
  return {
    imei: reader.string("imei", TELECOM_ID),
    iccid: reader.string("iccid", TELECOM_ID),
    imsi: reader.string("imsi", TELECOM_ID),
  };
}

function readBase(value: JsonReader, time: number): BindingEventBase {
  return { epoch: value.integer("epoch", INT32), bootId: value.string("bootId", BOOT_ID), ts: time };
}

function readHeartbeat(value: JsonReader, time: number): BindingHeartbeat {
  const sim = readSim(value);
  const base = readBase(value, time);
  const seq = value.integer("seq", INT32);
  const uptimeS = value.integer("uptimeS", INT32);
  const rssiDbm = value.optionalInteger("rssiDbm", RSSI);
  return { ...sim, ...base, seq, uptimeS, ...(rssiDbm === undefined ? {} : { rssiDbm }) };
}

function readChanged(value: JsonReader, time: number): BindingChanged {
  const old = readSim(value.object("old"));
  const next = readSim(value.object("new"));
  return { old, new: next, ...readBase(value, time) };
}

function readSimRemoved(value: JsonReader, time: number): SimRemoved {
  const imei = value.string("imei", TELECOM_ID);
  const lastIccid = value.string("lastIccid", TELECOM_ID);
  return { imei, lastIccid, ...readBase(value, time) };
}

const READERS: Readonly<Record<BindingEventIdentifier, (value: JsonReader, time: number) => BindingEventBase>> = {
  BindingHeartbeat: readHeartbeat,
  BindingChanged: readChanged,
  SimRemoved: readSimRemoved,
};

/** Validates `{value, time}` event params and reads the fields with `read`. */
function readEventParams<T>(params: unknown, what: string, read: (value: JsonReader, time: number) => T): T {
  if (!isJsonObject(params)) badField(what, "params", "a JSON object");
  const reader = new JsonReader(params, what, "params.");
  const time = reader.integer("time", NON_NEGATIVE);
  return read(reader.object("value"), time);
}

function encodeEvent(
  identifier: BindingEventIdentifier,
  value: Record<string, unknown>,
  ts: unknown,
  id: string,
  options: CarrierOptions | undefined,
): Uint8Array {
  const what = `${identifier} event`;
  const params = { value, time: ts };
  readEventParams(params, what, READERS[identifier]);
  const sys = sysOf(options);
  const method = eventMethod(identifier);
  return encodeJson(requestObject({ id, params, method, ...(sys ? { sys } : {}) }, what));
}

function decodeEvent<T>(
  bytes: Uint8Array,
  identifier: BindingEventIdentifier,
  read: (value: JsonReader, time: number) => T,
): CarrierMessage<T> {
  const what = `${identifier} event`;
  const request = decodeRequestFor(bytes, eventMethod(identifier), what);
  return { id: request.id, value: readEventParams(request.params, what, read) };
}

/**
 * `{"id":"1","version":"1.0","params":{"value":{"imei":…,"iccid":…,"imsi":…,"epoch":3,"bootId":"…","seq":17,
 * "uptimeS":3600,"rssiDbm":-71},"time":1700000000000},"method":"thing.event.BindingHeartbeat.post"}`
 * (`rssiDbm` only when set). Throws `alink.bad_payload`.
 */
export function encodeBindingHeartbeat(event: BindingHeartbeat, id: string, options?: CarrierOptions): Uint8Array {
  const value: Record<string, unknown> = {
    imei: event.imei,
    iccid: event.iccid,
    imsi: event.imsi,
    epoch: event.epoch,
    bootId: event.bootId,
    seq: event.seq,
    uptimeS: event.uptimeS,
  };
  if (event.rssiDbm !== undefined) value["rssiDbm"] = event.rssiDbm;
  return encodeEvent(BINDING_EVENTS.heartbeat, value, event.ts, id, options);
}

export function decodeBindingHeartbeat(bytes: Uint8Array): CarrierMessage<BindingHeartbeat> {
  return decodeEvent(bytes, BINDING_EVENTS.heartbeat, readHeartbeat);
}

function simObject(sim: SimBinding, field: string): Record<string, unknown> {
  if (!isJsonObject(sim)) badField("BindingChanged event", `params.value.${field}`, "a JSON object");
  return { imei: sim.imei, iccid: sim.iccid, imsi: sim.imsi };
}

/** `params.value` = `{"old":{imei,iccid,imsi},"new":{imei,iccid,imsi},"epoch":…,"bootId":…}`. */
export function encodeBindingChanged(event: BindingChanged, id: string, options?: CarrierOptions): Uint8Array {
  const value = {
    old: simObject(event.old, "old"),
    new: simObject(event.new, "new"),
    epoch: event.epoch,
    bootId: event.bootId,
  };
  return encodeEvent(BINDING_EVENTS.changed, value, event.ts, id, options);
}

export function decodeBindingChanged(bytes: Uint8Array): CarrierMessage<BindingChanged> {
  return decodeEvent(bytes, BINDING_EVENTS.changed, readChanged);
}

/** `params.value` = `{"imei":…,"lastIccid":…,"epoch":…,"bootId":…}`. */
export function encodeSimRemoved(event: SimRemoved, id: string, options?: CarrierOptions): Uint8Array {
  const value = { imei: event.imei, lastIccid: event.lastIccid, epoch: event.epoch, bootId: event.bootId };
  return encodeEvent(BINDING_EVENTS.simRemoved, value, event.ts, id, options);
}

export function decodeSimRemoved(bytes: Uint8Array): CarrierMessage<SimRemoved> {
  return decodeEvent(bytes, BINDING_EVENTS.simRemoved, readSimRemoved);
}

/**
 * Decodes any of the three binding events, choosing by `method`. Throws `alink.bad_payload` for another
 * method or invalid content.
 */
export function decodeBindingEvent(bytes: Uint8Array): CarrierMessage<BindingEvent> {
  const what = "binding event";
  const methods = Object.values(BINDING_EVENTS).map(eventMethod);
  const request = decodeRequestFor(bytes, methods, what);
  const identifier = request.method.slice("thing.event.".length, -".post".length) as BindingEventIdentifier;
  const value = readEventParams(request.params, `${identifier} event`, READERS[identifier]);
  return { id: request.id, value: { kind: identifier, ...value } as BindingEvent };
}
