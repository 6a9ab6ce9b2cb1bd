import { readFile } from "node:fs/promises";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { issuesToJson, writeIssueReport } from "../report.js";
import type { ImportIssue } from "../types.js";
import { useTempDir } from "./helpers.js";

const tmp = useTempDir();

const ISSUES: ImportIssue[] = [
  {
    row: 7,
    column: "设备名称",
    code: "import.bad_value",
    message: 'DeviceName is invalid: "quoted", comma\nnew line',
    cause: "triad.bad_device_name",
    sheet: "三元组",
  },
  { row: 9, column: '=HYPERLINK("http://x")', code: "import.missing_value", message: "is empty" },
  { row: 10, column: "", code: "import.encoding", message: "row 10 is not valid utf-8" },
];

describe("writeIssueReport", () => {
  it("writes an escaped CSV with BOM that reads back to the same fields", async () => {
    const path = tmp.file("report.csv");
    await writeIssueReport(ISSUES, path);
    const bytes = await readFile(path);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const records = parse(bytes, { bom: true }) as string[][];
    expect(records).toEqual([
      ["row", "column", "code", "message", "cause", "sheet"],
      [
        "7",
        "设备名称",
        "import.bad_value",
        'DeviceName is invalid: "quoted", comma\nnew line',
        "triad.bad_device_name",
        "三元组",
      ],
      // A header text that a spreadsheet would run as a formula is neutralised.
      ["9", '\'=HYPERLINK("http://x")', "import.missing_value", "is empty", "", ""],
      ["10", "", "import.encoding", "row 10 is not valid utf-8", "", ""],
    ]);
    expect(bytes.toString("utf8")).toContain("\r\n");
  });

  it("accepts an async iterable and leaves no temporary file behind", async () => {
    async function* gen() {
      yield* ISSUES;
    }
    const path = tmp.file("r.csv");
    await writeIssueReport(gen(), path);
    const { readdir } = await import("node:fs/promises");
    expect(await readdir(tmp.dir)).toEqual(["r.csv"]);
  });
});

describe("issuesToJson", () => {
  it("keeps the report fields in order and omits absent ones", () => {
    const json = issuesToJson(ISSUES);
    expect(Object.keys(json[0] ?? {})).toEqual(["row", "column", "code", "message", "cause", "sheet"]);
    expect(json[2]).toEqual({ row: 10, column: "", code: "import.encoding", message: "row 10 is not valid utf-8" });
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});
