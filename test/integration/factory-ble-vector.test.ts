/**
 * The factory BLE channel's worked vector in docs/factory-protocol.md ("Over BLE") is what the code computes: every
 * hex string of the vector, recomputed here through the public API, appears in the page's vector block (the hex runs
 * joined, annotations left out).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  createFactoryBleDevice,
  createFactoryBleStation,
  decodeFactoryBleAuth,
  decodeFactoryBleDeviceHello,
  decodeFactoryBleHello,
  factoryAnchorPublicKey,
  factoryBleTranscriptBytes,
  factoryBleTranscriptHash,
  fromHex,
  signFactoryBleAuth,
  toHex,
} from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { root } from "../helpers/sim-cli.js";

const range = (start: number, n: number) => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);
function counter(start: number): (n: number) => Uint8Array {
  let next = start;
  return (n) => {
    const out = range(next, n);
    next += n;
    return out;
  };
}

describe("docs/factory-protocol.md, Over BLE", () => {
  it("prints the worked vector the code computes", () => {
    const page = readFileSync(join(root, "docs/factory-protocol.md"), "utf8");
    const vector = page.slice(page.indexOf("### Worked vector", page.indexOf("## Over BLE")), page.indexOf("## API"));
    // The hex runs of the vector block, joined (the annotations between them are words, not hex).
    const section = vector
      .split(/\s+/)
      .filter((token) => /^[0-9a-f]{2,}$/.test(token))
      .join("");
    const seed = range(1, 32);
    const anchor = factoryAnchorPublicKey(seed);
    const station = createFactoryBleStation({
      random: counter(0x10),
      expectedMac: "0a1b2c3d4e5f",
      anchor,
      sign: (hash) => signFactoryBleAuth(seed, hash),
    });
    const device = createFactoryBleDevice({
      random: counter(0x80),
      chipId: "a1b2c3d4e5f60718",
      bleMac: "0a1b2c3d4e5f",
    });
    const deviceHello = device.receiveHello(station.hello);
    const t = {
      ...decodeFactoryBleHello(station.hello),
      ...decodeFactoryBleDeviceHello(deviceHello),
      expectedMac: "0a1b2c3d4e5f",
      anchor,
    };
    const { auth } = station.receiveDeviceHello(deviceHello);
    const answer = device.receiveAuth(auth);
    const records = station.receiveAnswer(answer.answer);
    for (const bytes of [
      station.hello,
      deviceHello,
      factoryBleTranscriptBytes(t),
      factoryBleTranscriptHash(t),
      decodeFactoryBleAuth(auth).signature,
      answer.answer,
      records.seal(fromHex("00")),
    ]) {
      expect(section).toContain(toHex(bytes));
    }
  });
});
