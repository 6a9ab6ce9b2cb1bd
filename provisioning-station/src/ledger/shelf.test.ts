import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expectTriadkitError } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { checkDeviceCode, checkNewShelfDevice, isvLine, parseStoreId } from "./shelf.js";

/** shared/seeds beside the repository (on the developers' machines), when it is there. */
const SEEDS = fileURLToPath(new URL("../../../../shared/seeds/", import.meta.url));
/** The seed's format line, vendored verbatim so the test runs from any clone. */
const VENDORED = fileURLToPath(new URL("./__fixtures__/seed-001-isv-format.txt", import.meta.url));

const formatLine = (text: string) => /^xx品牌.*$/m.exec(text)?.[0];

function seedFormatLine(): string | undefined {
  try {
    const name = readdirSync(SEEDS).find((f) => f.startsWith("001_"));
    return name === undefined ? undefined : formatLine(readFileSync(`${SEEDS}${name}`, "utf8"));
  } catch {
    return undefined;
  }
}

describe("the ISV line", () => {
  it("is byte-exact: full-width comma and colon after 门店id, an ASCII colon after 设备id", () => {
    const line = isvLine({ brand: "Acme", storeId: 184454101, deviceCode: "8F6A77C73E" });
    expect(Buffer.from(line, "utf8").toString("hex")).toBe(
      "41636d65" + // Acme
        "efbc8c" + // ， U+FF0C
        "e997a8e5ba97" + // 门店
        "6964" + // id
        "efbc9a" + // ： U+FF1A
        "313834343534313031" + // 184454101
        "efbc8c" + // ， U+FF0C
        "e8aebee5a487" + // 设备
        "6964" + // id
        "3a" + // : (ASCII)
        "38463641373743373345", // 8F6A77C73E
    );
  });

  it("follows the seed's own line (`xx品牌，门店id：xxx，设备id:xxx`)", () => {
    const line = formatLine(readFileSync(VENDORED, "utf8"));
    expect(line).toBe("xx品牌，门店id：xxx，设备id:xxx");
    // The vendored copy is the seed's line, byte for byte, wherever the seed is at hand.
    const seed = seedFormatLine();
    if (seed !== undefined) expect(Buffer.from(seed)).toEqual(Buffer.from(line as string));
    const filled = (line as string).replace("xx品牌", "B").replace("xxx", "42").replace("xxx", "C-1");
    expect(Buffer.from(isvLine({ brand: "B", storeId: 42, deviceCode: "C-1" }))).toEqual(Buffer.from(filled));
  });
});

describe("shelf values", () => {
  it("device codes are 1–64 printable ASCII without spaces, kept as written", () => {
    expect(checkDeviceCode("8F6A77C73E")).toBe("8F6A77C73E");
    expect(checkDeviceCode("a-b_c.d/e")).toBe("a-b_c.d/e");
    for (const bad of ["", "with space", "x".repeat(65), "码", "tab\t"]) {
      expectTriadkitError(() => checkDeviceCode(bad), "shelf.bad_value");
    }
  });

  it("store ids are whole numbers from 1; names are trimmed", () => {
    expect(parseStoreId(" 184454101 ")).toBe(184454101);
    for (const bad of ["0", "-1", "1.5", "012", "1e5", "9007199254740993", ""]) {
      expectTriadkitError(() => parseStoreId(bad), "shelf.bad_value");
    }
    expect(checkNewShelfDevice({ brand: " Acme ", storeId: 1, deviceCode: "C", deviceName: " " })).toEqual({
      brand: "Acme",
      storeId: 1,
      deviceCode: "C",
    });
  });
});
