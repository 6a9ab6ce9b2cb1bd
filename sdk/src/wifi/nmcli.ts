/**
 * `NmcliWifiManager`: the WiFi station on boards run by NetworkManager, through `nmcli`.
 *
 * UNTESTED ON HARDWARE: written against nmcli's documentation and source and tested with recorded output only.
 * See docs/provisioning.md ("WiFi managers and hardware checklist") before relying on it on a board.
 *
 * Secret handling: the password is never an argument. `join` runs `nmcli --ask device wifi connect <ssid>` and
 * writes the password, one line, to nmcli's stdin, which `--ask` reads with readline (nmcli's `Password: ` prompt).
 * Other local users can see the SSID, the interface and the options in `ps`; they cannot see the password. The
 * password does end up in NetworkManager's profile (`/etc/NetworkManager/system-connections/*.nmconnection`,
 * root-only, mode 0600), which is what "remember the network" means.
 *
 * Run it as root or as a user polkit authorises outright (`nmcli general permissions` says `yes`, not `auth`):
 * with `--ask` nmcli also acts as a polkit agent, and a polkit password prompt would read the WiFi key from stdin.
 */
import type { CommandResult, CommandRunner } from "./command-runner.js";
import type {
  WifiAuth,
  WifiCredentials,
  WifiFailure,
  WifiJoinResult,
  WifiManager,
  WifiNetwork,
} from "./wifi-manager.js";
import {
  bssidWithColons,
  checkPositive,
  commandFailed,
  isUsableSsid,
  isUsableWifiPassword,
  normalizeBssid,
  quoteOutput,
  scrub,
  signalPercentToDbm,
  throwIfAborted,
} from "./wifi-util.js";

/** The fields `scan` asks for, in this order. */
export const NMCLI_SCAN_FIELDS = ["SSID", "BSSID", "CHAN", "SIGNAL", "SECURITY"] as const;

/** nmcli exit codes (nmcli(1), "EXIT STATUS"). */
export const NMCLI_EXIT = {
  success: 0,
  unknown: 1,
  invalidInput: 2,
  timeout: 3,
  activationFailed: 4,
  deactivationFailed: 5,
  disconnectFailed: 6,
  deleteFailed: 7,
  notRunning: 8,
  notFound: 10,
} as const;

/**
 * Splits one line of nmcli terse output (`-t`) into its fields: `:` separates, `\:` is a literal colon and `\\` a
 * literal backslash (nmcli escapes both in terse mode, see nmcli(1) `--escape`).
 */
export function splitNmcliTerseLine(line: string): string[] {
  const fields: string[] = [];
  let current = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === "\\" && i + 1 < line.length) {
      current += line[i + 1];
      i++;
    } else if (c === ":") {
      fields.push(current);
      current = "";
    } else {
      current += c;
    }
  }
  fields.push(current);
  return fields;
}

/** nmcli's SECURITY column (`WPA2`, `WPA1 WPA2`, `WPA2 802.1X`, `WPA3`, `WEP`, empty or `--` for open). */
export function nmcliSecurityToAuth(security: string): WifiAuth {
  const s = security.trim().toUpperCase();
  if (s === "" || s === "--") return "open";
  if (s.includes("802.1X")) return "wpa2_enterprise";
  if (/\bWPA2\b/.test(s)) return "wpa2_psk";
  if (/\bWPA3\b/.test(s)) return "wpa3_sae";
  if (/\bWPA1?\b/.test(s)) return "wpa_psk";
  if (s.includes("WEP")) return "wep";
  if (s === "OWE") return "open";
  return "unknown";
}

/**
 * Parses `nmcli -t -f <fields> device wifi list` output. `fields` names the columns in the order they were asked
 * for (case-insensitive; SSID, BSSID, CHAN, SIGNAL and SECURITY are used, others ignored). Hidden networks (empty
 * SSID) and malformed lines are skipped. The result is sorted by signal, strongest first.
 */
export function parseNmcliWifiList(
  stdout: string,
  fields: readonly string[] = NMCLI_SCAN_FIELDS,
): readonly WifiNetwork[] {
  const index = (name: string) => fields.findIndex((f) => f.toUpperCase() === name);
  const iSsid = index("SSID");
  const iBssid = index("BSSID");
  const iChan = index("CHAN");
  const iSignal = index("SIGNAL");
  const iSecurity = index("SECURITY");
  const out: WifiNetwork[] = [];
  for (const raw of stdout.split(/\r?\n/)) {
    if (raw.trim() === "") continue;
    const cols = splitNmcliTerseLine(raw);
    if (cols.length !== fields.length) continue;
    const ssid = iSsid >= 0 ? (cols[iSsid] as string) : "";
    if (ssid === "" || ssid === "--") continue;
    const signal = iSignal >= 0 ? Number.parseInt(cols[iSignal] as string, 10) : Number.NaN;
    const chan = iChan >= 0 ? Number.parseInt(cols[iChan] as string, 10) : Number.NaN;
    const bssid = iBssid >= 0 ? normalizeBssid(cols[iBssid] as string) : undefined;
    out.push({
      ssid,
      ...(bssid === undefined ? {} : { bssid }),
      rssi: Number.isFinite(signal) ? signalPercentToDbm(signal) : -100,
      ...(Number.isFinite(chan) && chan > 0 ? { channel: chan } : {}),
      auth: iSecurity >= 0 ? nmcliSecurityToAuth(cols[iSecurity] as string) : "unknown",
    });
  }
  return out.sort((a, b) => b.rssi - a.rssi);
}

/** `FIELD:value` lines of `nmcli -t -f … device show` (the value is everything after the first colon). */
export function parseNmcliFieldLines(stdout: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of stdout.split(/\r?\n/)) {
    const at = line.indexOf(":");
    if (at <= 0) continue;
    const key = line.slice(0, at);
    if (!map.has(key)) map.set(key, line.slice(at + 1));
  }
  return map;
}

export interface NmcliDeviceState {
  /** NMDeviceState number: 100 is activated, 30 disconnected, 20 unavailable, 10 unmanaged. */
  readonly state: number | undefined;
  readonly connection: string | undefined;
  /** First IPv4 address without its prefix length. */
  readonly ip4: string | undefined;
}

/** Reads GENERAL.STATE, GENERAL.CONNECTION and IP4.ADDRESS[1] from `nmcli -t -f … device show <iface>`. */
export function parseNmcliDeviceShow(stdout: string): NmcliDeviceState {
  const map = parseNmcliFieldLines(stdout);
  const stateText = map.get("GENERAL.STATE");
  const state = stateText === undefined ? undefined : Number.parseInt(stateText, 10);
  const connection = map.get("GENERAL.CONNECTION");
  const address = map.get("IP4.ADDRESS[1]") ?? map.get("IP4.ADDRESS");
  const ip4 = address?.split("/")[0]?.trim();
  return {
    state: state !== undefined && Number.isFinite(state) ? state : undefined,
    connection: connection === undefined || connection === "" || connection === "--" ? undefined : connection,
    ip4: ip4 === undefined || ip4 === "" ? undefined : ip4,
  };
}

/**
 * Maps a failed `nmcli device wifi connect` to a join outcome, or undefined when the failure is not about the
 * network (NetworkManager not running, not authorised, bad arguments): those are raised as `wifi.command_failed`.
 *
 * nmcli prints `Error: Connection activation failed: (<NMDeviceStateReason>) <text>` (the number since about
 * 1.20) and exits 4; `Error: No network with SSID '…' found.` exits 10; `--wait` expiry exits 3. Reasons used:
 * 7 no-secrets (what a wrong key looks like: NetworkManager asks again and nobody answers), 8–11 supplicant
 * disconnect/config/failed/timeout (a 4-way handshake that never completes), 53 SSID not found, 5 and 17–19
 * IP configuration / DHCP.
 */
export function classifyNmcliFailure(code: number | null, output: string): WifiFailure | undefined {
  const text = output;
  if (/Not authorized|access denied|Insufficient privileges|NetworkManager is not running/i.test(text)) {
    return undefined;
  }
  if (/No network with SSID|No access point with BSSID|could not be found|ssid-not-found|\(53\)/i.test(text)) {
    return "ap_not_found";
  }
  if (/IP configuration could not be reserved|ip-config-unavailable|DHCP|\((5|17|18|19)\)/i.test(text)) {
    return "dhcp_timeout";
  }
  if (
    /Secrets were required|no-secrets|802-11-wireless-security\.psk|supplicant|\((7|8|9|10|11)\)|password/i.test(text)
  ) {
    return "auth_error";
  }
  if (code === NMCLI_EXIT.timeout || /Timeout expired|timed out/i.test(text)) return "timeout";
  if (code === NMCLI_EXIT.activationFailed) return "timeout";
  return undefined;
}

export interface NmcliWifiManagerOptions {
  readonly runner: CommandRunner;
  /** The WiFi interface (`wlan0`); when absent nmcli picks one and `status` uses the first WiFi device. */
  readonly iface?: string;
  /** Path of nmcli. Default `nmcli` (found on PATH). */
  readonly nmcliPath?: string;
  /** Join budget when the caller gives none. Default 45 000 ms. */
  readonly defaultJoinTimeoutMs?: number;
  /** Timeout of the quick commands (status, delete, device show). Default 10 000 ms. */
  readonly commandTimeoutMs?: number;
  /** Timeout of a scan with `--rescan yes`. Default 30 000 ms. */
  readonly scanTimeoutMs?: number;
}

/**
 * {@link WifiManager} over NetworkManager's `nmcli`. UNTESTED ON HARDWARE (see the module comment).
 *
 * - scan: `nmcli -t -f SSID,BSSID,CHAN,SIGNAL,SECURITY device wifi list [ifname X] --rescan yes`.
 * - join: deletes an old profile named like the SSID, then `nmcli --ask --wait <s> device wifi connect <ssid>
 *   [ifname X] [bssid B]` with the password on stdin; on failure deletes the profile nmcli left behind, so a wrong
 *   password is not remembered.
 * - status: `device status` (to find the interface), `device show <iface>`, and `device wifi list --rescan no`
 *   for the active SSID.
 * - forget: `nmcli connection delete id <ssid>` (profiles are named after their SSID).
 */
export class NmcliWifiManager implements WifiManager {
  private readonly runner: CommandRunner;
  private readonly iface: string | undefined;
  private readonly nmcli: string;
  private readonly defaultJoinTimeoutMs: number;
  private readonly commandTimeoutMs: number;
  private readonly scanTimeoutMs: number;

  constructor(options: NmcliWifiManagerOptions) {
    // No clock: nmcli's own `--wait` times the join, and the runner times each command.
    this.runner = options.runner;
    this.iface = options.iface;
    this.nmcli = options.nmcliPath ?? "nmcli";
    this.defaultJoinTimeoutMs = checkPositive("defaultJoinTimeoutMs", options.defaultJoinTimeoutMs, 45_000);
    this.commandTimeoutMs = checkPositive("commandTimeoutMs", options.commandTimeoutMs, 10_000);
    this.scanTimeoutMs = checkPositive("scanTimeoutMs", options.scanTimeoutMs, 30_000);
  }

  async scan(options: { signal?: AbortSignal } = {}): Promise<readonly WifiNetwork[]> {
    const args = ["-t", "-f", NMCLI_SCAN_FIELDS.join(","), "device", "wifi", "list"];
    if (this.iface !== undefined) args.push("ifname", this.iface);
    args.push("--rescan", "yes");
    const r = await this.exec(args, { timeoutMs: this.scanTimeoutMs, signal: options.signal });
    if (r.code !== 0) throw this.failure("nmcli scan failed", r);
    return parseNmcliWifiList(r.stdout);
  }

  async join(
    credentials: WifiCredentials,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<WifiJoinResult> {
    const { ssid, password } = credentials;
    const signal = options.signal;
    const timeoutMs = checkPositive("timeoutMs", options.timeoutMs, this.defaultJoinTimeoutMs);
    if (!isUsableSsid(ssid)) return { ok: false, reason: "ap_not_found" };
    if (!isUsableWifiPassword(password)) return { ok: false, reason: "auth_error" };
    throwIfAborted(signal);

    // A profile of the same name would be re-used with its old secret and `--ask` would not prompt.
    await this.deleteProfile(ssid, signal);

    const waitSeconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    const args = [...(password === "" ? [] : ["--ask"]), "--wait", String(waitSeconds), "device", "wifi", "connect"];
    args.push(ssid);
    if (this.iface !== undefined) args.push("ifname", this.iface);
    if (credentials.bssid !== undefined) args.push("bssid", bssidWithColons(credentials.bssid));
    const r = await this.exec(args, {
      timeoutMs: timeoutMs + 5_000,
      signal,
      ...(password === "" ? {} : { input: `${password}\n` }),
    });
    const output = scrub(`${r.stdout}\n${r.stderr}`, password);
    if (r.code !== 0 || r.timedOut) {
      const reason = r.timedOut ? "timeout" : classifyNmcliFailure(r.code, output);
      await this.deleteProfile(ssid, signal);
      if (reason === undefined) {
        throw commandFailed("nmcli could not join", { exitCode: r.code, output: quoteOutput(output) });
      }
      return { ok: false, reason };
    }
    const iface = /Device '([^']+)' successfully activated/.exec(output)?.[1] ?? this.iface;
    const ip = iface === undefined ? undefined : (await this.deviceState(iface, signal)).ip4;
    if (ip === undefined) {
      await this.deleteProfile(ssid, signal);
      return { ok: false, reason: "dhcp_timeout" };
    }
    const bssid = credentials.bssid === undefined ? undefined : normalizeBssid(credentials.bssid);
    return { ok: true, ip, ssid, ...(bssid === undefined ? {} : { bssid }) };
  }

  async status(): Promise<{ readonly connected: false } | { readonly connected: true; ssid: string; ip: string }> {
    const iface = this.iface ?? (await this.firstWifiDevice());
    if (iface === undefined) return { connected: false };
    const state = await this.deviceState(iface);
    if (state.state !== 100 || state.ip4 === undefined) return { connected: false };
    const ssid = (await this.activeSsid(iface)) ?? state.connection;
    if (ssid === undefined) return { connected: false };
    return { connected: true, ssid, ip: state.ip4 };
  }

  async forget(ssid: string): Promise<void> {
    const r = await this.exec(["connection", "delete", "id", ssid], { timeoutMs: this.commandTimeoutMs });
    if (r.code !== 0 && r.code !== NMCLI_EXIT.notFound) throw this.failure("nmcli could not delete the profile", r);
  }

  private async deleteProfile(ssid: string, signal?: AbortSignal): Promise<void> {
    // Exit 10 (no such profile) is the common case; other failures surface on the next command.
    await this.exec(["connection", "delete", "id", ssid], { timeoutMs: this.commandTimeoutMs, signal });
  }

  private async deviceState(iface: string, signal?: AbortSignal): Promise<NmcliDeviceState> {
    const r = await this.exec(["-t", "-f", "GENERAL.STATE,GENERAL.CONNECTION,IP4.ADDRESS", "device", "show", iface], {
      timeoutMs: this.commandTimeoutMs,
      signal,
    });
    if (r.code !== 0) throw this.failure("nmcli device show failed", r);
    return parseNmcliDeviceShow(r.stdout);
  }

  private async firstWifiDevice(): Promise<string | undefined> {
    const r = await this.exec(["-t", "-f", "DEVICE,TYPE,STATE", "device", "status"], {
      timeoutMs: this.commandTimeoutMs,
    });
    if (r.code !== 0) throw this.failure("nmcli device status failed", r);
    for (const line of r.stdout.split(/\r?\n/)) {
      const [device, type] = splitNmcliTerseLine(line);
      if (type === "wifi" && device !== undefined && device !== "") return device;
    }
    return undefined;
  }

  private async activeSsid(iface: string): Promise<string | undefined> {
    const r = await this.exec(
      ["-t", "-f", "ACTIVE,SSID", "device", "wifi", "list", "ifname", iface, "--rescan", "no"],
      {
        timeoutMs: this.commandTimeoutMs,
      },
    );
    if (r.code !== 0) return undefined;
    for (const line of r.stdout.split(/\r?\n/)) {
      const [active, ssid] = splitNmcliTerseLine(line);
      if (active === "yes" && ssid !== undefined && ssid !== "") return ssid;
    }
    return undefined;
  }

  private exec(
    args: readonly string[],
    options: { timeoutMs: number; signal?: AbortSignal | undefined; input?: string },
  ): Promise<CommandResult> {
    // LC_ALL=C: the error texts classified above are the untranslated ones.
    return this.runner.run(this.nmcli, args, {
      timeoutMs: options.timeoutMs,
      env: { LC_ALL: "C" },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.input === undefined ? {} : { input: options.input }),
    });
  }

  private failure(message: string, r: CommandResult) {
    return commandFailed(message, {
      exitCode: r.code,
      timedOut: r.timedOut,
      output: quoteOutput(`${r.stderr}\n${r.stdout}`),
    });
  }
}
