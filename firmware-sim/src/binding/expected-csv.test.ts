import { expectTriadkitError } from "@triadkit/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fleet, type Rig, rig, sheet, simOf } from "./__tests__/fixtures.js";
import { normaliseReported, parseExpectedCsv } from "./expected-csv.js";

const [a, b, c] = fleet(3, 11);
if (a === undefined || b === undefined || c === undefined) throw new Error("fleet");

describe("parseExpectedCsv", () => {
  it("matches headers in any case and spelling, ignores other columns, normalises values", () => {
    const text = [`Serial,I_M_E_I,iccid ,IMSI`, `x1,${a.imei},${a.iccid.toLowerCase()},${a.imsi}`, ""].join("\r\n");
    const parsed = parseExpectedCsv(text);
    expect(parsed.errors).toEqual([]);
    expect(parsed.rows).toEqual([{ line: 2, binding: simOf(a) }]);
  });

  it("reports bad rows by line number with the parser's code, keeps the good ones", () => {
    const badLuhn = `${a.imei.slice(0, 14)}${(Number(a.imei.at(-1)) + 1) % 10}`;
    const text = [
      "imei,iccid,imsi",
      `${a.imei},${a.iccid},${a.imsi}`,
      `${badLuhn},${b.iccid},${b.imsi}`,
      `${c.imei},12345,${c.imsi}`,
      `${c.imei},${c.iccid},46`,
    ].join("\n");
    const parsed = parseExpectedCsv(text);
    expect(parsed.rows.map((r) => r.line)).toEqual([2]);
    expect(parsed.errors.map((e) => [e.line, e.code])).toEqual([
      [3, "id.imei_check_digit"],
      [4, "id.bad_iccid"],
      [5, "id.bad_imsi"],
    ]);
    expect(parsed.errors[0]?.message).toMatch(/^line 3: /);
  });

  it("refuses an IMEI, ICCID or IMSI that appears on an earlier line", () => {
    const text = [
      "imei,iccid,imsi",
      `${a.imei},${a.iccid},${a.imsi}`,
      `${a.imei},${b.iccid},${b.imsi}`,
      `${b.imei},${a.iccid},${b.imsi}`,
      `${c.imei},${c.iccid},${a.imsi}`,
    ].join("\n");
    const parsed = parseExpectedCsv(text);
    expect(parsed.rows).toHaveLength(1);
    expect(parsed.errors.map((e) => [e.line, e.code])).toEqual([
      [3, "binding.duplicate_expected"],
      [4, "binding.duplicate_expected"],
      [5, "binding.duplicate_expected"],
    ]);
    expect(parsed.errors[1]?.message).toContain("ICCID already appears on line 2");
  });

  it("warns (without refusing) when the ICCID's and the IMSI's operators differ", () => {
    const telecomImsi = `46011${a.imsi.slice(5)}`;
    const parsed = parseExpectedCsv(`imei,iccid,imsi\n${a.imei},${a.iccid},${telecomImsi}`);
    expect(parsed.rows).toHaveLength(1);
    expect(parsed.warnings.map((w) => [w.line, w.code])).toEqual([[2, "id.iccid_imsi_operator_mismatch"]]);
  });

  it("throws for a sheet without the columns", () => {
    expectTriadkitError(() => parseExpectedCsv("imei,iccid\n1,2"), "import.missing_column");
    expectTriadkitError(() => parseExpectedCsv(""), "import.missing_column");
    expectTriadkitError(() => parseExpectedCsv("imei,IMEI,iccid,imsi\n"), "import.ambiguous_column");
  });

  it("normaliseReported never throws and strips ICCID padding", () => {
    expect(normaliseReported({ imei: " x ", iccid: "89860abcF", imsi: "?" })).toEqual({
      imei: "x",
      iccid: "89860ABC",
      imsi: "?",
    });
  });
});

describe("importExpected", () => {
  let r: Rig;
  beforeEach(() => {
    r = rig({ expectedCsv: sheet([a]) });
  });
  afterEach(() => r.monitor.close());

  it("is idempotent for the same rows and refuses conflicts with imported bindings", () => {
    const again = r.monitor.importExpected(sheet([a, b]));
    expect(again).toMatchObject({ added: 1, unchanged: 1, replaced: 0, errors: [] });
    const conflict = r.monitor.importExpected(`imei,iccid,imsi\n${c.imei},${a.iccid},${c.imsi}`);
    expect(conflict.added).toBe(0);
    expect(conflict.errors).toMatchObject([{ line: 2, code: "binding.duplicate_expected" }]);
    expect(
      r.monitor
        .expected()
        .map((e) => e.imei)
        .sort(),
    ).toEqual([a.imei, b.imei].sort());
  });

  it("rebinds with replace: the conflicting binding is removed first", () => {
    const rebind = r.monitor.importExpected(`imei,iccid,imsi\n${c.imei},${a.iccid},${a.imsi}`, { replace: true });
    expect(rebind).toMatchObject({ added: 0, replaced: 1, errors: [] });
    expect(r.monitor.expected()).toMatchObject([{ imei: c.imei, iccid: a.iccid }]);
  });

  it("reports the initial import of the option", () => {
    expect(r.monitor.initialImport).toMatchObject({ added: 1, errors: [] });
  });
});
