/**
 * Recognising the header row of a platform triad sheet: which family it is and which column holds which field.
 * Header names are matched case-insensitively with spaces, '_', '-' and full-width spaces ignored, in English or
 * Chinese (the spellings of the Alibaba Cloud IoT console and the Tmall Genie triad download).
 */
import { TriadkitError } from "@triadkit/protocol";
import type { SheetFormat } from "./types.js";

export interface AlibabaColumns {
  readonly family: "alibaba";
  readonly productKey: number;
  readonly deviceName: number;
  readonly deviceSecret: number;
}

/** Column indexes of a Tmall Genie triad sheet; the last three columns are optional. */
export interface GenieColumns {
  readonly family: "genie";
  readonly productId: number;
  /** "Mac Lower": the WiFi MAC, the identity. */
  readonly mac: number;
  readonly secret: number;
  /** "Mac Upper": the same address in upper case; checked against Mac Lower when present. */
  readonly macUpper?: number;
  /** "Bluetooth Mac Lower": a second identity, unique too. */
  readonly bleMac?: number;
  /** "Md5": opaque (its formula is unpublished), kept as written. */
  readonly md5?: number;
}

export type TriadColumns = AlibabaColumns | GenieColumns;

type AlibabaField = "productKey" | "deviceName" | "deviceSecret";
type GenieField = "productId" | "mac" | "secret" | "macUpper" | "bleMac" | "md5";

/** Accepted spellings, already canonical (see {@link canonicalHeader}). */
const ALIBABA_ALIASES: Record<AlibabaField, readonly string[]> = {
  productKey: ["productkey", "pk", "产品key"],
  deviceName: ["devicename", "dn", "设备名称", "设备名"],
  deviceSecret: ["devicesecret", "ds", "设备密钥", "设备秘钥"],
};

const GENIE_ALIASES: Record<GenieField, readonly string[]> = {
  productId: ["productid", "pid", "产品id"],
  mac: ["maclower", "mac", "macaddress", "wifimac", "mac地址", "wifimac地址", "mac小写", "小写mac"],
  secret: ["devicesecret", "secret", "密钥", "秘钥", "设备密钥", "设备秘钥"],
  macUpper: ["macupper", "mac大写", "大写mac"],
  bleMac: ["bluetoothmaclower", "bluetoothmac", "blemac", "btmac", "蓝牙mac", "蓝牙mac地址", "蓝牙地址"],
  md5: ["md5"],
};

const ALIBABA_REQUIRED: readonly AlibabaField[] = ["productKey", "deviceName", "deviceSecret"];
const GENIE_REQUIRED: readonly GenieField[] = ["productId", "mac", "secret"];
const GENIE_OPTIONAL: readonly GenieField[] = ["macUpper", "bleMac", "md5"];

/** The header text shown to people for each field (used in "missing column" messages). */
const DISPLAY: Record<AlibabaField | GenieField, string> = {
  productKey: "ProductKey",
  deviceName: "DeviceName",
  deviceSecret: "DeviceSecret",
  productId: "Product ID",
  mac: "Mac Lower",
  secret: "Device Secret",
  macUpper: "Mac Upper",
  bleMac: "Bluetooth Mac Lower",
  md5: "Md5",
};

/** Lower case without whitespace (including U+3000), '_' or '-'. */
export function canonicalHeader(header: string): string {
  return header.replace(/[\s_-]/g, "").toLowerCase();
}

function locate(canon: readonly string[], headers: readonly string[], field: string, aliases: readonly string[]) {
  const hits: number[] = [];
  canon.forEach((h, i) => {
    if (aliases.includes(h)) hits.push(i);
  });
  if (hits.length > 1) {
    throw new TriadkitError("import.ambiguous_column", `more than one column could be ${field}`, {
      field,
      columns: hits.map((i) => headers[i]),
    });
  }
  return hits[0];
}

function countKnown(canon: readonly string[], aliases: Record<string, readonly string[]>): number {
  return Object.values(aliases).filter((names) => canon.some((h) => names.includes(h))).length;
}

/**
 * True when a row looks like a triad header: at least two cells name triad fields of one family. Used to find the
 * header below title rows; {@link detectTriadColumns} then says what, if anything, is missing.
 */
export function isTriadHeaderRow(cells: readonly string[]): boolean {
  const canon = cells.map(canonicalHeader);
  return countKnown(canon, ALIBABA_ALIASES) >= 2 || countKnown(canon, GENIE_ALIASES) >= 2;
}

function requiredFound(canon: readonly string[], family: SheetFormat): number {
  const aliases: Record<string, readonly string[]> = family === "genie" ? GENIE_ALIASES : ALIBABA_ALIASES;
  const required: readonly string[] = family === "genie" ? GENIE_REQUIRED : ALIBABA_REQUIRED;
  return required.filter((f) => canon.some((h) => (aliases[f] ?? []).includes(h))).length;
}

/** The family a header row belongs to, judged by the family-specific columns (the secret column is shared). */
function guessFamily(canon: readonly string[], headers: readonly string[]): SheetFormat | undefined {
  const genie = requiredFound(canon, "genie");
  const alibaba = requiredFound(canon, "alibaba");
  // "Device Secret" counts for both: only a family-specific column decides.
  const has = (aliases: readonly string[]) => canon.some((h) => aliases.includes(h));
  const genieSpecific = has(GENIE_ALIASES.productId) || has(GENIE_ALIASES.mac);
  const alibabaSpecific = has(ALIBABA_ALIASES.productKey) || has(ALIBABA_ALIASES.deviceName);
  if (genieSpecific && !alibabaSpecific) return "genie";
  if (alibabaSpecific && !genieSpecific) return "alibaba";
  if (!genieSpecific && !alibabaSpecific) return undefined;
  if (genie === alibaba) {
    throw new TriadkitError("import.ambiguous_column", "the header has columns of both an Alibaba and a Genie sheet", {
      headers: [...headers],
    });
  }
  return genie > alibaba ? "genie" : "alibaba";
}

function missingError(family: SheetFormat, missing: readonly string[]): TriadkitError {
  const name = family === "genie" ? "a Tmall Genie sheet" : "an Alibaba Cloud IoT sheet";
  return new TriadkitError("import.missing_column", `${name} is missing column(s): ${missing.join(", ")}`, {
    family,
    missing,
  });
}

function genieColumns(canon: readonly string[], headers: readonly string[]): GenieColumns {
  const at = (f: GenieField) => locate(canon, headers, DISPLAY[f], GENIE_ALIASES[f]);
  const found = Object.fromEntries([...GENIE_REQUIRED, ...GENIE_OPTIONAL].map((f) => [f, at(f)])) as Record<
    GenieField,
    number | undefined
  >;
  const missing = GENIE_REQUIRED.filter((f) => found[f] === undefined).map((f) => DISPLAY[f]);
  if (found.productId === undefined || found.mac === undefined || found.secret === undefined) {
    throw missingError("genie", missing);
  }
  const columns: GenieColumns = { family: "genie", productId: found.productId, mac: found.mac, secret: found.secret };
  const optional: { macUpper?: number; bleMac?: number; md5?: number } = {};
  for (const f of ["macUpper", "bleMac", "md5"] as const) {
    const index = found[f];
    if (index !== undefined) optional[f] = index;
  }
  return { ...columns, ...optional };
}

function alibabaColumns(canon: readonly string[], headers: readonly string[]): AlibabaColumns {
  const at = (f: AlibabaField) => locate(canon, headers, DISPLAY[f], ALIBABA_ALIASES[f]);
  const productKey = at("productKey");
  const deviceName = at("deviceName");
  const deviceSecret = at("deviceSecret");
  if (productKey === undefined || deviceName === undefined || deviceSecret === undefined) {
    const missing = [
      productKey === undefined ? DISPLAY.productKey : undefined,
      deviceName === undefined ? DISPLAY.deviceName : undefined,
      deviceSecret === undefined ? DISPLAY.deviceSecret : undefined,
    ].filter((m): m is string => m !== undefined);
    throw missingError("alibaba", missing);
  }
  return { family: "alibaba", productKey, deviceName, deviceSecret };
}

/**
 * Recognises the header row of a triad sheet: Alibaba Cloud IoT (ProductKey, DeviceName, DeviceSecret) or Tmall Genie
 * (Product ID, Device Secret, Mac Lower, and optionally Md5, Mac Upper, Bluetooth Mac Lower). Other columns are ignored.
 *
 * With `format`, that family is required: a header of the other family is `import.format_mismatch`.
 *
 * @throws TriadkitError `import.missing_column` (context `missing` lists the display names),
 *   `import.ambiguous_column` (two columns claim one field), `import.format_mismatch`.
 */
export function detectTriadColumns(headers: readonly string[], format?: SheetFormat): TriadColumns {
  const canon = headers.map(canonicalHeader);
  const guessed = guessFamily(canon, headers);
  if (format !== undefined && guessed !== undefined && guessed !== format && requiredFound(canon, format) < 3) {
    throw new TriadkitError(
      "import.format_mismatch",
      `--format ${format} was given, but the header row is that of ${guessed === "genie" ? "a Tmall Genie" : "an Alibaba Cloud IoT"} sheet`,
      { format, detected: guessed },
    );
  }
  const family = format ?? guessed;
  if (family === undefined) {
    throw new TriadkitError(
      "import.missing_column",
      "no triad columns found (ProductKey, DeviceName, DeviceSecret or Product ID, Mac Lower, Device Secret)",
      { missing: [...ALIBABA_REQUIRED.map((f) => DISPLAY[f])] },
    );
  }
  return family === "genie" ? genieColumns(canon, headers) : alibabaColumns(canon, headers);
}
