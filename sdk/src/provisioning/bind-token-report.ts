import { type AlinkReply, bindTokenTopic, encodeBindTokenReport } from "@triadkit/protocol";
import type { Device } from "../session/device.js";

/**
 * Reports the app's bind token to the cloud once the device is online (Alibaba's `thing.awss.enrollee.match`), so
 * the phone learns the device came online even after it left the device's network.
 */
export function reportBindToken(device: Device, token: Uint8Array): Promise<AlinkReply> {
  const payload = encodeBindTokenReport({ id: device.nextId(), token });
  return device.sendEncoded(bindTokenTopic(device.identity), payload);
}
