import { expectTriadkitError } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { importProductCsv, importTriadCsv, parseCsv, parseTriadCsv } from "./csv-import.js";
import { MemoryDeviceDirectory } from "./device-directory.js";

const SECRET_A = "abcdefghijklmnopqrstuvwxyz012345";
const SECRET_B = "SeCrEtThatMustNeverBeEchoed00000";

describe("parseCsv", () => {
  it("handles quotes, escaped quotes, CRLF, a BOM, blank lines and quoted newlines with line numbers", () => {
    const text = '\uFEFFa,b\r\n"x, y","he said ""hi"""\r\n\r\n"multi\nline",z\nlast,row';
    expect(parseCsv(text)).toEqual([
      { line: 1, fields: ["a", "b"] },
      { line: 2, fields: ["x, y", 'he said "hi"'] },
      { line: 4, fields: ["multi\nline", "z"] },
      { line: 6, fields: ["last", "row"] },
    ]);
  });

  it("refuses an unterminated quote and text after a closing quote", () => {
    expectTriadkitError(() => parseCsv('a\n"open'), "emulator.bad_csv");
    expectTriadkitError(() => parseCsv('"a"b,c'), "emulator.bad_csv");
  });
});

describe("triad sheets", () => {
  it("matches headers in any case and spelling, and reports bad rows by line without echoing secrets", () => {
    const text = [
      "Device_Name,PRODUCTKEY,device secret,comment",
      `dev001,a1B2c3D4e5F,${SECRET_A},first`,
      `x,a1B2c3D4e5F,${SECRET_B},too short a name`,
      "",
      `dev002,a1B2c3D4e5F,,no secret`,
      `dev001,a1B2c3D4e5F,${SECRET_A},again`,
      `dev003,a1B2c3D4e5F,${SECRET_B}`,
    ].join("\n");
    const sheet = parseTriadCsv(text);
    expect(sheet.triads.map((t) => [t.line, t.triad.deviceName])).toEqual([
      [2, "dev001"],
      [7, "dev003"],
    ]);
    expect(sheet.errors.map((e) => [e.line, e.code])).toEqual([
      [3, "triad.bad_device_name"],
      [5, "triad.bad_device_secret"],
      [6, "emulator.duplicate_device"],
    ]);
    expect(sheet.errors[0]?.message).toMatch(/^line 3: /);
    expect(JSON.stringify(sheet.errors)).not.toContain(SECRET_B);
    expect(JSON.stringify(sheet.errors)).not.toContain(SECRET_A);
  });

  it("accepts ProductKey, productKey and product_key alike", () => {
    for (const header of [
      "ProductKey,DeviceName,DeviceSecret",
      "productKey,deviceName,deviceSecret",
      "product_key,device_name,device_secret",
    ]) {
      expect(parseTriadCsv(`${header}\na1B2c3D4e5F,dev001,${SECRET_A}`).triads).toHaveLength(1);
    }
  });

  it("refuses a missing or a doubled column", () => {
    const missing = expectTriadkitError(() => parseTriadCsv("productKey,deviceName\nx,y"), "import.missing_column");
    expect(missing.context).toEqual({ missing: ["deviceSecret"] });
    expectTriadkitError(
      () => parseTriadCsv("productKey,product_key,deviceName,deviceSecret\n"),
      "import.ambiguous_column",
    );
    expectTriadkitError(() => parseTriadCsv(""), "import.missing_column");
  });

  it("imports into a registry; a device already there is a row error", () => {
    const registry = new MemoryDeviceDirectory([
      { productKey: "a1B2c3D4e5F", deviceName: "dev002", deviceSecret: SECRET_A },
    ]);
    const report = importTriadCsv(
      registry,
      `productKey,deviceName,deviceSecret\na1B2c3D4e5F,dev001,${SECRET_A}\na1B2c3D4e5F,dev002,${SECRET_B}\n`,
    );
    expect(report.added).toBe(1);
    expect(report.errors.map((e) => [e.line, e.code])).toEqual([[3, "emulator.duplicate_device"]]);
    expect(registry.lookupSecret({ productKey: "a1B2c3D4e5F", deviceName: "dev002" })).toBe(SECRET_A);
  });
});

describe("product sheets", () => {
  it("imports products with optional flags", () => {
    const registry = new MemoryDeviceDirectory();
    const report = importProductCsv(
      registry,
      "Product Key,Product Secret,Dynamic_Register,REGNWL\na1B2c3D4e5F,psA,yes,1\na1Other0000,psB,,\na1Bad000000,psC,maybe,\n",
    );
    expect(report.added).toBe(2);
    expect(report.errors.map((e) => [e.line, e.code])).toEqual([[4, "emulator.bad_csv"]]);
    expect(registry.getProduct("a1B2c3D4e5F")).toMatchObject({ dynamicRegister: true, regnwl: true });
    expect(registry.getProduct("a1Other0000")).toMatchObject({ dynamicRegister: true, regnwl: false });
    expect(registry.lookupProductSecret("a1Other0000")).toBe("psB");
  });
});
