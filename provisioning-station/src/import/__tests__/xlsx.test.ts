import { join } from "node:path";
import { expectTriadkitErrorAsync } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { openTriadSheet } from "../open-sheet.js";
import {
  ALIBABA_HEADER,
  brief,
  expectNoSecrets,
  FIXTURES,
  GENIE_HEADER,
  genieSecret,
  PK,
  readSheet,
  S1,
  S2,
  useTempDir,
  wifiMac,
  writeWorkbook,
} from "./helpers.js";

const tmp = useTempDir();

describe("xlsx Genie sheets", () => {
  it("reads numeric, rich-text and formula cells back to the platform's text", async () => {
    const path = await writeWorkbook(tmp.file("g.xlsx"), [
      {
        name: "Sheet1",
        rows: [
          GENIE_HEADER,
          // Product ID and a digits-only MAC as number cells.
          [5001234, genieSecret(1), 182233445566, "9e107d9d372bb6826bd81d3542a419d6", 182233445566, 182233445567],
          // A MAC that lost its leading zero; the Bluetooth MAC empty (optional).
          [5001234, genieSecret(2), 41122334455, undefined, "041122334455", undefined],
          // Rich text, a formula with its saved result, upper-case secret.
          [
            { formula: "5001000+234", result: 5001234 },
            genieSecret(3).toUpperCase(),
            { richText: [{ text: "a4c1" }, { font: { bold: true }, text: "380e5f22" }] },
            undefined,
            { formula: 'UPPER("a4c1380e5f22")', result: "A4C1380E5F22" },
            "a4:c1:38:0e:5f:23",
          ],
        ],
      },
    ]);
    const { info, rows, issues } = await readSheet(path);
    expect(issues).toEqual([]);
    expect(info).toMatchObject({ kind: "xlsx", format: "genie", sheet: "Sheet1", headerRow: 1 });
    expect(rows).toEqual([
      {
        row: 2,
        identity: {
          family: "genie",
          productId: 5001234,
          mac: "182233445566",
          bleMac: "182233445567",
          md5: "9e107d9d372bb6826bd81d3542a419d6",
        },
        secret: genieSecret(1),
      },
      { row: 3, identity: { family: "genie", productId: 5001234, mac: "041122334455" }, secret: genieSecret(2) },
      {
        row: 4,
        identity: { family: "genie", productId: 5001234, mac: "a4c1380e5f22", bleMac: "a4c1380e5f23" },
        secret: genieSecret(3),
      },
    ]);
  });

  it("refuses floats, unrecoverable MAC numbers and numeric secrets as damaged cells", async () => {
    const path = await writeWorkbook(tmp.file("d.xlsx"), [
      {
        name: "triads",
        rows: [
          GENIE_HEADER,
          [5001234, genieSecret(1), wifiMac(1)],
          [5001234, genieSecret(2), 1.12233e11],
          [5001234.5, genieSecret(3), wifiMac(3)],
          [5001234, 3.1234567890123e31, wifiMac(4)],
          [5001234, genieSecret(5), 182233445500],
          [5001234, genieSecret(6), wifiMac(6), undefined, new Date(0)],
        ],
      },
    ]);
    const { rows, issues } = await readSheet(path);
    expect(rows.map((r) => r.row)).toEqual([2]);
    expect(brief(issues)).toEqual([
      [3, "Mac Lower", "import.damaged_cell"],
      [4, "Product ID", "import.damaged_cell"],
      [5, "Device Secret", "import.damaged_cell"],
      [6, "Mac Lower", "import.damaged_cell"],
      [7, "Mac Upper", "import.damaged_cell"],
    ]);
    expect(issues.every((i) => i.sheet === "triads")).toBe(true);
  });

  it("reads the Genie sheet LibreOffice Calc made from typed CSV (number cells restored)", async () => {
    const { info, rows, issues } = await readSheet(join(FIXTURES, "genie-numeric.xlsx"));
    expect(issues).toEqual([]);
    expect(info.format).toBe("genie");
    expect(rows.map((r) => r.identity)).toEqual([
      {
        family: "genie",
        productId: 5001234,
        mac: "182233445566",
        bleMac: "182233445567",
        md5: "9e107d9d372bb6826bd81d3542a419d6",
      },
      {
        family: "genie",
        productId: 5001234,
        mac: "041122334455",
        bleMac: "041122334456",
        md5: "e4d909c290d0fb1ca068ffaddf22cbd0",
      },
      {
        family: "genie",
        productId: 5001234,
        mac: "a4c1380e5f22",
        bleMac: "a4c1380e5f23",
        md5: "d41d8cd98f00b204e9800998ecf8427e",
      },
      {
        family: "genie",
        productId: 5001234,
        mac: "28fa7a000001",
        bleMac: "28fa7a000002",
        md5: "0cc175b9c0f1b6a831c399e269772661",
      },
    ]);
    expect(rows[0]?.secret).toBe("4e000701f6ca6c8013548ded4b961e5b");
  });

  it("reports the damage LibreOffice Calc did to a Genie sheet", async () => {
    const { rows, issues } = await readSheet(join(FIXTURES, "genie-damaged.xlsx"));
    expect(rows.map((r) => r.row)).toEqual([2]);
    expect(brief(issues)).toEqual([
      [3, "Mac Lower", "import.damaged_cell"], // the hex MAC 1822334455e2 became 182233445500
      [3, "Mac Upper", "import.damaged_cell"],
      [4, "Device Secret", "import.damaged_cell"], // 32 digits became 3.12345678901235E+31
      [5, "Product ID", "import.damaged_cell"], // 5001234.5
      [6, "Mac Lower", "import.damaged_cell"], // 001822334455 became 1822334455
      [6, "Mac Upper", "import.damaged_cell"],
    ]);
    expectNoSecrets(issues, ["31234567890123456789012345678901", "aae9663adbb12c7ce01da7287e75d1d4"]);
  });
});

describe("xlsx sheets and header rows", () => {
  const cover = { name: "封面", rows: [["设备三元组"], ["ProductKey", PK], ["数量", 2]] };
  const data = {
    name: "三元组",
    rows: [["阿里云物联网平台 设备证书"], [], ALIBABA_HEADER, [PK, "dev-0001", S1], [PK, 860000000000009, S2]],
  };

  it("skips a cover sheet and title rows", async () => {
    const path = await writeWorkbook(tmp.file("two.xlsx"), [cover, data]);
    const { info, rows, issues } = await readSheet(path);
    expect(issues).toEqual([]);
    expect(info).toMatchObject({ sheet: "三元组", headerRow: 3, headers: [...ALIBABA_HEADER] });
    expect(rows.map((r) => [r.row, r.identity])).toEqual([
      [4, { family: "alibaba", productKey: PK, deviceName: "dev-0001" }],
      [5, { family: "alibaba", productKey: PK, deviceName: "860000000000009" }],
    ]);
  });

  it("reads the named sheet, and says which sheets exist when it is missing", async () => {
    const other = { name: "备用", rows: [ALIBABA_HEADER, [PK, "dev-0009", genieSecret(9)]] };
    const path = await writeWorkbook(tmp.file("three.xlsx"), [cover, data, other]);
    const picked = await readSheet(path, { sheet: "备用" });
    expect(picked.info.sheet).toBe("备用");
    expect(picked.rows.map((r) => r.identity)).toEqual([{ family: "alibaba", productKey: PK, deviceName: "dev-0009" }]);
    const err = await expectTriadkitErrorAsync(
      () => openTriadSheet(path, { sheet: "Sheet9" }),
      "import.sheet_not_found",
    );
    expect(err.context).toEqual({ sheet: "Sheet9", sheets: ["封面", "三元组", "备用"] });
    await expectTriadkitErrorAsync(() => openTriadSheet(path, { sheet: "封面" }), "import.missing_column");
  });

  it("refuses a workbook without any triad header, and a header of the other family", async () => {
    const path = await writeWorkbook(tmp.file("cover.xlsx"), [cover]);
    await expectTriadkitErrorAsync(() => openTriadSheet(path), "import.sheet_not_found");
    const genie = await writeWorkbook(tmp.file("g.xlsx"), [{ name: "s", rows: [GENIE_HEADER] }]);
    await expectTriadkitErrorAsync(() => openTriadSheet(genie, { format: "alibaba" }), "import.format_mismatch");
    const empty = await readSheet(genie, { format: "genie" });
    expect(brief(empty.issues)).toEqual([[1, "", "import.empty_file"]]);
  });

  it("reads the two-sheet workbook LibreOffice Calc saved", async () => {
    const { info, rows, issues } = await readSheet(join(FIXTURES, "alibaba-two-sheets.xlsx"));
    expect(issues).toEqual([]);
    expect(info).toMatchObject({
      sheet: "三元组",
      headerRow: 3,
      headers: ["ProductKey", "DeviceName", "DeviceSecret", "IotId"],
    });
    expect(rows.map((r) => [r.row, r.identity.family === "alibaba" && r.identity.deviceName])).toEqual([
      [4, "860000000000009"],
      [5, "lock-0003"],
    ]);
  });

  it("refuses files that are not spreadsheets with import.unreadable_file", async () => {
    await expectTriadkitErrorAsync(async () => openTriadSheet(await tmp.write("a.xls", "x")), "import.unreadable_file");
    await expectTriadkitErrorAsync(
      async () => openTriadSheet(await tmp.write("fake.xlsx", "ProductKey,DeviceName\n")),
      "import.unreadable_file",
    );
    await expectTriadkitErrorAsync(() => openTriadSheet(tmp.file("absent.csv")), "import.unreadable_file");
  });

  it("can be closed before reading the rows", async () => {
    const path = await writeWorkbook(tmp.file("two.xlsx"), [cover, data]);
    const opened = await openTriadSheet(path);
    await opened.close();
    const items = [];
    for await (const item of opened.items) items.push(item);
    expect(items).toEqual([]);
  });
});
