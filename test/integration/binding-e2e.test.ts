/**
 * Machine-card binding end to end with real parts: the SDK device, the AT driver talking to a virtual Quectel modem,
 * the binding reporter with its flash, and the emulator's binding monitor over loopback MQTT.
 */
import { createVirtualModemPair, MemoryDeviceDirectory, PlatformEmulator } from "@triadkit/firmware-sim";
import {
  type BindingReporter,
  createAtModem,
  createBindingReporter,
  createDevice,
  type Device,
  MemoryFlashStore,
  type Modem,
} from "@triadkit/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const PK = "a1BindE2eTs";
const devA = { productKey: PK, deviceName: "bind-a", deviceSecret: "abcdefghijklmnopqrstuvwxyz0123aa" };
const devB = { productKey: PK, deviceName: "bind-b", deviceSecret: "abcdefghijklmnopqrstuvwxyz0123bb" };
const A = { imei: "490154203237518", iccid: "89860621330066521767", imsi: "460060086257148" };
const B = { imei: "352099001761481", iccid: "89860324650103722650", imsi: "460115956795568" };
const SPARE = { iccid: "89860620040007789511", imsi: "460060086257999" };

let emulator: PlatformEmulator;

beforeAll(async () => {
  emulator = await PlatformEmulator.start({
    directory: new MemoryDeviceDirectory([devA, devB]),
    rateLimit: false,
    bindings: {
      expectedCsv: `IMEI,ICCID,IMSI\n${A.imei},${A.iccid},${A.imsi}\n${B.imei},${B.iccid},${B.imsi}\n`,
      silenceCheckMs: 0,
    },
  });
});
afterAll(async () => {
  await emulator.close();
});

interface Booted {
  device: Device;
  modem: Modem;
  reporter: BindingReporter;
  shutdown(): Promise<void>;
}

/** Powers a board on: virtual modem with `card`, the AT driver, the device session and the reporter on `flash`. */
async function boot(triad: typeof devA, imei: string, card: { iccid: string; imsi: string }, flash: MemoryFlashStore) {
  const pair = createVirtualModemPair({ dialect: "quectel", imei, ...card });
  const modem = await createAtModem({ link: pair.hostLink });
  const device = createDevice({ triad, brokerUrl: emulator.url, ntpResyncSec: 0 });
  const reporter = createBindingReporter({ device, modem, store: flash, intervalSec: 60 });
  await device.connect();
  await reporter.start();
  const booted: Booted & { virtual: typeof pair.modem } = {
    device,
    modem,
    reporter,
    virtual: pair.modem,
    async shutdown() {
      await reporter.stop();
      await device.close();
      await modem.close();
    },
  };
  return booted;
}

const openAlerts = () => emulator.binding.alerts().filter((a) => a.closedMs === undefined);

describe("machine-card binding, end to end", () => {
  it("a correctly bound device heartbeats with no alert", async () => {
    const flash = new MemoryFlashStore();
    const a = await boot(devA, A.imei, A, flash);
    await a.reporter.heartbeat();
    await expect.poll(() => emulator.binding.state(a.device.identity)?.state).toBe("bound");
    expect(openAlerts()).toEqual([]);
    await a.shutdown();
  });

  it("reboot with a swapped SIM: BindingChanged, then exactly one mismatch alert; removal posts SimRemoved", async () => {
    const flash = new MemoryFlashStore();
    const first = await boot(devB, B.imei, B, flash);
    await first.reporter.heartbeat();
    await expect.poll(() => emulator.binding.state(first.device.identity)?.state).toBe("bound");
    await first.shutdown();

    const kinds: string[] = [];
    emulator.on("bindingEvent", ({ identity, value }) => {
      if (identity.deviceName === devB.deviceName) kinds.push(value.kind);
    });
    const second = await boot(devB, B.imei, SPARE, flash); // another card in the slot
    for (let i = 0; i < 3; i++) await second.reporter.heartbeat();
    await expect.poll(() => emulator.binding.state(second.device.identity)?.state).toBe("mismatch");
    await expect.poll(() => kinds.filter((k) => k === "BindingHeartbeat").length).toBe(3);
    expect(kinds[0]).toBe("BindingChanged");
    const alerts = emulator.binding.alerts({ productKey: PK, deviceName: devB.deviceName });
    expect(alerts.filter((a) => a.state === "mismatch")).toHaveLength(1);

    second.virtual.removeSim();
    await expect.poll(() => kinds.at(-1)).toBe("SimRemoved");
    await second.shutdown();
  });

  it("one card moved from one device into another raises exactly one alert", async () => {
    const before = emulator.binding.alerts().length;
    const flash = new MemoryFlashStore();
    // Device A's own card is B's card now (taken out of B and put into A).
    const a = await boot(devA, A.imei, { iccid: B.iccid, imsi: B.imsi }, flash);
    for (let i = 0; i < 2; i++) await a.reporter.heartbeat();
    await expect.poll(() => emulator.binding.state(a.device.identity)?.state).toBe("mismatch");
    await emulator.binding.settled();
    const raised = emulator.binding.alerts().slice(before);
    expect(raised.map((r) => `${r.deviceName}:${r.state}`)).toEqual([`${devA.deviceName}:mismatch`]);
    await a.shutdown();
  });
});
