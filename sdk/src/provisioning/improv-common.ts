import type { ImprovWifiSettings } from "@triadkit/protocol";
import type { Clock } from "../clock.js";
import type { WifiJoinResult, WifiManager } from "../wifi/wifi-manager.js";

/** The URL (or a function of the joined network) an Improv client is sent to after provisioning. */
export type ImprovRedirectUrl = string | ((joined: { readonly ssid: string; readonly ip: string }) => string);

/** The RPC result strings for a successful join: the redirect URL, or none. */
export function redirectStrings(
  redirectUrl: ImprovRedirectUrl | undefined,
  joined: { ssid: string; ip: string } | undefined,
): string[] {
  if (joined === undefined || redirectUrl === undefined) return [];
  const url = typeof redirectUrl === "string" ? redirectUrl : redirectUrl(joined);
  return url === "" ? [] : [url];
}

/**
 * Joins a network, bounded by `timeoutMs` on the injected clock. The returned `abort` ends it early (close);
 * a timeout, an abort or a rejected join all resolve as `{ ok: false, reason: "timeout" }`.
 */
export function joinWithTimeout(
  wifi: WifiManager,
  settings: ImprovWifiSettings,
  clock: Clock,
  timeoutMs: number,
): { readonly result: Promise<WifiJoinResult>; readonly abort: AbortController } {
  const abort = new AbortController();
  const result = new Promise<WifiJoinResult>((resolve) => {
    const timer = clock.setTimeout(() => abort.abort(), timeoutMs);
    abort.signal.addEventListener("abort", () => {
      timer.cancel();
      resolve({ ok: false, reason: "timeout" });
    });
    wifi
      .join({ ssid: settings.ssid, password: settings.password }, { timeoutMs, signal: abort.signal })
      .then(resolve, () => resolve({ ok: false, reason: "timeout" }))
      .finally(() => timer.cancel());
  });
  return { result, abort };
}
