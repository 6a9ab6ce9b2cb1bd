/** Helpers shared by the WiFi managers: signal and channel conversions, key checks, secret scrubbing, waiting. */
import { type ErrorContext, TriadkitError } from "@triadkit/protocol";
import type { Clock } from "../clock.js";

/**
 * NetworkManager's signal percentage → dBm: the inverse of NetworkManager's own `nm_wifi_utils_level_to_quality`,
 * which clamps dBm to [-100, -40] and maps it linearly to [0, 100] %. So `dBm = -100 + 0.6 × percent`:
 * 100 % → -40 dBm, 50 % → -70 dBm, 0 % → -100 dBm. Precise only to that clamp (a -30 dBm AP also reads 100 %).
 */
export function signalPercentToDbm(percent: number): number {
  const p = Math.min(100, Math.max(0, percent));
  return Math.round(-100 + 0.6 * p);
}

/**
 * wpa_supplicant's "signal level" → dBm. nl80211 drivers report dBm (negative) and it is used as is. Old WEXT
 * drivers report an unsigned byte (111..255), read as `level - 256` dBm (what NetworkManager does). A small
 * positive level (0..110) is a driver "quality" and is mapped like NetworkManager's percentage.
 */
export function wpaLevelToDbm(level: number): number {
  if (level < 0) return level;
  if (level > 110 && level < 256) return level - 256;
  return signalPercentToDbm(level);
}

/** 802.11 channel of a frequency in MHz (2.4 GHz, 5 GHz, 6 GHz bands); undefined when not a known channel. */
export function frequencyToChannel(mhz: number): number | undefined {
  if (!Number.isInteger(mhz)) return undefined;
  if (mhz === 2484) return 14;
  if (mhz >= 2412 && mhz <= 2472 && (mhz - 2407) % 5 === 0) return (mhz - 2407) / 5;
  if (mhz >= 5160 && mhz <= 5885 && (mhz - 5000) % 5 === 0) return (mhz - 5000) / 5;
  if (mhz === 5935) return 2;
  if (mhz >= 5955 && mhz <= 7115 && (mhz - 5950) % 5 === 0) return (mhz - 5950) / 5;
  return undefined;
}

/** `AA:BB:CC:dd:ee:ff` (or with `\:` escapes) → `aabbccddeeff`; undefined when not a MAC. */
export function normalizeBssid(raw: string): string | undefined {
  const hex = raw.replace(/\\?[:-]/g, "").toLowerCase();
  return /^[0-9a-f]{12}$/.test(hex) ? hex : undefined;
}

/** `aabbccddeeff` → `aa:bb:cc:dd:ee:ff`, the form the tools take. */
export function bssidWithColons(bssid: string): string {
  const hex = normalizeBssid(bssid) ?? bssid;
  return hex.match(/../g)?.join(":") ?? hex;
}

/**
 * Whether `password` can be a WPA/WPA2-Personal key: a passphrase of 8..63 printable ASCII characters, or 64 hex
 * digits (a raw PSK). Empty means an open network. Anything else cannot join any WPA network; the managers answer
 * `auth_error` without running a tool, and never put such a string on a command line or in a control command.
 */
export function isUsableWifiPassword(password: string): boolean {
  if (password === "") return true;
  if (/^[0-9a-fA-F]{64}$/.test(password)) return true;
  return password.length >= 8 && password.length <= 63 && /^[\x20-\x7e]+$/.test(password);
}

/** UTF-8 byte length of an SSID must be 1..32. */
export function isUsableSsid(ssid: string): boolean {
  const bytes = Buffer.byteLength(ssid, "utf8");
  return bytes >= 1 && bytes <= 32 && !/[\r\n\0]/.test(ssid);
}

/** Replaces every occurrence of the secret (when non-empty) in a tool's output before it is parsed or quoted. */
export function scrub(text: string, secret: string): string {
  return secret === "" ? text : text.split(secret).join("[redacted]");
}

/** First non-empty line, scrubbed and cut to 200 characters: what errors may quote of a tool's output. */
export function quoteOutput(text: string, secret = ""): string {
  const line =
    scrub(text, secret)
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find((l) => l !== "") ?? "";
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

export function commandFailed(message: string, context: ErrorContext): TriadkitError {
  return new TriadkitError("wifi.command_failed", message, context);
}

/** Waits `ms` on the injected clock; rejects with the signal's reason on abort. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      handle.cancel();
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason;
}

export function checkPositive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) {
    throw new TriadkitError("config.invalid", `${name} must be a positive number of milliseconds`, { [name]: v });
  }
  return v;
}
