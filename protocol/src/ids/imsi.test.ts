import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isTriadkitError } from "../errors.js";
import { expectTriadkitError } from "../testing.js";
import { CHINA_MNC_OPERATORS, checkIccidImsiOperators, parseImsi } from "./imsi.js";

function neverCrashes(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!isTriadkitError(err)) throw err;
  }
}

const codes = (ws: readonly { code: string }[]) => ws.map((w) => w.code);

describe("parseImsi", () => {
  it("parses the observed China IMSIs", () => {
    expect(parseImsi("460060086257148")).toEqual({
      value: { imsi: "460060086257148", mcc: "460", mnc: "06", msin: "0086257148", operator: "china_unicom" },
      warnings: [],
    });
    expect(parseImsi("460115956795568").value).toEqual({
      imsi: "460115956795568",
      mcc: "460",
      mnc: "11",
      msin: "5956795568",
      operator: "china_telecom",
    });
    // AT+CIMI on a China Mobile IoT SIM: MNC 04 (brand China Mobile)
    expect(parseImsi(" 460040181839878\r\n").value.operator).toBe("china_mobile");
  });

  it("maps every MNC of the reference table", () => {
    const expected: Record<string, string> = {
      "00": "china_mobile",
      "01": "china_unicom",
      "02": "china_mobile",
      "03": "china_telecom",
      "04": "china_mobile",
      "05": "china_telecom",
      "06": "china_unicom",
      "07": "china_mobile",
      "08": "china_mobile",
      "09": "china_unicom",
      "11": "china_telecom",
      "15": "china_broadnet",
      "20": "china_tietong",
    };
    expect(CHINA_MNC_OPERATORS).toEqual(expected);
    for (const [mnc, op] of Object.entries(expected)) {
      const r = parseImsi(`460${mnc}1234567890`);
      expect(r.value.operator).toBe(op);
      expect(r.warnings).toEqual([]);
    }
  });

  it("warns about an unknown MCC 460 MNC", () => {
    const r = parseImsi("460991234567890");
    expect(r.value).toEqual({ imsi: "460991234567890", mcc: "460", mnc: "99", msin: "1234567890" });
    expect(codes(r.warnings)).toEqual(["id.imsi_unknown_operator"]);
    expect(r.warnings[0]?.message).toContain("99");
  });

  it("warns about a non-China MCC and leaves the MNC undefined", () => {
    const r = parseImsi("310260123456789");
    expect(r.value).toEqual({ imsi: "310260123456789", mcc: "310" });
    expect(r.value.mnc).toBeUndefined();
    expect(codes(r.warnings)).toEqual(["id.imsi_not_china"]);
  });

  it("accepts 6–15 digits", () => {
    expect(parseImsi("460001").value).toEqual({
      imsi: "460001",
      mcc: "460",
      mnc: "00",
      msin: "1",
      operator: "china_mobile",
    });
    expectTriadkitError(() => parseImsi("46000"), "id.bad_imsi");
    expectTriadkitError(() => parseImsi("4600012345678901"), "id.bad_imsi");
  });

  it("rejects malformed IMSIs with id.bad_imsi", () => {
    expect(expectTriadkitError(() => parseImsi(""), "id.bad_imsi").message).toContain("6–15 decimal digits");
    expect(expectTriadkitError(() => parseImsi("46006008625714X"), "id.bad_imsi").message).toContain(
      '"X" at position 15',
    );
    expectTriadkitError(() => parseImsi("460 060086257148"), "id.bad_imsi");
    expectTriadkitError(() => parseImsi("+CIMI: 460060086257148"), "id.bad_imsi");
    expectTriadkitError(() => parseImsi(42 as unknown as string), "id.bad_imsi");
  });

  it("strict mode rejects warnings with id.bad_imsi", () => {
    expectTriadkitError(() => parseImsi("310260123456789", { strict: true }), "id.bad_imsi");
    expectTriadkitError(() => parseImsi("460991234567890", { strict: true }), "id.bad_imsi");
    expect(parseImsi("460060086257148", { strict: true }).warnings).toEqual([]);
  });
});

describe("checkIccidImsiOperators", () => {
  it("finds no mismatch in the observed pairs", () => {
    expect(checkIccidImsiOperators("89860621260002571487", "460060086257148")).toEqual([]);
    expect(checkIccidImsiOperators("89860324650103722650", "460115956795568")).toEqual([]);
    expect(checkIccidImsiOperators("898604071118C0501150", "460040181839878")).toEqual([]);
  });

  it("warns when both operators are known and differ", () => {
    const ws = checkIccidImsiOperators("89860621260002571487", "460115956795568");
    expect(codes(ws)).toEqual(["id.iccid_imsi_operator_mismatch"]);
    expect(ws[0]?.message).toContain("898606");
    expect(ws[0]?.message).toContain("china_unicom");
    expect(ws[0]?.message).toContain("china_telecom");
    expect(codes(checkIccidImsiOperators("89860025128306012474", "460015956795568"))).toEqual([
      "id.iccid_imsi_operator_mismatch",
    ]);
  });

  it("says nothing when either operator is unknown", () => {
    const unknownPrefix = "89860812345678901234";
    expect(checkIccidImsiOperators(unknownPrefix, "460060086257148")).toEqual([]);
    expect(checkIccidImsiOperators("89860621260002571487", "460991234567890")).toEqual([]);
    expect(checkIccidImsiOperators("89860621260002571487", "310260123456789")).toEqual([]);
  });

  it("propagates validation errors of either value", () => {
    expectTriadkitError(
      () => checkIccidImsiOperators("89860621260002571488", "460060086257148"),
      "id.iccid_check_digit",
    );
    expectTriadkitError(() => checkIccidImsiOperators("1234", "460060086257148"), "id.bad_iccid");
    expectTriadkitError(() => checkIccidImsiOperators("89860621260002571487", "46006"), "id.bad_imsi");
  });
});

describe("IMSI properties", () => {
  it("any 6–15 digit string parses, and its fields recompose the IMSI", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{6,15}$/), (imsi) => {
        const { value } = parseImsi(imsi);
        expect(value.imsi).toBe(imsi);
        expect(value.mcc).toBe(imsi.slice(0, 3));
        if (value.mcc === "460") expect(`${value.mcc}${value.mnc}${value.msin}`).toBe(imsi);
        else expect(value.mnc).toBeUndefined();
      }),
    );
  });

  it("random strings and mutated IMSIs never crash", () => {
    const mutated = fc
      .tuple(fc.constantFrom("460060086257148", "460115956795568"), fc.nat(), fc.string({ maxLength: 3 }), fc.nat(2))
      .map(([s, pos, ins, del]) => {
        const i = pos % (s.length + 1);
        return s.slice(0, i) + ins + s.slice(i + del);
      });
    fc.assert(
      fc.property(fc.oneof(fc.string(), mutated), (s) => {
        neverCrashes(() => parseImsi(s));
        neverCrashes(() => parseImsi(s, { strict: true }));
        neverCrashes(() => checkIccidImsiOperators("89860621260002571487", s));
        neverCrashes(() => checkIccidImsiOperators(s, "460060086257148"));
      }),
    );
  });
});
