/**
 * BLE permissions pre-flight: what a real adapter needs on this machine, and what is missing. It only reads files
 * (/proc, /sys, the D-Bus socket path) and resolves package names; it opens no socket, loads no native code and never
 * throws. Each adapter gets a verdict with the problems in words (docs/ble.md has the hardware checklist):
 * - bleno (device side) and noble (station side) open raw HCI sockets: Linux with AF_BLUETOOTH, an HCI device, not
 *   rfkill-blocked, and root or CAP_NET_RAW + CAP_NET_ADMIN (bleno) / CAP_NET_RAW (noble); bluetoothd should be
 *   stopped or the adapter powered down for it (it competes for the controller);
 * - node-ble (station side) talks to BlueZ over the D-Bus system bus: bluetoothd running, an adapter, and a user the
 *   D-Bus policy admits (root, the `bluetooth` group on Debian/Ubuntu, or a polkit rule; not checkable from here).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

export type BleAdapterName = "bleno" | "noble" | "node-ble";

export interface BleAdapterVerdict {
  /** Nothing known to be missing (a real attempt may still fail: this reads the machine, it does not test it). */
  readonly ok: boolean;
  readonly problems: readonly string[];
}

export interface BlePreflightReport {
  readonly platform: string;
  /** Bluetooth sockets in the kernel: `loaded` (HCI/L2CAP in /proc/net/protocols), `not_loaded`, `unknown`. */
  readonly kernelBluetooth: "loaded" | "not_loaded" | "unknown";
  /** HCI devices in /sys/class/bluetooth (`hci0`, …). */
  readonly hciDevices: readonly string[];
  /** rfkill switches of type bluetooth that are soft- or hard-blocked. */
  readonly rfkillBlocked: readonly string[];
  readonly root: boolean;
  /** Effective capabilities from /proc/self/status, when readable. */
  readonly capabilities: { readonly netRaw: boolean; readonly netAdmin: boolean } | undefined;
  /** The process is in the `bluetooth` group. */
  readonly bluetoothGroup: boolean;
  readonly systemBus: { readonly address: string; readonly present: boolean };
  /** A bluetoothd process is running (from /proc/<pid>/comm). */
  readonly bluetoothd: boolean | "unknown";
  /** Which optional adapter packages resolve. */
  readonly packages: Readonly<Record<BleAdapterName, boolean>>;
  readonly adapters: Readonly<Record<BleAdapterName, BleAdapterVerdict>>;
}

export interface BlePreflightOptions {
  /** Prefix for /proc, /sys, /etc and /run paths (tests point it at a fake tree). Default "/". */
  readonly fsRoot?: string;
  readonly platform?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly uid?: number;
  readonly groups?: readonly number[];
  /** Whether a package resolves. Default: `require.resolve` from here. */
  readonly resolves?: (name: string) => boolean;
}

const CAP_NET_ADMIN = 12n;
const CAP_NET_RAW = 13n;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function list(path: string): string[] {
  try {
    return readdirSync(path).sort();
  } catch {
    return [];
  }
}

function defaultResolves(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(`${name}/package.json`);
    return true;
  } catch {
    return false;
  }
}

/** Reads the machine and reports what each BLE adapter would lack. Never throws. */
export function checkBlePreflight(options: BlePreflightOptions = {}): BlePreflightReport {
  try {
    return preflight(options);
  } catch (err) {
    const problem = `pre-flight failed: ${err instanceof Error ? err.message : String(err)}`;
    const verdict = { ok: false, problems: [problem] };
    return {
      platform: options.platform ?? process.platform,
      kernelBluetooth: "unknown",
      hciDevices: [],
      rfkillBlocked: [],
      root: false,
      capabilities: undefined,
      bluetoothGroup: false,
      systemBus: { address: "", present: false },
      bluetoothd: "unknown",
      packages: { bleno: false, noble: false, "node-ble": false },
      adapters: { bleno: verdict, noble: verdict, "node-ble": verdict },
    };
  }
}

function preflight(options: BlePreflightOptions): BlePreflightReport {
  const root = options.fsRoot ?? "/";
  const at = (p: string) => join(root, p);
  const platform = options.platform ?? process.platform;
  const env = options.env ?? process.env;
  const uid = options.uid ?? (typeof process.getuid === "function" ? process.getuid() : -1);
  const groups = options.groups ?? (typeof process.getgroups === "function" ? process.getgroups() : []);
  const resolves = options.resolves ?? defaultResolves;

  const protocols = read(at("proc/net/protocols"));
  const kernelBluetooth =
    protocols === undefined ? "unknown" : /^(HCI|L2CAP)\s/m.test(protocols) ? "loaded" : "not_loaded";
  const hciDevices = list(at("sys/class/bluetooth")).filter((d) => /^hci\d+$/.test(d));
  const rfkillBlocked = list(at("sys/class/rfkill")).filter((r) => {
    const dir = at(`sys/class/rfkill/${r}`);
    if (read(join(dir, "type"))?.trim() !== "bluetooth") return false;
    return read(join(dir, "soft"))?.trim() === "1" || read(join(dir, "hard"))?.trim() === "1";
  });
  const capHex = /^CapEff:\s*([0-9a-f]+)/im.exec(read(at("proc/self/status")) ?? "")?.[1];
  const capabilities =
    capHex === undefined
      ? undefined
      : {
          netRaw: ((BigInt(`0x${capHex}`) >> CAP_NET_RAW) & 1n) === 1n,
          netAdmin: ((BigInt(`0x${capHex}`) >> CAP_NET_ADMIN) & 1n) === 1n,
        };
  const bluetoothGid = /^bluetooth:[^:]*:(\d+):/m.exec(read(at("etc/group")) ?? "")?.[1];
  const bluetoothGroup = bluetoothGid !== undefined && groups.includes(Number(bluetoothGid));
  const address = env.DBUS_SYSTEM_BUS_ADDRESS ?? "unix:path=/var/run/dbus/system_bus_socket";
  const socketPath = /^unix:path=([^,;]+)/.exec(address)?.[1];
  const systemBus = {
    address,
    present:
      socketPath === undefined
        ? address.startsWith("unix:abstract=") || address.startsWith("tcp:")
        : existsSync(at(socketPath)),
  };
  const procs = list(at("proc")).filter((p) => /^\d+$/.test(p));
  const bluetoothd =
    procs.length === 0 ? ("unknown" as const) : procs.some((p) => read(at(`proc/${p}/comm`))?.trim() === "bluetoothd");
  const packages = {
    bleno: resolves("@abandonware/bleno"),
    noble: resolves("@abandonware/noble"),
    "node-ble": resolves("node-ble"),
  };

  const isRoot = uid === 0;
  const hci: string[] = [];
  if (platform !== "linux") hci.push(`raw HCI sockets are Linux-only here (platform ${platform})`);
  if (kernelBluetooth === "not_loaded") {
    hci.push(
      "the kernel shows no Bluetooth sockets (no HCI/L2CAP in /proc/net/protocols): no AF_BLUETOOTH, or the bluetooth module is not loaded",
    );
  }
  if (hciDevices.length === 0)
    hci.push("no HCI device in /sys/class/bluetooth (no adapter plugged in or passed through)");
  if (rfkillBlocked.length > 0) hci.push(`rfkill blocks ${rfkillBlocked.join(", ")} (rfkill unblock bluetooth)`);
  const capProblem = (needAdmin: boolean) => {
    if (isRoot && capabilities === undefined) return [];
    const missing: string[] = [];
    if (!capabilities?.netRaw) missing.push("CAP_NET_RAW");
    if (needAdmin && !capabilities?.netAdmin) missing.push("CAP_NET_ADMIN");
    return missing.length === 0
      ? []
      : [
          `missing ${missing.join(" and ")}: run as root or setcap cap_net_raw,cap_net_admin+eip $(readlink -f $(which node))`,
        ];
  };
  const verdict = (problems: string[]): BleAdapterVerdict => ({ ok: problems.length === 0, problems });
  const bleno = [...hci, ...capProblem(true)];
  if (!packages.bleno) bleno.push("@abandonware/bleno is not installed");
  const noble = [...hci, ...capProblem(false)];
  if (!packages.noble) noble.push("@abandonware/noble is not installed");
  const nodeBle: string[] = [];
  if (platform !== "linux") nodeBle.push(`BlueZ is Linux-only (platform ${platform})`);
  if (!systemBus.present) nodeBle.push(`no D-Bus system bus at ${address}`);
  if (bluetoothd === false) nodeBle.push("bluetoothd is not running (systemctl start bluetooth)");
  if (hciDevices.length === 0) nodeBle.push("no HCI device in /sys/class/bluetooth for BlueZ to manage");
  if (rfkillBlocked.length > 0) nodeBle.push(`rfkill blocks ${rfkillBlocked.join(", ")}`);
  if (!isRoot && !bluetoothGroup) {
    nodeBle.push(
      "not root and not in the bluetooth group: BlueZ's D-Bus policy may refuse (usermod -aG bluetooth $USER, or a polkit rule)",
    );
  }
  if (!packages["node-ble"]) nodeBle.push("node-ble is not installed");

  return {
    platform,
    kernelBluetooth,
    hciDevices,
    rfkillBlocked,
    root: isRoot,
    capabilities,
    bluetoothGroup,
    systemBus,
    bluetoothd,
    packages,
    adapters: { bleno: verdict(bleno), noble: verdict(noble), "node-ble": verdict(nodeBle) },
  };
}
