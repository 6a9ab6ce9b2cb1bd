import { derivePopVerifier, generatePop, isTriadkitError } from "@triadkit/protocol";
import { CryptoRandom, createAir, createBleProvisioningService, SimulatedWifiManager } from "@triadkit/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { provisionOverAir } from "./provision-ble.js";

const random = new CryptoRandom();
const network = { ssid: "factory-demo", password: "correct horse battery" };
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function device(deviceName: string) {
  const air = createAir({ mtu: 247 });
  const pop = generatePop(random.bytes(16));
  const wifi = new SimulatedWifiManager({ networks: [network], joinDelayMs: 10 });
  const service = createBleProvisioningService({
    peripheral: air.peripheral({ address: "c0ffee000042" }),
    wifi,
    verifier: derivePopVerifier(pop, random.bytes(16)),
    info: { firmware: "test", productKey: "a1DemoPk0Tk", deviceName },
  });
  await service.start();
  closers.push(
    () => air.close(),
    () => service.stop(),
  );
  return { air, pop, service };
}

describe("provisionOverAir", () => {
  it("finds the device by its advertised name and joins it to the network with the label's PoP", async () => {
    const { air, pop, service } = await device("sim-0123456789ab");
    const joined = new Promise((resolve) => service.once("joined", resolve));
    expect(await provisionOverAir(air, "sim-0123456789ab", pop, network, random)).toBe("connected");
    expect(await joined).toMatchObject({ ssid: "factory-demo" });
  });

  it("a PoP that is not the device's is refused by the device (prov.pop_mismatch)", async () => {
    const { air } = await device("sim-0123456789ab");
    const wrong = generatePop(random.bytes(16));
    const err = await provisionOverAir(air, "sim-0123456789ab", wrong, network, random).catch((e: unknown) => e);
    expect(isTriadkitError(err) && err.code).toBe("prov.pop_mismatch");
  });

  it("a device that does not advertise is demo.step_failed, naming it", async () => {
    const { air, pop } = await device("sim-0123456789ab");
    const err = await provisionOverAir(air, "sim-ffffffffffff", pop, network, random, 300).catch((e: unknown) => e);
    expect(isTriadkitError(err) && err.code).toBe("demo.step_failed");
    expect((err as Error).message).toContain("sim-ffffffffffff");
  });
});
