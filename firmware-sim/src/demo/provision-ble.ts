/**
 * WiFi provisioning over the virtual BLE radio, in this process, as the phone app does it: find the device by its
 * advertised name, open the PoP-authenticated session with the PoP read from its label, send the network, poll.
 */
import { type Air, BleProvisioningClient, provisionWifi, type Random } from "@triadkit/sdk";
import { stepFailed } from "./children.js";

export interface WifiNetwork {
  readonly ssid: string;
  /** Secret. */
  readonly password: string;
}

/** The device's last provisioning state (`connected` when it joined). */
export async function provisionOverAir(
  air: Air,
  deviceName: string,
  pop: Uint8Array,
  network: WifiNetwork,
  random: Random,
  scanTimeoutMs = 10_000,
): Promise<string> {
  const central = air.central();
  try {
    let address: string | undefined;
    const controller = new AbortController();
    await central.scan({ timeoutMs: scanTimeoutMs, signal: controller.signal }, (found) => {
      if (found.advertisement.localName === `TK-${deviceName.slice(-8)}`) {
        address = found.address;
        controller.abort();
      }
    });
    if (address === undefined) throw stepFailed("wifi", `${deviceName} is not advertising on the air`);
    const client = await BleProvisioningClient.connect({ central, address, pop });
    try {
      const result = await provisionWifi(client, {
        ssid: network.ssid,
        password: network.password,
        bindToken: random.bytes(16),
        pollMs: 200,
        maxPolls: 150,
      });
      return result.status.type === "status" ? result.status.state : result.status.type;
    } finally {
      await client.close();
    }
  } finally {
    await central.close();
  }
}
