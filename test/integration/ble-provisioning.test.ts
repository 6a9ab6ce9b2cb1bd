/**
 * WiFi provisioning over BLE end to end on the virtual radio: the device's provisioning service (session v1, BLE
 * framing, messages) and the provisioner client, at MTU 23 and 247; wrong PoP and its back-off; a wrong WiFi
 * password retried in place; round trips counted; the bind token reaching the platform emulator.
 */
import { MemoryDeviceDirectory, PlatformEmulator } from "@triadkit/firmware-sim";
import {
  bindTokenTopic,
  decodeProvisioningAdvert,
  derivePopVerifier,
  generatePop,
  isTriadkitError,
  type ProvisioningAdvert,
  toHex,
} from "@triadkit/protocol";
import {
  BleProvisioningClient,
  CryptoRandom,
  createAir,
  createBleProvisioningService,
  createDevice,
  provisionWifi,
  reportBindToken,
  SimulatedWifiManager,
} from "@triadkit/sdk";
import { describe, expect, it } from "vitest";

const random = new CryptoRandom();
const info = { firmware: "demo-1.0.0", productKey: "a1ProvBleTs", deviceName: "prov-ble-01" };

function setup(mtuMax = 247, backoff = { baseMs: 200, capMs: 1_000 }) {
  const air = createAir({ mtu: mtuMax });
  const pop = generatePop(random.bytes(16));
  const verifier = derivePopVerifier(pop, random.bytes(16));
  const wifi = new SimulatedWifiManager({
    networks: [{ ssid: "factory-lab", password: "correct horse battery" }],
    joinDelayMs: 20,
  });
  const peripheral = air.peripheral({ address: "c0ffee000001", maxMtu: mtuMax });
  const service = createBleProvisioningService({
    peripheral,
    wifi,
    verifier,
    info,
    backoff,
  });
  return { air, pop, service, wifi, central: air.central() };
}

describe("BLE provisioning over the virtual radio", () => {
  for (const mtu of [23, 247]) {
    it(`provisions at MTU ${mtu} in 3 round trips (session in 1)`, async () => {
      const { air, pop, service, central } = setup(mtu);
      await service.start();
      const client = await BleProvisioningClient.connect({ central, address: "c0ffee000001", pop, mtu });
      expect(client.mtu).toBe(mtu);
      expect(client.roundTrips).toBe(1); // the secure session is ready after one round trip (ESP sec1: two)
      const joined = new Promise((resolve) => service.once("joined", resolve));
      const result = await provisionWifi(client, {
        ssid: "factory-lab",
        password: "correct horse battery",
        pollMs: 50,
      });
      expect(result.status).toMatchObject({ type: "status", state: "connected" });
      expect(await joined).toMatchObject({ ssid: "factory-lab" });
      expect(result.roundTrips).toBeLessThanOrEqual(4); // session, set+apply, then status until connected
      const info1 = await client.request({ type: "get_device_info" });
      expect(info1).toMatchObject({ type: "device_info", deviceName: info.deviceName, state: "connected" });
      expect(JSON.stringify(info1)).not.toContain("secret");
      await client.close();
      await service.stop();
      await air.close();
    });
  }

  it("answers a flight in order when each notification is slow (a remote radio): fragments never interleave", async () => {
    // Regression: across processes every notify is asynchronous; answering the messages of one flight concurrently
    // interleaved their MTU-23 fragments and the provisioner timed out.
    const air = createAir({ mtu: 23 });
    const pop = generatePop(random.bytes(16));
    const wifi = new SimulatedWifiManager({
      networks: [{ ssid: "factory-lab", password: "pw-123456" }],
      joinDelayMs: 5,
    });
    const slow = air.peripheral({ address: "c0ffee000002", maxMtu: 23 });
    const notify = slow.notify.bind(slow);
    let notifies = 0;
    slow.notify = async (uuid, data) => {
      notifies++;
      await new Promise((resolve) => setTimeout(resolve, 2));
      return notify(uuid, data);
    };
    const service = createBleProvisioningService({
      peripheral: slow,
      wifi,
      verifier: derivePopVerifier(pop, random.bytes(16)),
      info,
    });
    await service.start();
    const client = await BleProvisioningClient.connect({
      central: air.central(),
      address: "c0ffee000002",
      pop,
      mtu: 23,
    });
    const result = await provisionWifi(client, {
      ssid: "factory-lab",
      password: "pw-123456",
      bindToken: random.bytes(16),
      pollMs: 20,
    });
    expect(result.status).toMatchObject({ type: "status", state: "connected" });
    expect(notifies).toBeGreaterThan(6); // the answers really were fragmented
    await client.close();
    await service.stop();
    await air.close();
  });

  it("a wrong WiFi password reports auth_error; a retry in place succeeds without a reboot", async () => {
    const { air, pop, service, central } = setup();
    await service.start();
    const client = await BleProvisioningClient.connect({ central, address: "c0ffee000001", pop });
    const first = await provisionWifi(client, { ssid: "factory-lab", password: "wrong password", pollMs: 50 });
    expect(first.status).toMatchObject({ state: "failed", reason: "auth_error" });
    expect(await client.request({ type: "reset" })).toMatchObject({ type: "status", state: "idle" });
    const second = await provisionWifi(client, { ssid: "factory-lab", password: "correct horse battery", pollMs: 50 });
    expect(second.status).toMatchObject({ state: "connected" });
    await client.close();
    await service.stop();
    await air.close();
  });

  it("a wrong PoP is refused; the back-off grows and a physical reset clears it", async () => {
    const { air, service, central } = setup();
    await service.start();
    const locks: number[] = [];
    service.on("popFailed", (f) => locks.push(f.lockedForMs));
    const wrongPop = generatePop(random.bytes(16));
    for (let i = 0; i < 2; i++) {
      const err = await BleProvisioningClient.connect({ central, address: "c0ffee000001", pop: wrongPop }).catch(
        (e: unknown) => e,
      );
      expect(isTriadkitError(err)).toBe(true);
      await expect.poll(() => locks.length).toBe(i + 1);
      if (i === 0) {
        // Locked: a new session is refused with prov.backoff before any crypto.
        const locked = await BleProvisioningClient.connect({ central, address: "c0ffee000001", pop: wrongPop }).catch(
          (e: unknown) => e,
        );
        expect(isTriadkitError(locked, "prov.backoff")).toBe(true);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    expect(locks[1]).toBeGreaterThan(locks[0] as number);
    service.physicalReset();
    expect(service.popFailures).toBe(0);
    await service.stop();
    await air.close();
  });

  it("advertises its state: locked after a wrong PoP, unlocked after the back-off, provisioned after joining", async () => {
    const { air, pop, service, central } = setup(247, { baseMs: 600, capMs: 1_000 });
    const flags = async (): Promise<ProvisioningAdvert | undefined> => {
      let seen: ProvisioningAdvert | undefined;
      const controller = new AbortController();
      await central.scan({ timeoutMs: 500, signal: controller.signal }, (found) => {
        const data = found.advertisement.manufacturerData;
        if (found.address !== "c0ffee000001" || data === undefined) return;
        seen = decodeProvisioningAdvert(data);
        controller.abort();
      });
      return seen;
    };
    try {
      await service.start();
      expect(await flags()).toEqual({
        provisioned: false,
        locked: false,
        softap: false,
        improv: false,
        wifiScan: true,
      });
      const wrong = await BleProvisioningClient.connect({
        central,
        address: "c0ffee000001",
        pop: generatePop(random.bytes(16)),
      }).catch((e: unknown) => e);
      expect(isTriadkitError(wrong)).toBe(true);
      await expect.poll(flags, { timeout: 500, interval: 20 }).toMatchObject({ locked: true, provisioned: false });
      await expect.poll(flags, { timeout: 2_000, interval: 50 }).toMatchObject({ locked: false });

      const client = await BleProvisioningClient.connect({ central, address: "c0ffee000001", pop });
      const result = await provisionWifi(client, {
        ssid: "factory-lab",
        password: "correct horse battery",
        pollMs: 50,
      });
      expect(result.status).toMatchObject({ state: "connected" });
      await client.close();
      await expect.poll(flags, { timeout: 2_000, interval: 50 }).toMatchObject({ provisioned: true, locked: false });
    } finally {
      await service.stop();
      await air.close();
    }
  });

  it("the bind token reaches the platform once the device is online", async () => {
    const triad = {
      productKey: info.productKey,
      deviceName: info.deviceName,
      deviceSecret: "abcdefghijklmnopqrstuvwxyz012345",
    };
    const emulator = await PlatformEmulator.start({ directory: new MemoryDeviceDirectory([triad]), rateLimit: false });
    const { air, pop, service, central } = setup();
    try {
      await service.start();
      service.on("bindToken", (token) => {
        const device = createDevice({ triad, brokerUrl: emulator.url, ntpResyncSec: 0 });
        void device
          .connect()
          .then(() => reportBindToken(device, token).catch(() => undefined))
          .finally(() => setTimeout(() => void device.close(), 500));
      });
      const token = random.bytes(16);
      const client = await BleProvisioningClient.connect({ central, address: "c0ffee000001", pop });
      const result = await provisionWifi(client, {
        ssid: "factory-lab",
        password: "correct horse battery",
        bindToken: token,
        pollMs: 50,
      });
      expect(result.status).toMatchObject({ state: "connected" });
      await expect
        .poll(() => emulator.messages({ topic: bindTokenTopic(triad) }).map((m) => new TextDecoder().decode(m.payload)))
        .toEqual([expect.stringContaining(toHex(token, true))]);
      await client.close();
    } finally {
      await service.stop();
      await air.close();
      await emulator.close();
    }
  });
});
