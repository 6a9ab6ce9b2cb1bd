/** WiFi provisioning over SoftAP: the same session and messages over real HTTP on loopback. */
import { derivePopVerifier, generatePop, isTriadkitError } from "@triadkit/protocol";
import {
  CryptoRandom,
  provisionWifi,
  SimulatedWifiManager,
  SoftApProvisioningClient,
  SoftApProvisioningService,
} from "@triadkit/sdk";
import { describe, expect, it } from "vitest";

const random = new CryptoRandom();

describe("SoftAP provisioning over HTTP", () => {
  it("provisions in 3 round trips, exposes a secret-free status endpoint, refuses a wrong PoP", async () => {
    const pop = generatePop(random.bytes(16));
    const service = new SoftApProvisioningService({
      host: "127.0.0.1",
      port: 0,
      wifi: new SimulatedWifiManager({
        networks: [{ ssid: "shop-wifi", password: "correct horse battery" }],
        joinDelayMs: 20,
      }),
      verifier: derivePopVerifier(pop, random.bytes(16)),
      info: { firmware: "demo-1.0.0", productKey: "a1SoftApTst", deviceName: "softap-01" },
    });
    await service.start();
    try {
      const before = await (await fetch(`${service.url}/prov/status`)).json();
      expect(before).toEqual({ state: "idle", provisioned: false, locked: false });

      const wrong = await SoftApProvisioningClient.connect({
        url: service.url,
        pop: generatePop(random.bytes(16)),
      }).catch((e: unknown) => e);
      expect(isTriadkitError(wrong, "prov.pop_mismatch")).toBe(true);

      service.physicalReset();
      const client = await SoftApProvisioningClient.connect({ url: service.url, pop });
      expect(client.roundTrips).toBe(1);
      const result = await provisionWifi(client, { ssid: "shop-wifi", password: "correct horse battery", pollMs: 30 });
      expect(result.status).toMatchObject({ state: "connected" });
      expect(result.roundTrips).toBeLessThanOrEqual(4);
      const after = await (await fetch(`${service.url}/prov/status`)).text();
      expect(JSON.parse(after)).toMatchObject({ state: "connected", provisioned: true });
      expect(after).not.toContain("correct horse");
      // Without the session cookie the request endpoint refuses.
      expect((await fetch(`${service.url}/prov/request`, { method: "POST", body: new Uint8Array([0]) })).status).toBe(
        409,
      );
    } finally {
      await service.stop();
    }
  });
});
