/**
 * Reading the brand's product recommendation sheet (商品推荐表格, seed 001 §五): columns 商品 (product name) and 链接
 * (link), or `name` and `url` (see {@link PRODUCT_COLUMN_ALIASES}), in an .xlsx or .csv file, with the triad importer's
 * readers (encoding detection, xlsx streaming, header below title rows). Every row is checked and every problem is
 * reported (row, column, code): the file is accepted whole or not at all.
 *
 * A link cell must show the URL itself (a hyperlink whose text is "点击购买" is refused: its text is not a URL).
 * A number in the name column is taken as its decimal text; in the link column it is an error.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import {
  createProductTable,
  MAX_PRODUCT_ITEMS,
  type ProductScope,
  parseProductName,
  parseProductUrl,
  TriadkitError,
} from "@triadkit/protocol";
import { canonicalHeader } from "../import/columns.js";
import { HEADER_SCAN_ROWS, openSheetSource, scanForHeader } from "../import/open-sheet.js";
import type { RawRow } from "../import/raw.js";
import type { ImportIssue } from "../import/types.js";
import type { ProductRowInput } from "./product-store.js";

/** Header names (compared lower case without spaces, `_` or `-`). */
export const PRODUCT_COLUMN_ALIASES = {
  name: ["商品", "商品名称", "商品名", "名称", "name", "product", "productname", "item", "itemname"],
  url: ["链接", "商品链接", "链接地址", "url", "link", "producturl", "itemurl"],
} as const;

/** At most this many issues are kept; the rest are counted. */
const MAX_ISSUES = 1000;

export interface ProductSheetInfo {
  readonly kind: "xlsx" | "csv";
  readonly sheet?: string;
  readonly encoding?: string;
  readonly headerRow: number;
  readonly nameColumn: string;
  readonly urlColumn: string;
}

export interface ProductSheetFile {
  readonly name: string;
  readonly sha256: string;
}

export type ProductSheetResult =
  | {
      readonly ok: true;
      readonly rows: readonly ProductRowInput[];
      readonly info: ProductSheetInfo;
      readonly file: ProductSheetFile;
    }
  | {
      readonly ok: false;
      readonly issues: readonly ImportIssue[];
      readonly moreIssues: number;
      readonly rowsRead: number;
      readonly info: ProductSheetInfo;
      readonly file: ProductSheetFile;
    };

export interface ProductSheetOptions {
  /** The table's scope: the encoded size (which includes it) is checked too. */
  readonly scope: ProductScope;
  /** xlsx: the sheet to read (default: the first with a product header). */
  readonly sheet?: string;
  /** CSV: force an encoding label (default: BOM, then UTF-8, then GB18030). */
  readonly encoding?: string;
}

function locate(headers: readonly string[], aliases: readonly string[], field: string): number | undefined {
  const hits = headers.map((h, i) => (aliases.includes(canonicalHeader(h)) ? i : -1)).filter((i) => i >= 0);
  if (hits.length > 1) {
    throw new TriadkitError("import.ambiguous_column", `more than one column could be the product ${field}`, {
      field,
      columns: hits.map((i) => headers[i]),
    });
  }
  return hits[0];
}

function columnsOf(headers: readonly string[]): { name: number; url: number } | undefined {
  const name = locate(headers, PRODUCT_COLUMN_ALIASES.name, "name");
  const url = locate(headers, PRODUCT_COLUMN_ALIASES.url, "link");
  return name === undefined || url === undefined ? undefined : { name, url };
}

function stripCode(err: TriadkitError): string {
  const suffix = ` (${err.code})`;
  return err.message.endsWith(suffix) ? err.message.slice(0, -suffix.length) : err.message;
}

/** Reads and checks the whole sheet. Throws (before any row) `import.*` for an unreadable file or missing columns. */
export async function readProductSheet(path: string, options: ProductSheetOptions): Promise<ProductSheetResult> {
  const bytes = await readFile(path).catch((err: unknown) => {
    throw new TriadkitError("import.unreadable_file", `${basename(path)} cannot be opened`, {}, { cause: err });
  });
  const file = { name: basename(path), sha256: createHash("sha256").update(bytes).digest("hex") };
  const encoding = options.encoding === undefined ? {} : { encoding: options.encoding };
  const source = await openSheetSource(path, encoding, "product sheets");
  try {
    for (;;) {
      const next = await source.sheets.next();
      if (next.done) break;
      const sheet = next.value;
      if (options.sheet !== undefined && source.kind === "xlsx" && sheet.name !== options.sheet) {
        for await (const _ of sheet.rows);
        continue;
      }
      const found = await scanForHeader(sheet.rows, columnsOf);
      const header = found && { row: found.row, headers: found.headers, columns: found.found };
      if (header === undefined) {
        if (options.sheet !== undefined || source.kind === "csv") break;
        for await (const _ of sheet.rows);
        continue;
      }
      const info: ProductSheetInfo = {
        kind: source.kind,
        ...(sheet.name === undefined ? {} : { sheet: sheet.name }),
        ...(source.encoding === undefined ? {} : { encoding: source.encoding }),
        headerRow: header.row,
        nameColumn: header.headers[header.columns.name] ?? "",
        urlColumn: header.headers[header.columns.url] ?? "",
      };
      return await checkRows(sheet.rows, header.columns, info, file, options);
    }
    throw new TriadkitError(
      options.sheet !== undefined && source.kind === "xlsx" ? "import.sheet_not_found" : "import.missing_column",
      `no ${options.sheet === undefined ? "sheet has" : `sheet "${options.sheet}" with`} a header row naming 商品 (name) and 链接 (url) in its first ${HEADER_SCAN_ROWS} rows`,
    );
  } finally {
    await source.sheets.return(undefined);
    await source.close();
  }
}

async function checkRows(
  rows: AsyncGenerator<RawRow>,
  columns: { name: number; url: number },
  info: ProductSheetInfo,
  file: ProductSheetFile,
  options: ProductSheetOptions,
): Promise<ProductSheetResult> {
  const issues: ImportIssue[] = [];
  let more = 0;
  const sheet = info.sheet === undefined ? {} : { sheet: info.sheet };
  const issue = (row: number, column: string, err: TriadkitError) => {
    if (issues.length >= MAX_ISSUES) more++;
    else issues.push({ row, column, code: err.code, message: stripCode(err), ...sheet });
  };
  const good: ProductRowInput[] = [];
  let rowsRead = 0;
  for await (const raw of rows) {
    if (raw.failure !== undefined) {
      issue(raw.row, "", raw.failure);
      break;
    }
    const nameCell = raw.cells[columns.name] ?? { type: "empty" };
    const urlCell = raw.cells[columns.url] ?? { type: "empty" };
    if (nameCell.type === "empty" && urlCell.type === "empty") continue;
    rowsRead++;
    if (rowsRead === MAX_PRODUCT_ITEMS + 1) {
      issue(
        raw.row,
        "",
        new TriadkitError(
          "products.too_many",
          `more than ${MAX_PRODUCT_ITEMS} products: a table holds at most ${MAX_PRODUCT_ITEMS}`,
        ),
      );
    }
    let name: string | undefined;
    let url: string | undefined;
    try {
      const text =
        nameCell.type === "text"
          ? nameCell.text
          : nameCell.type === "number"
            ? String(nameCell.value)
            : nameCell.type === "empty"
              ? ""
              : undefined;
      if (text === undefined) {
        throw new TriadkitError("products.bad_item", `the product name is ${(nameCell as { what: string }).what}`);
      }
      name = parseProductName(text);
    } catch (err) {
      if (!(err instanceof TriadkitError)) throw err;
      issue(raw.row, info.nameColumn, err);
    }
    try {
      if (urlCell.type !== "text") {
        throw new TriadkitError(
          "products.bad_url",
          urlCell.type === "empty" ? "the link is empty" : "the link cell is not text (a number, date or formula)",
          { reason: urlCell.type === "empty" ? "empty" : "not_a_url" },
        );
      }
      url = parseProductUrl(urlCell.text).url;
    } catch (err) {
      if (!(err instanceof TriadkitError)) throw err;
      issue(raw.row, info.urlColumn, err);
    }
    if (name !== undefined && url !== undefined) good.push({ row: raw.row, name, url });
  }
  if (rowsRead === 0) {
    issue(info.headerRow, "", new TriadkitError("import.empty_file", "the sheet has a header but no products"));
  }
  if (issues.length === 0) {
    try {
      createProductTable({ version: 1, scope: options.scope, items: good });
    } catch (err) {
      if (!(err instanceof TriadkitError)) throw err;
      issue(0, "", err);
    }
  }
  if (issues.length > 0 || more > 0) return { ok: false, issues, moreIssues: more, rowsRead, info, file };
  return { ok: true, rows: good, info, file };
}
