/**
 * The board's WiFi station, behind a small interface: `NmcliWifiManager` (NetworkManager boards),
 * `WpaSupplicantWifiManager` (Buildroot/Yocto/OpenWrt via `wpa_cli`) and `SimulatedWifiManager` (firmware-sim and
 * tests). Real hardware is absent from CI: the real managers are tested against recorded command output.
 */
export type WifiAuth = "open" | "wep" | "wpa_psk" | "wpa2_psk" | "wpa3_sae" | "wpa2_enterprise" | "unknown";

export interface WifiNetwork {
  readonly ssid: string;
  /** 12 lowercase hex, when known. */
  readonly bssid?: string;
  /** dBm. */
  readonly rssi: number;
  readonly channel?: number;
  readonly auth: WifiAuth;
}

/** Why joining failed; the provisioning status reports it as is. */
export type WifiFailure = "auth_error" | "ap_not_found" | "dhcp_timeout" | "timeout";

export type WifiJoinResult =
  | { readonly ok: true; readonly ip: string; readonly ssid: string; readonly bssid?: string }
  | { readonly ok: false; readonly reason: WifiFailure };

export interface WifiCredentials {
  readonly ssid: string;
  /** Secret: never logged. Empty for an open network. */
  readonly password: string;
  readonly bssid?: string;
}

export interface WifiManager {
  scan(options?: { signal?: AbortSignal }): Promise<readonly WifiNetwork[]>;
  /** Joins (and remembers) a network; resolves with the outcome, never rejects for a wrong password. */
  join(credentials: WifiCredentials, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<WifiJoinResult>;
  /** The current connection, if any. */
  status(): Promise<
    { readonly connected: false } | { readonly connected: true; readonly ssid: string; readonly ip: string }
  >;
  /** Forgets a network the device was given (retry in place, factory reset). */
  forget(ssid: string): Promise<void>;
}
