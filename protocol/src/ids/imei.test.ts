import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isTriadkitError } from "../errors.js";
import { expectTriadkitError } from "../testing.js";
import { imeiCheckDigit, imeiFromImeiSv, parseImei, parseImeiSv, splitImei, splitImeiSv } from "./imei.js";

/** Returns normally or throws a TriadkitError; anything else is a crash. */
function neverCrashes(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!isTriadkitError(err)) throw err;
  }
}

const VALID = ["490154203237518", "352099001761481", "356938035643809"];

describe("parseImei", () => {
  it("accepts the reference vectors", () => {
    for (const imei of VALID) expect(parseImei(imei)).toEqual({ value: imei, warnings: [] });
  });

  it("trims surrounding whitespace (AT response lines)", () => {
    expect(parseImei("  490154203237518\r\n").value).toBe("490154203237518");
    expect(parseImei("\t352099001761481 ").value).toBe("352099001761481");
  });

  it("rejects a wrong check digit with id.imei_check_digit and names the expected digit", () => {
    const err = expectTriadkitError(() => parseImei("490154203237519"), "id.imei_check_digit");
    expect(err.message).toContain("expected 8");
  });

  it("rejects malformed input with id.bad_imei and describes it", () => {
    expect(expectTriadkitError(() => parseImei(""), "id.bad_imei").message).toContain("empty");
    expect(expectTriadkitError(() => parseImei("49015420323751"), "id.bad_imei").message).toContain(
      "got 14 characters",
    );
    expectTriadkitError(() => parseImei("4901542032375180"), "id.bad_imei");
    expect(expectTriadkitError(() => parseImei("49015420323751X"), "id.bad_imei").message).toContain("position 15");
    expectTriadkitError(() => parseImei("49015420-3237518"), "id.bad_imei");
    expectTriadkitError(() => parseImei("490154 203237518"), "id.bad_imei");
    expectTriadkitError(() => parseImei("４９０１５４２０３２３７５１８"), "id.bad_imei");
    expectTriadkitError(() => parseImei(undefined as unknown as string), "id.bad_imei");
    expect(expectTriadkitError(() => parseImei("1234"), "id.bad_imei").message).toContain("15 decimal digits");
  });

  it("warns about the all-zero placeholder IMEI and rejects it when strict", () => {
    const r = parseImei("000000000000000");
    expect(r.value).toBe("000000000000000");
    expect(r.warnings.map((w) => w.code)).toEqual(["id.imei_placeholder"]);
    expectTriadkitError(() => parseImei("000000000000000", { strict: true }), "id.bad_imei");
    expect(parseImei("490154203237518", { strict: true }).warnings).toEqual([]);
  });
});

describe("imeiCheckDigit / splitImei", () => {
  it("computes the check digit of the vectors", () => {
    expect(imeiCheckDigit("49015420323751")).toBe("8");
    expect(imeiCheckDigit("35209900176148")).toBe("1");
    expect(imeiCheckDigit("35693803564380")).toBe("9");
  });

  it("needs exactly 14 digits", () => {
    expectTriadkitError(() => imeiCheckDigit("4901542032375"), "id.bad_imei");
    expectTriadkitError(() => imeiCheckDigit("490154203237518"), "id.bad_imei");
    expectTriadkitError(() => imeiCheckDigit("4901542032375a"), "id.bad_imei");
  });

  it("splits TAC / SNR / CD", () => {
    expect(splitImei("490154203237518")).toEqual({ tac: "49015420", snr: "323751", cd: "8" });
    expectTriadkitError(() => splitImei("490154203237519"), "id.imei_check_digit");
  });
});

describe("IMEISV", () => {
  it("accepts 16 digits without a check digit and splits TAC / SNR / SVN", () => {
    expect(parseImeiSv(" 4901542032375101 ")).toEqual({ value: "4901542032375101", warnings: [] });
    expect(splitImeiSv("4901542032375101")).toEqual({ tac: "49015420", snr: "323751", svn: "01" });
  });

  it("rejects anything but 16 digits with id.bad_imeisv", () => {
    expectTriadkitError(() => parseImeiSv("490154203237518"), "id.bad_imeisv");
    expectTriadkitError(() => parseImeiSv("49015420323751012"), "id.bad_imeisv");
    expectTriadkitError(() => parseImeiSv("490154203237510A"), "id.bad_imeisv");
    expectTriadkitError(() => parseImeiSv(""), "id.bad_imeisv");
  });

  it("derives the IMEI of the same device", () => {
    expect(imeiFromImeiSv("4901542032375101")).toBe("490154203237518");
    expect(imeiFromImeiSv("3520990017614823")).toBe("352099001761481");
  });
});

describe("IMEI properties", () => {
  it("a computed check digit always makes a valid IMEI", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{14}$/), (first14) => {
        const imei = first14 + imeiCheckDigit(first14);
        expect(parseImei(imei).value).toBe(imei);
        expect(splitImei(imei).cd).toBe(imei[14]);
      }),
    );
  });

  it("any single-digit change of a valid IMEI is rejected with id.imei_check_digit", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9]{14}$/),
        fc.integer({ min: 0, max: 14 }),
        fc.integer({ min: 1, max: 9 }),
        (first14, pos, delta) => {
          const imei = first14 + imeiCheckDigit(first14);
          const mutated = imei.slice(0, pos) + ((Number(imei[pos]) + delta) % 10) + imei.slice(pos + 1);
          expectTriadkitError(() => parseImei(mutated), "id.imei_check_digit");
        },
      ),
    );
  });

  it("swapping two different adjacent digits is detected (except the 0↔9 pair)", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{14}$/), fc.integer({ min: 0, max: 13 }), (first14, pos) => {
        const imei = first14 + imeiCheckDigit(first14);
        const a = imei[pos] as string;
        const b = imei[pos + 1] as string;
        fc.pre(a !== b && !(a + b === "09" || a + b === "90"));
        const swapped = imei.slice(0, pos) + b + a + imei.slice(pos + 2);
        expectTriadkitError(() => parseImei(swapped), "id.imei_check_digit");
      }),
    );
  });

  it("random strings and mutated valid IMEIs never crash the parsers", () => {
    const mutated = fc
      .tuple(fc.constantFrom(...VALID), fc.nat(), fc.string({ maxLength: 3 }), fc.nat({ max: 2 }))
      .map(([imei, pos, ins, del]) => {
        const i = pos % (imei.length + 1);
        return imei.slice(0, i) + ins + imei.slice(i + del);
      });
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[0-9 ]{13,17}$/), mutated), (s) => {
        neverCrashes(() => parseImei(s));
        neverCrashes(() => parseImei(s, { strict: true }));
        neverCrashes(() => parseImeiSv(s));
        neverCrashes(() => imeiCheckDigit(s));
        neverCrashes(() => splitImei(s));
        neverCrashes(() => imeiFromImeiSv(s));
      }),
    );
  });
});
