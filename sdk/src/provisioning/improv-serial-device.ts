/**
 * The device side of Improv Wi-Fi over serial (https://www.improv-wifi.com/serial/): lets a browser or PC tool
 * (ESP Web Tools, Home Assistant, the `improv-wifi-serial-sdk` client) give the device WiFi credentials over the
 * same serial port as its console.
 *
 * OFF BY DEFAULT: nothing in the SDK starts it. A product opts in by calling {@link createImprovSerialDevice} on
 * the console link, typically only while unprovisioned or in a service mode: Improv serial has no authentication
 * (whoever holds the cable can set the network) and it shares the console (log output passes through untouched;
 * the parser picks packets out of it).
 *
 * Behaviour (ESPHome's component is the reference device):
 * - Every RPC first gets an error-state "no error" packet (the spec's "should"), then its answer.
 * - Request current state (0x02): the state; when provisioned, also the redirect-URL result.
 * - Request device info (0x03): firmware, version, chip, device name.
 * - Request scanned networks (0x04): one result per network (`ssid`, `rssi`, `YES`/`NO`), strongest first, SSIDs
 *   deduplicated, hidden (empty) SSIDs skipped, then an empty result. A failed scan answers error 0xFF.
 * - Send Wi-Fi settings (0x01): state provisioning, then {@link WifiManager.join}; on success state provisioned and
 *   a result with the redirect URL (or an empty list); on failure or timeout error "unable to connect", the
 *   network is forgotten, and the state returns to ready so the client can retry in place, without a reboot.
 *   A malformed payload, an SSID that is not 1–32 bytes, or settings while a join is running: error "invalid RPC".
 * - Hostname (0x05), device name (0x06), network state (0x07) and unknown commands: error "unknown RPC".
 * - A packet with a bad checksum: error "invalid RPC" (as ESPHome). Packets of other types are ignored.
 * - The password is passed to the WifiManager and nowhere else: never logged, never in an error or a stat.
 */
import {
  decodeRpcBody,
  decodeWifiSettings,
  deviceInfoStrings,
  encodeImprovMessage,
  IMPROV_MAX_DATA_BYTES,
  ImprovCommand,
  type ImprovDeviceInfo,
  ImprovError,
  type ImprovMessage,
  ImprovPacketType,
  ImprovSerialParser,
  ImprovState,
  type ImprovWifiSettings,
  scanEntryStrings,
} from "@triadkit/protocol";
import { type Clock, SystemClock } from "../clock.js";
import type { Logger } from "../logging/logger.js";
import type { SerialLink } from "../modem/serial-link.js";
import type { WifiJoinResult, WifiManager, WifiNetwork } from "../wifi/wifi-manager.js";
import { type ImprovRedirectUrl, joinWithTimeout, redirectStrings } from "./improv-common.js";

/** Default time allowed for a join before answering "unable to connect" (ESPHome uses 30 s). */
export const IMPROV_DEFAULT_JOIN_TIMEOUT_MS = 30_000;
/** Default inter-byte timeout of the packet parser (a cut-off packet cannot swallow the next one). */
export const IMPROV_DEFAULT_INTER_BYTE_TIMEOUT_MS = 1_000;

/** Where to send the user after a successful provisioning: a URL, or a function of the joined network. */
export type { ImprovRedirectUrl } from "./improv-common.js";

export interface ImprovSerialDeviceOptions {
  /** The serial port shared with the console. The device listens on it; it never closes it. */
  readonly link: SerialLink;
  readonly wifi: WifiManager;
  readonly deviceInfo: {
    readonly firmware: string;
    readonly version: string;
    readonly chip: string;
    readonly deviceName: string;
  };
  /** Sent as the first string of the provisioning result; omitted (empty list) when not set. */
  readonly redirectUrl?: ImprovRedirectUrl;
  /** Timers (join timeout, parser inter-byte timeout). Default: the system clock. */
  readonly clock?: Clock;
  /** Join budget. Default 30 000 ms. */
  readonly joinTimeoutMs?: number;
  /** Parser inter-byte timeout. Default 1000 ms. */
  readonly interByteTimeoutMs?: number;
  /** Structured log lines (never a password). */
  readonly logger?: Logger;
}

export interface ImprovSerialDeviceStats {
  /** RPC command packets received (each is one client request, one round trip). */
  readonly rpcRequests: number;
  /** RPC command packets received, by command byte. */
  readonly rpcByCommand: Readonly<Record<number, number>>;
  /** Improv packets written. */
  readonly packetsSent: number;
  /** Packets refused by the parser (bad checksum, unknown type). */
  readonly invalidPackets: number;
  /** Non-Improv bytes seen on the link (console traffic, the client's newlines). */
  readonly noiseBytes: number;
  /** Joins attempted / succeeded. */
  readonly joins: number;
  readonly joinsSucceeded: number;
}

export interface ImprovSerialDevice {
  /** Current Improv state (0x02 ready, 0x03 provisioning, 0x04 provisioned). */
  readonly state: ImprovState;
  /** Last error state sent. */
  readonly error: ImprovError;
  /** Resolves once the initial state is known (provisioned when the WifiManager is already connected). */
  readonly ready: Promise<void>;
  readonly stats: ImprovSerialDeviceStats;
  /** Resolves when every RPC received so far has been answered. */
  idle(): Promise<void>;
  /** Stops listening and cancels timers. The link stays open (it is the console). */
  close(): Promise<void>;
}

interface Joined {
  readonly ssid: string;
  readonly ip: string;
}

/** Starts the device side of Improv serial on `link` (see the module comment). */
export function createImprovSerialDevice(options: ImprovSerialDeviceOptions): ImprovSerialDevice {
  const { link, wifi } = options;
  const clock = options.clock ?? new SystemClock();
  const joinTimeoutMs = options.joinTimeoutMs ?? IMPROV_DEFAULT_JOIN_TIMEOUT_MS;
  const info: ImprovDeviceInfo = { ...options.deviceInfo };
  const log = options.logger;
  const parser = new ImprovSerialParser({
    interByteTimeoutMs: options.interByteTimeoutMs ?? IMPROV_DEFAULT_INTER_BYTE_TIMEOUT_MS,
  });

  let state: ImprovState = ImprovState.Authorized;
  let error: ImprovError = ImprovError.None;
  let joined: Joined | undefined;
  let joining = false;
  let closed = false;
  const counts = {
    rpcRequests: 0,
    rpcByCommand: {} as Record<number, number>,
    packetsSent: 0,
    invalidPackets: 0,
    joins: 0,
    joinsSucceeded: 0,
  };
  // Long RPCs (scan, join) run one at a time, in arrival order; state and info requests answer at once.
  let work: Promise<void> = Promise.resolve();
  let outgoing: Promise<void> = Promise.resolve();
  let activeJoin: AbortController | undefined;
  const enqueue = (task: () => Promise<void>) => {
    work = work.then(task).catch((err: unknown) => {
      log?.error({ err: err instanceof Error ? err.message : String(err) }, "improv: RPC failed");
      void sendError(ImprovError.Unknown);
    });
  };

  const send = (message: ImprovMessage): Promise<void> => {
    if (closed) return outgoing;
    let bytes: Uint8Array;
    try {
      bytes = encodeImprovMessage(message);
    } catch (err) {
      // Only a result can be too long (a redirect URL over 253 bytes): answer "unknown error" instead.
      log?.error({ err: err instanceof Error ? err.message : String(err) }, "improv: cannot encode a reply");
      return send({ kind: "error", error: ImprovError.Unknown });
    }
    counts.packetsSent++;
    outgoing = outgoing
      .then(() => link.write(bytes))
      .catch((err: unknown) => {
        log?.warn({ err: err instanceof Error ? err.message : String(err) }, "improv: write failed");
      });
    return outgoing;
  };
  const sendState = (next: ImprovState) => {
    state = next;
    return send({ kind: "state", state: next });
  };
  const sendError = (next: ImprovError) => {
    error = next;
    return send({ kind: "error", error: next });
  };
  const sendResult = (command: number, strings: readonly string[]) => send({ kind: "result", command, strings });

  const ready = wifi
    .status()
    .then((s) => {
      if (s.connected && state === ImprovState.Authorized) {
        joined = { ssid: s.ssid, ip: s.ip };
        state = ImprovState.Provisioned;
      }
    })
    .catch(() => {});

  const scan = async (): Promise<void> => {
    let networks: readonly WifiNetwork[];
    try {
      networks = await wifi.scan();
    } catch (err) {
      log?.warn({ err: err instanceof Error ? err.message : String(err) }, "improv: scan failed");
      await sendError(ImprovError.Unknown);
      return;
    }
    const best = new Map<string, WifiNetwork>();
    for (const n of networks) {
      if (n.ssid === "") continue;
      const seen = best.get(n.ssid);
      if (seen === undefined || n.rssi > seen.rssi) best.set(n.ssid, n);
    }
    const sorted = [...best.values()].sort((a, b) => b.rssi - a.rssi);
    for (const n of sorted) {
      const strings = scanEntryStrings({ ssid: n.ssid, rssi: n.rssi, authRequired: n.auth !== "open" });
      if (new TextEncoder().encode(strings.join("")).length + 3 > IMPROV_MAX_DATA_BYTES - 2) continue;
      void sendResult(ImprovCommand.RequestScannedNetworks, strings);
    }
    await sendResult(ImprovCommand.RequestScannedNetworks, []);
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
    counts.joins++;
    joining = true;
    await sendState(ImprovState.Provisioning);
    log?.info({ ssid: settings.ssid }, "improv: joining");
    const result = await join(settings);
    joining = false;
    if (closed) return;
    if (result.ok) {
      counts.joinsSucceeded++;
      joined = { ssid: result.ssid, ip: result.ip };
      log?.info({ ssid: result.ssid, ip: result.ip }, "improv: provisioned");
      await sendState(ImprovState.Provisioned);
      await sendResult(ImprovCommand.SendWifiSettings, redirectStrings(options.redirectUrl, joined));
      return;
    }
    log?.warn({ ssid: settings.ssid, reason: result.reason }, "improv: join failed");
    joined = undefined;
    await wifi.forget(settings.ssid).catch(() => {});
    await sendError(ImprovError.UnableToConnect);
    await sendState(ImprovState.Authorized);
  };

  const handleRpc = (data: Uint8Array): void => {
    counts.rpcRequests++;
    let rpc: { command: number; data: Uint8Array };
    try {
      rpc = decodeRpcBody(data);
    } catch {
      void sendError(ImprovError.InvalidRpc);
      return;
    }
    counts.rpcByCommand[rpc.command] = (counts.rpcByCommand[rpc.command] ?? 0) + 1;
    void sendError(ImprovError.None);
    switch (rpc.command) {
      case ImprovCommand.RequestCurrentState:
        void ready.then(() => {
          void sendState(state);
          if (state === ImprovState.Provisioned)
            void sendResult(ImprovCommand.RequestCurrentState, redirectStrings(options.redirectUrl, joined));
        });
        return;
      case ImprovCommand.RequestDeviceInfo:
        void sendResult(ImprovCommand.RequestDeviceInfo, deviceInfoStrings(info));
        return;
      case ImprovCommand.RequestScannedNetworks:
        enqueue(scan);
        return;
      case ImprovCommand.SendWifiSettings: {
        let settings: ImprovWifiSettings;
        try {
          settings = decodeWifiSettings(rpc.data);
        } catch {
          void sendError(ImprovError.InvalidRpc);
          return;
        }
        const ssidBytes = new TextEncoder().encode(settings.ssid).length;
        if (ssidBytes < 1 || ssidBytes > 32 || joining) {
          void sendError(ImprovError.InvalidRpc);
          return;
        }
        joining = true;
        enqueue(() => provision(settings));
        return;
      }
      default:
        void sendError(ImprovError.UnknownRpc);
    }
  };

  const unsubscribe = link.onData((chunk) => {
    if (closed) return;
    for (const event of parser.push(chunk, clock.monotonicMs())) {
      if (event.kind === "invalid") {
        counts.invalidPackets++;
        if (event.error.code === "improv.checksum") void sendError(ImprovError.InvalidRpc);
      } else if (event.kind === "packet" && event.packet.type === ImprovPacketType.Rpc) {
        handleRpc(event.packet.data);
      }
    }
  });

  return {
    get state() {
      return state;
    },
    get error() {
      return error;
    },
    ready,
    get stats(): ImprovSerialDeviceStats {
      return { ...counts, rpcByCommand: { ...counts.rpcByCommand }, noiseBytes: parser.stats.noiseBytes };
    },
    async idle() {
      await ready;
      let seen: Promise<void> | undefined;
      while (seen !== work) {
        seen = work;
        await work;
      }
      await outgoing;
    },
    async close() {
      closed = true;
      unsubscribe();
      activeJoin?.abort();
    },
  };
}
