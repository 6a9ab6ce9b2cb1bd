/**
 * The APIs the TOP gateway emulator serves, each with whether it needs a session, its required parameters and
 * what it does. Shapes: docs/top.md (verified, assumed, invented).
 */
import {
  encodeTopTokenResult,
  formatTopTimestamp,
  isShelfDeviceStatus,
  parseTopTimestamp,
  SHELF_DEVICE_STATUSES,
  SMARTSTORE_DEVICE_GET_METHOD,
  SMARTSTORE_STATUS_FEEDBACK_METHOD,
  TOP_ERRORS,
  TOP_TIME_METHOD,
  TOP_TOKEN_REFRESH_METHOD,
  type TopError,
} from "@triadkit/protocol";
import type { DeviceStatusRecord, GatewayState } from "./gateway-state.js";

export interface ApiContext {
  readonly appKey: string;
  readonly state: GatewayState;
  readonly nowMs: number;
  emit(event: "statusFeedback", record: DeviceStatusRecord): void;
  emit(event: "sessionRefreshed", refresh: { appKey: string }): void;
}

export type ApiOutcome = { readonly body: Record<string, unknown> } | { readonly error: Omit<TopError, "request_id"> };

export interface GatewayApi {
  readonly needsSession: boolean;
  readonly required: readonly string[];
  handle(params: Readonly<Record<string, string>>, context: ApiContext): ApiOutcome;
}

const invalidArgument = (name: string, sub_msg: string): ApiOutcome => ({
  error: { code: TOP_ERRORS.invalidArguments.code, msg: `${TOP_ERRORS.invalidArguments.msg}:${name}`, sub_msg },
});

/** Device codes: the format is not published; the emulator takes what the shelf tags allow. */
const DEVICE_CODE = /^[0-9A-Za-z_-]{1,64}$/;

export const GATEWAY_APIS: Readonly<Record<string, GatewayApi>> = {
  [TOP_TIME_METHOD]: {
    needsSession: false,
    required: [],
    handle: (_params, { nowMs }) => ({ body: { time: formatTopTimestamp(nowMs) } }),
  },

  [TOP_TOKEN_REFRESH_METHOD]: {
    needsSession: false,
    required: ["refresh_token"],
    handle: (params, { appKey, state, nowMs, emit }) => {
      const issued = state.refresh(appKey, params.refresh_token as string);
      if (issued === undefined) {
        return {
          error: {
            ...TOP_ERRORS.remoteServiceError,
            sub_code: "isv.invalid-refresh-token",
            sub_msg: "refresh_token is unknown, expired or already used",
          },
        };
      }
      emit("sessionRefreshed", { appKey });
      return {
        body: {
          token_result: encodeTopTokenResult({
            accessToken: issued.session,
            refreshToken: issued.refreshToken,
            expiresAtMs: issued.expiresAtMs,
            refreshTokenExpiresAtMs: issued.refreshTokenExpiresAtMs,
            nowMs,
            userNick: "triadkit-sim",
          }),
        },
      };
    },
  },

  [SMARTSTORE_STATUS_FEEDBACK_METHOD]: {
    needsSession: true,
    required: ["device_code", "status", "status_time"],
    handle: (params, { appKey, state, nowMs, emit }) => {
      const deviceCode = params.device_code as string;
      const status = params.status;
      const statusTime = params.status_time as string;
      if (!DEVICE_CODE.test(deviceCode)) return invalidArgument("device_code", "1-64 of [0-9A-Za-z_-]");
      if (!isShelfDeviceStatus(status)) return invalidArgument("status", SHELF_DEVICE_STATUSES.join(" or "));
      let statusTimeMs: number;
      try {
        statusTimeMs = parseTopTimestamp(statusTime);
      } catch {
        return invalidArgument("status_time", "yyyy-MM-dd HH:mm:ss (GMT+8)");
      }
      const record: DeviceStatusRecord = { deviceCode, status, statusTime, statusTimeMs, appKey, receivedAtMs: nowMs };
      state.recordStatus(record);
      emit("statusFeedback", record);
      return { body: { result: "true" } };
    },
  },

  [SMARTSTORE_DEVICE_GET_METHOD]: {
    needsSession: true,
    required: ["device_code"],
    handle: (params, { state }) => {
      const deviceCode = params.device_code as string;
      if (!DEVICE_CODE.test(deviceCode)) return invalidArgument("device_code", "1-64 of [0-9A-Za-z_-]");
      const known = state.statusOf(deviceCode);
      return {
        body: {
          result: {
            device_code: deviceCode,
            ...(known === undefined ? {} : { status: known.status, status_time: known.statusTime }),
          },
        },
      };
    },
  },
};
