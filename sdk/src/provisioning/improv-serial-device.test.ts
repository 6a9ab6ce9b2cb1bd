import {
  decodeImprovMessage,
  encodeImprovPacket,
  encodeRpcPacket,
  encodeWifiSettingsPacket,
  IMPROV_SERIAL_HEADER,
  ImprovCommand,
  ImprovError,
  type ImprovMessage,
  ImprovPacketType,
  ImprovSerialParser,
  ImprovState,
  improvChecksum,
} from "@triadkit/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { MemoryLogger } from "../logging/memory-logger.js";
import { MemorySerialLink } from "../modem/memory-serial-link.js";
import type { WifiCredentials, WifiJoinResult, WifiManager, WifiNetwork } from "../wifi/wifi-manager.js";
import {
  createImprovSerialDevice,
  type ImprovSerialDevice,
  type ImprovSerialDeviceOptions,
} from "./improv-serial-device.js";

const PASSWORD = "correct-horse-battery";
const WRONG = "wrong-password-123";
const INFO = { firmware: "triadkit", version: "0.1.0", chip: "sim-x86", deviceName: "Lamp 01" };
const URL = "https://setup.triadkit.example/device/lamp-01";

/** A tiny WifiManager: one network with a password, scripted scans, optional hanging joins. */
class FakeWifi implements WifiManager {
  joins: string[] = [];
  forgotten: string[] = [];
  connected: { ssid: string; ip: string } | undefined;
  hang = false;
  scanError: Error | undefined;
  networks: WifiNetwork[] = [
    { ssid: "Home", rssi: -48, auth: "wpa2_psk" },
    { ssid: "Cafe", rssi: -80, auth: "open" },
    { ssid: "Home", rssi: -70, auth: "wpa2_psk" },
    { ssid: "", rssi: -30, auth: "wpa2_psk" },
    { ssid: "Office", rssi: -60, auth: "wpa3_sae" },
  ];
  async scan(): Promise<readonly WifiNetwork[]> {
    if (this.scanError) throw this.scanError;
    return this.networks;
  }
  join(c: WifiCredentials, o: { signal?: AbortSignal } = {}): Promise<WifiJoinResult> {
    this.joins.push(c.ssid);
    if (this.hang) {
      return new Promise((_, reject) => o.signal?.addEventListener("abort", () => reject(new Error("aborted"))));
    }
    if (c.ssid === "Home" && c.password === PASSWORD) {
      this.connected = { ssid: "Home", ip: "192.168.1.23" };
      return Promise.resolve({ ok: true, ssid: "Home", ip: "192.168.1.23" });
    }
    return Promise.resolve({ ok: false, reason: c.ssid === "Home" ? "auth_error" : "ap_not_found" });
  }
  async status() {
    return this.connected ? { connected: true as const, ...this.connected } : { connected: false as const };
  }
  async forget(ssid: string) {
    this.forgotten.push(ssid);
  }
}

/** The client end: sends RPC packets, collects decoded Improv messages and noise. */
function clientOn(link: MemorySerialLink) {
  const parser = new ImprovSerialParser();
  const got: ImprovMessage[] = [];
  let noise = "";
  link.onData((chunk) => {
    for (const e of parser.push(chunk)) {
      if (e.kind === "packet") got.push(decodeImprovMessage(e.packet));
      else if (e.kind === "noise") noise += new TextDecoder().decode(e.bytes);
    }
  });
  return {
    got,
    noise: () => noise,
    take: () => got.splice(0, got.length),
    send: (bytes: Uint8Array) => link.write(bytes),
    rpc: (command: number, data?: Uint8Array) => link.write(encodeRpcPacket(command, data)),
  };
}

const devices: ImprovSerialDevice[] = [];
afterEach(async () => {
  for (const d of devices.splice(0)) await d.close();
});

function setup(overrides: Partial<ImprovSerialDeviceOptions> = {}) {
  const [deviceLink, clientLink] = MemorySerialLink.pair();
  const wifi = (overrides.wifi as FakeWifi | undefined) ?? new FakeWifi();
  const device = createImprovSerialDevice({ link: deviceLink, wifi, deviceInfo: INFO, redirectUrl: URL, ...overrides });
  devices.push(device);
  const client = clientOn(clientLink);
  const settle = async () => {
    await device.idle();
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
  };
  return { device, wifi, client, deviceLink, settle };
}

const state = (s: number): ImprovMessage => ({ kind: "state", state: s });
const error = (e: number): ImprovMessage => ({ kind: "error", error: e });
const result = (command: number, strings: string[]): ImprovMessage => ({ kind: "result", command, strings });

describe("createImprovSerialDevice", () => {
  it("answers current state, device info and scan (deduplicated, hidden skipped, strongest first, terminated)", async () => {
    const { client, settle, device } = setup();
    await client.rpc(ImprovCommand.RequestCurrentState);
    await settle();
    expect(client.take()).toEqual([error(ImprovError.None), state(ImprovState.Authorized)]);
    await client.rpc(ImprovCommand.RequestDeviceInfo);
    await settle();
    expect(client.take()).toEqual([
      error(0),
      result(ImprovCommand.RequestDeviceInfo, ["triadkit", "0.1.0", "sim-x86", "Lamp 01"]),
    ]);
    await client.rpc(ImprovCommand.RequestScannedNetworks);
    await settle();
    expect(client.take()).toEqual([
      error(0),
      result(4, ["Home", "-48", "YES"]),
      result(4, ["Office", "-60", "YES"]),
      result(4, ["Cafe", "-80", "NO"]),
      result(4, []),
    ]);
    expect(device.stats.rpcRequests).toBe(3);
    expect(device.stats.rpcByCommand).toEqual({ 2: 1, 3: 1, 4: 1 });
  });

  it("provisions: wrong password → unable to connect and back to ready; retry in place → provisioned + URL", async () => {
    const logger = new MemoryLogger();
    const { client, settle, device, wifi } = setup({ logger });
    await client.send(encodeWifiSettingsPacket({ ssid: "Home", password: WRONG }));
    await settle();
    expect(client.take()).toEqual([
      error(0),
      state(ImprovState.Provisioning),
      error(ImprovError.UnableToConnect),
      state(ImprovState.Authorized),
    ]);
    expect(device.state).toBe(ImprovState.Authorized);
    expect((wifi as FakeWifi).forgotten).toEqual(["Home"]);

    await client.send(encodeWifiSettingsPacket({ ssid: "Home", password: PASSWORD }));
    await settle();
    expect(client.take()).toEqual([
      error(0),
      state(ImprovState.Provisioning),
      state(ImprovState.Provisioned),
      result(ImprovCommand.SendWifiSettings, [URL]),
    ]);
    // a later state request repeats the redirect URL
    await client.rpc(ImprovCommand.RequestCurrentState);
    await settle();
    expect(client.take()).toEqual([error(0), state(4), result(ImprovCommand.RequestCurrentState, [URL])]);
    expect(device.stats).toMatchObject({ rpcRequests: 3, joins: 2, joinsSucceeded: 1 });
    const logged = JSON.stringify(logger.entries);
    expect(logged).toContain("improv: provisioned");
    expect(logged).not.toContain(PASSWORD);
    expect(logged).not.toContain(WRONG);
  });

  it("without a redirect URL the provisioning result is an empty list; a function URL sees the joined network", async () => {
    const a = setup({ redirectUrl: undefined });
    await a.client.send(encodeWifiSettingsPacket({ ssid: "Home", password: PASSWORD }));
    await a.settle();
    expect(a.client.got.at(-1)).toEqual(result(1, []));
    const b = setup({ redirectUrl: ({ ip }) => `http://${ip}/` });
    await b.client.send(encodeWifiSettingsPacket({ ssid: "Home", password: PASSWORD }));
    await b.settle();
    expect(b.client.got.at(-1)).toEqual(result(1, ["http://192.168.1.23/"]));
  });

  it("starts provisioned when the station is already connected", async () => {
    const wifi = new FakeWifi();
    wifi.connected = { ssid: "Home", ip: "10.0.0.9" };
    const { client, settle, device } = setup({ wifi });
    await device.ready;
    expect(device.state).toBe(ImprovState.Provisioned);
    await client.rpc(ImprovCommand.RequestCurrentState);
    await settle();
    expect(client.take()).toEqual([error(0), state(4), result(2, [URL])]);
  });

  it("ignores console noise and non-RPC packets; answers RPCs hidden in it", async () => {
    const { client, settle, device } = setup();
    await client.send(new TextEncoder().encode("garbage\r\nIMPR0V not a packet\n\x00\xff"));
    await client.send(encodeImprovPacket({ type: ImprovPacketType.CurrentState, data: Uint8Array.of(2) }));
    await settle();
    expect(client.got).toEqual([]);
    const mixed = new Uint8Array([...new TextEncoder().encode("log line\n"), ...encodeRpcPacket(3)]);
    for (const b of mixed) await client.send(Uint8Array.of(b));
    await settle();
    expect(client.take()).toEqual([error(0), result(3, ["triadkit", "0.1.0", "sim-x86", "Lamp 01"])]);
    expect(device.stats.noiseBytes).toBeGreaterThan(20);
    expect(device.stats.rpcRequests).toBe(1);
  });

  it("answers bad packets with coded Improv errors", async () => {
    const { client, settle, device } = setup();
    const packet = encodeRpcPacket(ImprovCommand.RequestDeviceInfo);
    packet[packet.length - 2] = (packet[packet.length - 2] as number) ^ 1; // checksum
    await client.send(packet);
    await settle();
    expect(client.take()).toEqual([error(ImprovError.InvalidRpc)]);
    // RPC body whose length byte disagrees with the packet
    const raw = [...IMPROV_SERIAL_HEADER, 1, ImprovPacketType.Rpc, 3, 0x03, 0x05, 0x00];
    await client.send(Uint8Array.from([...raw, improvChecksum(raw)]));
    await settle();
    expect(client.take()).toEqual([error(ImprovError.InvalidRpc)]);
    for (const command of [ImprovCommand.Hostname, ImprovCommand.DeviceName, ImprovCommand.NetworkState, 0x42]) {
      await client.rpc(command);
      await settle();
      expect(client.take()).toEqual([error(0), error(ImprovError.UnknownRpc)]);
    }
    await client.rpc(ImprovCommand.SendWifiSettings, Uint8Array.of(4, 0x41));
    await client.send(encodeWifiSettingsPacket({ ssid: "x".repeat(33), password: PASSWORD }));
    await client.send(encodeWifiSettingsPacket({ ssid: "", password: PASSWORD }));
    await settle();
    expect(client.take()).toEqual([error(0), error(1), error(0), error(1), error(0), error(1)]);
    expect(device.stats.invalidPackets).toBe(1);
    expect(device.state).toBe(ImprovState.Authorized);
  });

  it("a scan failure answers unknown error; close() stops answering", async () => {
    const wifi = new FakeWifi();
    wifi.scanError = new Error("radio busy");
    const { client, settle, device } = setup({ wifi });
    await client.rpc(ImprovCommand.RequestScannedNetworks);
    await settle();
    expect(client.take()).toEqual([error(0), error(ImprovError.Unknown)]);
    await device.close();
    await client.rpc(ImprovCommand.RequestDeviceInfo);
    await settle();
    expect(client.got).toEqual([]);
  });

  it("a join that never finishes times out on the injected clock and returns to ready", async () => {
    const wifi = new FakeWifi();
    wifi.hang = true;
    const clock = new ManualClock();
    const { client, device } = setup({ wifi, clock, joinTimeoutMs: 5000 });
    const tick = () => new Promise((r) => setTimeout(r, 0));
    await client.send(encodeWifiSettingsPacket({ ssid: "Home", password: PASSWORD }));
    for (let i = 0; i < 5; i++) await tick();
    expect(device.state).toBe(ImprovState.Provisioning);
    // a second settings RPC while joining is refused
    await client.send(encodeWifiSettingsPacket({ ssid: "Home", password: PASSWORD }));
    for (let i = 0; i < 5; i++) await tick();
    clock.advance(4999);
    await tick();
    expect(device.state).toBe(ImprovState.Provisioning);
    clock.advance(1);
    await device.idle();
    for (let i = 0; i < 5; i++) await tick();
    expect(client.take()).toEqual([error(0), state(3), error(0), error(1), error(3), state(2)]);
    expect(device.state).toBe(ImprovState.Authorized);
    expect(clock.pending()).toBe(0);
  });
});
