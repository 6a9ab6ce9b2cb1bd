import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expectTriadkitError } from "../testing.js";
import { isDecimalDigits, isLuhnValid, luhnCheckDigit } from "./luhn.js";

/** Straight transcription of the TS 23.003 Annex B.2 procedure, as an independent oracle. */
function annexBCheckDigit(first14: string): number {
  // D14..D1 from left to right; D1 is the last character.
  const d = (label: number) => Number(first14[14 - label]);
  let sum = 0;
  for (let label = 1; label <= 13; label += 2) {
    const p = d(label) * 2;
    sum += Math.floor(p / 10) + (p % 10);
  }
  for (let label = 2; label <= 14; label += 2) sum += d(label);
  return sum % 10 === 0 ? 0 : 10 - (sum % 10);
}

describe("luhn", () => {
  it("matches the worked example of TS 23.003 Annex B (49015420323751 → 8)", () => {
    expect(luhnCheckDigit("49015420323751")).toBe(8);
    expect(annexBCheckDigit("49015420323751")).toBe(8);
    expect(isLuhnValid("490154203237518")).toBe(true);
    expect(isLuhnValid("490154203237519")).toBe(false);
  });

  it("handles classic vectors and edge cases", () => {
    expect(luhnCheckDigit("7992739871")).toBe(3);
    expect(isLuhnValid("79927398713")).toBe(true);
    expect(luhnCheckDigit("0")).toBe(0);
    expect(luhnCheckDigit("9")).toBe(1); // 9 doubled = 18 → 9; check digit 1
    expect(isLuhnValid("00")).toBe(true);
    expect(isLuhnValid("0")).toBe(false); // needs a payload and a check digit
    expect(isLuhnValid("")).toBe(false);
    expect(isLuhnValid("49015420323751A")).toBe(false);
    expect(isLuhnValid(" 490154203237518")).toBe(false);
    expect(isLuhnValid("４９０１５４２０３２３７５１８")).toBe(false); // full-width digits
  });

  it("rejects a non-decimal payload with id.bad_luhn_input", () => {
    expectTriadkitError(() => luhnCheckDigit(""), "id.bad_luhn_input");
    expectTriadkitError(() => luhnCheckDigit("12a4"), "id.bad_luhn_input");
    expectTriadkitError(() => luhnCheckDigit("-12"), "id.bad_luhn_input");
  });

  it("isDecimalDigits accepts only ASCII digits", () => {
    expect(isDecimalDigits("0123456789")).toBe(true);
    expect(isDecimalDigits("")).toBe(false);
    expect(isDecimalDigits("1 2")).toBe(false);
    expect(isDecimalDigits("١٢٣")).toBe(false);
  });

  it("property: the computed check digit makes a valid number and agrees with Annex B", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{1,30}$/), (payload) => {
        const cd = luhnCheckDigit(payload);
        expect(cd).toBeGreaterThanOrEqual(0);
        expect(cd).toBeLessThanOrEqual(9);
        expect(isLuhnValid(payload + cd)).toBe(true);
        // exactly one of the ten possible check digits is valid
        const valid = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].filter((c) => isLuhnValid(payload + c));
        expect(valid).toEqual([cd]);
      }),
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{14}$/), (first14) => {
        expect(luhnCheckDigit(first14)).toBe(annexBCheckDigit(first14));
      }),
    );
  });

  it("property: any single-digit substitution breaks a valid number", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9]{1,25}$/),
        fc.nat(),
        fc.integer({ min: 1, max: 9 }),
        (payload, pos, delta) => {
          const valid = payload + luhnCheckDigit(payload);
          const i = pos % valid.length;
          const mutated = valid.slice(0, i) + ((Number(valid[i]) + delta) % 10) + valid.slice(i + 1);
          expect(isLuhnValid(mutated)).toBe(false);
        },
      ),
    );
  });

  it("property: isLuhnValid never throws", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(typeof isLuhnValid(s)).toBe("boolean");
      }),
    );
  });
});
