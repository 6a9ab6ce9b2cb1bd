/**
 * PEER TEST: the public Improv serial client (`improv-wifi-serial-sdk@2.8.1`, what ESP Web Tools and Home Assistant
 * use) provisions the triadkit device (`createImprovSerialDevice` on a `SimulatedWifiManager`):
 *  (a) over an in-process serial pair (`MemorySerialLink.pair()`), and
 *  (b) over a real socat PTY pair with the real `serialport` package on both ends.
 * Flow: initialize (detect + state + device info), scan, a wrong password (error, state back to ready), retry in
 * place (no reboot) → provisioned with the redirect URL. The client's requests are counted on the wire.
 */
import { createPtyPair, type PtyPair } from "@triadkit/firmware-sim";
import {
  decodeImprovMessage,
  ImprovCommand,
  ImprovPacketType,
  ImprovSerialParser,
  ImprovState,
} from "@triadkit/protocol";
import {
  createImprovSerialDevice,
  type ImprovSerialDevice,
  MemorySerialLink,
  NodeSerialLink,
  type SerialLink,
  SimulatedWifiManager,
} from "@triadkit/sdk";
import { SerialPort } from "serialport";
import { afterEach, describe, expect, it } from "vitest";
import {
  loadImprovSerial,
  portFromLink,
  portFromSerialPort,
  tapWrites,
  type WebSerialLikePort,
} from "../helpers/improv-client.js";

const PASSWORD = "correct-horse-battery";
const WRONG = "not-the-password";
const REDIRECT = "https://setup.triadkit.example/device/lamp-01";
const INFO = { firmware: "triadkit", version: "0.1.0", chip: "sim-x86_64", deviceName: "Lamp 01" };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function newWifi() {
  return new SimulatedWifiManager({
    networks: [
      { ssid: "Home", password: PASSWORD, rssi: -48 },
      { ssid: "Office", password: "office-pass-9", rssi: -61 },
      { ssid: "Cafe", password: "", rssi: -80 },
    ],
    joinDelayMs: 20,
    notFoundDelayMs: 20,
  });
}

/** Starts the device on `link`, with console noise the client must skip. */
async function startDevice(link: SerialLink, wifi: SimulatedWifiManager): Promise<ImprovSerialDevice> {
  const device = createImprovSerialDevice({ link, wifi, deviceInfo: INFO, redirectUrl: REDIRECT });
  cleanups.push(() => device.close());
  await link.write(new TextEncoder().encode("I (312) boot: triadkit firmware-sim starting\r\nW (315) wifi: no STA\n"));
  return device;
}

/** Counts the RPC requests the client puts on the wire, by command. */
function requestCounter() {
  const parser = new ImprovSerialParser();
  const byCommand: Record<number, number> = {};
  let total = 0;
  return {
    tap: (bytes: Uint8Array) => {
      for (const e of parser.push(bytes)) {
        if (e.kind !== "packet" || e.packet.type !== ImprovPacketType.Rpc) continue;
        const m = decodeImprovMessage(e.packet);
        if (m.kind !== "rpc") continue;
        total++;
        byCommand[m.command] = (byCommand[m.command] ?? 0) + 1;
      }
    },
    get total() {
      return total;
    },
    byCommand,
  };
}

const quietLogger = () => {
  const errors: unknown[][] = [];
  return { errors, logger: { log() {}, debug() {}, error: (...args: unknown[]) => errors.push(args) } };
};

/** The full provisioning conversation; returns the round trips it took. */
async function provisionWithPeer(port: WebSerialLikePort, device: ImprovSerialDevice, wifi: SimulatedWifiManager) {
  const ImprovSerial = await loadImprovSerial();
  const counter = requestCounter();
  const { errors, logger } = quietLogger();
  const client = new ImprovSerial(tapWrites(port, counter.tap), logger);
  cleanups.push(() => client.close());

  // 1. detect + current state + device info
  const info = await client.initialize(3_000);
  expect(info).toEqual({
    firmware: "triadkit",
    version: "0.1.0",
    chipFamily: "sim-x86_64",
    name: "Lamp 01",
    osName: null,
    osVersion: null,
  });
  expect(client.state).toBe(ImprovState.Authorized);
  const afterInit = counter.total;

  // 2. scan (the client sorts by name)
  const networks = await client.scan();
  expect(networks).toEqual([
    { name: "Cafe", rssi: -80, secured: false },
    { name: "Home", rssi: -48, secured: true },
    { name: "Office", rssi: -61, secured: true },
  ]);

  // 3. wrong password: the client gets UNABLE_TO_CONNECT, the device goes back to ready
  await expect(client.provision("Home", WRONG, 10_000)).rejects.toBe("UNABLE_TO_CONNECT");
  expect(client.error).toBe(0x03);
  await waitFor(() => client.state === ImprovState.Authorized);
  expect(device.state).toBe(ImprovState.Authorized);

  // 4. retry in place (same session, no reboot): provisioned, with the redirect URL
  await client.provision("Home", PASSWORD, 10_000);
  expect(client.nextUrl).toBe(REDIRECT);
  expect(client.state).toBe(ImprovState.Provisioned);
  expect(client.error).toBe(0x00);
  expect(device.state).toBe(ImprovState.Provisioned);
  expect(await wifi.status()).toMatchObject({ connected: true, ssid: "Home" });
  expect(wifi.joinAttempts().map((a) => [a.ssid, a.passwordMatched, a.result.ok])).toEqual([
    ["Home", false, false],
    ["Home", true, true],
  ]);
  await device.idle();

  // The client logged no protocol complaint (bad checksum, unexpected result, unknown packet).
  expect(errors).toEqual([]);
  return { total: counter.total, afterInit, byCommand: { ...counter.byCommand } };
}

async function waitFor(predicate: () => boolean, timeoutMs = 3_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Round trips of the full conversation: state + info (initialize), scan, wrong password, right password. */
const EXPECTED_ROUND_TRIPS = {
  [ImprovCommand.RequestCurrentState]: 1,
  [ImprovCommand.RequestDeviceInfo]: 1,
  [ImprovCommand.RequestScannedNetworks]: 1,
  [ImprovCommand.SendWifiSettings]: 2,
};

describe("improv-wifi-serial-sdk provisions the triadkit device", () => {
  it("(a) over an in-process serial pair", async () => {
    const [deviceLink, clientLink] = MemorySerialLink.pair();
    const wifi = newWifi();
    const device = await startDevice(deviceLink, wifi);
    const trips = await provisionWithPeer(portFromLink(clientLink), device, wifi);
    expect(trips.afterInit).toBe(2);
    expect(trips.byCommand).toEqual(EXPECTED_ROUND_TRIPS);
    expect(trips.total).toBe(5);
    expect(device.stats.rpcRequests).toBe(5);
    expect(device.stats.rpcByCommand).toEqual(EXPECTED_ROUND_TRIPS);
    expect(device.stats.invalidPackets).toBe(0);
  });

  it("(a) the happy path (no wrong password) takes 4 round trips", async () => {
    const [deviceLink, clientLink] = MemorySerialLink.pair();
    const device = await startDevice(deviceLink, newWifi());
    const ImprovSerial = await loadImprovSerial();
    const counter = requestCounter();
    const client = new ImprovSerial(tapWrites(portFromLink(clientLink), counter.tap), quietLogger().logger);
    cleanups.push(() => client.close());
    await client.initialize(3_000);
    await client.scan();
    await client.provision("Home", PASSWORD, 10_000);
    expect(client.nextUrl).toBe(REDIRECT);
    expect(counter.total).toBe(4);
    expect(device.stats.rpcRequests).toBe(4);
  });

  it("(a) a device already on WiFi reports provisioned + URL to a fresh client (2 round trips)", async () => {
    const [deviceLink, clientLink] = MemorySerialLink.pair();
    const wifi = newWifi();
    await wifi.join({ ssid: "Home", password: PASSWORD });
    const device = await startDevice(deviceLink, wifi);
    const ImprovSerial = await loadImprovSerial();
    const counter = requestCounter();
    const client = new ImprovSerial(tapWrites(portFromLink(clientLink), counter.tap), quietLogger().logger);
    cleanups.push(() => client.close());
    await client.initialize(3_000);
    expect(client.state).toBe(ImprovState.Provisioned);
    expect(client.nextUrl).toBe(REDIRECT);
    expect(counter.total).toBe(2);
    expect(device.stats.rpcRequests).toBe(2);
  });

  it("(b) over a socat PTY pair with serialport on both ends", async () => {
    let pty: PtyPair;
    try {
      pty = await createPtyPair();
    } catch (err) {
      if (process.env.TRIADKIT_REQUIRE_SERVICES === "1") throw err;
      process.stderr.write(`\n*** SKIPPED: socat PTY pair unavailable (${String(err)}) ***\n\n`);
      return;
    }
    cleanups.push(() => pty.close());
    const deviceLink = await NodeSerialLink.open(pty.a);
    cleanups.push(() => deviceLink.close());
    const wifi = newWifi();
    const device = await startDevice(deviceLink, wifi);

    const port = new SerialPort({ path: pty.b, baudRate: 115_200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          if (!port.isOpen) return resolve();
          port.close(() => resolve());
        }),
    );

    const trips = await provisionWithPeer(portFromSerialPort(port), device, wifi);
    expect(trips.afterInit).toBe(2);
    expect(trips.byCommand).toEqual(EXPECTED_ROUND_TRIPS);
    expect(trips.total).toBe(5);
    expect(device.stats.rpcRequests).toBe(5);
    expect(device.stats.invalidPackets).toBe(0);
  });
});
