import { expectTriadkitError } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { detectTriadColumns, isTriadHeaderRow } from "../columns.js";

describe("detectTriadColumns", () => {
  it("recognises an Alibaba Cloud IoT export in any column order and spelling", () => {
    expect(detectTriadColumns(["DeviceSecret", "Product Key", "device_name", "Nickname"])).toEqual({
      family: "alibaba",
      productKey: 1,
      deviceName: 2,
      deviceSecret: 0,
    });
    expect(detectTriadColumns(["产品Key", "设备名称", "设备密钥"]).family).toBe("alibaba");
    expect(detectTriadColumns(["IotId", "PRODUCT_KEY", "设备名", "设备秘钥"])).toEqual({
      family: "alibaba",
      productKey: 1,
      deviceName: 2,
      deviceSecret: 3,
    });
  });

  it("recognises the Tmall Genie triad file with its optional columns", () => {
    expect(
      detectTriadColumns(["Product ID", "Device Secret", "Mac Lower", "Md5", "Mac Upper", "Bluetooth Mac Lower"]),
    ).toEqual({ family: "genie", productId: 0, secret: 1, mac: 2, md5: 3, macUpper: 4, bleMac: 5 });
    expect(detectTriadColumns(["产品ID", "设备密钥", "MAC地址", "蓝牙MAC"])).toEqual({
      family: "genie",
      productId: 0,
      secret: 1,
      mac: 2,
      bleMac: 3,
    });
    const plain = detectTriadColumns(["productid", "mac", "secret"]);
    expect(plain).toEqual({ family: "genie", productId: 0, mac: 1, secret: 2 });
  });

  it("names the missing columns", () => {
    const err = expectTriadkitError(() => detectTriadColumns(["ProductKey", "DeviceName"]), "import.missing_column");
    expect(err.context).toEqual({ family: "alibaba", missing: ["DeviceSecret"] });
    const genie = expectTriadkitError(() => detectTriadColumns(["Product ID", "Mac Lower"]), "import.missing_column");
    expect(genie.context?.["missing"]).toEqual(["Device Secret"]);
    expectTriadkitError(() => detectTriadColumns(["Name", "Remark"]), "import.missing_column");
  });

  it("refuses a sheet where two columns claim the same field", () => {
    expectTriadkitError(
      () => detectTriadColumns(["ProductKey", "PK", "DeviceName", "DeviceSecret"]),
      "import.ambiguous_column",
    );
    expectTriadkitError(
      () => detectTriadColumns(["Product ID", "Mac Lower", "MAC", "Device Secret"]),
      "import.ambiguous_column",
    );
  });

  it("checks --format against the header", () => {
    const genie = ["Product ID", "Device Secret", "Mac Lower"];
    expect(detectTriadColumns(genie, "genie").family).toBe("genie");
    const err = expectTriadkitError(() => detectTriadColumns(genie, "alibaba"), "import.format_mismatch");
    expect(err.context).toEqual({ format: "alibaba", detected: "genie" });
    expectTriadkitError(
      () => detectTriadColumns(["ProductKey", "DeviceName", "DeviceSecret"], "genie"),
      "import.format_mismatch",
    );
  });
});

describe("isTriadHeaderRow", () => {
  it("needs two triad fields of one family in the row", () => {
    expect(isTriadHeaderRow(["ProductKey", "DeviceName"])).toBe(true);
    expect(isTriadHeaderRow(["", "Mac Lower", "Device Secret"])).toBe(true);
    expect(isTriadHeaderRow(["设备三元组导出", "", ""])).toBe(false);
    expect(isTriadHeaderRow(["ProductKey", "a1B2c3D4e5F"])).toBe(false);
    expect(isTriadHeaderRow([])).toBe(false);
  });
});
