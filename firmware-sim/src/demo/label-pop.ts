/**
 * Reads a device label back as the phone app does: decodes the QR in the PNG the station printed and parses its
 * payload with protocol's strict parser. The PoP stays in memory: it goes to the provisioner, never on screen.
 */
import { readFile } from "node:fs/promises";
import { type DeviceLabelPayload, parseLabelPayload } from "@triadkit/protocol";
import jsqr from "jsqr";
import { PNG } from "pngjs";
import { stepFailed } from "./children.js";

export async function readDeviceLabel(pngFile: string): Promise<DeviceLabelPayload> {
  const image = PNG.sync.read(await readFile(pngFile));
  const scan = jsqr.default(new Uint8ClampedArray(image.data), image.width, image.height);
  if (scan === null) throw stepFailed("label", `no QR code found in ${pngFile}`);
  const payload = parseLabelPayload(scan.data);
  if (payload.kind !== "device") throw stepFailed("label", `${pngFile} is not a device label`);
  return payload;
}
