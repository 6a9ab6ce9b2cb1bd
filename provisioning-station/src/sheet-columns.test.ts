import { expectTriadkitError } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { detectTriadColumns } from "./sheet-columns.js";

describe("detectTriadColumns", () => {
  it("recognises an Alibaba Cloud IoT export in any column order and spelling", () => {
    expect(detectTriadColumns(["DeviceSecret", "Product Key", "device_name", "Nickname"])).toEqual({
      family: "alibaba",
      productKey: 1,
      deviceName: 2,
      deviceSecret: 0,
    });
    expect(detectTriadColumns(["产品Key", "设备名称", "设备密钥"]).family).toBe("alibaba");
  });

  it("recognises the Tmall Genie triad file and uses Mac Lower", () => {
    expect(
      detectTriadColumns(["Product ID", "Device Secret", "Mac Lower", "Md5", "Mac Upper", "Bluetooth Mac Lower"]),
    ).toEqual({ family: "genie", productId: 0, secret: 1, mac: 2 });
  });

  it("names the missing columns", () => {
    const err = expectTriadkitError(() => detectTriadColumns(["ProductKey", "DeviceName"]), "import.missing_column");
    expect(err.context).toEqual({ missing: ["DeviceSecret"] });
    expectTriadkitError(() => detectTriadColumns(["Product ID", "Mac Lower"]), "import.missing_column");
  });

  it("refuses a sheet where two columns claim the same field", () => {
    expectTriadkitError(
      () => detectTriadColumns(["ProductKey", "PK", "DeviceName", "DeviceSecret"]),
      "import.ambiguous_column",
    );
  });
});
