import { EventEmitter } from "node:events";
import {
  createDeviceSession,
  type DeviceSession,
  decodeProvRequest,
  encodeProvMessage,
  isTriadkitError,
  type PopVerifier,
  type ProvRequest,
  type ProvResponse,
  type WifiAuthMode,
  type WifiFailureReason,
  type WifiState,
} from "@triadkit/protocol";
import { type Clock, SystemClock } from "../clock.js";
import { silentLogger } from "../logging/index.js";
import type { Logger } from "../logging/logger.js";
import { CryptoRandom, type Random } from "../random.js";
import type { WifiManager, WifiNetwork } from "../wifi/wifi-manager.js";

/** The WiFi manager's auth names as the provisioning messages spell them. */
const AUTH_ON_WIRE: Record<WifiNetwork["auth"], WifiAuthMode> = {
  open: "open",
  wep: "wep",
  wpa_psk: "wpa_psk",
  wpa2_psk: "wpa2_psk",
  wpa3_sae: "wpa3_psk",
  wpa2_enterprise: "wpa2_enterprise",
  unknown: "other",
};

export interface ProvisioningCoreOptions {
  readonly wifi: WifiManager;
  /** The PoP verifier from the device's flash (written by the factory station); never the PoP text. */
  readonly verifier: PopVerifier;
  readonly info: { readonly firmware: string; readonly productKey: string; readonly deviceName: string };
  readonly clock?: Clock;
  readonly random?: Random;
  readonly logger?: Logger;
  /** PoP failure back-off: first lock `baseMs`, doubling, at most `capMs`. Defaults 2 s and 1 h. */
  readonly backoff?: { readonly baseMs?: number; readonly capMs?: number };
  /** Capabilities announced in device info (the transports add theirs). */
  readonly capabilities?: readonly string[];
}

export interface ProvisioningEvents {
  sessionStarted: [];
  /** A client failed to prove the PoP; sessions are refused until `lockedForMs` has passed. */
  popFailed: [info: { failures: number; lockedForMs: number }];
  joined: [info: { ssid: string; ip: string }];
  joinFailed: [info: { ssid: string; reason: WifiFailureReason }];
  /** The app's bind token: report it to the cloud once online (`reportBindToken`). */
  bindToken: [token: Uint8Array];
  windowClosed: [];
}

/** What a transport does with an incoming message: answer (maybe) and maybe drop the link. */
export interface CoreAnswer {
  readonly reply?: Uint8Array;
  readonly close?: boolean;
}

/**
 * The transport-independent device side of WiFi provisioning: one secure session (v1) at a time, answering device
 * info, scan, set credentials, apply, status, reset and bind token. Wrong PoPs lock new sessions out with exponential
 * back-off (never permanently); `physicalReset()` clears it. The BLE and SoftAP services wrap it.
 */
export class ProvisioningCore extends EventEmitter<ProvisioningEvents> {
  private readonly clock: Clock;
  private readonly random: Random;
  readonly log: Logger;
  private session: DeviceSession | undefined;
  private failures = 0;
  private lockedUntilMs = 0;
  private credentials: { ssid: string; password: string } | undefined;
  private wifiState: WifiState = "idle";
  private failure: WifiFailureReason | undefined;
  private ip: string | undefined;
  private scanCache: readonly WifiNetwork[] = [];
  private pendingToken: Uint8Array | undefined;

  constructor(private readonly options: ProvisioningCoreOptions) {
    super();
    this.clock = options.clock ?? new SystemClock();
    this.random = options.random ?? new CryptoRandom();
    this.log = (options.logger ?? silentLogger).child({ component: "provisioning" });
  }

  /** Consecutive PoP failures since the last success or physical reset. */
  get popFailures(): number {
    return this.failures;
  }

  get connected(): boolean {
    return this.wifiState === "connected";
  }

  /** Everything announced in device info: the transports' capabilities plus the core's own. */
  get capabilities(): readonly string[] {
    return [...(this.options.capabilities ?? []), "wifi_scan", "bind_token", "reset"];
  }

  /** Public, secret-free state for a status endpoint or advertisement. */
  publicState(): { state: WifiState; provisioned: boolean; locked: boolean } {
    return {
      state: this.wifiState,
      provisioned: this.wifiState === "connected",
      locked: this.clock.monotonicMs() < this.lockedUntilMs,
    };
  }

  /** A physical button / power-on reset: clears the PoP back-off (the only way to lift a lock early). */
  physicalReset(): void {
    this.failures = 0;
    this.lockedUntilMs = 0;
    this.session = undefined; // like a reboot: a half-open session is gone, not counted
  }

  /** The link went away: a client that got a Welcome and left without proving the PoP counts as a failure. */
  linkClosed(): void {
    if (this.session?.state === "awaiting_proof") this.popFailed();
    this.session = undefined;
  }

  /** Handles one whole message from the client (a Hello, or a session record). */
  async onMessage(message: Uint8Array): Promise<CoreAnswer> {
    const session = this.session;
    if (session === undefined || (session.state !== "ready" && session.state !== "awaiting_proof")) {
      return this.onHello(message);
    }
    let request: ProvRequest;
    try {
      request = decodeProvRequest(session.open(message));
    } catch (err) {
      const code = isTriadkitError(err) ? err.code : "internal.unexpected";
      if (code === "prov.pop_mismatch") this.popFailed();
      this.log.warn({ code }, "refused a provisioning record; closing the session");
      this.session = undefined;
      const short = code.replace(/^prov\./, "").replace(/\W/g, "_");
      return { reply: encodeProvMessage({ type: "error", id: 0, code: short }), close: true };
    }
    if (session.state === "ready") this.failures = 0;
    const response = await this.handle(request);
    return { reply: session.seal(encodeProvMessage(response)) };
  }

  private onHello(message: Uint8Array): CoreAnswer {
    if (this.clock.monotonicMs() < this.lockedUntilMs) {
      return { reply: encodeProvMessage({ type: "error", id: 0, code: "backoff" }) };
    }
    const session = createDeviceSession({ verifier: this.options.verifier, random: (n) => this.random.bytes(n) });
    try {
      const welcome = session.receiveHello(message);
      this.session = session;
      this.emit("sessionStarted");
      return { reply: welcome };
    } catch (err) {
      this.log.warn({ code: isTriadkitError(err) ? err.code : "?" }, "bad Hello");
      return { reply: encodeProvMessage({ type: "error", id: 0, code: "bad_hello" }) };
    }
  }

  private popFailed(): void {
    this.failures++;
    const base = this.options.backoff?.baseMs ?? 2_000;
    const cap = this.options.backoff?.capMs ?? 3_600_000;
    const lockedForMs = Math.min(cap, base * 2 ** Math.min(this.failures - 1, 30));
    this.lockedUntilMs = this.clock.monotonicMs() + lockedForMs;
    this.log.warn({ failures: this.failures, lockedForMs }, "proof of possession failed");
    this.emit("popFailed", { failures: this.failures, lockedForMs });
  }

  private async handle(request: ProvRequest): Promise<ProvResponse> {
    const id = request.id;
    switch (request.type) {
      case "get_device_info":
        return {
          type: "device_info",
          id,
          firmware: this.options.info.firmware,
          productKey: this.options.info.productKey,
          deviceName: this.options.info.deviceName,
          capabilities: [...this.capabilities],
          protocolVersion: 1,
          securityVersions: [1],
          state: this.wifiState === "connected" ? "connected" : this.credentials ? "provisioning" : "unprovisioned",
        };
      case "scan": {
        if (request.page === 0 || this.scanCache.length === 0) this.scanCache = await this.options.wifi.scan();
        const start = request.page * request.pageSize;
        const networks = this.scanCache.slice(start, start + request.pageSize).map((n) => ({
          ssid: n.ssid,
          rssi: Math.max(-128, Math.min(0, Math.round(n.rssi))),
          ...(n.channel === undefined ? {} : { channel: n.channel }),
          auth: AUTH_ON_WIRE[n.auth],
        }));
        return { type: "scan_result", id, networks, page: request.page, total: this.scanCache.length };
      }
      case "set_credentials":
        this.credentials = { ssid: request.ssid, password: request.password };
        this.wifiState = "idle";
        this.failure = undefined;
        return { type: "ok", id };
      case "bind_token":
        this.pendingToken = request.token;
        return { type: "ok", id };
      case "apply":
        if (this.credentials === undefined) return { type: "error", id, code: "no_credentials" };
        void this.join(this.credentials);
        return this.status(id);
      case "get_status":
        return this.status(id);
      case "reset":
        this.credentials = undefined;
        this.wifiState = "idle";
        this.failure = undefined;
        return this.status(id);
    }
  }

  private status(id: number): ProvResponse {
    return {
      type: "status",
      id,
      state: this.wifiState,
      ...(this.wifiState === "failed" && this.failure ? { reason: this.failure } : {}),
      ...(this.wifiState === "connected" && this.ip ? { ip: this.ip } : {}),
    };
  }

  private async join(credentials: { ssid: string; password: string }): Promise<void> {
    this.wifiState = "connecting";
    this.failure = undefined;
    const result = await this.options.wifi.join({ ssid: credentials.ssid, password: credentials.password });
    if (result.ok) {
      this.wifiState = "connected";
      this.ip = result.ip;
      this.emit("joined", { ssid: credentials.ssid, ip: result.ip });
      if (this.pendingToken) this.emit("bindToken", this.pendingToken);
    } else {
      this.wifiState = "failed";
      this.failure = result.reason;
      this.emit("joinFailed", { ssid: credentials.ssid, reason: result.reason });
    }
  }
}
