import { basename } from "node:path";
import { TriadkitError } from "@triadkit/protocol";
import { type Cell, type CellKind, readCell } from "../import/cells.js";
import { canonicalHeader } from "../import/columns.js";
import { HEADER_SCAN_ROWS, openSheetSource, scanForHeader } from "../import/open-sheet.js";
import type { ImportIssue } from "../import/types.js";
import { checkDeviceCode, checkShelfName, parseStoreId, type ShelfImportRow } from "../ledger/shelf.js";

export type ShelfField = "brand" | "storeId" | "deviceCode" | "deviceName" | "storeName";

/** Accepted header spellings, canonical (lower case; spaces, '_' and '-' removed). */
const ALIASES: Record<ShelfField, readonly string[]> = {
  brand: ["brand", "brandname", "品牌", "品牌名", "品牌名称"],
  storeId: ["storeid", "storecode", "门店id", "门店码", "门店编码", "门店编号"],
  deviceCode: [
    "devicecode",
    "deviceid",
    "initialdevicecode",
    "设备id",
    "设备码",
    "设备code",
    "设备初始code",
    "设备编码",
  ],
  deviceName: ["devicename", "设备名称", "设备名"],
  storeName: ["storename", "门店名称", "门店名"],
};

const DISPLAY: Record<ShelfField, string> = {
  brand: "品牌 (brand)",
  storeId: "门店id (store id)",
  deviceCode: "设备id (device code)",
  deviceName: "设备名称 (device name)",
  storeName: "门店名称 (store name)",
};

export type ShelfColumns = Readonly<Partial<Record<ShelfField, number>>>;

export interface ShelfSheetOptions {
  /** The brand of every row when the sheet has no brand column (or a blank cell); a different brand is an issue. */
  readonly brand?: string;
  /** xlsx: the sheet to read (default: the first with a shelf header). */
  readonly sheet?: string;
  /** CSV: force utf-8, gb18030 or gbk (default: detect). */
  readonly encoding?: string;
}

export interface ShelfSheet {
  readonly kind: "xlsx" | "csv";
  readonly sheet?: string;
  readonly encoding?: string;
  readonly headerRow: number;
  readonly headers: readonly string[];
  readonly columns: ShelfColumns;
  /** Valid rows, in file order. */
  readonly rows: readonly ShelfImportRow[];
  readonly issues: readonly ImportIssue[];
  /** Data rows read (valid or not; blank rows not counted). */
  readonly rowsRead: number;
}

/** Which column is which field; undefined when fewer than two shelf fields are named (not a header row). */
export function detectShelfColumns(headers: readonly string[]): ShelfColumns | undefined {
  const canon = headers.map(canonicalHeader);
  const out: Partial<Record<ShelfField, number>> = {};
  for (const field of Object.keys(ALIASES) as ShelfField[]) {
    const hits = canon.flatMap((h, i) => ((ALIASES[field] as readonly string[]).includes(h) ? [i] : []));
    if (hits.length > 1) {
      throw new TriadkitError("import.ambiguous_column", `more than one column could be ${DISPLAY[field]}`, {
        field,
        columns: hits.map((i) => headers[i]),
      });
    }
    if (hits[0] !== undefined) out[field] = hits[0];
  }
  return Object.keys(out).length >= 2 ? out : undefined;
}

class RowReader {
  readonly rows: ShelfImportRow[] = [];
  readonly issues: ImportIssue[] = [];
  rowsRead = 0;

  constructor(
    private readonly columns: ShelfColumns,
    private readonly headers: readonly string[],
    private readonly fromCsv: boolean,
    private readonly brand: string | undefined,
    private readonly sheet: string | undefined,
  ) {}

  private issue(
    row: number,
    field: ShelfField | undefined,
    code: ImportIssue["code"],
    message: string,
    cause?: string,
  ) {
    const column = field === undefined ? "" : (this.headers[this.columns[field] ?? -1] ?? "");
    this.issues.push({
      row,
      column,
      code,
      message,
      ...(cause === undefined ? {} : { cause }),
      ...(this.sheet === undefined ? {} : { sheet: this.sheet }),
    });
  }

  /** The cell's exact text, or undefined (an issue noted) when it is damaged; "" when empty. */
  private text(row: number, cells: readonly Cell[], field: ShelfField, kind: CellKind): string | undefined {
    const index = this.columns[field];
    const cell = index === undefined ? undefined : cells[index];
    const reading = readCell(cell ?? { type: "empty" }, kind, this.fromCsv);
    if (reading.kind === "empty") return "";
    if (reading.kind === "damaged") {
      this.issue(row, field, "import.damaged_cell", `${DISPLAY[field]} ${reading.reason}`);
      return undefined;
    }
    return reading.text;
  }

  private valid<T>(row: number, field: ShelfField, check: () => T): T | undefined {
    try {
      return check();
    } catch (err) {
      if (!(err instanceof TriadkitError)) throw err;
      this.issue(row, field, "import.bad_value", err.message.replace(/ \([a-z]+\.[a-z_]+\)$/, ""), err.code);
      return undefined;
    }
  }

  read(row: number, cells: readonly Cell[]): void {
    const used = Object.values(this.columns).map((i) => cells[i]);
    if (used.every((c) => c === undefined || c.type === "empty")) return;
    this.rowsRead++;
    const before = this.issues.length;
    const brandText = this.text(row, cells, "brand", "integer");
    const storeText = this.text(row, cells, "storeId", "integer");
    const code = this.text(row, cells, "deviceCode", "opaque");
    const deviceName = this.text(row, cells, "deviceName", "integer");
    const storeName = this.text(row, cells, "storeName", "integer");
    let brand = brandText === "" ? this.brand : brandText;
    if (brandText === "" && this.brand === undefined) {
      this.issue(row, "brand", "import.missing_value", "no brand: the cell is empty and no --brand was given");
    } else if (brandText !== undefined && brandText !== "" && this.brand !== undefined && brandText !== this.brand) {
      this.issue(row, "brand", "import.bad_value", `brand ${brandText} is not --brand ${this.brand}`);
      brand = undefined;
    }
    if (storeText === "") this.issue(row, "storeId", "import.missing_value", `${DISPLAY.storeId} is empty`);
    if (code === "") this.issue(row, "deviceCode", "import.missing_value", `${DISPLAY.deviceCode} is empty`);
    const storeId = storeText ? this.valid(row, "storeId", () => parseStoreId(storeText)) : undefined;
    const deviceCode = code ? this.valid(row, "deviceCode", () => checkDeviceCode(code)) : undefined;
    const names = {
      ...(deviceName
        ? { deviceName: this.valid(row, "deviceName", () => checkShelfName(deviceName, "device name")) }
        : {}),
      ...(storeName ? { storeName: this.valid(row, "storeName", () => checkShelfName(storeName, "store name")) } : {}),
    };
    const checkedBrand =
      brand === undefined ? undefined : this.valid(row, "brand", () => checkShelfName(brand, "brand"));
    if (
      this.issues.length > before ||
      checkedBrand === undefined ||
      storeId === undefined ||
      deviceCode === undefined
    ) {
      return;
    }
    this.rows.push({
      row,
      brand: checkedBrand,
      storeId,
      deviceCode,
      ...(names.deviceName === undefined ? {} : { deviceName: names.deviceName }),
      ...(names.storeName === undefined ? {} : { storeName: names.storeName }),
    });
  }
}

function requireColumns(columns: ShelfColumns, brand: string | undefined): void {
  const missing: ShelfField[] = ["storeId", "deviceCode"].filter(
    (f) => columns[f as ShelfField] === undefined,
  ) as ShelfField[];
  if (columns.brand === undefined && brand === undefined) missing.unshift("brand");
  if (missing.length > 0) {
    throw new TriadkitError(
      "import.missing_column",
      `the shelf sheet is missing column(s): ${missing.map((f) => DISPLAY[f]).join(", ")}` +
        (missing.includes("brand") ? " (or give --brand)" : ""),
      { missing: missing.map((f) => DISPLAY[f]) },
    );
  }
}

/**
 * Reads a shelf sheet whole. Throws (TriadkitError) for the file: unreadable, encoding, no header in the first
 * {@link HEADER_SCAN_ROWS} rows, a missing or ambiguous column, `import.empty_file`. Row problems come back as issues.
 */
export async function readShelfSheet(path: string, options: ShelfSheetOptions = {}): Promise<ShelfSheet> {
  const brand = options.brand === undefined ? undefined : checkShelfName(options.brand, "--brand");
  const source = await openSheetSource(path, options, "shelf sheets");
  try {
    const names: string[] = [];
    for (;;) {
      const next = await source.sheets.next();
      if (next.done) break;
      const sheet = next.value;
      if (sheet.name !== undefined) names.push(sheet.name);
      const wanted = options.sheet === undefined || source.kind === "csv" || sheet.name === options.sheet;
      const header = wanted ? await scanForHeader(sheet.rows, detectShelfColumns) : undefined;
      if (header === undefined) {
        for await (const r of sheet.rows) if (r.failure !== undefined) throw r.failure;
        continue;
      }
      requireColumns(header.found, brand);
      const reader = new RowReader(header.found, header.headers, source.kind === "csv", brand, sheet.name);
      for await (const raw of sheet.rows) {
        if (raw.failure !== undefined) throw raw.failure;
        reader.read(raw.row, raw.cells);
      }
      if (reader.rowsRead === 0) {
        throw new TriadkitError("import.empty_file", `${basename(path)} has a shelf header but no data rows`, {
          file: basename(path),
        });
      }
      return {
        kind: source.kind,
        ...(sheet.name === undefined ? {} : { sheet: sheet.name }),
        ...(source.encoding === undefined ? {} : { encoding: source.encoding }),
        headerRow: header.row,
        headers: header.headers,
        columns: header.found,
        rows: reader.rows,
        issues: reader.issues,
        rowsRead: reader.rowsRead,
      };
    }
    if (options.sheet !== undefined && !names.includes(options.sheet) && source.kind === "xlsx") {
      throw new TriadkitError("import.sheet_not_found", `the workbook has no sheet named "${options.sheet}"`, {
        sheet: options.sheet,
        sheets: names,
      });
    }
    throw new TriadkitError(
      "import.missing_column",
      `no shelf header row (门店id, 设备id, 品牌, 设备名称, …) in the first ${HEADER_SCAN_ROWS} rows`,
      { sheets: names },
    );
  } finally {
    await source.sheets.return(undefined);
    await source.close();
  }
}

/** The sheet column a field is read from (header text as written), for ledger issues. */
export function shelfColumnOf(sheet: ShelfSheet, field: ShelfField): string {
  const index = sheet.columns[field];
  return index === undefined ? "" : (sheet.headers[index] ?? "");
}
