import {
  checkIccidImsiOperators,
  parseAlibabaTriad,
  parseIccid,
  parseImei,
  parseImsi,
  parseMac,
} from "@triadkit/protocol";
import { SeededRandom } from "@triadkit/sdk";
import { describe, expect, it } from "vitest";
import { createVirtualIdentity } from "./identity.js";

describe("createVirtualIdentity", () => {
  it("produces identities every protocol validator accepts without warnings, and they are unique", () => {
    const random = new SeededRandom(2026);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const id = createVirtualIdentity(random, { productKey: "a1B2c3D4e5F" });
      expect(parseAlibabaTriad(id.triad).warnings).toEqual([]);
      expect(parseImei(id.imei).value).toBe(id.imei);
      const iccid = parseIccid(id.iccid, { strict: true });
      expect(iccid.value.iccid).toBe(id.iccid);
      expect(parseImsi(id.imsi).warnings).toEqual([]);
      expect(checkIccidImsiOperators(id.iccid, id.imsi)).toEqual([]);
      expect(parseMac(id.wifiMac).value).toBe(id.wifiMac);
      for (const v of [id.imei, id.iccid, id.triad.deviceName]) {
        expect(seen.has(v)).toBe(false);
        seen.add(v);
      }
    }
  });

  it("is reproducible from a seed", () => {
    const a = createVirtualIdentity(new SeededRandom(9), { productKey: "a1B2c3D4e5F" });
    const b = createVirtualIdentity(new SeededRandom(9), { productKey: "a1B2c3D4e5F" });
    expect(a).toEqual(b);
  });
});
