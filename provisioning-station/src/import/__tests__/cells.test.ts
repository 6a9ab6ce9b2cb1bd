import { describe, expect, it } from "vitest";
import { type Cell, cellFromExcel, readCell, textCell } from "../cells.js";

const num = (value: number): Cell => ({ type: "number", value });
const text = (t: string): Cell => textCell(t);

describe("cellFromExcel", () => {
  it("normalises every exceljs value shape", () => {
    expect(cellFromExcel(null)).toEqual({ type: "empty" });
    expect(cellFromExcel("  a4c1380e5f22 \u00a0")).toEqual({ type: "text", text: "a4c1380e5f22" });
    expect(cellFromExcel("\u3000 ")).toEqual({ type: "empty" });
    expect(cellFromExcel(182233445566)).toEqual({ type: "number", value: 182233445566 });
    expect(cellFromExcel({ richText: [{ text: "a4c1" }, { font: { bold: true }, text: "380e5f22" }] })).toEqual({
      type: "text",
      text: "a4c1380e5f22",
    });
    expect(cellFromExcel({ formula: "LOWER(E2)", result: "a4c1380e5f22" })).toEqual({
      type: "text",
      text: "a4c1380e5f22",
    });
    expect(cellFromExcel({ sharedFormula: "A2", result: 5001234 })).toEqual({ type: "number", value: 5001234 });
    expect(cellFromExcel({ formula: "A1" }).type).toBe("other");
    expect(cellFromExcel({ formula: "1/0", result: { error: "#DIV/0!" } }).type).toBe("other");
    expect(cellFromExcel({ error: "#N/A" }).type).toBe("other");
    expect(cellFromExcel(Number.NaN).type).toBe("other");
    expect(cellFromExcel(true).type).toBe("other");
    expect(cellFromExcel(new Date(0)).type).toBe("other");
    expect(cellFromExcel({ text: "dev-0001", hyperlink: "http://x" })).toEqual({ type: "text", text: "dev-0001" });
    expect(cellFromExcel({ sharedString: 3 }).type).toBe("other");
  });
});

describe("readCell: MAC columns", () => {
  it("restores a digits-only MAC kept exactly by a number cell", () => {
    expect(readCell(num(182233445566), "mac", false)).toEqual({ kind: "text", text: "182233445566", restored: true });
  });

  it("pads a MAC that lost one leading zero", () => {
    expect(readCell(num(41122334455), "mac", false)).toEqual({ kind: "text", text: "041122334455", restored: true });
  });

  it("refuses numbers another MAC could have produced ('…e2' read as ×100, '…e0', '…e1')", () => {
    // 1822334455e2 is a legal hex MAC that a spreadsheet reads as 182233445500.
    for (const value of [182233445500, 18223344550, 1822334455, 123]) {
      expect(readCell(num(value), "mac", false).kind, String(value)).toBe("damaged");
    }
  });

  it("refuses fractions, negatives, huge and over-long numbers", () => {
    for (const value of [1.5, -182233445566, 1.12233e20, 1822334455661]) {
      expect(readCell(num(value), "mac", false).kind, String(value)).toBe("damaged");
    }
  });

  it("keeps MAC text as written in xlsx, and reads CSV digits as a spreadsheet number", () => {
    expect(readCell(text("182233445500"), "mac", false)).toEqual({
      kind: "text",
      text: "182233445500",
      restored: false,
    });
    expect(readCell(text("182233445500"), "mac", true).kind).toBe("damaged");
    expect(readCell(text("41122334455"), "mac", true)).toEqual({ kind: "text", text: "041122334455", restored: true });
    // Leading zero kept: this CSV text was never a number.
    expect(readCell(text("001822334455"), "mac", true)).toEqual({
      kind: "text",
      text: "001822334455",
      restored: false,
    });
    // A hex MAC with an 'e' stays text; Excel-style scientific notation does not.
    expect(readCell(text("1822334455e2"), "mac", true).kind).toBe("text");
    expect(readCell(text("1.82233E+11"), "mac", true).kind).toBe("damaged");
    expect(readCell(text("1.12233e11"), "mac", false).kind).toBe("damaged");
  });
});

describe("readCell: other columns", () => {
  it("reads an exact integer Product ID or DeviceName back as text", () => {
    expect(readCell(num(5001234), "integer", false)).toEqual({ kind: "text", text: "5001234", restored: true });
    // A DeviceName number is exact only as a 15-digit IMEI with a valid check digit (860000000000009).
    expect(readCell(num(860000000000009), "name", false)).toEqual({
      kind: "text",
      text: "860000000000009",
      restored: true,
    });
  });

  it("refuses other DeviceName numbers: several texts read as the same number", () => {
    for (const n of [860000000000001, 12345, 123400000, 86000000000000]) {
      expect(readCell(num(n), "name", false).kind, String(n)).toBe("damaged");
    }
  });

  it("refuses numbers of 16+ digits (a spreadsheet zeroes the 16th) and fractions", () => {
    expect(readCell(num(8986001234567890), "name", false).kind).toBe("damaged");
    expect(readCell(num(5001234.5), "integer", false).kind).toBe("damaged");
    expect(readCell(num(2 ** 60), "integer", false).kind).toBe("damaged");
  });

  it("treats any number in a secret or opaque column as damage", () => {
    expect(readCell(num(1234), "secret", false).kind).toBe("damaged");
    expect(readCell(num(1234), "opaque", false).kind).toBe("damaged");
  });

  it("recognises spreadsheet renderings of numbers in text", () => {
    for (const t of ["1.12233E+11", "3.12345678901235E+031", "8.98604E+19", "5001234.5", "1e+5", ".5"]) {
      expect(readCell(text(t), "name", true).kind, t).toBe("damaged");
      expect(readCell(text(t), "secret", false).kind, t).toBe("damaged");
    }
    for (const t of ["dev-0001", "860000000000001", "123e4", "a1B2c3D4e5F"]) {
      expect(readCell(text(t), "name", true).kind, t).toBe("text");
    }
  });

  it("reports empty and non-text cells", () => {
    expect(readCell({ type: "empty" }, "name", false)).toEqual({ kind: "empty" });
    const date = readCell({ type: "other", what: "a date" }, "mac", false);
    expect(date.kind === "damaged" && date.reason).toContain("a date");
  });
});
