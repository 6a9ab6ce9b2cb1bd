import { describe, expect, it } from "vitest";
import { isTriadkitError } from "../errors.js";
import {
  decodeProvisioningAdvert,
  encodeProvisioningAdvert,
  PROV_ADVERT_BYTES,
  type ProvisioningAdvert,
} from "./advert.js";

const none: ProvisioningAdvert = { provisioned: false, locked: false, softap: false, improv: false, wifiScan: false };

describe("provisioning advertisement", () => {
  it("encodes the documented example: locked, softap and wifi_scan → ff ff 01 16", () => {
    const bytes = encodeProvisioningAdvert({ ...none, locked: true, softap: true, wifiScan: true });
    expect([...bytes]).toEqual([0xff, 0xff, 0x01, 0x16]);
    expect(bytes.length).toBe(PROV_ADVERT_BYTES);
  });

  it("round-trips every flag combination", () => {
    const keys = Object.keys(none) as (keyof ProvisioningAdvert)[];
    for (let mask = 0; mask < 32; mask++) {
      const advert = Object.fromEntries(
        keys.map((k, i) => [k, (mask & (1 << i)) !== 0]),
      ) as unknown as ProvisioningAdvert;
      const bytes = encodeProvisioningAdvert(advert);
      expect(bytes[3]).toBe(mask);
      expect(decodeProvisioningAdvert(bytes)).toEqual(advert);
    }
  });

  it("puts another company id little-endian and checks it on decode", () => {
    const bytes = encodeProvisioningAdvert({ ...none, provisioned: true }, 0x02e5);
    expect([...bytes]).toEqual([0xe5, 0x02, 0x01, 0x01]);
    expect(decodeProvisioningAdvert(bytes, 0x02e5).provisioned).toBe(true);
    expect(
      isTriadkitError(
        catchErr(() => decodeProvisioningAdvert(bytes)),
        "prov.bad_message",
      ),
    ).toBe(true);
    expect(() => encodeProvisioningAdvert(none, 0x10000)).toThrow(/16-bit/);
  });

  it("ignores reserved bits and refuses malformed data", () => {
    expect(decodeProvisioningAdvert(new Uint8Array([0xff, 0xff, 1, 0xe1]))).toEqual({ ...none, provisioned: true });
    const cases: [number[], "prov.bad_message" | "prov.version_unsupported"][] = [
      [[], "prov.bad_message"],
      [[0xff, 0xff], "prov.bad_message"],
      [[0xff, 0xff, 1], "prov.bad_message"],
      [[0xff, 0xff, 1, 0, 0], "prov.bad_message"],
      [[0xff, 0xff, 2, 0], "prov.version_unsupported"],
    ];
    for (const [bytes, code] of cases) {
      expect(
        isTriadkitError(
          catchErr(() => decodeProvisioningAdvert(new Uint8Array(bytes))),
          code,
        ),
      ).toBe(true);
    }
  });
});

function catchErr(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}
