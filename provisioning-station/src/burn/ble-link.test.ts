import {
  type Air,
  type BleFactoryService,
  CryptoRandom,
  createAir,
  createBleFactoryService,
  FactoryCredentialStore,
  MemoryFlashStore,
} from "@triadkit/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { FakeDevice } from "./__tests__/fake-device.js";
import { type BurnHarness, burnHarness, plug } from "./__tests__/harness.js";
import { burnOverBle, openBleFactoryLink } from "./ble-link.js";
import { runBurnSession } from "./burn-session.js";
import type { DeviceOutcome } from "./device-steps.js";

const MAC_A = "0a1b2c3d4e01";
const MAC_B = "0a1b2c3d4e02";

let h: BurnHarness;
let air: Air;
const services: BleFactoryService[] = [];

afterEach(async () => {
  for (const s of services.splice(0)) await s.stop();
  await h?.close();
});

interface Board {
  readonly credentials: FactoryCredentialStore;
  readonly service: BleFactoryService;
  readonly refusals: string[];
}

/** A board on the air: advertised at `address`, reporting `bleMac` (the same unless a test makes it lie). */
async function board(bleMac: string, options: { address?: string; rssi?: number; chipId?: string } = {}) {
  const credentials = new FactoryCredentialStore(new MemoryFlashStore());
  const service = createBleFactoryService({
    peripheral: air.peripheral({ address: options.address ?? bleMac, rssi: options.rssi ?? -45 }),
    store: credentials,
    chip: {
      chipId: options.chipId ?? `c0ffee${bleMac.slice(-4)}`,
      wifiMac: "0a1b2c3d4eff",
      bleMac,
      model: "TK-SPK-1",
      firmware: "1.4.0",
    },
    random: new CryptoRandom(),
  });
  const refusals: string[] = [];
  service.on("handshakeRefused", ({ reason }) => refusals.push(reason));
  await service.start();
  services.push(service);
  return { credentials, service, refusals } satisfies Board;
}

async function burn(mac: string, rssiFloorDbm?: number): Promise<DeviceOutcome> {
  const central = air.central();
  try {
    return await burnOverBle({
      ctx: h.ctx,
      central,
      mac,
      workOrder: h.order,
      scanTimeoutMs: 300,
      ...(rssiFloorDbm === undefined ? {} : { rssiFloorDbm }),
    });
  } finally {
    await central.close();
  }
}

async function counts() {
  return (await h.station.ledger.counts()).total;
}

describe("burning over BLE", () => {
  it("burns a blank board over the encrypted channel: verified and locked; a neighbour never gets a record", async () => {
    h = await burnHarness(3);
    air = createAir();
    const a = await board(MAC_A);
    const b = await board(MAC_B);
    const outcome = await burn("0A:1B:2C:3D:4E:01");
    expect(outcome).toMatchObject({ result: "pass", action: "burnt", chipId: "c0ffee4e01", fixture: `ble:${MAC_A}` });
    expect(await a.credentials.state()).toBe("locked");
    expect(await b.credentials.state()).toBe("blank");
    const t = await h.station.ledger.getTriad(outcome.triad?.id as string);
    expect(t?.state).toBe("verified");
    expect((await a.credentials.record())?.anchor.publicKey).toEqual(h.ctx.anchor.publicKey);
    expect(await counts()).toMatchObject({ available: 2, verified: 1, reserved: 0, quarantined: 0 });
    // A second burn of the same (now locked) board over BLE is reconciled, never written again.
    expect(await burn(MAC_A)).toMatchObject({ result: "pass", action: "already" });
  });

  it("refuses a board that reports another MAC than the scanned one: nothing reserved, nothing written", async () => {
    h = await burnHarness(2);
    air = createAir();
    // The neighbouring board B answers at the scanned address (a relay, a misconfigured radio) but reports its own MAC.
    const b = await board(MAC_B, { address: MAC_A });
    expect(await burn(MAC_A)).toMatchObject({
      result: "fail",
      action: "refused",
      code: "station.ble_wrong_device",
      chipId: "c0ffee4e02",
    });
    expect(await b.credentials.state()).toBe("blank");
    expect(await counts()).toMatchObject({ available: 2, reserved: 0, quarantined: 0 });
    const entries = await h.station.ledger.auditEntries(h.station.stationId, 0, 1000);
    expect(entries.filter((e) => e.action === "reserve")).toEqual([]);
  });

  it("refuses a MAC nobody advertises, and a board below the RSSI floor", async () => {
    h = await burnHarness(2);
    air = createAir();
    const far = await board(MAC_B, { rssi: -78 });
    expect(await burn(MAC_A)).toMatchObject({ result: "fail", code: "station.ble_not_found" });
    const low = await burn(MAC_B);
    expect(low).toMatchObject({ result: "fail", code: "station.ble_rssi_low" });
    expect(low.message).toContain("-78 dBm");
    expect(await far.credentials.state()).toBe("blank");
    // The operator lowers the floor on purpose: the same board burns.
    expect(await burn(MAC_B, -80)).toMatchObject({ result: "pass", action: "burnt" });
    expect(await counts()).toMatchObject({ available: 1, verified: 1, quarantined: 0 });
  });

  it("a board holding another pool's record refuses this station's anchor", async () => {
    h = await burnHarness(2);
    air = createAir();
    const a = await board(MAC_A);
    expect(await burn(MAC_A)).toMatchObject({ result: "pass" });
    // Another station (another pool, another anchor) tries the same board.
    const other = await burnHarness(1);
    const mine = h;
    h = other;
    try {
      const refused = await burn(MAC_A);
      expect(refused).toMatchObject({ result: "fail", code: "factory.ble_refused" });
      expect(refused.message).toContain("anchor_mismatch");
      expect(a.refusals).toEqual(["anchor_mismatch"]);
      expect(await counts()).toMatchObject({ available: 1, reserved: 0 });
    } finally {
      await other.close();
      h = mine;
    }
  });

  it("a burn session bound to a BLE MAC refuses a device whose hello reports another one, before reserving", async () => {
    h = await burnHarness(1);
    const dev = new FakeDevice({ chipId: "c0ffee0009" }); // its hello carries no bleMac at all
    const { outcomes } = await runBurnSession({
      ctx: h.ctx,
      ports: [{ fixture: "ble:x", link: plug(dev), expectedBleMac: MAC_A }],
      workOrder: h.order,
      watch: false,
      timeoutMs: 500,
      onOutcome: () => undefined,
    });
    expect(outcomes).toMatchObject([{ result: "fail", code: "station.ble_wrong_device", chipId: "c0ffee0009" }]);
    expect(dev.requests).toEqual(["hello"]);
    expect(await counts()).toMatchObject({ available: 1, reserved: 0 });
  });

  it("a board that drops the connection closes the station's link with an error; the board serves the next one", async () => {
    h = await burnHarness(1);
    air = createAir();
    const peripheral = air.peripheral({ address: MAC_A, rssi: -40 });
    const closed: string[] = [];
    const service = createBleFactoryService({
      peripheral,
      store: new MemoryFlashStore(),
      chip: { chipId: "c0ffee4e01", wifiMac: "0a1b2c3d4eff", bleMac: MAC_A, model: "TK-SPK-1", firmware: "1.4.0" },
      random: new CryptoRandom(),
    });
    service.on("channelClosed", ({ code }) => closed.push(code ?? "clean"));
    await service.start();
    services.push(service);
    const central = air.central();
    const link = await openBleFactoryLink({ central, mac: MAC_A, anchor: h.ctx.anchor, random: h.ctx.random });
    expect(link).toMatchObject({ mac: MAC_A, rssi: -40, chipId: "c0ffee4e01", isOpen: true });
    const ended = new Promise<Error | undefined>((resolve) => link.onClose(resolve));
    await peripheral.disconnect();
    expect(await ended).toMatchObject({ code: "serial.closed" });
    expect(link.isOpen).toBe(false);
    await expect(link.write(Uint8Array.of(0))).rejects.toMatchObject({ code: "serial.closed" });
    expect(closed).toEqual(["clean"]);
    await central.close();
    expect(await burn(MAC_A)).toMatchObject({ result: "pass", action: "burnt" });
  });
});
