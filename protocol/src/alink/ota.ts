/**
 * OTA version inform and progress payloads (`/ota/device/inform/{pk}/{dn}`, `/ota/device/progress/{pk}/{dn}`).
 *
 * These use a reduced envelope `{"id":…,"params":{…}}` with no `version` or `method`. The C SDK prints the id
 * as a bare number and the step as a string (`{"id":1,"params":{"step":"50","desc":""}}`); we emit the id as a
 * string like every other Alink id and the step as a decimal string, and decoders accept either form of both.
 */

import { checkIdForEncode, readAlinkId } from "./envelope.js";
import { encodeJson, JsonReader, parseJsonObject, type StringRule } from "./json.js";

/** Firmware version and module names: letters, digits, `.`, `_`, `-`, 1–64 characters. */
const NAME_RULE: StringRule = {
  maxLength: 64,
  pattern: /^[A-Za-z0-9._-]+$/,
  describe: "1-64 letters, digits, '.', '_' or '-'",
};
const DESC_RULE: StringRule = { maxLength: 256, allowEmpty: true };

/** Negative progress steps report a failure; 0..100 is the percentage done. */
export const OTA_STEP = {
  upgradeFailed: -1,
  downloadFailed: -2,
  verifyFailed: -3,
  flashFailed: -4,
} as const;

export const OTA_STEP_MIN = -4;
export const OTA_STEP_MAX = 100;

export interface OtaInform {
  /** The firmware version now running. */
  readonly version: string;
  /** Firmware module; the platform's default module when absent. */
  readonly module?: string;
}

export interface OtaProgress {
  /** 0..100 percent, or a negative {@link OTA_STEP} failure. */
  readonly step: number;
  /** Free text; encoded as `""` when absent. */
  readonly desc?: string;
  readonly module?: string;
}

/** A decoded OTA message: the id (string even if the wire had a number) and its params. */
export interface OtaMessage<T> {
  readonly id: string;
  readonly params: T;
}

function readInform(params: JsonReader): OtaInform {
  const version = params.string("version", NAME_RULE);
  const module = params.optionalString("module", NAME_RULE);
  return module === undefined ? { version } : { version, module };
}

function readProgress(params: JsonReader): OtaProgress {
  const step = params.wireInteger("step", { min: OTA_STEP_MIN, max: OTA_STEP_MAX });
  const desc = params.optionalString("desc", DESC_RULE);
  const module = params.optionalString("module", NAME_RULE);
  return {
    step,
    ...(desc === undefined ? {} : { desc }),
    ...(module === undefined ? {} : { module }),
  };
}

function encodeOta<T>(
  what: string,
  id: string,
  params: Record<string, unknown>,
  check: (r: JsonReader) => T,
): Uint8Array {
  const checkedId = checkIdForEncode(id, what);
  check(new JsonReader(params, what, "params."));
  return encodeJson({ id: checkedId, params });
}

function decodeOta<T>(bytes: Uint8Array, what: string, read: (r: JsonReader) => T): OtaMessage<T> {
  const reader = new JsonReader(parseJsonObject(bytes, what), what);
  const id = readAlinkId(reader, "id", true);
  return { id, params: read(reader.object("params")) };
}

/** `{"id":"1","params":{"version":"1.2.3","module":"MCU"}}` (module only when given). */
export function encodeOtaInform(inform: OtaInform, id: string): Uint8Array {
  const params: Record<string, unknown> = { version: inform.version };
  if (inform.module !== undefined) params["module"] = inform.module;
  return encodeOta("ota inform", id, params, readInform);
}

export function decodeOtaInform(bytes: Uint8Array): OtaMessage<OtaInform> {
  return decodeOta(bytes, "ota inform", readInform);
}

/** `{"id":"1","params":{"step":"50","desc":"downloading"}}` (module only when given). */
export function encodeOtaProgress(progress: OtaProgress, id: string): Uint8Array {
  const params: Record<string, unknown> = {
    step: Number.isSafeInteger(progress.step) ? String(progress.step) : progress.step,
    desc: progress.desc ?? "",
  };
  if (progress.module !== undefined) params["module"] = progress.module;
  return encodeOta("ota progress", id, params, readProgress);
}

export function decodeOtaProgress(bytes: Uint8Array): OtaMessage<OtaProgress> {
  return decodeOta(bytes, "ota progress", readProgress);
}
