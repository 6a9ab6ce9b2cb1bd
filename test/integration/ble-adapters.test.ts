/**
 * Real BLE adapters without hardware. This kernel has no AF_BLUETOOTH (docs/ble.md), so:
 * - node-ble with no system bus → `ble.unavailable` within its timeout, and the process survives the bus error;
 * - node-ble against a fake `org.bluez` (dbus-next) on a private dbus-daemon: adapter, discovery, connect, GATT
 *   write / read / notify, disconnect, all through node-ble's real D-Bus calls. Skipped, loudly, without dbus-daemon.
 * - the permissions pre-flight reports what is missing here and never throws.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNodeBleCentral } from "@triadkit/firmware-sim";
import { isTriadkitError } from "@triadkit/protocol";
import { checkBlePreflight } from "@triadkit/sdk";
import dbus from "dbus-next";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

function which(cmd: string): string | undefined {
  try {
    return execFileSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const DBUS_DAEMON = which("dbus-daemon");
if (DBUS_DAEMON === undefined) {
  if (process.env.TRIADKIT_REQUIRE_SERVICES === "1") {
    throw new Error("dbus-daemon is missing and TRIADKIT_REQUIRE_SERVICES=1 (.ci/run installs Debian's dbus)");
  }
  console.warn(
    "SKIPPING node-ble against a fake BlueZ: dbus-daemon is not installed (apt-get install -y dbus). Only the no-bus path is tested.",
  );
}

describe("node-ble central: no BlueZ", () => {
  it("no system bus → ble.unavailable within the timeout; the bus error does not crash the process", async () => {
    const started = Date.now();
    const err = await createNodeBleCentral({ timeoutMs: 1500, busAddress: "unix:path=/nonexistent/triadkit/bus" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTriadkitError(err, "ble.unavailable")).toBe(true);
    expect((err as Error).message).toMatch(/BlueZ|bus/);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

const ADDRESS = "C0:FF:EE:00:00:01";
const DEV = `/org/bluez/hci0/dev_${ADDRESS.replace(/:/g, "_")}`;
const SVC = "6e400001-b5a3-f393-e0a9-e50e24dcca9e";
const RX = "6e400002-b5a3-f393-e0a9-e50e24dcca9e";
const TX = "6e400003-b5a3-f393-e0a9-e50e24dcca9e";

type Members = Parameters<typeof dbus.interface.Interface.configureMembers>[0];

/** Makes a dbus-next interface class from plain members (no decorators). */
function iface<T extends object>(name: string, members: Members, state: T): dbus.interface.Interface & T {
  class I extends dbus.interface.Interface {}
  // dbus-next binds methods from the prototype when the members are configured
  for (const [k, v] of Object.entries(state))
    if (typeof v === "function") (I.prototype as unknown as Record<string, unknown>)[k] = v;
  I.configureMembers(members);
  return Object.assign(new I(name), state);
}

const ro = (signature: string): dbus.interface.PropertyOptions => ({ signature, access: "read" });

/** A ~minimal BlueZ: one adapter, one device found on discovery, one service with a write and a notify characteristic. */
async function startFakeBluez(busAddress: string) {
  const bus = dbus.sessionBus({ busAddress });
  await bus.requestName("org.bluez", 0);
  const written: number[][] = [];
  bus.export(
    "/org/bluez",
    iface("org.bluez.AgentManager1", { methods: { RegisterAgent: { inSignature: "os" } } }, { RegisterAgent() {} }),
  );

  const tx = iface(
    "org.bluez.GattCharacteristic1",
    {
      properties: { UUID: ro("s"), Flags: ro("as"), Value: ro("ay"), Notifying: ro("b"), MTU: ro("q") },
      methods: { ReadValue: { inSignature: "a{sv}", outSignature: "ay" }, StartNotify: {}, StopNotify: {} },
    },
    {
      UUID: TX,
      Flags: ["read", "notify"],
      Value: Buffer.from([0x42]),
      Notifying: false,
      MTU: 185,
      ReadValue(): Buffer {
        return Buffer.from([0x42]);
      },
      StartNotify() {
        this.Notifying = true;
      },
      StopNotify() {
        this.Notifying = false;
      },
    },
  );
  const rx = iface(
    "org.bluez.GattCharacteristic1",
    {
      properties: { UUID: ro("s"), Flags: ro("as"), MTU: ro("q") },
      methods: { WriteValue: { inSignature: "aya{sv}" } },
    },
    {
      UUID: RX,
      Flags: ["write", "write-without-response"],
      MTU: 185,
      WriteValue(value: Buffer) {
        written.push([...value]);
        if (tx.Notifying) {
          // the device answers on TX: BlueZ reports a notification as a PropertiesChanged of Value
          tx.Value = Buffer.from([...value].reverse());
          dbus.interface.Interface.emitPropertiesChanged(tx, { Value: tx.Value }, []);
        }
      },
    },
  );
  const service = iface(
    "org.bluez.GattService1",
    { properties: { UUID: ro("s"), Primary: ro("b") } },
    { UUID: SVC, Primary: true },
  );
  const device: dbus.interface.Interface = iface(
    "org.bluez.Device1",
    {
      properties: {
        Address: ro("s"),
        Name: ro("s"),
        RSSI: ro("n"),
        UUIDs: ro("as"),
        Connected: ro("b"),
        ServicesResolved: ro("b"),
      },
      methods: { Connect: {}, Disconnect: {} },
    },
    {
      Address: ADDRESS,
      Name: "triad-01",
      RSSI: -48,
      UUIDs: [SVC],
      Connected: false,
      ServicesResolved: false,
      Connect() {
        bus.export(`${DEV}/service0010`, service);
        bus.export(`${DEV}/service0010/char0011`, rx);
        bus.export(`${DEV}/service0010/char0013`, tx);
        this.Connected = true;
        this.ServicesResolved = true;
        setTimeout(
          () => dbus.interface.Interface.emitPropertiesChanged(device, { Connected: true, ServicesResolved: true }, []),
          5,
        );
      },
      Disconnect() {
        this.Connected = false;
        setTimeout(() => dbus.interface.Interface.emitPropertiesChanged(device, { Connected: false }, []), 5);
      },
    },
  );
  const adapter = iface(
    "org.bluez.Adapter1",
    {
      properties: { Address: ro("s"), Name: ro("s"), Powered: ro("b"), Discovering: ro("b") },
      methods: { SetDiscoveryFilter: { inSignature: "a{sv}" }, StartDiscovery: {}, StopDiscovery: {} },
    },
    {
      Address: "00:1A:7D:DA:71:13",
      Name: "fake-hci0",
      Powered: true,
      Discovering: false,
      SetDiscoveryFilter() {},
      StartDiscovery() {
        this.Discovering = true;
        setTimeout(() => bus.export(DEV, device), 50); // a device shows up once discovery runs
      },
      StopDiscovery() {
        this.Discovering = false;
      },
    },
  );
  bus.export("/org/bluez/hci0", adapter);
  return {
    written,
    disconnectFromDevice: () => (device as unknown as { Disconnect(): void }).Disconnect(),
    close: () => bus.disconnect(),
  };
}

describe.skipIf(DBUS_DAEMON === undefined)("node-ble central against a fake BlueZ on a private dbus-daemon", () => {
  let dir: string;
  let daemon: ChildProcess;
  let busAddress: string;
  let bluez: Awaited<ReturnType<typeof startFakeBluez>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "triadkit-dbus-"));
    const conf = join(dir, "bus.conf");
    writeFileSync(
      conf,
      `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${join(dir, "bus")}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
`,
    );
    daemon = spawn(DBUS_DAEMON as string, ["--config-file", conf, "--nofork", "--print-address"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    busAddress = await new Promise<string>((resolve, reject) => {
      let out = "";
      daemon.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("\n")) resolve(out.split("\n")[0]?.trim() as string);
      });
      daemon.once("exit", (code) => reject(new Error(`dbus-daemon exited with ${code}`)));
    });
    bluez = await startFakeBluez(busAddress);
  });

  afterAll(() => {
    bluez?.close();
    daemon?.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  });

  it("finds the adapter, scans, connects, writes, reads, gets notifications and sees the disconnect", async () => {
    const central = await createNodeBleCentral({ timeoutMs: 3000, busAddress, scanPollMs: 50 });
    try {
      const found: string[] = [];
      await central.scan({ serviceUuids: [SVC], timeoutMs: 2000 }, (p) =>
        found.push(`${p.address} ${p.rssi} ${p.advertisement.localName} ${p.advertisement.serviceUuids}`),
      );
      expect(found).toEqual([`c0ffee000001 -48 triad-01 ${SVC}`]);
      const conn = await central.connect("c0ffee000001");
      expect(conn.mtu).toBe(185); // from GattCharacteristic1.MTU
      const notes: number[][] = [];
      await conn.subscribe(SVC, TX, (d) => notes.push([...d]));
      await conn.write(SVC, RX, new Uint8Array([1, 2, 3]));
      expect(bluez.written).toEqual([[1, 2, 3]]);
      await expect.poll(() => notes).toEqual([[3, 2, 1]]);
      expect(await conn.read(SVC, TX)).toEqual(new Uint8Array([0x42]));
      await expect(conn.write(SVC, RX, new Uint8Array(183))).rejects.toMatchObject({ code: "ble.payload_too_large" });
      await expect(conn.read(SVC, "ffff")).rejects.toMatchObject({ code: "ble.gatt_error" });
      let down = false;
      conn.onDisconnect(() => {
        down = true;
      });
      bluez.disconnectFromDevice(); // the device goes away: BlueZ flips Connected
      await expect.poll(() => down).toBe(true);
    } finally {
      await central.close();
    }
  });

  it("a bus without org.bluez → ble.unavailable within the timeout", async () => {
    // a second private bus, with no BlueZ on it
    const conf = join(dir, "empty.conf");
    writeFileSync(
      conf,
      `<busconfig><type>session</type><listen>unix:path=${join(dir, "empty")}</listen><auth>EXTERNAL</auth><policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/></policy></busconfig>`,
    );
    const empty = spawn(DBUS_DAEMON as string, ["--config-file", conf, "--nofork", "--print-address"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    try {
      const address = await new Promise<string>((resolve) =>
        empty.stdout?.once("data", (d: Buffer) => resolve(d.toString().trim())),
      );
      await expect(createNodeBleCentral({ timeoutMs: 1500, busAddress: address })).rejects.toMatchObject({
        code: "ble.unavailable",
      });
    } finally {
      empty.kill("SIGTERM");
    }
  });
});

describe("BLE permissions pre-flight", () => {
  it("reports, here, that no adapter can work, and why, without throwing", () => {
    const report = checkBlePreflight();
    expect(report.hciDevices).toEqual([]);
    for (const name of ["bleno", "noble", "node-ble"] as const) {
      expect(report.adapters[name].ok).toBe(false);
      expect(report.adapters[name].problems.join(" ")).toMatch(/HCI device/);
    }
    expect(report.packages).toEqual({ bleno: true, noble: true, "node-ble": true });
  });

  it("passes a machine that has what the adapters need", () => {
    const root = mkdtempSync(join(tmpdir(), "triadkit-preflight-"));
    try {
      const file = (path: string, text: string) => {
        execFileSync("mkdir", ["-p", join(root, path, "..")]);
        writeFileSync(join(root, path), text);
      };
      file("proc/net/protocols", "protocol  size\nRFCOMM 1 \nL2CAP 2 \nHCI 3 \nTCP 4 \n");
      execFileSync("mkdir", ["-p", join(root, "sys/class/bluetooth/hci0")]);
      file("sys/class/rfkill/rfkill0/type", "bluetooth\n");
      file("sys/class/rfkill/rfkill0/soft", "0\n");
      file("sys/class/rfkill/rfkill0/hard", "0\n");
      file("proc/self/status", "Name: node\nCapEff:\t0000000000003000\n");
      file("proc/4242/comm", "bluetoothd\n");
      file("etc/group", "bluetooth:x:112:pi\n");
      file("var/run/dbus/system_bus_socket", "");
      const report = checkBlePreflight({
        fsRoot: root,
        platform: "linux",
        env: {},
        uid: 1000,
        groups: [112],
        resolves: () => true,
      });
      expect(report).toMatchObject({
        kernelBluetooth: "loaded",
        hciDevices: ["hci0"],
        capabilities: { netRaw: true, netAdmin: true },
        bluetoothGroup: true,
        bluetoothd: true,
        systemBus: { present: true },
      });
      expect(report.adapters).toEqual({
        bleno: { ok: true, problems: [] },
        noble: { ok: true, problems: [] },
        "node-ble": { ok: true, problems: [] },
      });
      file("sys/class/rfkill/rfkill0/soft", "1\n");
      file("proc/self/status", "CapEff:\t0000000000000000\n");
      const blocked = checkBlePreflight({
        fsRoot: root,
        platform: "linux",
        env: {},
        uid: 1000,
        groups: [],
        resolves: () => false,
      });
      expect(blocked.adapters.bleno.problems.join("\n")).toMatch(
        /rfkill[\s\S]*CAP_NET_RAW and CAP_NET_ADMIN[\s\S]*not installed/,
      );
      expect(blocked.adapters["node-ble"].problems.join("\n")).toMatch(/bluetooth group/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
