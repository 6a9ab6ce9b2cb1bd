import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { expectTriadkitErrorAsync } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { openTriadSheet } from "../open-sheet.js";
import { writeIssueReport } from "../report.js";
import {
  ALIBABA_HEADER,
  bleMac,
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
} from "./helpers.js";

const tmp = useTempDir();

/** GBK bytes of 产品Key,设备名称,设备密钥 (checked against iconv -t GBK). */
const GBK_HEADER = Buffer.from("b2fac6b74b65792cc9e8b1b8c3fbb3c62cc9e8b1b8c3dcd4bf", "hex");

describe("CSV encodings", () => {
  it("reads UTF-8 without BOM", async () => {
    const path = await tmp.write("a.csv", `${ALIBABA_HEADER.join(",")}\n${PK},dev-0001,${S1}\n${PK},dev-0002,${S2}\n`);
    const { info, rows, issues } = await readSheet(path);
    expect(info).toMatchObject({ kind: "csv", format: "alibaba", encoding: "utf-8", headerRow: 1, delimiter: "," });
    expect(issues).toEqual([]);
    expect(rows).toEqual([
      { row: 2, identity: { family: "alibaba", productKey: PK, deviceName: "dev-0001" }, secret: S1 },
      { row: 3, identity: { family: "alibaba", productKey: PK, deviceName: "dev-0002" }, secret: S2 },
    ]);
  });

  it("strips a UTF-8 BOM and reads Chinese headers with CRLF line ends", async () => {
    const text = `\ufeff产品Key,设备名称,设备密钥,备注\r\n${PK},dev-0001,${S1},一号机\r\n`;
    const { info, rows, issues } = await readSheet(await tmp.write("bom.csv", text));
    expect(issues).toEqual([]);
    expect(info.headers).toEqual(["产品Key", "设备名称", "设备密钥", "备注"]);
    expect(info.encoding).toBe("utf-8");
    expect(rows.map((r) => r.secret)).toEqual([S1]);
  });

  it("detects GBK written by hand-checked bytes", async () => {
    const body = Buffer.from(`\n${PK},dev-0001,${S1}\n`);
    const { info, rows, issues } = await readSheet(await tmp.write("gbk.csv", Buffer.concat([GBK_HEADER, body])));
    expect(issues).toEqual([]);
    expect(info.encoding).toBe("gb18030");
    expect(info.headers).toEqual(["产品Key", "设备名称", "设备密钥"]);
    expect(rows).toHaveLength(1);
  });

  it("reads the GBK file LibreOffice Calc saved (title and blank rows above the header)", async () => {
    const { info, rows, issues } = await readSheet(join(FIXTURES, "alibaba-gbk.csv"));
    expect(issues).toEqual([]);
    expect(info).toMatchObject({ encoding: "gb18030", headerRow: 3, format: "alibaba" });
    expect(info.headers).toEqual(["产品Key", "设备名称", "设备密钥", "备注"]);
    expect(rows.map((r) => [r.row, r.identity])).toEqual([
      [4, { family: "alibaba", productKey: PK, deviceName: "860000000000001" }],
      [5, { family: "alibaba", productKey: PK, deviceName: "dev-0002" }],
    ]);
    const iconv = await readSheet(join(FIXTURES, "alibaba-iconv-gbk.csv"));
    expect(iconv.rows).toEqual(rows);
  });

  it("honours a forced encoding, and refuses an unknown one", async () => {
    const path = await tmp.write("gbk.csv", Buffer.concat([GBK_HEADER, Buffer.from(`\n${PK},dev-0001,${S1}\n`)]));
    // Forced UTF-8 on GBK bytes: the header row itself does not decode.
    const forced = await openTriadSheet(path, { encoding: "gbk" });
    expect(forced.info.encoding).toBe("gbk");
    await forced.close();
    await expectTriadkitErrorAsync(() => openTriadSheet(path, { encoding: "utf-8" }), "import.encoding");
    await expectTriadkitErrorAsync(() => openTriadSheet(path, { encoding: "klingon-8" }), "import.encoding");
  });

  it("stops with import.encoding naming the row when UTF-8 breaks after the sniffed start", async () => {
    const lines = [ALIBABA_HEADER.join(",")];
    for (let i = 1; i <= 3000; i++) lines.push(`${PK},dev-${String(i).padStart(5, "0")},${genieSecret(i)}`);
    const head = Buffer.from(`${lines.join("\n")}\n`); // > 64 KiB of ASCII: sniffed as UTF-8
    expect(head.length).toBeGreaterThan(64 * 1024);
    const bad = Buffer.concat([Buffer.from(`${PK},dev-x,`), Buffer.from([0xc9, 0xe8]), Buffer.from("\n")]);
    const tail = Buffer.from(`${PK},dev-after,${S2}\n`);
    const { rows, issues } = await readSheet(await tmp.write("mixed.csv", Buffer.concat([head, bad, tail])));
    expect(rows).toHaveLength(3000);
    expect(brief(issues)).toEqual([[3002, "", "import.encoding"]]);
    expect(issues[0]?.message).toContain("row 3002");
  });

  it("refuses UTF-16 and bytes that are neither UTF-8 nor GB18030", async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("ProductKey,DeviceName\n", "utf16le")]);
    await expectTriadkitErrorAsync(async () => openTriadSheet(await tmp.write("u16.csv", utf16)), "import.encoding");
    await expectTriadkitErrorAsync(
      async () => openTriadSheet(await tmp.write("junk.csv", Buffer.from([0x41, 0xff, 0xff, 0x0a]))),
      "import.encoding",
    );
  });
});

describe("CSV rows", () => {
  it("flags scientific notation and fractions as damaged cells with row and column", async () => {
    const csv = [
      GENIE_HEADER.join(","),
      `5001234,${genieSecret(1)},${wifiMac(1)},,,`,
      `5001234,${genieSecret(2)},1.82233E+11,,,`,
      `5.001234E+06,${genieSecret(3)},${wifiMac(3)},,,`,
      `5001234,3.12346E+31,${wifiMac(4)},,,`,
      `5001234,${genieSecret(5)},41122334455,,41122334455,`,
    ].join("\n");
    const { rows, issues } = await readSheet(await tmp.write("g.csv", csv));
    expect(brief(issues)).toEqual([
      [3, "Mac Lower", "import.damaged_cell"],
      [4, "Product ID", "import.damaged_cell"],
      [5, "Device Secret", "import.damaged_cell"],
    ]);
    expect(rows.map((r) => r.row)).toEqual([2, 6]);
    expect(rows[1]?.identity).toMatchObject({ mac: "041122334455" });
  });

  it("reads a CSV LibreOffice re-saved from a damaged sheet", async () => {
    const { rows, issues } = await readSheet(join(FIXTURES, "genie-damaged-resaved.csv"));
    expect(rows.map((r) => r.row)).toEqual([2]);
    expect(brief(issues)).toEqual([
      [3, "Mac Lower", "import.damaged_cell"],
      [3, "Mac Upper", "import.damaged_cell"],
      [4, "Device Secret", "import.damaged_cell"],
      [5, "Product ID", "import.damaged_cell"],
      [6, "Mac Lower", "import.damaged_cell"],
      [6, "Mac Upper", "import.damaged_cell"],
    ]);
  });

  it("counts rows like a spreadsheet: blank lines and quoted line breaks", async () => {
    const csv = `title\n\n${ALIBABA_HEADER.join(",")}\n"${PK}",dev-0001,"${S1}"\n\n , ,\n${PK},"dev-\n0002",${S2}\n${PK},,\n`;
    const { info, rows, issues } = await readSheet(await tmp.write("rows.csv", csv));
    expect(info.headerRow).toBe(3);
    expect(rows.map((r) => r.row)).toEqual([4]);
    expect(brief(issues)).toEqual([
      [7, "DeviceName", "import.bad_value"],
      [8, "DeviceName", "import.missing_value"],
      [8, "DeviceSecret", "import.missing_value"],
    ]);
    expect(issues[0]?.cause).toBe("triad.bad_device_name");
  });

  it("guesses a tab or semicolon delimiter", async () => {
    const tsv = `${ALIBABA_HEADER.join("\t")}\n${PK}\tdev-0001\t${S1}\n`;
    const t = await readSheet(await tmp.write("t.csv", tsv));
    expect(t.info.delimiter).toBe("\t");
    expect(t.rows).toHaveLength(1);
    const semi = await readSheet(await tmp.write("s.csv", `${ALIBABA_HEADER.join(";")}\n${PK};dev-0001;${S1}\n`));
    expect(semi.info.delimiter).toBe(";");
    expect(semi.rows).toHaveLength(1);
  });

  it("ends with import.unreadable_file at a broken quote", async () => {
    const csv = `${ALIBABA_HEADER.join(",")}\n${PK},dev-0001,${S1}\n${PK},"dev-0002,${S2}\n`;
    const { rows, issues } = await readSheet(await tmp.write("q.csv", csv));
    expect(rows).toHaveLength(1);
    expect(brief(issues)).toEqual([[3, "", "import.unreadable_file"]]);
    expectNoSecrets(issues, [S1, S2]);
  });

  it("reports empty_file for a header without data, and missing_column without a header", async () => {
    const empty = await readSheet(await tmp.write("e.csv", `${ALIBABA_HEADER.join(",")}\n\n,,\n`));
    expect(brief(empty.issues)).toEqual([[1, "", "import.empty_file"]]);
    const lines = Array.from({ length: 25 }, (_, i) => `note ${i}`).join("\n");
    await expectTriadkitErrorAsync(
      async () => openTriadSheet(await tmp.write("n.csv", `${lines}\n${ALIBABA_HEADER.join(",")}\n`)),
      "import.missing_column",
    );
    await expectTriadkitErrorAsync(async () => openTriadSheet(await tmp.write("z.csv", "")), "import.missing_column");
  });

  it("reports progress in bytes up to the file size", async () => {
    const lines = [ALIBABA_HEADER.join(",")];
    for (let i = 1; i <= 5000; i++) lines.push(`${PK},dev-${String(i).padStart(5, "0")},${genieSecret(i)}`);
    const path = await tmp.write("p.csv", `${lines.join("\n")}\n`);
    const seen: [number, number][] = [];
    const opened = await openTriadSheet(path, { onProgress: (done, total) => seen.push([done, total]) });
    let count = 0;
    for await (const item of opened.items) if (item.kind === "row") count++;
    expect(count).toBe(5000);
    expect(seen.length).toBeGreaterThan(1);
    const [lastDone, total] = seen[seen.length - 1] ?? [0, 0];
    expect(lastDone).toBe(total);
    expect(seen.every(([d], i) => i === 0 || d >= (seen[i - 1]?.[0] ?? 0))).toBe(true);
  });
});

describe("a rejected file", () => {
  it("lists every problem, and no secret reaches the issues or the report", async () => {
    const secrets = Array.from({ length: 9 }, (_, i) => genieSecret(i + 1));
    const csv = [
      GENIE_HEADER.join(","),
      `5001234,${secrets[0]},${wifiMac(1)},,,${bleMac(1)}`,
      `5001234,${secrets[1]},${wifiMac(1)},,,${bleMac(2)}`, // WiFi MAC of row 2 again
      `5001234,${secrets[0]},${wifiMac(3)},,,${bleMac(3)}`, // secret of row 2 again
      `5001234,${secrets[3]}0,${wifiMac(4)},,,`, // 33 hex digits
      `5001234,${secrets[4]},${wifiMac(5)},,A4C1000000FF,`, // Mac Upper disagrees
      `5001234,,${wifiMac(6)},,,`, // no secret
      `5001234,${secrets[6]},1.82233E+11,,,`, // damaged MAC
      `99999999999,${secrets[7]},${wifiMac(8)},,,`, // Product ID beyond u32
      `5001234,${secrets[8]},${wifiMac(9)},,,${wifiMac(3)}`, // Bluetooth MAC is row 4's WiFi MAC
    ].join("\n");
    const { rows, issues } = await readSheet(await tmp.write("bad.csv", csv));
    expect(rows.map((r) => r.row)).toEqual([2]);
    expect(brief(issues)).toEqual([
      [3, "Mac Lower", "import.duplicate_triad"],
      [4, "Device Secret", "import.duplicate_secret"],
      [5, "Device Secret", "import.bad_value"],
      [6, "Mac Upper", "import.bad_value"],
      [7, "Device Secret", "import.missing_value"],
      [8, "Mac Lower", "import.damaged_cell"],
      [9, "Product ID", "import.bad_value"],
      [10, "Bluetooth Mac Lower", "import.duplicate_triad"],
    ]);
    const report = tmp.file("report.csv");
    await writeIssueReport(issues, report);
    const written = await readFile(report, "utf8");
    expect(written.split("\r\n").filter(Boolean)).toHaveLength(issues.length + 1);
    for (const secret of secrets) expect(written).not.toContain(secret);
    expectNoSecrets(issues, secrets);
  });
});
