import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isTriadkitError } from "../errors.js";
import { expectTriadkitError } from "../testing.js";
import { meidCheckDigit, meidFromDecimal, meidToDecimal, meidToPesn, parseMeid, splitMeid } from "./meid.js";

function neverCrashes(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!isTriadkitError(err)) throw err;
    expect(err.code).toBe("id.bad_meid");
  }
}

describe("MEID reference vectors (3GPP2 X.S0008 via Data::MEID; blog example)", () => {
  it("A10000009296F2: check digit F, pESN 8075B7ED, decimal 270113177609606898", () => {
    expect(parseMeid("A10000009296F2")).toEqual({ value: "A10000009296F2", warnings: [] });
    expect(meidCheckDigit("A10000009296F2")).toBe("F");
    expect(meidToPesn("A10000009296F2")).toBe("8075B7ED");
    expect(meidToDecimal("A10000009296F2")).toBe("270113177609606898");
    expect(meidFromDecimal("270113177609606898")).toBe("A10000009296F2");
    expect(splitMeid("A10000009296F2")).toEqual({ rr: "A1", manufacturerCode: "A1000000", serialNumber: "9296F2" });
  });

  it("AF0123450ABCDE: check digit C", () => {
    expect(meidCheckDigit("AF0123450ABCDE")).toBe("C");
  });

  it("normalises case and surrounding whitespace", () => {
    expect(parseMeid("  a10000009296f2\n").value).toBe("A10000009296F2");
    expect(meidToPesn("a10000009296f2")).toBe("8075B7ED");
    expect(meidCheckDigit("af0123450abcde")).toBe("C");
  });
});

describe("MEID invalid input", () => {
  it("rejects wrong lengths, non-hex characters, separators and the check-digit suffix", () => {
    for (const bad of [
      "",
      "A10000009296F",
      "A10000009296F2F", // 15 characters: with its check digit (could be an IMEI)
      "A10000009296G2",
      "A1-00-00-00-92-96-F2",
      "A1000000 9296F2",
      "490154203237518",
    ]) {
      expectTriadkitError(() => parseMeid(bad), "id.bad_meid");
      expectTriadkitError(() => meidCheckDigit(bad), "id.bad_meid");
      expectTriadkitError(() => meidToPesn(bad), "id.bad_meid");
      expectTriadkitError(() => meidToDecimal(bad), "id.bad_meid");
    }
    expectTriadkitError(() => parseMeid(undefined as unknown as string), "id.bad_meid");
  });

  it("error messages name the offending character", () => {
    const err = expectTriadkitError(() => parseMeid("A10000009296G2"), "id.bad_meid");
    expect(err.message).toContain('"G" at position 13');
  });

  it("rejects malformed or out-of-range decimal MEIDs", () => {
    for (const bad of ["", "27011317760960689", "2701131776096068980", "27011317760960689X", "429496729600000000"]) {
      expectTriadkitError(() => meidFromDecimal(bad), "id.bad_meid");
    }
    expectTriadkitError(() => meidFromDecimal("000000000016777216"), "id.bad_meid");
    expect(meidFromDecimal("429496729516777215")).toBe("FFFFFFFFFFFFFF");
    expect(meidFromDecimal("000000000000000000")).toBe("00000000000000");
  });
});

describe("MEID properties", () => {
  const meidArb = fc.stringMatching(/^[0-9A-F]{14}$/);

  it("decimal form round-trips and always has 18 digits", () => {
    fc.assert(
      fc.property(meidArb, (meid) => {
        const dec = meidToDecimal(meid);
        expect(dec).toMatch(/^\d{18}$/);
        expect(meidFromDecimal(dec)).toBe(meid);
      }),
    );
  });

  it("pESN starts with 80 and is 8 hex digits; the check digit makes the base-16 Luhn sum 0", () => {
    fc.assert(
      fc.property(meidArb, (meid) => {
        expect(meidToPesn(meid)).toMatch(/^80[0-9A-F]{6}$/);
        const full = meid + meidCheckDigit(meid);
        let sum = 0;
        for (let i = 0; i < full.length; i++) {
          let d = Number.parseInt(full[full.length - 1 - i] as string, 16);
          if (i % 2 === 1) {
            d *= 2;
            d = Math.floor(d / 16) + (d % 16);
          }
          sum += d;
        }
        expect(sum % 16).toBe(0);
      }),
    );
  });

  it("arbitrary strings never crash (only id.bad_meid)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        neverCrashes(() => parseMeid(s));
        neverCrashes(() => meidCheckDigit(s));
        neverCrashes(() => meidToPesn(s));
        neverCrashes(() => meidFromDecimal(s));
      }),
    );
  });
});

describe("ids barrel", () => {
  it("exports the MEID and IoT MSISDN API", async () => {
    const ids = await import("./index.js");
    expect(ids.meidToPesn("A10000009296F2")).toBe("8075B7ED");
    expect(ids.parseIotMsisdn("+861440012345678").value.kind).toBe("14x");
    for (const name of ["parseMeid", "splitMeid", "meidCheckDigit", "meidToDecimal", "meidFromDecimal"]) {
      expect(typeof (ids as Record<string, unknown>)[name]).toBe("function");
    }
  });
});
