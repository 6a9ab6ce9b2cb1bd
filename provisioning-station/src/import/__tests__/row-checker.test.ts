import { describe, expect, it } from "vitest";
import { type Cell, textCell } from "../cells.js";
import { detectTriadColumns } from "../columns.js";
import { TriadRowChecker } from "../row-checker.js";
import type { ImportIssue, SheetItem } from "../types.js";
import { ALIBABA_HEADER, bleMac, brief, expectNoSecrets, GENIE_HEADER, genieSecret, PK, wifiMac } from "./helpers.js";

function checker(headers: readonly string[], sheet?: string): TriadRowChecker {
  return new TriadRowChecker({
    columns: detectTriadColumns(headers),
    headers,
    fromCsv: false,
    ...(sheet === undefined ? {} : { sheet }),
  });
}

/** Runs rows 2, 3, … through the checker. */
function run(c: TriadRowChecker, rows: readonly (readonly (string | number | undefined)[])[]): SheetItem[] {
  const items: SheetItem[] = [];
  rows.forEach((values, i) => {
    const cells: Cell[] = values.map((v) =>
      v === undefined ? { type: "empty" } : typeof v === "number" ? { type: "number", value: v } : textCell(v),
    );
    items.push(...c.check(i + 2, cells));
  });
  return items;
}

const issuesOf = (items: readonly SheetItem[]): ImportIssue[] =>
  items.flatMap((i) => (i.kind === "issue" ? [i.value] : []));

describe("TriadRowChecker: Alibaba rows", () => {
  const secret = (n: number) => `Sec${String(n).padStart(29, "0")}`;

  it("validates each cell with the protocol rules and names the column", () => {
    const items = run(checker(ALIBABA_HEADER), [
      [PK, "dev-0001", secret(1)],
      ["a1B2 c3D4", "dev-0002", secret(2)],
      [PK, "ab", secret(3)],
      [PK, "dev-0004", "has space"],
      [PK, undefined, secret(5)],
      [undefined, undefined, undefined],
      [PK, "dev-0007", secret(7), "extra column"],
    ]);
    expect(items.filter((i) => i.kind === "row").map((i) => i.value.row)).toEqual([2, 8]);
    const issues = issuesOf(items);
    expect(issues.map((i) => [i.row, i.column, i.code, i.cause])).toEqual([
      [3, "ProductKey", "import.bad_value", "triad.bad_product_key"],
      [4, "DeviceName", "import.bad_value", "triad.bad_device_name"],
      [5, "DeviceSecret", "import.bad_value", "triad.bad_device_secret"],
      [6, "DeviceName", "import.missing_value", undefined],
    ]);
    expectNoSecrets(issues, ["has space", secret(1), secret(3)]);
  });

  it("finds duplicate identities and duplicate secrets, naming the first row", () => {
    const items = run(checker(ALIBABA_HEADER), [
      [PK, "dev-0001", secret(1)],
      [PK, "dev-0002", secret(2)],
      [PK, "dev-0001", secret(3)],
      [PK, "dev-0004", secret(2)],
      ["b1B2c3D4e5F", "dev-0001", secret(5)],
    ]);
    const issues = issuesOf(items);
    expect(brief(issues)).toEqual([
      [4, "DeviceName", "import.duplicate_triad"],
      [5, "DeviceSecret", "import.duplicate_secret"],
    ]);
    expect(issues[0]?.message).toContain("row 2");
    expect(issues[1]?.message).toBe("DeviceSecret repeats the device secret of row 3");
    expectNoSecrets(issues, [secret(2)]);
  });

  it("reports an empty sheet once, at the header row", () => {
    const c = checker(ALIBABA_HEADER, "s1");
    expect(run(c, [[undefined, " ", undefined]])).toEqual([]);
    expect(c.finish(3)).toEqual([
      {
        kind: "issue",
        value: {
          row: 3,
          column: "",
          code: "import.empty_file",
          message: "the sheet has a header row but no data rows",
          sheet: "s1",
        },
      },
    ]);
  });
});

describe("TriadRowChecker: Genie rows", () => {
  it("returns the normalised identity and secret", () => {
    const items = run(checker(GENIE_HEADER), [
      ["5001234", genieSecret(1).toUpperCase(), "A4-C1-00-00-00-01", "Opaque-MD5", "A4C100000001", "B4:C1:00:00:00:01"],
    ]);
    expect(items).toEqual([
      {
        kind: "row",
        value: {
          row: 2,
          identity: { family: "genie", productId: 5001234, mac: wifiMac(1), bleMac: bleMac(1), md5: "Opaque-MD5" },
          secret: genieSecret(1),
        },
      },
    ]);
  });

  it("checks Product ID, both MACs, Mac Upper and the secret", () => {
    const items = run(checker(GENIE_HEADER), [
      ["4294967296", genieSecret(1), wifiMac(1)],
      ["1", "abc", wifiMac(2)],
      ["1", genieSecret(3), "a5c100000003"],
      ["1", genieSecret(4), wifiMac(4), undefined, "A4C1000000FF"],
      ["1", genieSecret(5), wifiMac(5), undefined, undefined, "000000000000"],
      ["1", genieSecret(6), "a4c1zz000006"],
    ]);
    expect(issuesOf(items).map((i) => [i.row, i.column, i.code, i.cause])).toEqual([
      [2, "Product ID", "import.bad_value", "triad.bad_product_id"],
      [3, "Device Secret", "import.bad_value", "triad.bad_genie_secret"],
      [4, "Mac Lower", "import.bad_value", "id.mac_multicast"],
      [5, "Mac Upper", "import.bad_value", undefined],
      [6, "Bluetooth Mac Lower", "import.bad_value", "id.mac_all_zero"],
      [7, "Mac Lower", "import.bad_value", "id.bad_mac"],
    ]);
    expect(JSON.stringify(issuesOf(items))).not.toMatch(/a4c1|a5c1|A4C1/i);
  });

  it("refuses a MAC used twice, as WiFi or Bluetooth address, and a repeated secret", () => {
    const items = run(checker(GENIE_HEADER), [
      ["1", genieSecret(1), wifiMac(1), undefined, undefined, bleMac(1)],
      ["1", genieSecret(2), wifiMac(1), undefined, undefined, bleMac(2)],
      ["1", genieSecret(3), wifiMac(3), undefined, undefined, wifiMac(1)],
      ["1", genieSecret(4), bleMac(2), undefined, undefined, bleMac(4)],
      ["1", genieSecret(1), wifiMac(5), undefined, undefined, bleMac(5)],
      // The same address as WiFi and Bluetooth MAC of one row is not a clash.
      ["1", genieSecret(6), wifiMac(6), undefined, undefined, wifiMac(6)],
    ]);
    const issues = issuesOf(items);
    expect(issues.map((i) => [i.row, i.column, i.code, i.message])).toEqual([
      [3, "Mac Lower", "import.duplicate_triad", "Mac Lower repeats the WiFi MAC of row 2"],
      [4, "Bluetooth Mac Lower", "import.duplicate_triad", "Bluetooth Mac Lower repeats the WiFi MAC of row 2"],
      [5, "Mac Lower", "import.duplicate_triad", "Mac Lower repeats the Bluetooth MAC of row 3"],
      [6, "Device Secret", "import.duplicate_secret", "Device Secret repeats the device secret of row 2"],
    ]);
    expect(items.filter((i) => i.kind === "row").map((i) => i.value.row)).toEqual([2, 7]);
  });
});
