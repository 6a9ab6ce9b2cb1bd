/**
 * The smart-store (智慧门店) calls of the shelf flow, over a {@link TopClient}: the ISV reports a device's status
 * (`taobao.smartstore.device.status.feedback`) and reads it back (`taobao.smartstore.device.get`, shape assumed:
 * docs/top.md). And the device side: a shelf reports its store id and device code as two device tags.
 */
import {
  type AlinkReply,
  formatTopTimestamp,
  isShelfDeviceStatus,
  parseShelfCodes,
  parseTopTimestamp,
  type ShelfCodes,
  type ShelfDeviceStatus,
  SMARTSTORE_DEVICE_GET_METHOD,
  SMARTSTORE_STATUS_FEEDBACK_METHOD,
  shelfTags,
  TriadkitError,
} from "@triadkit/protocol";
import type { TopClient } from "./top-client.js";

export interface ShelfStatusFeedback {
  readonly deviceCode: string;
  readonly status: ShelfDeviceStatus;
  /** When the device went into the status, ms since the epoch (sent as GMT+8 `yyyy-MM-dd HH:mm:ss`). */
  readonly statusTimeMs: number;
}

/** Reports a device's status; resolves with the API's `result`. Throws what {@link TopClient.call} throws. */
export async function reportShelfDeviceStatus(client: TopClient, feedback: ShelfStatusFeedback): Promise<unknown> {
  const { deviceCode } = parseShelfCodes(1, feedback.deviceCode);
  if (!isShelfDeviceStatus(feedback.status)) {
    throw new TriadkitError("config.invalid", "status must be ONLINE_WITH_CONTENT or OFFLINE", {
      status: feedback.status,
    });
  }
  const response = await client.call(SMARTSTORE_STATUS_FEEDBACK_METHOD, {
    device_code: deviceCode,
    status: feedback.status,
    status_time: formatTopTimestamp(feedback.statusTimeMs),
  });
  return response.result;
}

export interface ShelfDeviceState {
  readonly deviceCode: string;
  /** The last status the platform holds; absent when the device never reported (待激活 in the console). */
  readonly status?: ShelfDeviceStatus;
  readonly statusTimeMs?: number;
}

/** Reads a device's last status. Throws `top.bad_response` for an answer without `result.device_code`. */
export async function getShelfDeviceState(client: TopClient, deviceCode: string): Promise<ShelfDeviceState> {
  parseShelfCodes(1, deviceCode);
  const response = await client.call(SMARTSTORE_DEVICE_GET_METHOD, { device_code: deviceCode });
  const result = response.result as Record<string, unknown> | undefined;
  if (typeof result !== "object" || result === null || typeof result.device_code !== "string") {
    throw new TriadkitError("top.bad_response", `${SMARTSTORE_DEVICE_GET_METHOD}: no result.device_code`, {
      method: SMARTSTORE_DEVICE_GET_METHOD,
    });
  }
  const status = isShelfDeviceStatus(result.status) ? result.status : undefined;
  const statusTimeMs = typeof result.status_time === "string" ? parseTopTimestamp(result.status_time) : undefined;
  return {
    deviceCode: result.device_code,
    ...(status === undefined ? {} : { status }),
    ...(statusTimeMs === undefined ? {} : { statusTimeMs }),
  };
}

/** What {@link reportShelfTags} needs of a device session. */
export interface TagReporter {
  updateTags(tags: Record<string, string>): Promise<AlinkReply>;
}

/**
 * Device side: reports the shelf's store id and device code as the tags `shelfStoreId` and `shelfDeviceCode`
 * (`thing.deviceinfo.update`). Throws `alink.bad_payload` for malformed codes; resolves with the platform's reply.
 */
export function reportShelfTags(device: TagReporter, codes: ShelfCodes): Promise<AlinkReply> {
  return device.updateTags(shelfTags(codes));
}
