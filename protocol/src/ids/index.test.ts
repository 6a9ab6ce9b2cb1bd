import { describe, expect, it } from "vitest";
import * as ids from "./index.js";

describe("ids barrel", () => {
  it("re-exports the public API", () => {
    for (const name of [
      "parseImei",
      "parseImeiSv",
      "imeiCheckDigit",
      "splitImei",
      "splitImeiSv",
      "imeiFromImeiSv",
      "parseIccid",
      "parseEfIccid",
      "decodeEfIccid",
      "iccidOperator",
      "iccidCheckDigit",
      "parseImsi",
      "checkIccidImsiOperators",
      "parseMac",
      "normalizeMac",
      "formatMac",
      "parseBleRandomStaticAddress",
      "isLuhnValid",
      "luhnCheckDigit",
      "isDecimalDigits",
    ]) {
      expect(typeof (ids as Record<string, unknown>)[name]).toBe("function");
    }
    expect(ids.parseImei("490154203237518").value).toBe("490154203237518");
    expect(ids.parseEfIccid("98683081462002318379").value.operator).toBe("china_telecom");
  });
});
