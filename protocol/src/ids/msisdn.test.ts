import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isTriadkitError } from "../errors.js";
import { expectTriadkitError } from "../testing.js";
import { IOT_14X_PATTERN, parseIotMsisdn } from "./msisdn.js";

const codes = (r: { warnings: readonly { code: string }[] }) => r.warnings.map((w) => w.code);

describe("parseIotMsisdn: 14x IoT numbers", () => {
  it("attributes the documented 14x prefixes", () => {
    const cases: [string, string][] = [
      ["1410012345678", "china_telecom"],
      ["1440012345678", "china_mobile"],
      ["1441012345678", "china_mobile"],
      ["1460012345678", "china_unicom"],
      ["1469912345678", "china_unicom"],
      ["1480012345678", "china_mobile"],
      ["1489912345678", "china_mobile"],
    ];
    for (const [msisdn, operator] of cases) {
      expect(parseIotMsisdn(msisdn)).toEqual({
        value: { msisdn, e164: `+86${msisdn}`, kind: "14x", operator },
        warnings: [],
      });
    }
  });

  it("accepts +86 / 86 prefixes, spaces and hyphens", () => {
    for (const input of ["+861440012345678", "861440012345678", " +86 1440 0123 4567 8 ", "+86-144-0012-345678"]) {
      expect(parseIotMsisdn(input).value.msisdn).toBe("1440012345678");
    }
  });

  it("rejects 14x prefixes outside the IoT ranges and 11-digit numbers", () => {
    for (const bad of ["1420012345678", "1430012345678", "1450012345678", "1470012345678", "1490012345678"]) {
      expectTriadkitError(() => parseIotMsisdn(bad), "id.bad_msisdn");
    }
    const err = expectTriadkitError(() => parseIotMsisdn("14512345678"), "id.bad_msisdn");
    expect(err.message).toContain("11-digit");
    expectTriadkitError(() => parseIotMsisdn("+8613800138000"), "id.bad_msisdn");
  });
});

describe("parseIotMsisdn: 1064 numbers", () => {
  it("10648 is China Mobile and 10646 China Unicom, with an unverified warning", () => {
    const mobile = parseIotMsisdn("1064808779699"); // the example of the third-party tool
    expect(mobile.value).toEqual({
      msisdn: "1064808779699",
      e164: "+861064808779699",
      kind: "1064",
      operator: "china_mobile",
    });
    expect(codes(mobile)).toEqual(["id.msisdn_operator_unverified"]);
    const unicom = parseIotMsisdn("+861064612345678");
    expect(unicom.value.operator).toBe("china_unicom");
    expect(codes(unicom)).toEqual(["id.msisdn_operator_unverified"]);
  });

  it("other 1064x numbers have no operator and a warning; strict rejects them", () => {
    const r = parseIotMsisdn("1064112345678");
    expect(r.value).toEqual({ msisdn: "1064112345678", e164: "+861064112345678", kind: "1064" });
    expect(codes(r)).toEqual(["id.msisdn_operator_unverified"]);
    expectTriadkitError(() => parseIotMsisdn("1064112345678", { strict: true }), "id.bad_msisdn");
    expect(parseIotMsisdn("1440012345678", { strict: true }).warnings).toEqual([]);
  });

  it("rejects 1064 numbers of the wrong length", () => {
    for (const bad of ["106480877969", "10648087796991", "+8610648087796"]) {
      expectTriadkitError(() => parseIotMsisdn(bad), "id.bad_msisdn");
    }
  });
});

describe("parseIotMsisdn: malformed input", () => {
  it("rejects empty, non-digit, foreign and doubled country codes", () => {
    for (const bad of [
      "",
      "   ",
      "abc",
      "+1 1440012345678",
      "+8686 1440012345678",
      "1440O12345678",
      "１４４００１２３４５６７８",
      "++861440012345678",
    ]) {
      expectTriadkitError(() => parseIotMsisdn(bad), "id.bad_msisdn");
    }
    expectTriadkitError(() => parseIotMsisdn(undefined as unknown as string), "id.bad_msisdn");
  });
});

describe("parseIotMsisdn properties", () => {
  it("every accepted 14x number matches the published regex, with or without +86", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^14(?:[14]0|41|[68]\d)\d{9}$/), fc.constantFrom("", "86", "+86"), (n, cc) => {
        expect(IOT_14X_PATTERN.test(cc + n)).toBe(true);
        const r = parseIotMsisdn(cc + n);
        expect(r.value.msisdn).toBe(n);
        expect(r.value.kind).toBe("14x");
        expect(r.value.operator).toBeDefined();
        expect(r.warnings).toEqual([]);
      }),
    );
  });

  it("arbitrary strings never crash (only id.bad_msisdn)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 20 }), fc.stringMatching(/^\+?(86)?1[0-9 -]{10,14}$/)), (s) => {
        try {
          const r = parseIotMsisdn(s);
          expect(r.value.msisdn).toMatch(/^1\d{12}$/);
        } catch (err) {
          if (!isTriadkitError(err)) throw err;
          expect(err.code).toBe("id.bad_msisdn");
        }
      }),
    );
  });
});
