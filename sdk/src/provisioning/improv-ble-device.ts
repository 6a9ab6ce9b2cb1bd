/**
 * The device side of Improv Wi-Fi over BLE (https://www.improv-wifi.com/ble/): the Improv GATT service on a
 * {@link BlePeripheral} (bleno on a board, the virtual radio in tests).
 *
 * Service `00467768-…-8000`, advertised with its Service Data (`0x4677`: state, capabilities, 0, 0, 0, 0):
 * - `…8001` current state (read, notify), `…8002` error state (read, notify), `…8003` RPC command (write; a command
 *   may span several writes, joined by `ImprovBleRpcAssembler`), `…8004` RPC result (read, notify), `…8005`
 *   capabilities (read; device info only: no identify callback, and the BLE scan RPC is not implemented).
 *
 * States: with `requireAuthorization` (the default) the device starts in "authorization required" (0x01) until
 * {@link ImprovBleDevice.authorize} is called (the physical button); authorization lapses back to required after
 * `authorizationTimeoutMs` (60 s) unless provisioning started. Then authorized (0x02) → provisioning (0x03) →
 * provisioned (0x04). A device whose WifiManager is already connected starts provisioned.
 *
 * RPCs (each first clears the error state to "no error"): send Wi-Fi settings (0x01) only while authorized, else
 * error "not authorized"; it joins through the WifiManager (bounded by `joinTimeoutMs`): success → provisioned and a
 * result with the redirect URL (or an empty list); failure → error "unable to connect", the network forgotten, back
 * to authorized so the client retries in place. Device info (0x03) in any state. Identify (0x02), scan (0x04) and
 * unknown commands: error "unknown RPC". A malformed or bad-checksum command: error "invalid RPC".
 * The password goes to the WifiManager and nowhere else: never logged, never in an error.
 */
import {
  decodeWifiSettings,
  deviceInfoStrings,
  encodeBleRpcResult,
  encodeImprovCapabilities,
  encodeImprovServiceData,
  IMPROV_BLE_CAPABILITIES_CHAR_UUID,
  IMPROV_BLE_CURRENT_STATE_CHAR_UUID,
  IMPROV_BLE_ERROR_STATE_CHAR_UUID,
  IMPROV_BLE_RPC_COMMAND_CHAR_UUID,
  IMPROV_BLE_RPC_RESULT_CHAR_UUID,
  IMPROV_BLE_SERVICE_DATA_UUID,
  IMPROV_BLE_SERVICE_UUID,
  ImprovBleCommand,
  ImprovBleRpcAssembler,
  type ImprovCapabilities,
  ImprovError,
  type ImprovRpc,
  ImprovState,
  type ImprovWifiSettings,
} from "@triadkit/protocol";
import type { BlePeripheral } from "../ble/ble.js";
import { type Clock, SystemClock } from "../clock.js";
import type { Logger } from "../logging/logger.js";
import type { WifiJoinResult, WifiManager } from "../wifi/wifi-manager.js";
import { type ImprovRedirectUrl, joinWithTimeout, redirectStrings } from "./improv-common.js";
import { IMPROV_DEFAULT_JOIN_TIMEOUT_MS } from "./improv-serial-device.js";

/** How long a button press keeps the device authorized (ESPHome's default is 60 s). */
export const IMPROV_DEFAULT_AUTHORIZATION_TIMEOUT_MS = 60_000;

export interface ImprovBleDeviceOptions {
  readonly peripheral: BlePeripheral;
  readonly wifi: WifiManager;
  readonly deviceInfo: {
    readonly firmware: string;
    readonly version: string;
    readonly chip: string;
    readonly deviceName: string;
  };
  /** Sent as the first string of the provisioning result; omitted (empty list) when not set. */
  readonly redirectUrl?: ImprovRedirectUrl;
  /** Start in "authorization required" until {@link ImprovBleDevice.authorize}. Default true. */
  readonly requireAuthorization?: boolean;
  /** How long an authorization lasts. Default 60 000 ms. */
  readonly authorizationTimeoutMs?: number;
  /** Join budget. Default 30 000 ms. */
  readonly joinTimeoutMs?: number;
  readonly clock?: Clock;
  /** Structured log lines (never a password). */
  readonly logger?: Logger;
}

export interface ImprovBleDevice {
  readonly state: ImprovState;
  readonly error: ImprovError;
  /** Resolves once the GATT service is set and advertising started. Rejects if the peripheral refuses. */
  readonly ready: Promise<void>;
  /** The physical button: authorization required → authorized (restarts the timeout when already authorized). */
  authorize(): void;
  /** Resolves when every RPC received so far has been answered. */
  idle(): Promise<void>;
  /** Stops advertising, cancels timers and detaches from the peripheral (which stays open). */
  close(): Promise<void>;
}

const CAPABILITIES: ImprovCapabilities = { identify: false, deviceInfo: true, scanWifi: false };

/** Starts the Improv BLE service on `peripheral` (see the module comment). */
export function createImprovBleDevice(options: ImprovBleDeviceOptions): ImprovBleDevice {
  const { peripheral, wifi } = options;
  const clock = options.clock ?? new SystemClock();
  const log = options.logger;
  const requireAuthorization = options.requireAuthorization ?? true;
  const authorizationTimeoutMs = options.authorizationTimeoutMs ?? IMPROV_DEFAULT_AUTHORIZATION_TIMEOUT_MS;
  const joinTimeoutMs = options.joinTimeoutMs ?? IMPROV_DEFAULT_JOIN_TIMEOUT_MS;
  const assembler = new ImprovBleRpcAssembler();

  let state: ImprovState = requireAuthorization ? ImprovState.AuthorizationRequired : ImprovState.Authorized;
  let error: ImprovError = ImprovError.None;
  let lastResult: Uint8Array = new Uint8Array(0);
  let joined: { ssid: string; ip: string } | undefined;
  let authTimer: { cancel(): void } | undefined;
  let activeJoin: AbortController | undefined;
  let closed = false;
  let advertising = false;
  let work: Promise<void> = Promise.resolve();
  let outgoing: Promise<void> = Promise.resolve();

  const notify = (uuid: string, value: Uint8Array): Promise<void> => {
    if (closed) return outgoing;
    outgoing = outgoing.then(() =>
      peripheral.notify(uuid, value).catch((err: unknown) => {
        // No central (or not subscribed): it reads the value when it comes.
        log?.debug({ err: err instanceof Error ? err.message : String(err) }, "improv-ble: notify skipped");
      }),
    );
    return outgoing;
  };
  const advertise = async (): Promise<void> => {
    await peripheral.startAdvertising({
      localName: options.deviceInfo.deviceName,
      serviceUuids: [IMPROV_BLE_SERVICE_UUID],
      serviceData: { uuid: IMPROV_BLE_SERVICE_DATA_UUID, data: encodeImprovServiceData(state, CAPABILITIES) },
    });
    advertising = true;
  };
  const setState = (next: ImprovState): Promise<void> => {
    state = next;
    if (advertising && !closed) {
      advertise().catch((err: unknown) =>
        log?.warn({ err: err instanceof Error ? err.message : String(err) }, "improv-ble: re-advertising failed"),
      );
    }
    return notify(IMPROV_BLE_CURRENT_STATE_CHAR_UUID, Uint8Array.of(next));
  };
  const setError = (next: ImprovError): Promise<void> => {
    error = next;
    return notify(IMPROV_BLE_ERROR_STATE_CHAR_UUID, Uint8Array.of(next));
  };
  const sendResult = (command: number, strings: readonly string[]): Promise<void> => {
    try {
      lastResult = encodeBleRpcResult({ command, strings });
    } catch (err) {
      log?.error({ err: err instanceof Error ? err.message : String(err) }, "improv-ble: cannot encode a result");
      return setError(ImprovError.Unknown);
    }
    return notify(IMPROV_BLE_RPC_RESULT_CHAR_UUID, lastResult);
  };

  const stopAuthTimer = () => {
    authTimer?.cancel();
    authTimer = undefined;
  };
  const startAuthTimer = () => {
    stopAuthTimer();
    if (!requireAuthorization) return;
    authTimer = clock.setTimeout(() => {
      authTimer = undefined;
      if (state === ImprovState.Authorized) {
        log?.info({}, "improv-ble: authorization expired");
        void setState(ImprovState.AuthorizationRequired);
      }
    }, authorizationTimeoutMs);
  };

  const join = async (settings: ImprovWifiSettings): Promise<WifiJoinResult> => {
    const attempt = joinWithTimeout(wifi, settings, clock, joinTimeoutMs);
    activeJoin = attempt.abort;
    try {
      return await attempt.result;
    } finally {
      if (activeJoin === attempt.abort) activeJoin = undefined;
    }
  };

  const provision = async (settings: ImprovWifiSettings): Promise<void> => {
    stopAuthTimer();
    await setState(ImprovState.Provisioning);
    log?.info({ ssid: settings.ssid }, "improv-ble: joining");
    const result = await join(settings);
    if (closed) return;
    if (result.ok) {
      joined = { ssid: result.ssid, ip: result.ip };
      log?.info({ ssid: result.ssid, ip: result.ip }, "improv-ble: provisioned");
      await setState(ImprovState.Provisioned);
      await sendResult(ImprovBleCommand.SendWifiSettings, redirectStrings(options.redirectUrl, joined));
      return;
    }
    log?.warn({ ssid: settings.ssid, reason: result.reason }, "improv-ble: join failed");
    joined = undefined;
    await wifi.forget(settings.ssid).catch(() => {});
    await setError(ImprovError.UnableToConnect);
    await setState(ImprovState.Authorized);
    startAuthTimer();
  };

  const handleRpc = (rpc: ImprovRpc): void => {
    void setError(ImprovError.None);
    switch (rpc.command) {
      case ImprovBleCommand.DeviceInfo:
        void sendResult(ImprovBleCommand.DeviceInfo, deviceInfoStrings({ ...options.deviceInfo }));
        return;
      case ImprovBleCommand.SendWifiSettings: {
        if (state !== ImprovState.Authorized) {
          void setError(ImprovError.NotAuthorized);
          return;
        }
        let settings: ImprovWifiSettings;
        try {
          settings = decodeWifiSettings(rpc.data);
        } catch {
          void setError(ImprovError.InvalidRpc);
          return;
        }
        const ssidBytes = new TextEncoder().encode(settings.ssid).length;
        if (ssidBytes < 1 || ssidBytes > 32) {
          void setError(ImprovError.InvalidRpc);
          return;
        }
        state = ImprovState.Provisioning; // refuse a second settings write before the join starts
        work = work
          .then(() => provision(settings))
          .catch((err: unknown) => {
            log?.error({ err: err instanceof Error ? err.message : String(err) }, "improv-ble: RPC failed");
            void setError(ImprovError.Unknown);
          });
        return;
      }
      default:
        void setError(ImprovError.UnknownRpc);
    }
  };

  const onWrite = (data: Uint8Array): void => {
    if (closed) return;
    let rpc: ImprovRpc | undefined;
    try {
      rpc = assembler.push(data);
    } catch {
      void setError(ImprovError.InvalidRpc);
      return;
    }
    if (rpc !== undefined) handleRpc(rpc);
  };
  const onDisconnect = () => assembler.reset();
  peripheral.on("disconnect", onDisconnect);

  const ready = (async () => {
    const s = await wifi.status().catch(() => undefined);
    if (s?.connected) {
      joined = { ssid: s.ssid, ip: s.ip };
      state = ImprovState.Provisioned;
    }
    await peripheral.setServices([
      {
        uuid: IMPROV_BLE_SERVICE_UUID,
        characteristics: [
          {
            uuid: IMPROV_BLE_CAPABILITIES_CHAR_UUID,
            properties: ["read"],
            onRead: () => Uint8Array.of(encodeImprovCapabilities(CAPABILITIES)),
          },
          {
            uuid: IMPROV_BLE_CURRENT_STATE_CHAR_UUID,
            properties: ["read", "notify"],
            onRead: () => Uint8Array.of(state),
          },
          {
            uuid: IMPROV_BLE_ERROR_STATE_CHAR_UUID,
            properties: ["read", "notify"],
            onRead: () => Uint8Array.of(error),
          },
          { uuid: IMPROV_BLE_RPC_COMMAND_CHAR_UUID, properties: ["write"], onWrite },
          {
            uuid: IMPROV_BLE_RPC_RESULT_CHAR_UUID,
            properties: ["read", "notify"],
            onRead: () => Uint8Array.from(lastResult),
          },
        ],
      },
    ]);
    if (!closed) await advertise();
  })();

  return {
    get state() {
      return state;
    },
    get error() {
      return error;
    },
    ready,
    authorize() {
      if (closed) return;
      if (state === ImprovState.AuthorizationRequired) {
        log?.info({}, "improv-ble: authorized");
        void setState(ImprovState.Authorized);
      }
      if (state === ImprovState.Authorized) startAuthTimer();
    },
    async idle() {
      await ready.catch(() => {});
      let seen: Promise<void> | undefined;
      while (seen !== work) {
        seen = work;
        await work;
      }
      await outgoing;
    },
    async close() {
      closed = true;
      stopAuthTimer();
      activeJoin?.abort();
      peripheral.off("disconnect", onDisconnect);
      await ready.catch(() => {});
      advertising = false;
      await peripheral.stopAdvertising().catch(() => {});
    },
  };
}
