/**
 * NTP over MQTT (`/ext/ntp/{pk}/{dn}/request|response`).
 *
 * Request `{"deviceSendTime":"<ms>"}`; response `{"deviceSendTime":…,"serverRecvTime":…,"serverSendTime":…}`.
 * Times are milliseconds. The wire may carry each as a decimal string or a JSON number: decoders accept both,
 * encoders emit strings, as the C SDK does. `deviceSendTime`/`deviceRecvTime` are read from the device's own
 * clock (wall or monotonic: only their difference matters); the server times are UTC.
 */

import { badField, encodeJson, type IntegerRule, JsonReader, parseJsonObject } from "./json.js";

export interface NtpRequest {
  /** Device clock when the request was sent, ms. */
  readonly deviceSendTime: number;
}

export interface NtpResponse {
  /** Echo of the request's `deviceSendTime`, ms (device clock). */
  readonly deviceSendTime: number;
  /** UTC when the server received the request, ms. */
  readonly serverRecvTime: number;
  /** UTC when the server sent the response, ms. */
  readonly serverSendTime: number;
}

/** A full exchange: the response plus the device clock when it arrived. */
export interface NtpSample extends NtpResponse {
  readonly deviceRecvTime: number;
}

const MS: IntegerRule = { min: 0, max: Number.MAX_SAFE_INTEGER };

function time(reader: JsonReader, key: string): number {
  return reader.wireInteger(key, MS);
}

/** Checks caller-supplied times with the same rule decoders apply (non-negative safe integers). */
function checkTimes(what: string, values: Readonly<Record<string, unknown>>): void {
  const reader = new JsonReader(values as Record<string, unknown>, what);
  for (const key of Object.keys(values)) reader.integer(key, MS);
}

/** `{"deviceSendTime":"1700000000000"}`. Throws `alink.bad_payload` unless the time is a non-negative safe integer. */
export function encodeNtpRequest(request: NtpRequest): Uint8Array {
  checkTimes("ntp request", { deviceSendTime: request.deviceSendTime });
  return encodeJson({ deviceSendTime: String(request.deviceSendTime) });
}

/** Decodes an NTP request; `deviceSendTime` may be a decimal string or a number. */
export function decodeNtpRequest(bytes: Uint8Array): NtpRequest {
  const reader = new JsonReader(parseJsonObject(bytes, "ntp request"), "ntp request");
  return { deviceSendTime: time(reader, "deviceSendTime") };
}

/** Encodes a response with every time as a decimal string (what a fake server should send). */
export function encodeNtpResponse(response: NtpResponse): Uint8Array {
  const { deviceSendTime, serverRecvTime, serverSendTime } = response;
  checkTimes("ntp response", { deviceSendTime, serverRecvTime, serverSendTime });
  return encodeJson({
    deviceSendTime: String(deviceSendTime),
    serverRecvTime: String(serverRecvTime),
    serverSendTime: String(serverSendTime),
  });
}

/** Decodes a response; each time may be a decimal string or a number. All three are required. */
export function decodeNtpResponse(bytes: Uint8Array): NtpResponse {
  const reader = new JsonReader(parseJsonObject(bytes, "ntp response"), "ntp response");
  return {
    deviceSendTime: time(reader, "deviceSendTime"),
    serverRecvTime: time(reader, "serverRecvTime"),
    serverSendTime: time(reader, "serverSendTime"),
  };
}

/**
 * UTC in ms at the moment the response arrived, by the Link SDK C 4.1.0 formula
 * `(serverRecvTime + serverSendTime + deviceRecvTime - deviceSendTime) / 2`, rounded down (`Math.floor`) to a
 * whole millisecond. This is NTP's `T4 + ((T2 - T1) + (T3 - T4)) / 2`: it assumes the network delay is the
 * same both ways. (The 3.0.1 formula `serverSendTime + (deviceRecvTime - deviceSendTime) / 2` is not used.)
 * Throws `alink.bad_payload` unless all four are non-negative safe integers and
 * `deviceRecvTime >= deviceSendTime`.
 */
export function ntpUtcMs(sample: NtpSample): number {
  const { deviceSendTime, serverRecvTime, serverSendTime, deviceRecvTime } = sample;
  checkTimes("ntp sample", { deviceSendTime, serverRecvTime, serverSendTime, deviceRecvTime });
  if (deviceRecvTime < deviceSendTime) {
    badField("ntp sample", "deviceRecvTime", "at or after deviceSendTime");
  }
  return Math.floor((serverRecvTime + serverSendTime + deviceRecvTime - deviceSendTime) / 2);
}

/**
 * Round-trip network delay of a sample in ms, excluding the server's processing time; clamped at 0.
 * Throws `alink.bad_payload` unless all four are non-negative safe integers.
 */
export function ntpRoundTripMs(sample: NtpSample): number {
  const { deviceSendTime, serverRecvTime, serverSendTime, deviceRecvTime } = sample;
  checkTimes("ntp sample", { deviceSendTime, serverRecvTime, serverSendTime, deviceRecvTime });
  return Math.max(0, deviceRecvTime - deviceSendTime - (serverSendTime - serverRecvTime));
}
