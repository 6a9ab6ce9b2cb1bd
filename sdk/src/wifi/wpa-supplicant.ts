/**
 * `WpaSupplicantWifiManager`: the WiFi station on Buildroot, Yocto and OpenWrt boards, through `wpa_cli`.
 *
 * UNTESTED ON HARDWARE: written against wpa_supplicant's control-interface documentation and public captures,
 * tested with recorded output only. See docs/provisioning.md ("WiFi managers and hardware checklist").
 *
 * Secret handling: `set_network <id> psk "<passphrase>"` is never an argument of wpa_cli. It is typed into an
 * interactive `wpa_cli` session through its stdin (a pipe), and wpa_cli sends it over the control socket. Other
 * local users see `wpa_cli -i wlan0` in `ps`, not the passphrase. wpa_cli echoes typed lines to its stdout (our
 * pipe); that output is scrubbed of the passphrase before it is parsed and is never logged or put in an error.
 * HOME is unset for the session, so wpa_cli keeps no history file (it also leaves `set_network` out of history as
 * a sensitive command). Anyone who can open the control socket (root, or `ctrl_interface` GROUP=) can read the
 * configured networks' existence but `get_network <id> psk` answers `*`; `save_config` writes the passphrase to
 * wpa_supplicant.conf, which must be root-only.
 */
import type { Clock } from "../clock.js";
import { SystemClock } from "../clock.js";
import type { CommandResult, CommandRunner } from "./command-runner.js";
import type { WifiAuth, WifiCredentials, WifiJoinResult, WifiManager, WifiNetwork } from "./wifi-manager.js";
import {
  bssidWithColons,
  checkPositive,
  commandFailed,
  frequencyToChannel,
  isUsableSsid,
  isUsableWifiPassword,
  normalizeBssid,
  quoteOutput,
  scrub,
  sleep,
  throwIfAborted,
  wpaLevelToDbm,
} from "./wifi-util.js";

/**
 * Decodes wpa_supplicant's printf-style escaping of SSIDs in `scan_results`, `status` and `list_networks`
 * (`\\`, `\"`, `\e`, `\n`, `\r`, `\t`, `\xHH`), then reads the bytes as UTF-8.
 */
export function decodeWpaString(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === "\\" && i + 1 < text.length) {
      const n = text[i + 1] as string;
      const simple: Record<string, number> = { "\\": 0x5c, '"': 0x22, e: 0x1b, n: 0x0a, r: 0x0d, t: 0x09 };
      if (n in simple) {
        bytes.push(simple[n] as number);
        i++;
        continue;
      }
      if (n === "x" && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
        bytes.push(Number.parseInt(text.slice(i + 2, i + 4), 16));
        i += 3;
        continue;
      }
    }
    for (const b of Buffer.from(c, "utf8")) bytes.push(b);
  }
  return Buffer.from(bytes).toString("utf8");
}

/** wpa_supplicant scan flags (`[WPA2-PSK-CCMP][ESS]`, `[WPA2-EAP-CCMP]`, `[SAE]`, `[WEP]`, `[ESS]`) → auth. */
export function wpaFlagsToAuth(flags: string): WifiAuth {
  const f = flags.toUpperCase();
  if (f.includes("EAP")) return "wpa2_enterprise";
  if (/\[(WPA2|RSN)-[^\]]*PSK/.test(f)) return "wpa2_psk";
  if (f.includes("SAE")) return "wpa3_sae";
  if (/\[WPA-[^\]]*PSK/.test(f)) return "wpa_psk";
  if (f.includes("WEP")) return "wep";
  return "open";
}

/**
 * Parses `wpa_cli scan_results`: a header `bssid / frequency / signal level / flags / ssid`, then one
 * tab-separated line per BSS. Frequency becomes a channel, the level dBm ({@link wpaLevelToDbm}). Hidden networks
 * (empty SSID) and lines that are not results (banner, prompt, events) are skipped; strongest first.
 */
export function parseWpaScanResults(stdout: string): readonly WifiNetwork[] {
  const out: WifiNetwork[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const cols = line.split("\t");
    if (cols.length < 5) continue;
    const bssid = normalizeBssid(cols[0] as string);
    const freq = Number.parseInt(cols[1] as string, 10);
    const level = Number.parseInt(cols[2] as string, 10);
    if (bssid === undefined || !Number.isFinite(freq) || !Number.isFinite(level)) continue;
    const ssid = decodeWpaString(cols.slice(4).join("\t"));
    if (ssid === "" || /^(\\x00)+$/.test(cols.slice(4).join("\t"))) continue;
    const channel = frequencyToChannel(freq);
    out.push({
      ssid,
      bssid,
      rssi: wpaLevelToDbm(level),
      ...(channel === undefined ? {} : { channel }),
      auth: wpaFlagsToAuth(cols[3] as string),
    });
  }
  return out.sort((a, b) => b.rssi - a.rssi);
}

export interface WpaStatus {
  /** DISCONNECTED, INACTIVE, SCANNING, AUTHENTICATING, ASSOCIATING, ASSOCIATED, 4WAY_HANDSHAKE, GROUP_HANDSHAKE, COMPLETED… */
  readonly wpaState: string | undefined;
  readonly ssid: string | undefined;
  readonly bssid: string | undefined;
  readonly ipAddress: string | undefined;
  readonly networkId: number | undefined;
  readonly fields: ReadonlyMap<string, string>;
}

/** Parses `wpa_cli status` (`key=value` lines; a leading `Selected interface '…'` line is ignored). */
export function parseWpaStatus(stdout: string): WpaStatus {
  const fields = new Map<string, string>();
  for (const line of stdout.split(/\r?\n/)) {
    const at = line.indexOf("=");
    if (at <= 0) continue;
    fields.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  const id = fields.get("id");
  const ip = fields.get("ip_address");
  const ssid = fields.get("ssid");
  const bssidRaw = fields.get("bssid");
  return {
    wpaState: fields.get("wpa_state"),
    ssid: ssid === undefined ? undefined : decodeWpaString(ssid),
    bssid: bssidRaw === undefined ? undefined : normalizeBssid(bssidRaw),
    ipAddress: ip === undefined || ip === "" || ip === "0.0.0.0" ? undefined : ip,
    networkId: id === undefined ? undefined : Number.parseInt(id, 10),
    fields,
  };
}

export interface WpaConfiguredNetwork {
  readonly id: number;
  readonly ssid: string;
  readonly flags: string;
}

/** Parses `wpa_cli list_networks`: header `network id / ssid / bssid / flags`, then tab-separated rows. */
export function parseWpaListNetworks(stdout: string): readonly WpaConfiguredNetwork[] {
  const out: WpaConfiguredNetwork[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const cols = line.split("\t");
    if (cols.length < 3 || !/^\d+$/.test(cols[0] as string)) continue;
    out.push({
      id: Number.parseInt(cols[0] as string, 10),
      ssid: decodeWpaString(cols[1] as string),
      flags: cols[3] ?? "",
    });
  }
  return out;
}

export interface WpaJoinEvents {
  readonly connected: boolean;
  /** `CTRL-EVENT-SSID-TEMP-DISABLED … reason=WRONG_KEY`, or `WPA: 4-Way Handshake failed - pre-shared key may be incorrect`. */
  readonly wrongKey: boolean;
  /** How many `CTRL-EVENT-NETWORK-NOT-FOUND` (wpa_supplicant ≥ 2.6: a scan ended without the configured network). */
  readonly notFound: number;
}

/** Reads the events an interactive wpa_cli printed (`<3>CTRL-EVENT-…` lines) during a join. */
export function classifyWpaEvents(text: string): WpaJoinEvents {
  return {
    connected: /CTRL-EVENT-CONNECTED/.test(text),
    wrongKey:
      /CTRL-EVENT-SSID-TEMP-DISABLED[^\n]*reason=WRONG_KEY/.test(text) ||
      /4-Way Handshake failed|pre-shared key may be incorrect/.test(text),
    notFound: (text.match(/CTRL-EVENT-NETWORK-NOT-FOUND/g) ?? []).length,
  };
}

/** `OK` / `FAIL…` replies an interactive wpa_cli printed, in order (prompts `> ` and echoes ignored). */
export function wpaReplies(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r\n|\r|\n/)) {
    const line = raw.replace(/^(> ?)+/, "").trim();
    if (line === "OK" || /^FAIL(-[A-Z-]+)?$/.test(line)) out.push(line);
  }
  return out;
}

export interface WpaSupplicantWifiManagerOptions {
  readonly runner: CommandRunner;
  readonly clock?: Clock;
  /** The WiFi interface (`-i wlan0`); when absent wpa_cli picks the first one. */
  readonly iface?: string;
  /** Control socket directory (`-p`), e.g. `/var/run/wpa_supplicant`; wpa_cli's default when absent. */
  readonly ctrlPath?: string;
  /** Path of wpa_cli. Default `wpa_cli`. */
  readonly wpaCliPath?: string;
  readonly defaultJoinTimeoutMs?: number;
  /** Wait between `scan` and `scan_results`. Default 3000 ms. */
  readonly scanWaitMs?: number;
  /** Poll period of `status` while waiting for the DHCP address. Default 500 ms. */
  readonly pollIntervalMs?: number;
  /** Time left for DHCP after association when the join budget is already spent. Default 10 000 ms. */
  readonly dhcpTimeoutMs?: number;
  /** `CTRL-EVENT-NETWORK-NOT-FOUND` events (scans) before answering `ap_not_found`. Default 3. */
  readonly notFoundScans?: number;
  readonly commandTimeoutMs?: number;
}

/**
 * {@link WifiManager} over `wpa_cli`. UNTESTED ON HARDWARE (see the module comment).
 *
 * - scan: `scan` (a busy answer is fine), wait, `scan_results`.
 * - join: removes networks with the same SSID (`list_networks`, `remove_network`), `add_network`, then one
 *   interactive session: `set_network N ssid <hex>`, `set_network N psk "<passphrase>"` (or `key_mgmt NONE`),
 *   `scan_ssid 1`, optional `bssid`, `enable_network N`, `select_network N`; the session stays open watching
 *   events until `CTRL-EVENT-CONNECTED`, a wrong key, repeated `CTRL-EVENT-NETWORK-NOT-FOUND` or the budget
 *   ends. Then `status` is polled for `wpa_state=COMPLETED` and `ip_address=` (filled by the board's DHCP client,
 *   udhcpc or dhcpcd). Success: `save_config`. Failure: `remove_network N` and the networks `select_network`
 *   disabled are enabled again; nothing is saved.
 * - status: `status`. forget: `remove_network` for each network with that SSID, then `save_config`.
 */
export class WpaSupplicantWifiManager implements WifiManager {
  private readonly runner: CommandRunner;
  private readonly clock: Clock;
  private readonly base: readonly string[];
  private readonly wpaCli: string;
  private readonly defaultJoinTimeoutMs: number;
  private readonly scanWaitMs: number;
  private readonly pollIntervalMs: number;
  private readonly dhcpTimeoutMs: number;
  private readonly notFoundScans: number;
  private readonly commandTimeoutMs: number;

  constructor(options: WpaSupplicantWifiManagerOptions) {
    this.runner = options.runner;
    this.clock = options.clock ?? new SystemClock();
    this.base = [
      ...(options.ctrlPath === undefined ? [] : ["-p", options.ctrlPath]),
      ...(options.iface === undefined ? [] : ["-i", options.iface]),
    ];
    this.wpaCli = options.wpaCliPath ?? "wpa_cli";
    this.defaultJoinTimeoutMs = checkPositive("defaultJoinTimeoutMs", options.defaultJoinTimeoutMs, 45_000);
    this.scanWaitMs = checkPositive("scanWaitMs", options.scanWaitMs, 3_000);
    this.pollIntervalMs = checkPositive("pollIntervalMs", options.pollIntervalMs, 500);
    this.dhcpTimeoutMs = checkPositive("dhcpTimeoutMs", options.dhcpTimeoutMs, 10_000);
    this.notFoundScans = checkPositive("notFoundScans", options.notFoundScans, 3);
    this.commandTimeoutMs = checkPositive("commandTimeoutMs", options.commandTimeoutMs, 10_000);
  }

  async scan(options: { signal?: AbortSignal } = {}): Promise<readonly WifiNetwork[]> {
    const signal = options.signal;
    const r = await this.cmd(["scan"], signal);
    const reply = wpaReplies(r.stdout)[0];
    if (r.code !== 0 || (reply !== "OK" && reply !== "FAIL-BUSY")) throw this.failure("wpa_cli scan failed", r);
    await sleep(this.clock, this.scanWaitMs, signal);
    const results = await this.cmd(["scan_results"], signal);
    if (results.code !== 0) throw this.failure("wpa_cli scan_results failed", results);
    return parseWpaScanResults(results.stdout);
  }

  async join(
    credentials: WifiCredentials,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<WifiJoinResult> {
    const { ssid, password } = credentials;
    const signal = options.signal;
    const timeoutMs = checkPositive("timeoutMs", options.timeoutMs, this.defaultJoinTimeoutMs);
    const deadline = this.clock.monotonicMs() + timeoutMs;
    if (!isUsableSsid(ssid)) return { ok: false, reason: "ap_not_found" };
    if (!isUsableWifiPassword(password)) return { ok: false, reason: "auth_error" };
    throwIfAborted(signal);

    const before = await this.listNetworks(signal);
    for (const n of before) if (n.ssid === ssid) await this.expectOk(["remove_network", String(n.id)], signal);
    const previouslyEnabled = before.filter((n) => n.ssid !== ssid && !n.flags.includes("[DISABLED]"));

    const added = await this.cmd(["add_network"], signal);
    const idText = added.stdout
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== "")
      .at(-1);
    if (added.code !== 0 || idText === undefined || !/^\d+$/.test(idText)) {
      throw this.failure("wpa_cli add_network failed", added);
    }
    const id = idText;
    const lines = [`set_network ${id} ssid ${Buffer.from(ssid, "utf8").toString("hex")}`];
    const pskIndex = lines.length;
    if (password === "") lines.push(`set_network ${id} key_mgmt NONE`);
    else if (/^[0-9a-fA-F]{64}$/.test(password)) lines.push(`set_network ${id} psk ${password}`);
    else lines.push(`set_network ${id} psk "${password}"`);
    lines.push(`set_network ${id} scan_ssid 1`);
    if (credentials.bssid !== undefined) lines.push(`set_network ${id} bssid ${bssidWithColons(credentials.bssid)}`);
    lines.push(`enable_network ${id}`, `select_network ${id}`);

    const notFoundScans = this.notFoundScans;
    const session = await this.runner.run(this.wpaCli, this.base, {
      input: `${lines.join("\n")}\n`,
      timeoutMs: Math.max(1, deadline - this.clock.monotonicMs()),
      env: { HOME: undefined },
      endInputWhen: (stdout) => {
        const e = classifyWpaEvents(stdout);
        return e.connected || e.wrongKey || e.notFound >= notFoundScans;
      },
      ...(signal === undefined ? {} : { signal }),
    });
    const output = scrub(`${session.stdout}\n${session.stderr}`, password);
    const undo = async () => {
      await this.cmd(["remove_network", id], signal);
      for (const n of previouslyEnabled) await this.cmd(["enable_network", String(n.id)], signal);
    };

    const replies = wpaReplies(output);
    const failed = replies.findIndex((r) => r !== "OK");
    if (failed === pskIndex) {
      await undo();
      return { ok: false, reason: "auth_error" };
    }
    if (failed >= 0 || (session.code !== 0 && session.code !== null && !session.timedOut)) {
      await undo();
      throw commandFailed("wpa_cli could not configure the network", {
        exitCode: session.code,
        output: quoteOutput(session.stderr, password),
      });
    }

    const events = classifyWpaEvents(output);
    if (events.wrongKey && !events.connected) {
      await undo();
      return { ok: false, reason: "auth_error" };
    }
    if (events.notFound >= notFoundScans && !events.connected) {
      await undo();
      return { ok: false, reason: "ap_not_found" };
    }
    let status = await this.readStatus(signal);
    if (!events.connected && status.wpaState !== "COMPLETED") {
      const visible = await this.cmd(["scan_results"], signal).then(
        (r) => parseWpaScanResults(r.stdout).some((n) => n.ssid === ssid),
        () => true,
      );
      await undo();
      return { ok: false, reason: visible ? "timeout" : "ap_not_found" };
    }

    // Associated: the address comes from the board's DHCP client; wpa_supplicant reports it in `status`.
    const dhcpDeadline = Math.max(deadline, this.clock.monotonicMs() + Math.min(this.dhcpTimeoutMs, timeoutMs));
    while (status.ipAddress === undefined && this.clock.monotonicMs() < dhcpDeadline) {
      await sleep(this.clock, Math.min(this.pollIntervalMs, dhcpDeadline - this.clock.monotonicMs()), signal);
      status = await this.readStatus(signal);
    }
    if (status.wpaState !== "COMPLETED" || status.ipAddress === undefined) {
      await undo();
      return { ok: false, reason: status.wpaState === "COMPLETED" ? "dhcp_timeout" : "timeout" };
    }
    await this.saveConfig(signal);
    return {
      ok: true,
      ip: status.ipAddress,
      ssid,
      ...(status.bssid === undefined ? {} : { bssid: status.bssid }),
    };
  }

  async status(): Promise<{ readonly connected: false } | { readonly connected: true; ssid: string; ip: string }> {
    const s = await this.readStatus();
    if (s.wpaState !== "COMPLETED" || s.ipAddress === undefined || s.ssid === undefined) return { connected: false };
    return { connected: true, ssid: s.ssid, ip: s.ipAddress };
  }

  async forget(ssid: string): Promise<void> {
    const networks = await this.listNetworks();
    const matching = networks.filter((n) => n.ssid === ssid);
    if (matching.length === 0) return;
    for (const n of matching) await this.expectOk(["remove_network", String(n.id)]);
    await this.saveConfig();
  }

  private async readStatus(signal?: AbortSignal): Promise<WpaStatus> {
    const r = await this.cmd(["status"], signal);
    if (r.code !== 0) throw this.failure("wpa_cli status failed", r);
    return parseWpaStatus(r.stdout);
  }

  private async listNetworks(signal?: AbortSignal): Promise<readonly WpaConfiguredNetwork[]> {
    const r = await this.cmd(["list_networks"], signal);
    if (r.code !== 0) throw this.failure("wpa_cli list_networks failed", r);
    return parseWpaListNetworks(r.stdout);
  }

  private async saveConfig(signal?: AbortSignal): Promise<void> {
    const r = await this.cmd(["save_config"], signal);
    if (r.code !== 0 || wpaReplies(r.stdout)[0] !== "OK") {
      throw this.failure("wpa_cli save_config failed (is update_config=1 set in wpa_supplicant.conf?)", r);
    }
  }

  private async expectOk(args: readonly string[], signal?: AbortSignal): Promise<void> {
    const r = await this.cmd(args, signal);
    if (r.code !== 0 || wpaReplies(r.stdout)[0] !== "OK") throw this.failure(`wpa_cli ${args[0]} failed`, r);
  }

  private cmd(args: readonly string[], signal?: AbortSignal): Promise<CommandResult> {
    return this.runner.run(this.wpaCli, [...this.base, ...args], {
      timeoutMs: this.commandTimeoutMs,
      ...(signal === undefined ? {} : { signal }),
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
