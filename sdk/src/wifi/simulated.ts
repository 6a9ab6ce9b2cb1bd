/**
 * `SimulatedWifiManager`: a WiFi station without a radio, for firmware-sim devices and tests. Networks come from a
 * list or a file of `ssid<TAB>password` lines; each network may carry a fault. Delays run on the injected clock,
 * so a `ManualClock` fleet joins in virtual time. Semantics follow the real managers: a join first drops the
 * current connection; a failed join leaves nothing remembered; `forget` of the current network disconnects.
 */
import { readFile } from "node:fs/promises";
import { TriadkitError } from "@triadkit/protocol";
import { type Clock, SystemClock } from "../clock.js";
import type {
  WifiAuth,
  WifiCredentials,
  WifiFailure,
  WifiJoinResult,
  WifiManager,
  WifiNetwork,
} from "./wifi-manager.js";
import {
  checkPositive,
  isUsableSsid,
  isUsableWifiPassword,
  normalizeBssid,
  sleep,
  throwIfAborted,
} from "./wifi-util.js";

/**
 * - `refuse_password`: every password is refused (`auth_error`), like an AP whose key was changed.
 * - `absent`: the network is configured but out of range (`ap_not_found`; not in scans).
 * - `dhcp_timeout`: association works, no address ever comes (`dhcp_timeout` after the DHCP wait).
 * - `slow_join`: joins, but only after `slowJoinMs` (a `timeout` when the caller's budget is shorter).
 */
export type SimulatedWifiFault = "refuse_password" | "absent" | "dhcp_timeout" | "slow_join";

export const SIMULATED_WIFI_FAULTS: readonly SimulatedWifiFault[] = [
  "refuse_password",
  "absent",
  "dhcp_timeout",
  "slow_join",
];

export interface SimulatedNetwork {
  readonly ssid: string;
  /** Secret. Empty for an open network. */
  readonly password: string;
  readonly fault?: SimulatedWifiFault;
  /** dBm; default -55. */
  readonly rssi?: number;
  readonly channel?: number;
  /** 12 hex; default derived from the SSID. */
  readonly bssid?: string;
  /** Address handed out on this network; default 192.168.<n>.<n> style, stable per network. */
  readonly ip?: string;
}

export interface WifiNetworksFileProblem {
  /** 1-based line number. The line's text is never quoted: it may hold a password. */
  readonly line: number;
  readonly message: string;
}

export interface ParsedWifiNetworksFile {
  readonly networks: readonly SimulatedNetwork[];
  readonly problems: readonly WifiNetworksFileProblem[];
}

/**
 * Parses a networks file: one `ssid<TAB>password[<TAB>fault]` per line; an empty password is an open network;
 * lines starting with `#` are comments (so an SSID cannot start with `#` here); blank lines are ignored; CRLF and
 * a UTF-8 BOM are accepted. Bad lines (no TAB, SSID empty or over 32 bytes, a password no WPA network accepts, an
 * unknown fault, a repeated SSID) are skipped and reported by line number, never with their text. Never throws.
 */
export function parseWifiNetworksFile(text: string): ParsedWifiNetworksFile {
  const networks: SimulatedNetwork[] = [];
  const problems: WifiNetworksFileProblem[] = [];
  const seen = new Set<string>();
  const lines = text.replace(/^\uFEFF/, "").split("\n");
  lines.forEach((raw, i) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const n = i + 1;
    if (line.trim() === "" || line.startsWith("#")) return;
    const tab = line.indexOf("\t");
    if (tab < 0) {
      problems.push({ line: n, message: "expected ssid<TAB>password" });
      return;
    }
    const ssid = line.slice(0, tab);
    const rest = line.slice(tab + 1).split("\t");
    const password = rest[0] ?? "";
    const faultText = rest[1]?.trim() ?? "";
    if (rest.length > 2) {
      problems.push({ line: n, message: "too many TAB-separated columns" });
      return;
    }
    if (!isUsableSsid(ssid)) {
      problems.push({ line: n, message: "SSID must be 1 to 32 bytes of UTF-8" });
      return;
    }
    if (!isUsableWifiPassword(password)) {
      problems.push({ line: n, message: "password must be empty, 8 to 63 printable ASCII characters, or 64 hex" });
      return;
    }
    if (faultText !== "" && !(SIMULATED_WIFI_FAULTS as readonly string[]).includes(faultText)) {
      problems.push({ line: n, message: `unknown fault (expected one of ${SIMULATED_WIFI_FAULTS.join(", ")})` });
      return;
    }
    if (seen.has(ssid)) {
      problems.push({ line: n, message: "SSID listed twice; the first line wins" });
      return;
    }
    seen.add(ssid);
    networks.push({ ssid, password, ...(faultText === "" ? {} : { fault: faultText as SimulatedWifiFault }) });
  });
  return { networks, problems };
}

/** Reads and parses a networks file; with `strict` (the default) any problem is a `config.invalid` error. */
export async function loadWifiNetworksFile(
  path: string,
  options: { strict?: boolean } = {},
): Promise<ParsedWifiNetworksFile> {
  const parsed = parseWifiNetworksFile(await readFile(path, "utf8"));
  const first = parsed.problems[0];
  if ((options.strict ?? true) && first !== undefined) {
    throw new TriadkitError("config.invalid", `WiFi networks file line ${first.line}: ${first.message}`, {
      path,
      line: first.line,
      problems: parsed.problems.length,
    });
  }
  return parsed;
}

/** A join as the simulator saw it. The offered password is never kept, only whether it matched. */
export interface SimulatedJoinAttempt {
  readonly ssid: string;
  readonly bssid: string | undefined;
  readonly passwordMatched: boolean;
  /** Monotonic time the join started. */
  readonly atMs: number;
  readonly result: WifiJoinResult;
}

export interface SimulatedWifiManagerOptions {
  readonly networks: readonly SimulatedNetwork[];
  readonly clock?: Clock;
  /** Time an ordinary join takes. Default 1500 ms. */
  readonly joinDelayMs?: number;
  /** Time a `slow_join` network takes. Default 30 000 ms. */
  readonly slowJoinMs?: number;
  /** DHCP wait before `dhcp_timeout`. Default 10 000 ms (capped by the join budget). */
  readonly dhcpTimeoutMs?: number;
  /** Time before `ap_not_found`, the scans a real station makes. Default 3000 ms. */
  readonly notFoundDelayMs?: number;
  /** Time `scan` takes. Default 0. */
  readonly scanDelayMs?: number;
  /** Join budget when the caller gives none. Default 45 000 ms. */
  readonly defaultJoinTimeoutMs?: number;
}

interface NetworkState extends SimulatedNetwork {
  readonly index: number;
}

/** {@link WifiManager} over a list of simulated networks (see the module comment). */
export class SimulatedWifiManager implements WifiManager {
  private readonly clock: Clock;
  private readonly networks = new Map<string, NetworkState>();
  private readonly remembered = new Set<string>();
  private current: { readonly ssid: string; readonly ip: string } | undefined;
  private readonly attempts: SimulatedJoinAttempt[] = [];
  private nextIndex = 0;
  private readonly joinDelayMs: number;
  private readonly slowJoinMs: number;
  private readonly dhcpTimeoutMs: number;
  private readonly notFoundDelayMs: number;
  private readonly scanDelayMs: number;
  private readonly defaultJoinTimeoutMs: number;

  constructor(options: SimulatedWifiManagerOptions) {
    this.clock = options.clock ?? new SystemClock();
    this.joinDelayMs = options.joinDelayMs ?? 1500;
    this.slowJoinMs = options.slowJoinMs ?? 30_000;
    this.dhcpTimeoutMs = options.dhcpTimeoutMs ?? 10_000;
    this.notFoundDelayMs = options.notFoundDelayMs ?? 3000;
    this.scanDelayMs = options.scanDelayMs ?? 0;
    this.defaultJoinTimeoutMs = checkPositive("defaultJoinTimeoutMs", options.defaultJoinTimeoutMs, 45_000);
    for (const d of [this.joinDelayMs, this.slowJoinMs, this.dhcpTimeoutMs, this.notFoundDelayMs, this.scanDelayMs]) {
      if (!Number.isFinite(d) || d < 0) throw new TriadkitError("config.invalid", "delays must be >= 0 ms", {});
    }
    for (const n of options.networks) this.addNetwork(n);
  }

  /** A manager over the networks of a file (see {@link parseWifiNetworksFile}); problems are `config.invalid`. */
  static async fromFile(
    path: string,
    options: Omit<SimulatedWifiManagerOptions, "networks"> = {},
  ): Promise<SimulatedWifiManager> {
    const { networks } = await loadWifiNetworksFile(path, { strict: true });
    return new SimulatedWifiManager({ ...options, networks });
  }

  /** Adds (or replaces) a network, e.g. an AP switched on during a test. */
  addNetwork(network: SimulatedNetwork): void {
    if (!isUsableSsid(network.ssid)) throw new TriadkitError("config.invalid", "SSID must be 1 to 32 bytes", {});
    const existing = this.networks.get(network.ssid);
    this.networks.set(network.ssid, { ...network, index: existing?.index ?? this.nextIndex++ });
  }

  /** Removes a network (the AP is switched off); a station connected to it is disconnected. */
  removeNetwork(ssid: string): void {
    this.networks.delete(ssid);
    if (this.current?.ssid === ssid) this.current = undefined;
  }

  /** Sets or clears a network's fault. A connected station stays connected (faults act on the next join). */
  setFault(ssid: string, fault: SimulatedWifiFault | undefined): void {
    const n = this.networks.get(ssid);
    if (n === undefined) throw new TriadkitError("config.invalid", "no such simulated network", { ssid });
    const { fault: _old, ...rest } = n;
    this.networks.set(ssid, fault === undefined ? rest : { ...rest, fault });
  }

  /** Every join so far, oldest first (no passwords). */
  joinAttempts(): readonly SimulatedJoinAttempt[] {
    return [...this.attempts];
  }

  /** SSIDs joined successfully and not forgotten. */
  rememberedNetworks(): readonly string[] {
    return [...this.remembered];
  }

  async scan(options: { signal?: AbortSignal } = {}): Promise<readonly WifiNetwork[]> {
    await sleep(this.clock, this.scanDelayMs, options.signal);
    return [...this.networks.values()]
      .filter((n) => n.fault !== "absent")
      .map((n) => ({
        ssid: n.ssid,
        bssid: this.bssidOf(n),
        rssi: n.rssi ?? -55,
        channel: n.channel ?? [1, 6, 11][n.index % 3],
        auth: (n.password === "" ? "open" : "wpa2_psk") as WifiAuth,
      }))
      .sort((a, b) => b.rssi - a.rssi);
  }

  async join(
    credentials: WifiCredentials,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<WifiJoinResult> {
    const signal = options.signal;
    const timeoutMs = checkPositive("timeoutMs", options.timeoutMs, this.defaultJoinTimeoutMs);
    throwIfAborted(signal);
    const atMs = this.clock.monotonicMs();
    this.current = undefined;
    const network = this.networks.get(credentials.ssid);
    const wantedBssid = credentials.bssid === undefined ? undefined : normalizeBssid(credentials.bssid);
    const matched = network !== undefined && network.password === credentials.password;
    const finish = (result: WifiJoinResult): WifiJoinResult => {
      this.attempts.push({
        ssid: credentials.ssid,
        bssid: wantedBssid,
        passwordMatched: matched,
        atMs,
        result,
      });
      return result;
    };
    const fail = async (reason: WifiFailure, afterMs: number): Promise<WifiJoinResult> => {
      await sleep(this.clock, Math.min(afterMs, timeoutMs), signal);
      return finish({ ok: false, reason: afterMs > timeoutMs ? "timeout" : reason });
    };

    if (
      network === undefined ||
      network.fault === "absent" ||
      (wantedBssid !== undefined && wantedBssid !== this.bssidOf(network))
    ) {
      return fail("ap_not_found", this.notFoundDelayMs);
    }
    if (!isUsableWifiPassword(credentials.password) || !matched || network.fault === "refuse_password") {
      return fail("auth_error", this.joinDelayMs);
    }
    if (network.fault === "dhcp_timeout") {
      return fail(
        "dhcp_timeout",
        this.joinDelayMs + Math.min(this.dhcpTimeoutMs, Math.max(0, timeoutMs - this.joinDelayMs)),
      );
    }
    const delay = network.fault === "slow_join" ? this.slowJoinMs : this.joinDelayMs;
    if (delay > timeoutMs) return fail("timeout", timeoutMs);
    await sleep(this.clock, delay, signal);
    if (!this.networks.has(network.ssid)) return finish({ ok: false, reason: "ap_not_found" });
    const ip = network.ip ?? `192.168.${(network.index % 250) + 2}.${(network.index % 200) + 20}`;
    this.current = { ssid: network.ssid, ip };
    this.remembered.add(network.ssid);
    return finish({ ok: true, ip, ssid: network.ssid, bssid: this.bssidOf(network) });
  }

  async status(): Promise<{ readonly connected: false } | { readonly connected: true; ssid: string; ip: string }> {
    const c = this.current;
    return c === undefined ? { connected: false } : { connected: true, ssid: c.ssid, ip: c.ip };
  }

  async forget(ssid: string): Promise<void> {
    this.remembered.delete(ssid);
    if (this.current?.ssid === ssid) this.current = undefined;
  }

  private bssidOf(n: NetworkState): string {
    const given = n.bssid === undefined ? undefined : normalizeBssid(n.bssid);
    if (given !== undefined) return given;
    // Locally administered (02:…), stable per SSID.
    let h = 0x811c9dc5;
    for (const b of Buffer.from(n.ssid, "utf8")) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    return `02${h.toString(16).padStart(8, "0")}${(n.index % 256).toString(16).padStart(2, "0")}`;
  }
}
