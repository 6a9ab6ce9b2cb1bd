/**
 * `triadkit-sim device --improv-pty`: the device serves Improv Wi-Fi SERIAL on a socat PTY (its "USB console"), so
 * a PC tool (ESP Web Tools, the `improv-wifi-serial-sdk` client) can give it WiFi credentials. Also the simulated
 * WiFi's networks from `--wifi-file` or `--wifi ssid:password`.
 */
import {
  createImprovSerialDevice,
  loadWifiNetworksFile,
  NodeSerialLink,
  type SerialLink,
  type SimulatedNetwork,
  SimulatedWifiManager,
  type WifiManager,
  wifiRecord,
} from "@triadkit/sdk";
import type { SimulatedDeviceState } from "../flash/device-state.js";
import { createPtyPair } from "../pty/pty-pair.js";
import { type CliIo, CliUsageError } from "./io.js";

/**
 * The networks the simulated WiFi knows: `--wifi-file` (`ssid<TAB>password` lines) or `--wifi ssid:password`
 * (warns: the password shows in `ps`). `undefined` when neither is given.
 */
export async function loadSimulatedNetworks(
  options: { readonly wifiFile?: string | undefined; readonly wifi?: string | undefined },
  io: CliIo,
): Promise<readonly SimulatedNetwork[] | undefined> {
  if (options.wifiFile !== undefined && options.wifi !== undefined) {
    throw new CliUsageError("give either --wifi-file or --wifi, not both");
  }
  if (options.wifiFile !== undefined) return (await loadWifiNetworksFile(options.wifiFile)).networks;
  if (options.wifi === undefined) return undefined;
  const colon = options.wifi.indexOf(":");
  const ssid = colon < 0 ? "" : options.wifi.slice(0, colon);
  const length = new TextEncoder().encode(ssid).length;
  if (length < 1 || length > 32) throw new CliUsageError("--wifi must be <ssid>:<password> with a 1–32 byte SSID");
  io.err("triadkit-sim device: warning: --wifi puts the WiFi password in the process list (ps); prefer --wifi-file");
  return [{ ssid, password: options.wifi.slice(colon + 1) }];
}

export interface ImprovPtyProvisioning {
  /** Stops the Improv device and closes the PTY (at shutdown). */
  close(): Promise<void>;
}

/**
 * Serves Improv serial on a new PTY (prints `PTY improv <path>` on stdout) and resolves once the simulated WiFi is
 * joined: with the credentials in flash, or those a client sent (then stored in flash with `wifiRecord`). The PTY
 * stays served (the client may still read the state) until {@link ImprovPtyProvisioning.close}.
 */
export async function provisionOverImprovPty(
  state: SimulatedDeviceState,
  deviceName: string,
  networks: readonly SimulatedNetwork[],
  io: CliIo,
): Promise<ImprovPtyProvisioning> {
  const wifi = new SimulatedWifiManager({ networks, joinDelayMs: 200 });
  let onJoined: (ssid: string) => void = () => {};
  const joined = new Promise<string>((resolve) => {
    onJoined = resolve;
  });
  // Stores what a client sent once the join works; the password goes to flash and nowhere else.
  const storing: WifiManager = {
    scan: (o) => wifi.scan(o),
    status: () => wifi.status(),
    forget: (ssid) => wifi.forget(ssid),
    join: async (credentials, o) => {
      const result = await wifi.join(credentials, o);
      if (result.ok) {
        await wifiRecord.save(state.store, { ssid: credentials.ssid, password: credentials.password });
        onJoined(result.ssid);
      }
      return result;
    },
  };
  const stored = await wifiRecord.load(state.store);
  if (stored !== undefined) {
    const result = await wifi.join(stored);
    if (result.ok) onJoined(result.ssid);
    else io.err(`triadkit-sim device: stored WiFi ${stored.ssid} did not join (${result.reason}); provisioning again`);
  }

  const pair = await createPtyPair();
  let link: SerialLink;
  try {
    link = await NodeSerialLink.open(pair.a);
  } catch (err) {
    await pair.close();
    throw err;
  }
  const improv = createImprovSerialDevice({
    link,
    wifi: storing,
    deviceInfo: { firmware: "triadkit-sim", version: "0.1.0", chip: "sim", deviceName },
  });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await improv.close();
      await link.close().catch(() => undefined);
      await pair.close();
    })();
    return closing;
  };
  io.out(`PTY improv ${pair.b}`);
  const ssid = await joined;
  io.err(`triadkit-sim device: WiFi ${ssid} joined${stored?.ssid === ssid ? "" : " over Improv serial"}`);
  return { close };
}
