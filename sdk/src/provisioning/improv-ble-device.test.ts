import {
  decodeBleRpcResult,
  decodeImprovCapabilities,
  decodeImprovServiceData,
  encodeBleRpcCommand,
  encodeWifiSettings,
  IMPROV_BLE_CAPABILITIES_CHAR_UUID,
  IMPROV_BLE_CURRENT_STATE_CHAR_UUID,
  IMPROV_BLE_ERROR_STATE_CHAR_UUID,
  IMPROV_BLE_RPC_COMMAND_CHAR_UUID,
  IMPROV_BLE_RPC_RESULT_CHAR_UUID,
  IMPROV_BLE_SERVICE_UUID,
  ImprovBleCommand,
  ImprovError,
  type ImprovRpcResult,
  ImprovState,
} from "@triadkit/protocol";
import { afterEach, describe, expect, it } from "vitest";
import type { BleConnection, DiscoveredPeripheral } from "../ble/ble.js";
import { createAir } from "../ble/virtual-radio.js";
import type { Logger } from "../logging/logger.js";
import { SimulatedWifiManager } from "../wifi/simulated.js";
import { createImprovBleDevice, type ImprovBleDeviceOptions } from "./improv-ble-device.js";

const PASSWORD = "correct-horse-battery";
const WRONG = "not-the-password";
const REDIRECT = "https://setup.triadkit.example/lamp";
const INFO = { firmware: "triadkit", version: "0.1.0", chip: "sim", deviceName: "Lamp" };
const ADDRESS = "c0ffee000001";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function capturingLogger(lines: string[]): Logger {
  const fn = (...args: unknown[]) => {
    lines.push(JSON.stringify(args));
  };
  const logger: Logger = { debug: fn, info: fn, warn: fn, error: fn, child: () => logger };
  return logger;
}

async function setup(extra: Partial<ImprovBleDeviceOptions> = {}) {
  const air = createAir();
  cleanups.push(() => air.close());
  const wifi = new SimulatedWifiManager({
    networks: [{ ssid: "Home", password: PASSWORD, rssi: -50 }],
    joinDelayMs: 5,
    notFoundDelayMs: 5,
  });
  const logs: string[] = [];
  const device = createImprovBleDevice({
    peripheral: air.peripheral({ address: ADDRESS }),
    wifi,
    deviceInfo: INFO,
    redirectUrl: REDIRECT,
    logger: capturingLogger(logs),
    ...extra,
  });
  cleanups.push(() => device.close());
  await device.ready;
  const central = air.central();
  const found = await new Promise<DiscoveredPeripheral>((resolve, reject) => {
    const abort = new AbortController();
    central
      .scan({ serviceUuids: [IMPROV_BLE_SERVICE_UUID], timeoutMs: 2_000, signal: abort.signal }, (p) => {
        abort.abort();
        resolve(p);
      })
      .catch(reject);
  });
  const conn = await central.connect(found.address);
  cleanups.push(() => conn.disconnect().catch(() => {}));
  return { device, wifi, logs, found, client: await improvClient(conn) };
}

/** A small Improv BLE client written against the codecs. */
async function improvClient(conn: BleConnection) {
  const seen = { states: [] as number[], errors: [] as number[], results: [] as ImprovRpcResult[] };
  const sub = (uuid: string, fn: (d: Uint8Array) => void) => conn.subscribe(IMPROV_BLE_SERVICE_UUID, uuid, fn);
  await sub(IMPROV_BLE_CURRENT_STATE_CHAR_UUID, (d) => seen.states.push(d[0] as number));
  await sub(IMPROV_BLE_ERROR_STATE_CHAR_UUID, (d) => seen.errors.push(d[0] as number));
  await sub(IMPROV_BLE_RPC_RESULT_CHAR_UUID, (d) => seen.results.push(decodeBleRpcResult(d)));
  const read = async (uuid: string) => conn.read(IMPROV_BLE_SERVICE_UUID, uuid);
  return {
    seen,
    state: async () => (await read(IMPROV_BLE_CURRENT_STATE_CHAR_UUID))[0],
    error: async () => (await read(IMPROV_BLE_ERROR_STATE_CHAR_UUID))[0],
    capabilities: async () => decodeImprovCapabilities((await read(IMPROV_BLE_CAPABILITIES_CHAR_UUID))[0] as number),
    lastResult: async () => decodeBleRpcResult(await read(IMPROV_BLE_RPC_RESULT_CHAR_UUID)),
    /** Writes the command in 20-byte pieces, as at the default MTU. */
    async rpc(command: number, data: Uint8Array = new Uint8Array(0)) {
      const value = encodeBleRpcCommand({ command, data });
      for (let i = 0; i < value.length; i += 20) {
        await conn.write(IMPROV_BLE_SERVICE_UUID, IMPROV_BLE_RPC_COMMAND_CHAR_UUID, value.subarray(i, i + 20), true);
      }
    },
    sendWifi(ssid: string, password: string) {
      return this.rpc(ImprovBleCommand.SendWifiSettings, encodeWifiSettings({ ssid, password }));
    },
  };
}

async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("createImprovBleDevice", () => {
  it("advertises the service with its service data; authorization required, then the button, then provisioned", async () => {
    const { device, found, client, logs } = await setup();
    expect(found.advertisement.serviceUuids).toEqual([IMPROV_BLE_SERVICE_UUID]);
    expect(found.advertisement.serviceData?.uuid).toBe("4677");
    expect(decodeImprovServiceData(found.advertisement.serviceData?.data as Uint8Array)).toEqual({
      state: ImprovState.AuthorizationRequired,
      capabilities: { identify: false, deviceInfo: true, scanWifi: false },
    });
    expect(await client.capabilities()).toEqual({ identify: false, deviceInfo: true, scanWifi: false });
    expect(await client.state()).toBe(ImprovState.AuthorizationRequired);

    await client.rpc(ImprovBleCommand.DeviceInfo);
    await waitFor(() => client.seen.results.length === 1);
    expect(client.seen.results[0]).toEqual({ command: 3, strings: ["triadkit", "0.1.0", "sim", "Lamp"] });

    device.authorize();
    await waitFor(() => client.seen.states.includes(ImprovState.Authorized));
    await client.sendWifi("Home", PASSWORD);
    await waitFor(() => client.seen.states.includes(ImprovState.Provisioned));
    await device.idle();
    expect(client.seen.states).toEqual([ImprovState.Authorized, ImprovState.Provisioning, ImprovState.Provisioned]);
    expect(client.seen.results.at(-1)).toEqual({ command: 1, strings: [REDIRECT] });
    expect(await client.lastResult()).toEqual({ command: 1, strings: [REDIRECT] });
    expect(await client.state()).toBe(ImprovState.Provisioned);
    expect(await client.error()).toBe(ImprovError.None);
    expect(logs.join("\n")).not.toContain(PASSWORD);
  });

  it("a wrong password answers unable-to-connect and returns to authorized; the retry in place works", async () => {
    const { device, wifi, client, logs } = await setup({ requireAuthorization: false });
    expect(await client.state()).toBe(ImprovState.Authorized);
    await client.sendWifi("Home", WRONG);
    await waitFor(() => client.seen.errors.includes(ImprovError.UnableToConnect));
    await device.idle();
    expect(device.state).toBe(ImprovState.Authorized);
    expect(client.seen.states).toEqual([ImprovState.Provisioning, ImprovState.Authorized]);
    await client.sendWifi("Home", PASSWORD);
    await waitFor(() => client.seen.states.at(-1) === ImprovState.Provisioned);
    await device.idle();
    expect(client.seen.errors.at(-1)).toBe(ImprovError.None);
    expect(wifi.joinAttempts().map((a) => [a.ssid, a.passwordMatched, a.result.ok])).toEqual([
      ["Home", false, false],
      ["Home", true, true],
    ]);
    const all = logs.join("\n");
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(WRONG);
  });

  it("refuses Wi-Fi settings while not authorized, and after the authorization lapses", async () => {
    const { device, wifi, client } = await setup({ authorizationTimeoutMs: 50 });
    await client.sendWifi("Home", PASSWORD);
    await waitFor(() => client.seen.errors.includes(ImprovError.NotAuthorized));
    expect(await client.error()).toBe(ImprovError.NotAuthorized);
    expect(wifi.joinAttempts()).toEqual([]);

    device.authorize();
    await waitFor(() => client.seen.states.at(-1) === ImprovState.Authorized);
    await waitFor(() => client.seen.states.at(-1) === ImprovState.AuthorizationRequired);
    client.seen.errors.length = 0;
    await client.sendWifi("Home", PASSWORD);
    await waitFor(() => client.seen.errors.includes(ImprovError.NotAuthorized));
    expect(device.state).toBe(ImprovState.AuthorizationRequired);
    expect(wifi.joinAttempts()).toEqual([]);
  });

  it("answers invalid RPC for a bad checksum and unknown RPC for identify/scan", async () => {
    const { client } = await setup({ requireAuthorization: false });
    await client.rpc(ImprovBleCommand.Identify);
    await waitFor(() => client.seen.errors.includes(ImprovError.UnknownRpc));
    const { seen } = client;
    seen.errors.length = 0;
    await client.rpc(ImprovBleCommand.SendWifiSettings, Uint8Array.of(9, 1));
    await waitFor(() => seen.errors.includes(ImprovError.InvalidRpc));
  });
});
