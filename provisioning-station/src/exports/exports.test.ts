/**
 * Export templates (the shipped defaults and what a bad one is refused for), the row checker (identifiers validated
 * with protocol's parsers, duplicates, refuse vs flag, GBK), and the file writers (CSV encodings and BOM, xlsx sheets,
 * the content digest, nothing left behind when abandoned).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { iccidCheckDigit, imeiCheckDigit, isTriadkitError } from "@triadkit/protocol";
import ExcelJS from "exceljs";
import iconv from "iconv-lite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RowChecker } from "./check.js";
import { DEVICE_EXPORT_KINDS, DEVICE_EXPORT_RULES, deviceTemplate } from "./device-export.js";
import { DEVICE_FIELD_NAMES, type DeviceRow } from "./fields.js";
import { type ExportTemplate, parseTemplate } from "./template.js";
import { neutraliseCsvCell, openExportFile } from "./writer.js";

const imei = (i: number) => {
  const first = `35${String(1_000_000_000 + i).padStart(12, "0")}`;
  return first + imeiCheckDigit(first);
};
const iccid = (i: number) => {
  const first = `898606${String(200_000_000_000 + i).padStart(12, "0")}`; // 19 characters: room for an F
  return first + iccidCheckDigit(first);
};
const imsi = (i: number) => `46006${String(1_000_000_000 + i).padStart(10, "0")}`;

function row(i: number, modem: Partial<Pick<DeviceRow, "imei" | "iccid" | "imsi">> = {}): DeviceRow {
  const r = Object.fromEntries(DEVICE_FIELD_NAMES.map((f) => [f, ""])) as DeviceRow;
  return { ...r, chipId: `c${i}`, triadId: `t${i}`, identity: `alibaba:pk/d${i}`, model: "M-1", ...modem };
}

function template(extra: object, kind = "imei"): ExportTemplate {
  return parseTemplate(
    JSON.stringify({
      format: "triadkit-export-template",
      version: 1,
      kind,
      columns: [{ header: "IMEI", field: "imei" }],
      ...extra,
    }),
    { kind, fields: DEVICE_FIELD_NAMES, source: "test.json" },
  );
}

function templateError(extra: object): { path: unknown; message: string } {
  try {
    template(extra);
  } catch (err) {
    if (isTriadkitError(err, "export.bad_template")) return { path: err.context?.["path"], message: err.message };
    throw err;
  }
  throw new Error("accepted");
}

describe("export templates", () => {
  it("the shipped defaults parse; the platform ones are marked assumed, triadkit's own formats are not", () => {
    for (const kind of DEVICE_EXPORT_KINDS) {
      const t = deviceTemplate(kind);
      expect(t.kind).toBe(kind);
      expect(t.source).toBe(`default:${kind}.json`);
      expect(t.assumed, kind).toBe(kind === "imei" || kind === "iccid");
      if (t.assumed) expect(t.note).toMatch(/ASSUMED/);
    }
    expect(deviceTemplate("bindings").columns).toEqual([
      { header: "imei", field: "imei" },
      { header: "iccid", field: "iccid" },
      { header: "imsi", field: "imsi" },
    ]);
  });

  it("defaults: header row, UTF-8 without BOM, comma, CRLF, the kind as sheet name, CSV", () => {
    expect(template({})).toMatchObject({
      header: true,
      encoding: "utf-8",
      bom: false,
      delimiter: ",",
      lineEnding: "crlf",
      sheetName: "imei",
      defaultFormat: "csv",
      assumed: false,
    });
  });

  it("a bad template is refused naming where", () => {
    expect(templateError({ kind: "iccid" }).path).toBe("kind");
    expect(templateError({ columns: [] }).path).toBe("columns");
    expect(templateError({ columns: [{ header: "X", field: "deviceSecret" }] }).path).toBe("columns.0.field");
    expect(templateError({ columns: [{ header: "X", field: "imei", value: "1" }] }).path).toBe("columns.0");
    expect(templateError({ columns: [{ header: "X" }] }).path).toBe("columns.0");
    expect(templateError({ encoding: "gbk", bom: true }).path).toBe("bom");
    expect(templateError({ encoding: "utf-16le" }).path).toBe("encoding");
    expect(templateError({ sheetName: "a/b" }).path).toBe("sheetName");
    expect(templateError({ sheetName: "Checkpoint" }).path).toBe("sheetName");
    expect(templateError({ version: 2 }).path).toBe("version");
    expect(templateError({ surprise: true })).toMatchObject({
      path: "(file)",
      message: expect.stringMatching(/surprise/),
    });
    expect(() => parseTemplate("{", { kind: "imei", fields: [], source: "x.json" })).toThrow(/not JSON/);
  });
});

describe("row checker", () => {
  const cellsOf = (r: DeviceRow) => [r.imei, r.iccid, r.imsi, r.problems];
  const headers = ["imei", "iccid", "imsi", "problems"];

  it("writes normal forms, skips devices without a required identifier, refuses bad and repeated ones", () => {
    const c = new RowChecker({
      ...DEVICE_EXPORT_RULES.bindings,
      validate: ["imei", "iccid", "imsi"],
      encoding: "utf-8",
    });
    const bad = `${imei(2).slice(0, 14)}${(Number(imei(2).at(-1)) + 1) % 10}`;
    expect(
      c.check(row(1, { imei: imei(1), iccid: `${iccid(1).toLowerCase()}F`, imsi: imsi(1) }), cellsOf, headers),
    ).toEqual([imei(1), iccid(1), imsi(1), ""]);
    expect(c.check(row(2, { imei: bad, iccid: iccid(2), imsi: imsi(2) }), cellsOf, headers)).toBeUndefined();
    expect(c.check(row(3, { imei: imei(3), iccid: iccid(1), imsi: imsi(3) }), cellsOf, headers)).toBeUndefined();
    expect(c.check(row(4, { imei: imei(4) }), cellsOf, headers)).toBeUndefined();
    expect(c.check(row(5, { imei: "000000000000000", iccid: iccid(5), imsi: imsi(5) }), cellsOf, headers)).toBe(
      undefined,
    );
    expect(c.rows).toBe(1);
    expect(c.skipped).toBe(1);
    expect(c.problems.map((p) => [p.chipId, p.field, p.code, p.cause])).toEqual([
      ["c2", "imei", "export.bad_identifier", "id.imei_check_digit"],
      ["c3", "iccid", "export.duplicate_identifier", undefined],
      ["c5", "imei", "export.bad_identifier", "id.bad_imei"],
    ]);
    // A refused row does not claim its identifiers: the IMEI of row 3 is still free.
    expect(c.check(row(6, { imei: imei(3), iccid: iccid(6), imsi: imsi(6) }), cellsOf, headers)).toBeDefined();
  });

  it("the burn report flags instead: the row stays, a bad value is blanked, the codes go in `problems`", () => {
    const c = new RowChecker({ ...DEVICE_EXPORT_RULES.burns, validate: ["imei", "iccid", "imsi"], encoding: "utf-8" });
    expect(c.check(row(1, { imei: imei(1) }), cellsOf, headers)).toEqual([imei(1), "", "", ""]);
    expect(c.check(row(2, { imei: imei(1), iccid: "1234" }), cellsOf, headers)).toEqual([
      imei(1),
      "",
      "",
      "id.bad_iccid export.duplicate_identifier",
    ]);
    expect(c.check(row(3), cellsOf, headers)).toEqual(["", "", "", ""]);
    expect([c.rows, c.problemCount]).toEqual([3, 2]);
  });

  it("counts the parsers' warnings; GBK: a character GBK lacks is a problem", () => {
    const c = new RowChecker({
      required: [],
      unique: [],
      validate: ["iccid", "imsi"],
      onProblem: "refuse",
      encoding: "gbk",
    });
    // China Mobile ICCID with letters (check digit unverifiable) and a China Telecom IMSI: operators differ.
    expect(
      c.check(row(1, { iccid: "898604071118C0501150", imsi: imsi(1).replace("46006", "46011") }), cellsOf, headers),
    ).toBeDefined;
    expect(Object.fromEntries(c.warnings)).toEqual({
      "id.iccid_check_digit_unverified": 1,
      "id.iccid_imsi_operator_mismatch": 1,
    });
    const model = (r: DeviceRow) => [r.model];
    expect(c.check({ ...row(2), model: "扫码枪" }, model, ["型号"])).toEqual(["扫码枪"]);
    expect(c.check({ ...row(3), model: "📱" }, model, ["型号"])).toBeUndefined();
    expect(c.problems.at(-1)).toMatchObject({ code: "export.unencodable", field: "型号" });
    expect(c.encodable("设备IMEI号")).toBe(true);
  });
});

describe("export file writers", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "tk-export-writer-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const digest = (rows: string[][]) =>
    createHash("sha256")
      .update(rows.map((r) => `${JSON.stringify(r)}\n`).join(""))
      .digest("hex");

  it("CSV: GBK or UTF-8 with BOM, the template's delimiter and line ends, quoting, formula guard; digest", async () => {
    const gbk = template({
      columns: [
        { header: "设备IMEI号", field: "imei" },
        { header: "备注", value: "" },
      ],
      encoding: "gbk",
      delimiter: ";",
      lineEnding: "lf",
    });
    const path = join(dir, "a.csv");
    const w = await openExportFile(path, "csv", gbk);
    await w.addRow([imei(1), "a;b"]);
    await w.addRow([imei(2), "=cmd()"]);
    const data = await w.endData();
    const file = await w.finish();
    const bytes = readFileSync(path);
    expect(iconv.decode(bytes, "gbk")).toBe(`设备IMEI号;备注\n${imei(1)};"a;b"\n${imei(2)};'=cmd()\n`);
    expect(data).toEqual({
      rows: 2,
      contentSha256: digest([
        ["设备IMEI号", "备注"],
        [imei(1), "a;b"],
        [imei(2), "'=cmd()"],
      ]),
    });
    expect(file.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(file.bytes).toBe(bytes.length);

    const bom = join(dir, "b.csv");
    const w2 = await openExportFile(bom, "csv", template({ bom: true, header: false }));
    await w2.addRow([imei(3)]);
    expect((await w2.endData()).rows).toBe(1);
    await w2.finish();
    expect(readFileSync(bom)).toEqual(Buffer.from(`\uFEFF${imei(3)}\r\n`, "utf8"));
    await expect(openExportFile(bom, "csv", template({}))).rejects.toThrow(/EEXIST/);
  });

  it("xlsx: the data sheet with text cells and the checkpoint sheet; abandoned files are removed", async () => {
    const path = join(dir, "a.xlsx");
    const w = await openExportFile(path, "xlsx", template({ sheetName: "IMEI库" }));
    await w.addRow([imei(1)]);
    expect((await w.endData()).rows).toBe(1);
    await w.finish([["kind", "imei"]]);
    const book = new ExcelJS.Workbook();
    await book.xlsx.readFile(path);
    expect(book.worksheets.map((s) => s.name)).toEqual(["IMEI库", "checkpoint"]);
    expect(book.getWorksheet("IMEI库")?.getCell("A2").value).toBe(imei(1));
    expect(book.getWorksheet("checkpoint")?.getCell("B2").value).toBe("imei");

    for (const format of ["csv", "xlsx"] as const) {
      const gone = join(dir, `gone.${format}`);
      const a = await openExportFile(gone, format, template({}));
      await a.addRow([imei(2)]);
      await a.abort();
      expect(existsSync(gone)).toBe(false);
    }
    expect(readdirSync(dir).sort()).toEqual(["a.xlsx"]);
  });

  it("the CSV formula guard touches only cells a spreadsheet would run", () => {
    expect(["=1", "+1", "-1", "@a", "\tx", "860000000000009", "li.wei"].map(neutraliseCsvCell)).toEqual([
      "'=1",
      "'+1",
      "'-1",
      "'@a",
      "'\tx",
      "860000000000009",
      "li.wei",
    ]);
  });
});
