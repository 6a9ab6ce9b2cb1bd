import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isTriadkitError } from "../errors.js";
import { expectTriadkitError } from "../testing.js";
import { decodeEfIccid, iccidCheckDigit, iccidOperator, parseEfIccid, parseIccid } from "./iccid.js";
import { isLuhnValid } from "./luhn.js";

function neverCrashes(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!isTriadkitError(err)) throw err;
  }
}

const codes = (r: { warnings: readonly { code: string }[] }) => r.warnings.map((w) => w.code);

const UNICOM = ["89860621330066521767", "89860620040007789511", "89860621260002571487"];
const TELECOM = ["89860318640220133897", "89860324650103722650", "89861118216007272115"];
const MOBILE_NUMERIC_FAILING = [
  "89860025128306012474",
  "89860002190810001367",
  "89860439101880931012",
  "89860439101880927899",
];
const WITH_LETTERS = [
  "898600700907A6019125",
  "898604071118C0501150",
  "898600220909A0206023",
  "898604981022C0256459",
  "898604A52121C0114673",
  "898600B11925F0192677",
];

/** Replaces the character at `i` of `s`. */
const setAt = (s: string, i: number, c: string) => s.slice(0, i) + c + s.slice(i + 1);

describe("parseIccid: real samples", () => {
  it("China Unicom and China Telecom samples pass Luhn with no warnings", () => {
    for (const iccid of UNICOM) {
      expect(parseIccid(iccid)).toEqual({ value: { iccid, operator: "china_unicom", luhn: "valid" }, warnings: [] });
    }
    for (const iccid of TELECOM) {
      expect(parseIccid(iccid)).toEqual({ value: { iccid, operator: "china_telecom", luhn: "valid" }, warnings: [] });
    }
  });

  it("China Mobile numeric samples fail Luhn but are accepted with a warning", () => {
    for (const iccid of MOBILE_NUMERIC_FAILING) {
      expect(isLuhnValid(iccid)).toBe(false); // the reference observation, recomputed
      const r = parseIccid(iccid);
      expect(r.value).toEqual({ iccid, operator: "china_mobile", luhn: "invalid" });
      expect(codes(r)).toEqual(["id.iccid_check_digit_unverified"]);
    }
  });

  it("ICCIDs with hex letters are accepted, not Luhn-checked, and warned about", () => {
    for (const iccid of WITH_LETTERS) {
      const r = parseIccid(iccid);
      expect(r.value).toEqual({ iccid, operator: "china_mobile", luhn: "not_applicable" });
      expect(codes(r)).toEqual(["id.iccid_check_digit_unverified"]);
      expect(r.warnings[0]?.message).toContain("not checked");
    }
  });

  it("keeps a mid-string F as data", () => {
    expect(parseIccid("898600B11925F0192677").value.iccid).toBe("898600B11925F0192677");
  });

  it("upper-cases lowercase input (ML307 +MCCID)", () => {
    const r = parseIccid("898600d6991330004146");
    expect(r.value).toEqual({ iccid: "898600D6991330004146", operator: "china_mobile", luhn: "not_applicable" });
  });

  it("strips trailing F padding of a 19-digit ICCID", () => {
    const r = parseIccid("8986000000000000000F");
    expect(r.value.iccid).toBe("8986000000000000000");
    expect(r.value.operator).toBe("china_mobile");
    expect(parseIccid("8986000000000000000f").value.iccid).toBe("8986000000000000000");
    // a padded 19-digit Unicom ICCID with a correct check digit
    const unicom19 = `898606213300665217${iccidCheckDigit("898606213300665217")}`;
    expect(parseIccid(`${unicom19}F`)).toEqual({
      value: { iccid: unicom19, operator: "china_unicom", luhn: "valid" },
      warnings: [],
    });
  });

  it("trims whitespace around the value", () => {
    expect(parseIccid(" 89860621330066521767\r\n").value.iccid).toBe("89860621330066521767");
  });
});

describe("parseIccid: errors and warnings", () => {
  it("hard-fails a wrong check digit on numeric 898601/03/06/09/11 ICCIDs", () => {
    const err = expectTriadkitError(() => parseIccid("89860621330066521768"), "id.iccid_check_digit");
    expect(err.message).toContain("expected 7");
    expectTriadkitError(() => parseIccid("89860318640220133890"), "id.iccid_check_digit");
    expectTriadkitError(() => parseIccid("89861118216007272116"), "id.iccid_check_digit");
    for (const prefix of ["898601", "898603", "898606", "898609", "898611"]) {
      const payload = `${prefix}1234567890123`;
      const good = payload + iccidCheckDigit(payload);
      expect(parseIccid(good).value.luhn).toBe("valid");
      const bad = payload + ((Number(iccidCheckDigit(payload)) + 1) % 10);
      expectTriadkitError(() => parseIccid(bad), "id.iccid_check_digit");
    }
  });

  it("does not hard-fail China Mobile prefixes 898600/02/04/07", () => {
    for (const prefix of ["898600", "898602", "898604", "898607"]) {
      const payload = `${prefix}1234567890123`;
      const bad = payload + ((Number(iccidCheckDigit(payload)) + 1) % 10);
      const r = parseIccid(bad);
      expect(r.value).toEqual({ iccid: bad, operator: "china_mobile", luhn: "invalid" });
      expect(codes(r)).toEqual(["id.iccid_check_digit_unverified"]);
    }
  });

  it("warns about unknown 8986xx prefixes without failing", () => {
    const payload = "8986081234567890123";
    const iccid = payload + iccidCheckDigit(payload);
    const r = parseIccid(iccid);
    expect(r.value).toEqual({ iccid, luhn: "valid" });
    expect(r.value.operator).toBeUndefined();
    expect(codes(r)).toEqual(["id.iccid_unknown_operator"]);
    // and a failing check digit there is only a warning too
    const bad = payload + ((Number(iccidCheckDigit(payload)) + 1) % 10);
    expect(codes(parseIccid(bad))).toEqual(["id.iccid_check_digit_unverified", "id.iccid_unknown_operator"]);
  });

  it("accepts non-China ICCIDs of 18–20 characters without an operator", () => {
    for (const payload of ["89441000000000000", "894410000000000000", "8944100000000000000"]) {
      const iccid = payload + iccidCheckDigit(payload);
      expect(parseIccid(iccid)).toEqual({ value: { iccid, luhn: "valid" }, warnings: [] });
    }
    const bad = `8944100000000000000${(Number(iccidCheckDigit("8944100000000000000")) + 1) % 10}`;
    expect(isLuhnValid(bad)).toBe(false);
    expect(codes(parseIccid(bad))).toEqual(["id.iccid_check_digit_unverified"]);
  });

  it("rejects malformed ICCIDs with id.bad_iccid and a format hint", () => {
    const e = expectTriadkitError(() => parseIccid("12345678901234567890"), "id.bad_iccid");
    expect(e.message).toContain('"89"');
    expect(e.message).toContain('got "12" at the start');
    expect(expectTriadkitError(() => parseIccid(""), "id.bad_iccid").message).toContain("empty");
    expect(expectTriadkitError(() => parseIccid("   "), "id.bad_iccid").message).toContain("empty");
    expectTriadkitError(() => parseIccid("8986062133006652176"), "id.iccid_check_digit"); // 19 digits, real check
    expectTriadkitError(() => parseIccid("898606213300665217"), "id.bad_iccid"); // China needs 19–20
    expectTriadkitError(() => parseIccid("8944100000000000"), "id.bad_iccid"); // 16 < 18
    expectTriadkitError(() => parseIccid("898606213300665217671"), "id.bad_iccid"); // 21
    expectTriadkitError(() => parseIccid("8986062133006652176FF"), "id.bad_iccid"); // 21 incl. padding
    const g = expectTriadkitError(() => parseIccid("89860621330066521G67"), "id.bad_iccid");
    expect(g.message).toContain('"G" at position 18');
    expectTriadkitError(() => parseIccid("89860621 330066521767"), "id.bad_iccid");
    expectTriadkitError(() => parseIccid("+ICCID: 89860621330066521767"), "id.bad_iccid");
    expectTriadkitError(() => parseIccid("FFFFFFFFFFFFFFFFFFFF"), "id.bad_iccid");
    expectTriadkitError(() => parseIccid("898600FFFFFFFFFFFFFF"), "id.bad_iccid"); // all padding after prefix
    expectTriadkitError(() => parseIccid(null as unknown as string), "id.bad_iccid");
  });

  it("strict mode turns warnings into errors", () => {
    expectTriadkitError(() => parseIccid("898600700907A6019125", { strict: true }), "id.iccid_check_digit");
    expectTriadkitError(() => parseIccid("89860025128306012474", { strict: true }), "id.iccid_check_digit");
    const payload = "8986081234567890123";
    expectTriadkitError(() => parseIccid(payload + iccidCheckDigit(payload), { strict: true }), "id.bad_iccid");
    expect(parseIccid("89860621330066521767", { strict: true }).value.luhn).toBe("valid");
  });
});

describe("iccidOperator / iccidCheckDigit", () => {
  it("maps every documented prefix", () => {
    const table: Record<string, string | undefined> = {
      "898600": "china_mobile",
      "898602": "china_mobile",
      "898604": "china_mobile",
      "898607": "china_mobile",
      "898601": "china_unicom",
      "898606": "china_unicom",
      "898609": "china_unicom",
      "898603": "china_telecom",
      "898611": "china_telecom",
      "898608": undefined,
      "898615": undefined,
      "894410": undefined,
    };
    for (const [prefix, op] of Object.entries(table)) expect(iccidOperator(`${prefix}00000000000000`)).toBe(op);
    expect(iccidOperator(" 898606")).toBe("china_unicom");
    expect(iccidOperator("constructor")).toBeUndefined();
    expect(iccidOperator("")).toBeUndefined();
  });

  it("computes check digits for numeric payloads only", () => {
    expect(iccidCheckDigit("8986062133006652176")).toBe("7");
    expect(iccidCheckDigit("8986031864022013389")).toBe("7");
    expectTriadkitError(() => iccidCheckDigit("898600700907A601912"), "id.bad_iccid");
    expectTriadkitError(() => iccidCheckDigit("8986"), "id.bad_iccid");
    expectTriadkitError(() => iccidCheckDigit("12345678901234567890"), "id.bad_iccid");
  });
});

describe("EF_ICCID (AT+CRSM=176,12258,0,0,10)", () => {
  it("decodes the nibble-swapped BCD sample", () => {
    expect(decodeEfIccid("98683081462002318379")).toBe("89860318640220133897");
    expect(parseEfIccid("98683081462002318379")).toEqual({
      value: { iccid: "89860318640220133897", operator: "china_telecom", luhn: "valid" },
      warnings: [],
    });
    expect(decodeEfIccid('"98683081462002318379"')).toBe("89860318640220133897");
    expect(decodeEfIccid(Uint8Array.of(0x98, 0x68, 0x30, 0x81, 0x46, 0x20, 0x02, 0x31, 0x83, 0x79))).toBe(
      "89860318640220133897",
    );
  });

  it("keeps padding and letters, which parseIccid then handles", () => {
    // 8986000000000000000F stored swapped: last byte F0
    expect(decodeEfIccid("986800000000000000F0")).toBe("8986000000000000000F");
    expect(parseEfIccid("986800000000000000F0").value.iccid).toBe("8986000000000000000");
    // 898604071118C0501150: byte "C0" becomes "0C"
    expect(decodeEfIccid("9868407011810C051105")).toBe("898604071118C0501150");
    expect(decodeEfIccid("9868407011810c051105")).toBe("898604071118C0501150");
  });

  it("rejects wrong sizes and non-hex with id.bad_iccid", () => {
    expectTriadkitError(() => decodeEfIccid("9868308146200231837"), "id.bad_iccid");
    expectTriadkitError(() => decodeEfIccid("986830814620023183790"), "id.bad_iccid");
    expectTriadkitError(() => decodeEfIccid("9868308146200231837G"), "id.bad_iccid");
    expectTriadkitError(() => decodeEfIccid(new Uint8Array(9)), "id.bad_iccid");
    expectTriadkitError(() => decodeEfIccid(new Uint8Array(11)), "id.bad_iccid");
    expectTriadkitError(() => parseEfIccid(new Uint8Array(10)), "id.bad_iccid"); // 0000… is not an ICCID
  });
});

/** Nibble-swaps an ICCID padded with F to 20 characters (the inverse of decodeEfIccid). */
function encodeEf(iccid: string): string {
  const padded = iccid.padEnd(20, "F");
  let out = "";
  for (let i = 0; i < 20; i += 2) out += (padded[i + 1] as string) + (padded[i] as string);
  return out;
}

describe("ICCID properties", () => {
  const enforcedPrefix = fc.constantFrom("898601", "898603", "898606", "898609", "898611");
  const numericEnforced = fc
    .tuple(enforcedPrefix, fc.stringMatching(/^[0-9]{12,13}$/))
    .map(([p, rest]) => p + rest + iccidCheckDigit(p + rest));
  const anyValidShape = fc
    .tuple(fc.constantFrom("8986", "8944", "8901"), fc.stringMatching(/^[0-9A-Fa-f]{15,16}$/))
    .map(([p, rest]) => p + rest);

  it("computed check digits make valid Unicom/Telecom ICCIDs; changing any digit after the prefix is caught", () => {
    fc.assert(
      fc.property(numericEnforced, fc.nat(), fc.integer({ min: 1, max: 9 }), (iccid, pos, delta) => {
        expect(parseIccid(iccid).value.luhn).toBe("valid");
        const i = 6 + (pos % (iccid.length - 6));
        const mutated = setAt(iccid, i, String((Number(iccid[i]) + delta) % 10));
        expectTriadkitError(() => parseIccid(mutated), "id.iccid_check_digit");
      }),
    );
  });

  it("normalisation is idempotent and EF_ICCID encoding round-trips", () => {
    fc.assert(
      fc.property(anyValidShape, (raw) => {
        let first: ReturnType<typeof parseIccid>;
        try {
          first = parseIccid(raw);
        } catch (err) {
          // only the enforced prefixes may fail, and only on the check digit; trailing Fs may shorten too far
          expect(isTriadkitError(err, "id.iccid_check_digit") || isTriadkitError(err, "id.bad_iccid")).toBe(true);
          return;
        }
        const { iccid } = first.value;
        expect(iccid).toMatch(/^89[0-9A-F]{16,18}$/);
        expect(iccid.endsWith("F")).toBe(false);
        expect(parseIccid(iccid)).toEqual(first);
        expect(parseIccid(iccid.toLowerCase())).toEqual(first);
        if (iccid.length >= 19 || !iccid.startsWith("8986")) expect(parseEfIccid(encodeEf(iccid))).toEqual(first);
        expect(decodeEfIccid(encodeEf(iccid))).toBe(iccid.padEnd(20, "F"));
      }),
    );
  });

  it("random strings and mutated samples never crash", () => {
    const samples = [...UNICOM, ...TELECOM, ...MOBILE_NUMERIC_FAILING, ...WITH_LETTERS];
    const mutated = fc
      .tuple(fc.constantFrom(...samples), fc.nat(), fc.string({ maxLength: 3 }), fc.nat({ max: 2 }))
      .map(([s, pos, ins, del]) => {
        const i = pos % (s.length + 1);
        return s.slice(0, i) + ins + s.slice(i + del);
      });
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^89[0-9A-Fa-f]{14,20}$/), mutated), (s) => {
        neverCrashes(() => parseIccid(s));
        neverCrashes(() => parseIccid(s, { strict: true }));
        neverCrashes(() => parseEfIccid(s));
        neverCrashes(() => iccidCheckDigit(s));
        expect(() => iccidOperator(s)).not.toThrow();
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 12 }), (bytes) => {
        neverCrashes(() => parseEfIccid(bytes));
      }),
    );
  });
});
