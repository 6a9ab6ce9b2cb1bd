/**
 * Where a device keeps its accepted product table: in its FlashStore, as the table's wire JSON split into chunks no
 * larger than the store's `maxValueBytes` (a simulated board has 4 KiB slots; a table may be 64 KiB).
 *
 * Keys: a head record `products` (typed, version 1: `{version, hash, bank, chunks, bytes}`) and chunks
 * `products.a.0 … products.a.<n-1>` or `products.b.…`. A new table is written into the bank the head does not point
 * at, then the head is rewritten (one atomic FlashStore write: the commit point), then the other bank's chunks and any
 * leftovers are deleted. A power cut before the head write leaves the old table; after it, the new one; leftover
 * chunks are harmless and removed by the next save. Loading checks the chunks against the head and the table against
 * its hash (protocol's parser), so a damaged table is never handed to the application.
 */
import { decodeProductTable, encodeProductTable, type ProductTable, TriadkitError } from "@triadkit/protocol";
import type { FlashStore } from "../storage/flash-store.js";
import { defineRecord } from "../storage/typed-record.js";

/** The head record's key; chunk keys are `products.<bank>.<index>`. */
export const PRODUCT_TABLE_KEY = "products";
/** A table never takes more than this many chunks per bank. */
export const MAX_PRODUCT_TABLE_CHUNKS = 64;

type Bank = "a" | "b";

export interface ProductTableHead {
  readonly version: number;
  readonly hash: string;
  readonly bank: Bank;
  readonly chunks: number;
  readonly bytes: number;
}

export const productTableHeadRecord = defineRecord<ProductTableHead>({
  key: PRODUCT_TABLE_KEY,
  version: 1,
  schema: (value) => {
    const v = value as Partial<ProductTableHead> | null;
    if (
      typeof v?.version !== "number" ||
      !Number.isSafeInteger(v.version) ||
      v.version < 1 ||
      typeof v.hash !== "string" ||
      !/^[0-9a-f]{64}$/.test(v.hash) ||
      (v.bank !== "a" && v.bank !== "b") ||
      typeof v.chunks !== "number" ||
      !Number.isInteger(v.chunks) ||
      v.chunks < 1 ||
      v.chunks > MAX_PRODUCT_TABLE_CHUNKS ||
      typeof v.bytes !== "number" ||
      !Number.isInteger(v.bytes) ||
      v.bytes < 1
    ) {
      throw new Error("not a product table head");
    }
    return { version: v.version, hash: v.hash, bank: v.bank, chunks: v.chunks, bytes: v.bytes };
  },
});

const chunkKey = (bank: Bank, index: number) => `${PRODUCT_TABLE_KEY}.${bank}.${index}`;
const CHUNK_KEY = /^products\.([ab])\.(\d+)$/;

/** What {@link loadProductTable} found. */
export type StoredProductTable =
  | { readonly kind: "none" }
  | { readonly kind: "table"; readonly table: ProductTable }
  /** The head is intact but the table behind it is not: its version still bars downgrades. */
  | { readonly kind: "damaged"; readonly head: ProductTableHead; readonly error: TriadkitError }
  /** The head itself is unreadable. */
  | { readonly kind: "unreadable"; readonly error: TriadkitError };

function asCoded(err: unknown): TriadkitError {
  return err instanceof TriadkitError
    ? err
    : new TriadkitError("store.corrupt_record", "the stored product table cannot be read", undefined, { cause: err });
}

export async function loadProductTable(store: FlashStore): Promise<StoredProductTable> {
  let head: ProductTableHead | undefined;
  try {
    head = await productTableHeadRecord.load(store);
  } catch (err) {
    return { kind: "unreadable", error: asCoded(err) };
  }
  if (head === undefined) return { kind: "none" };
  try {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < head.chunks; i++) {
      const chunk = await store.read(chunkKey(head.bank, i));
      if (chunk === undefined) {
        throw new TriadkitError("store.corrupt_record", `product table chunk ${i} is missing`, {
          key: chunkKey(head.bank, i),
        });
      }
      parts.push(chunk);
    }
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    if (bytes.length !== head.bytes) {
      throw new TriadkitError("store.corrupt_record", "the stored product table has the wrong length", {
        key: PRODUCT_TABLE_KEY,
      });
    }
    const table = decodeProductTable(bytes);
    if (table.version !== head.version || table.hash !== head.hash) {
      throw new TriadkitError("store.corrupt_record", "the stored product table does not match its head", {
        key: PRODUCT_TABLE_KEY,
      });
    }
    return { kind: "table", table };
  } catch (err) {
    return { kind: "damaged", head, error: asCoded(err) };
  }
}

/**
 * Saves `table` as the device's table (see the module comment). Throws `products.too_many` when it cannot fit the
 * store's value size in {@link MAX_PRODUCT_TABLE_CHUNKS} chunks, or the store's own errors (then the previous table
 * is still the stored one).
 */
export async function saveProductTable(store: FlashStore, table: ProductTable): Promise<ProductTableHead> {
  const bytes = encodeProductTable(table);
  const size = store.maxValueBytes;
  const chunks = size < 1 ? Number.POSITIVE_INFINITY : Math.ceil(bytes.length / size);
  if (chunks > MAX_PRODUCT_TABLE_CHUNKS) {
    throw new TriadkitError(
      "products.too_many",
      `the table (${bytes.length} bytes) does not fit this device's flash (${MAX_PRODUCT_TABLE_CHUNKS} values of ${size} bytes)`,
      { limit: MAX_PRODUCT_TABLE_CHUNKS * Math.max(size, 0), bytes: bytes.length },
    );
  }
  let current: ProductTableHead | undefined;
  try {
    current = await productTableHeadRecord.load(store);
  } catch {
    current = undefined; // an unreadable head is replaced
  }
  const bank: Bank = current?.bank === "a" ? "b" : "a";
  for (let i = 0; i < chunks; i++) {
    await store.write(chunkKey(bank, i), bytes.subarray(i * size, Math.min(bytes.length, (i + 1) * size)));
  }
  const head: ProductTableHead = { version: table.version, hash: table.hash, bank, chunks, bytes: bytes.length };
  await productTableHeadRecord.save(store, head);
  for (const key of await store.keys()) {
    const m = CHUNK_KEY.exec(key);
    if (m !== null && (m[1] !== bank || Number(m[2]) >= chunks)) await store.delete(key);
  }
  return head;
}
