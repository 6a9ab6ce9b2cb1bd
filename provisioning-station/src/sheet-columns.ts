import { TriadkitError } from "@triadkit/protocol";

/** The two triad families a platform sheet can carry. */
export type TriadFamily = "alibaba" | "genie";

export interface AlibabaColumns {
  readonly family: "alibaba";
  readonly productKey: number;
  readonly deviceName: number;
  readonly deviceSecret: number;
}

export interface GenieColumns {
  readonly family: "genie";
  readonly productId: number;
  readonly mac: number;
  readonly secret: number;
}

export type TriadColumns = AlibabaColumns | GenieColumns;

/** Header spellings seen in platform exports (case, spaces, '_' and '-' are ignored). */
const SYNONYMS: Record<string, readonly string[]> = {
  productKey: ["productkey", "pk", "产品key", "产品密钥"],
  deviceName: ["devicename", "dn", "设备名称", "设备名"],
  deviceSecret: ["devicesecret", "ds", "设备密钥"],
  productId: ["productid", "pid", "产品id"],
  // The Tmall Genie triad file has "Mac Lower" and "Mac Upper" (the same address); lowercase is canonical.
  mac: ["maclower", "mac", "macaddress", "wifimac"],
  secret: ["devicesecret", "secret", "密钥"],
};

function canon(header: string): string {
  return header.replace(/[\s_\-\u3000]/g, "").toLowerCase();
}

function find(headers: readonly string[], field: string): number | undefined {
  const names = SYNONYMS[field] ?? [];
  const hits = headers.map((h, i) => (names.includes(canon(h)) ? i : -1)).filter((i) => i >= 0);
  if (hits.length > 1) {
    throw new TriadkitError("import.ambiguous_column", `more than one column could be ${field}`, {
      field,
      columns: hits.map((i) => headers[i]),
    });
  }
  return hits[0];
}

/**
 * Recognises the header row of a triad sheet: Alibaba Cloud IoT (ProductKey, DeviceName, DeviceSecret) or
 * Tmall Genie (Product ID, Device Secret, Mac Lower, …). Throws `import.missing_column` naming what is missing.
 */
export function detectTriadColumns(headers: readonly string[]): TriadColumns {
  const productId = find(headers, "productId");
  if (productId !== undefined) {
    const mac = find(headers, "mac");
    const secret = find(headers, "secret");
    if (mac === undefined || secret === undefined) {
      throw new TriadkitError(
        "import.missing_column",
        "a Tmall Genie sheet needs Product ID, Mac Lower and Device Secret columns",
        {
          missing: [
            mac === undefined ? "Mac Lower" : undefined,
            secret === undefined ? "Device Secret" : undefined,
          ].filter(Boolean),
        },
      );
    }
    return { family: "genie", productId, mac, secret };
  }
  const productKey = find(headers, "productKey");
  const deviceName = find(headers, "deviceName");
  const deviceSecret = find(headers, "deviceSecret");
  const missing = [
    productKey === undefined ? "ProductKey" : undefined,
    deviceName === undefined ? "DeviceName" : undefined,
    deviceSecret === undefined ? "DeviceSecret" : undefined,
  ].filter((m): m is string => m !== undefined);
  if (productKey === undefined || deviceName === undefined || deviceSecret === undefined) {
    throw new TriadkitError("import.missing_column", `triad sheet is missing column(s): ${missing.join(", ")}`, {
      missing,
    });
  }
  return { family: "alibaba", productKey, deviceName, deviceSecret };
}
