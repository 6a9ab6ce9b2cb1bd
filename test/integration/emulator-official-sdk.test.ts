/**
 * Peer test: the official `alibabacloud-iot-device-sdk` 1.2.8 (nobody here wrote it) against the emulator. A device
 * with a registered triad connects with the SDK's own signing and gets code 200 for `postProps`; with a wrong secret
 * it is refused (and, as the SDK does, retries every second until it is ended).
 */
import { createRequire } from "node:module";
import { PlatformEmulator, SqliteDeviceRegistry } from "@triadkit/firmware-sim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, newTriad } from "./emulator-harness.js";

const require = createRequire(import.meta.url);

interface SdkDevice {
  on(event: string, listener: (...args: unknown[]) => void): void;
  postProps(props: Record<string, unknown>, cb: (res: { code: number; id: string }) => void): void;
  end(force?: boolean, cb?: () => void): void;
}
const iot = require("alibabacloud-iot-device-sdk") as {
  device(config: Record<string, unknown>): SdkDevice;
};

const registry = new SqliteDeviceRegistry();
const triad = newTriad();
let emulator: PlatformEmulator;

beforeAll(async () => {
  registry.add(triad);
  emulator = await PlatformEmulator.start({ registry });
});
afterAll(async () => {
  await emulator.close();
  registry.close();
});

/** Ends the SDK's client; its callback is not always called after a failed connect, so do not wait forever. */
function endDevice(device: SdkDevice): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 2_000);
    device.end(true, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe("official alibabacloud-iot-device-sdk against the emulator", () => {
  it("connects with a registered triad and gets code 200 for postProps", async () => {
    const device = iot.device({ ...triad, brokerUrl: `mqtt://127.0.0.1:${emulator.port}/` });
    try {
      await new Promise<void>((resolve, reject) => {
        device.on("connect", () => resolve());
        device.on("error", (args) => reject(new Error(`SDK error: ${String(args)}`)));
      });
      // CONNACK can reach the client before the broker's clientReady event has run: poll.
      await expect.poll(() => emulator.onlineDevices().map((d) => d.identity.deviceName)).toEqual([triad.deviceName]);
      const online = emulator.onlineDevices();
      expect(online[0]?.clientId).toMatch(/\|securemode=3,signmethod=hmacsha1,timestamp=\d+,lan=NodeJS,_v=1\.2\.8\|$/);
      // The SDK publishes without waiting for its SUBACK, so under load the first reply can beat its own
      // subscription to the reply topic and be lost (QoS 0). Post again until a reply comes, as its users must.
      let res: { code: number; id: string } | undefined;
      for (let attempt = 0; attempt < 5 && res === undefined; attempt++) {
        res = await new Promise<{ code: number; id: string } | undefined>((resolve) => {
          const timer = setTimeout(() => resolve(undefined), 2_000);
          device.postProps({ LightSwitch: 1 }, (r) => {
            clearTimeout(timer);
            resolve(r);
          });
        });
      }
      if (res === undefined) throw new Error("no reply to postProps after 5 attempts");
      expect(res.code).toBe(200);
      expect(res.id).toContain("|exp-topic|");
      const posted = emulator.messages({
        topic: `/sys/${triad.productKey}/${triad.deviceName}/thing/event/property/post`,
      });
      expect(JSON.parse(new TextDecoder().decode(posted[0]?.payload)).params).toEqual({ LightSwitch: 1 });
    } finally {
      await endDevice(device);
    }
  });

  it("is refused with a wrong secret (CONNACK 5) and keeps retrying until ended", async () => {
    const rejected = collect(emulator, "rejected");
    const device = iot.device({
      ...triad,
      deviceSecret: "W".repeat(32),
      brokerUrl: `mqtt://127.0.0.1:${emulator.port}/`,
    });
    const errors: unknown[] = [];
    let connected = false;
    device.on("connect", () => {
      connected = true;
    });
    device.on("error", (args) => errors.push(args));
    try {
      await expect.poll(() => rejected.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(2); // first try + a retry
      expect(rejected.every(([r]) => r.code === "triad.bad_signature" && r.returnCode === 5)).toBe(true);
      expect(String(errors[0])).toMatch(/Not authorized/i);
      expect(connected).toBe(false);
    } finally {
      await endDevice(device);
    }
    const after = rejected.length;
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect(rejected.length).toBe(after); // ended: no more retries
  });
});
