/**
 * The product recommendation table (商品推荐表, seed 001 §五): what a smart shelf shows, as the brand filled it in
 * (商品 = product name, 链接 = link), assigned to a brand or one store, versioned, with a content hash.
 *
 * Wire form (JSON, the params of the `UpdateProductTable` service and what a device keeps in flash):
 *
 * ```json
 * {"format":1,"version":7,"scope":{"type":"store","id":"184454101"},
 *  "items":[{"name":"保温杯 500ml","url":"https://detail.tmall.com/item.htm?id=540212526343"}],
 *  "hash":"<64 hex>"}
 * ```
 *
 * - `version`: a positive integer; a newer table has a higher one. Devices never go back to a lower version.
 * - `scope`: `{type:"brand", id:<brand name>}` or `{type:"store", id:<store id, decimal digits as a string>}`
 *   (store ids are int64 on the TOP side: a string keeps every digit in any JSON reader).
 * - `items`: 1–{@link MAX_PRODUCT_ITEMS} `{name, url}`, names trimmed and NFC-normalised, urls normalised by
 *   {@link parseProductUrl}.
 * - `hash`: SHA-256 (lower-case hex) of the UTF-8 bytes of `JSON.stringify({format, scope:{type,id},
 *   items:[{name,url}…]})` with exactly these keys in this order: the content, without the version.
 * - The whole JSON is at most {@link MAX_PRODUCT_TABLE_BYTES} bytes (an Alink message must stay well under the
 *   platform's 256 KB, and a device keeps it in flash).
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { fail, TriadkitError } from "../errors.js";
import { fromUtf8, toHex, utf8 } from "../util/bytes.js";
import { type ProductLinkKind, parseProductUrl } from "./url.js";

export const PRODUCT_TABLE_FORMAT = 1;
export const MAX_PRODUCT_ITEMS = 200;
export const MAX_PRODUCT_NAME_CHARS = 100;
export const MAX_PRODUCT_TABLE_BYTES = 64 * 1024;
export const MAX_BRAND_CHARS = 64;
/** The highest table version (a JSON number stays exact up to 2^53 − 1). */
export const MAX_PRODUCT_TABLE_VERSION = Number.MAX_SAFE_INTEGER;

/** Who a table is for: a brand's devices, or one store's (a store's table takes precedence over its brand's). */
export interface ProductScope {
  readonly type: "brand" | "store";
  /** Brand name (1–64 characters), or a store id (decimal, no leading zero, at most 19 digits). */
  readonly id: string;
}

/** One validated row: name and normalised link, with what the link was recognised as. */
export interface ProductItem {
  readonly name: string;
  readonly url: string;
  readonly kind: ProductLinkKind;
  readonly itemId?: string;
  readonly skuId?: string;
}

export interface ProductTable {
  readonly version: number;
  readonly scope: ProductScope;
  readonly items: readonly ProductItem[];
  /** SHA-256 hex of the content (see the module comment). */
  readonly hash: string;
}

/** What goes on the wire and into flash. */
export interface ProductTableWire {
  readonly format: number;
  readonly version: number;
  readonly scope: { readonly type: "brand" | "store"; readonly id: string };
  readonly items: readonly { readonly name: string; readonly url: string }[];
  readonly hash: string;
}

/** C0/C1 controls, line and paragraph separators, bidi embeddings/overrides/isolates, BOM. */
const NAME_FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const STORE_ID = /^[1-9]\d{0,18}$/;
const HASH = /^[0-9a-f]{64}$/;

function badTable(message: string, context?: Record<string, unknown>): never {
  return fail("products.bad_table", message, context);
}

/** Trims and NFC-normalises a product name (商品); throws `products.bad_item` (context `field: "name"`). */
export function parseProductName(input: unknown): string {
  if (typeof input !== "string") fail("products.bad_item", "the product name must be text", { field: "name" });
  if (LONE_SURROGATE.test(input)) {
    fail("products.bad_item", "the product name is not well-formed Unicode", { field: "name" });
  }
  const name = input.trim().normalize("NFC");
  if (name === "") fail("products.bad_item", "the product name is empty", { field: "name" });
  if (NAME_FORBIDDEN.test(name)) {
    fail("products.bad_item", "the product name has line breaks or control characters", { field: "name" });
  }
  const chars = [...name].length;
  if (chars > MAX_PRODUCT_NAME_CHARS) {
    fail("products.bad_item", `the product name has ${chars} characters, at most ${MAX_PRODUCT_NAME_CHARS}`, {
      field: "name",
      limit: MAX_PRODUCT_NAME_CHARS,
    });
  }
  return name;
}

/**
 * Validates one row: `products.bad_item` for the name (or a row that is not `{name, url}`), `products.bad_url` for
 * the link. Both carry context `field`.
 */
export function parseProductItem(input: unknown): ProductItem {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    fail("products.bad_item", "an item must be an object with name and url");
  }
  const { name, url } = input as { name?: unknown; url?: unknown };
  const cleanName = parseProductName(name);
  const link = parseProductUrl(url);
  return { name: cleanName, ...link };
}

/** Validates a scope; throws `products.bad_table` (context `field: "scope"`). */
export function parseProductScope(input: unknown): ProductScope {
  const s = input as { type?: unknown; id?: unknown } | null;
  if (typeof s !== "object" || s === null || (s.type !== "brand" && s.type !== "store") || typeof s.id !== "string") {
    return badTable("the scope must be {type: brand|store, id}", { field: "scope" });
  }
  if (s.type === "store") {
    if (!STORE_ID.test(s.id)) badTable("a store id is a whole number ≥ 1 of at most 19 digits", { field: "scope" });
    return { type: "store", id: s.id };
  }
  const brand = s.id.trim().normalize("NFC");
  if (brand === "" || [...brand].length > MAX_BRAND_CHARS || NAME_FORBIDDEN.test(brand) || LONE_SURROGATE.test(brand)) {
    badTable(`a brand is 1–${MAX_BRAND_CHARS} characters without control characters`, { field: "scope" });
  }
  return { type: "brand", id: brand };
}

function checkVersion(version: unknown): number {
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1) {
    return badTable("the table version must be a whole number ≥ 1", { field: "version" });
  }
  return version;
}

/** The exact text the content hash covers. */
export function productTableHashInput(scope: ProductScope, items: readonly { name: string; url: string }[]): string {
  return JSON.stringify({
    format: PRODUCT_TABLE_FORMAT,
    scope: { type: scope.type, id: scope.id },
    items: items.map((i) => ({ name: i.name, url: i.url })),
  });
}

/** SHA-256 hex of {@link productTableHashInput}. */
export function productTableHash(scope: ProductScope, items: readonly { name: string; url: string }[]): string {
  return toHex(sha256(utf8(productTableHashInput(scope, items))));
}

function checkCount(count: number): void {
  if (count > MAX_PRODUCT_ITEMS) {
    fail("products.too_many", `the table has ${count} items, at most ${MAX_PRODUCT_ITEMS}`, {
      limit: MAX_PRODUCT_ITEMS,
      items: count,
    });
  }
  if (count === 0) badTable("the table has no items", { field: "items" });
}

/** Runs `parse` on each item; an item's error is re-thrown with its 0-based `index` in the context. */
function parseItems(items: readonly unknown[]): ProductItem[] {
  return items.map((item, index) => {
    try {
      return parseProductItem(item);
    } catch (err) {
      if (err instanceof TriadkitError) {
        const suffix = ` (${err.code})`;
        const text = err.message.endsWith(suffix) ? err.message.slice(0, -suffix.length) : err.message;
        throw new TriadkitError(err.code, `item ${index + 1}: ${text}`, { ...err.context, index });
      }
      throw err;
    }
  });
}

/**
 * Builds a table from rows (validating every one; the first bad row throws with its `index`), computes the hash and
 * checks the encoded size. Throws `products.bad_item`, `products.bad_url`, `products.too_many`, `products.bad_table`.
 */
export function createProductTable(input: {
  readonly version: number;
  readonly scope: ProductScope;
  readonly items: readonly { readonly name: string; readonly url: string }[];
}): ProductTable {
  const version = checkVersion(input.version);
  const scope = parseProductScope(input.scope);
  if (!Array.isArray(input.items)) badTable("items must be a list", { field: "items" });
  checkCount(input.items.length);
  const items = parseItems(input.items);
  const table: ProductTable = { version, scope, items, hash: productTableHash(scope, items) };
  encodeProductTable(table); // size check
  return table;
}

/** The plain JSON object sent to devices. */
export function productTableToWire(table: ProductTable): ProductTableWire {
  return {
    format: PRODUCT_TABLE_FORMAT,
    version: table.version,
    scope: { type: table.scope.type, id: table.scope.id },
    items: table.items.map((i) => ({ name: i.name, url: i.url })),
    hash: table.hash,
  };
}

/** UTF-8 JSON of {@link productTableToWire}; `products.too_many` beyond {@link MAX_PRODUCT_TABLE_BYTES}. */
export function encodeProductTable(table: ProductTable): Uint8Array {
  const bytes = utf8(JSON.stringify(productTableToWire(table)));
  if (bytes.length > MAX_PRODUCT_TABLE_BYTES) {
    fail("products.too_many", `the table encodes to ${bytes.length} bytes, at most ${MAX_PRODUCT_TABLE_BYTES}`, {
      limit: MAX_PRODUCT_TABLE_BYTES,
      bytes: bytes.length,
    });
  }
  return bytes;
}

/**
 * Validates a table as a device receives it (the service params, an object): format, version, scope, every item
 * (re-normalised), the hash over the normalised content, and the size. Throws the `products.*` codes; an item's
 * error carries its `index`.
 */
export function parseProductTable(input: unknown): ProductTable {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return badTable("a product table must be a JSON object");
  }
  const w = input as Partial<Record<keyof ProductTableWire, unknown>>;
  if (w.format !== PRODUCT_TABLE_FORMAT) {
    badTable(`unknown product table format (this code reads format ${PRODUCT_TABLE_FORMAT})`, { field: "format" });
  }
  const version = checkVersion(w.version);
  const scope = parseProductScope(w.scope);
  if (!Array.isArray(w.items)) badTable("items must be a list", { field: "items" });
  checkCount(w.items.length);
  if (typeof w.hash !== "string" || !HASH.test(w.hash)) badTable("hash must be 64 hex digits", { field: "hash" });
  const items = parseItems(w.items);
  const hash = productTableHash(scope, items);
  if (hash !== w.hash) badTable("the table's content does not match its hash", { field: "hash", version });
  const table: ProductTable = { version, scope, items, hash };
  encodeProductTable(table);
  return table;
}

/** Decodes UTF-8 JSON bytes (e.g. from flash) and validates them like {@link parseProductTable}. */
export function decodeProductTable(bytes: Uint8Array): ProductTable {
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(bytes));
  } catch {
    return badTable("the product table is not UTF-8 JSON", { length: bytes.length });
  }
  return parseProductTable(value);
}
