/**
 * The device side of the product recommendation table: answers the `UpdateProductTable` service (see
 * `@triadkit/protocol` products/push.ts), validates the table with protocol, keeps the accepted one in the FlashStore
 * (./table-store.ts) and hands the validated list to the shelf application as a `productTable` event.
 *
 * ```ts
 * const products = createProductTableReceiver({ device, store });
 * products.on("productTable", ({ items, version, source }) => shelf.show(items));  // at boot (from flash) and per push
 * await products.ready;                                                             // the stored table is loaded
 * ```
 *
 * Rules: a table with a lower version than the stored one is ignored (answered with the stored version,
 * `applied: false`); the same version and hash is a no-op; the same version with another hash is refused
 * (`products.bad_table`); an invalid table is refused with its `products.*` code and changes nothing. The reply is
 * sent only after the table is safely in flash. Pushes are handled one at a time, in arrival order.
 */
import { EventEmitter } from "node:events";
import {
  PRODUCT_TABLE_SERVICE,
  type ProductItem,
  type ProductScope,
  type ProductTable,
  type ProductTableAck,
  parseProductTable,
  TriadkitError,
} from "@triadkit/protocol";
import { silentLogger } from "../logging/index.js";
import type { Logger } from "../logging/logger.js";
import type { ServiceHandler } from "../session/downstream.js";
import type { FlashStore } from "../storage/flash-store.js";
import { loadProductTable, saveProductTable } from "./table-store.js";

/** The part of a Device the receiver needs. */
export interface ProductTableDevice {
  onService(name: string, handler: ServiceHandler): void;
}

export interface ProductTableReceiverOptions {
  readonly device: ProductTableDevice;
  /** The device's FlashStore: the accepted table lives there (keys `products`, `products.a.*`, `products.b.*`). */
  readonly store: FlashStore;
  readonly logger?: Logger;
}

/** What the shelf application gets: the validated list and where it came from. */
export interface ProductTableEvent {
  readonly version: number;
  readonly scope: ProductScope;
  readonly hash: string;
  readonly items: readonly ProductItem[];
  /** `flash`: the table stored before this boot; `push`: a table just accepted. */
  readonly source: "flash" | "push";
}

export interface ProductTableReceiverEvents {
  productTable: [event: ProductTableEvent];
  /** A pushed table was refused (nothing changed); `version` when the table got far enough to have one. */
  refused: [info: { readonly code: string; readonly message: string; readonly version?: number }];
  /** A pushed table older than (or equal to) the stored one was ignored. */
  stale: [info: { readonly pushed: number; readonly kept: number }];
  /** The stored table could not be read at start; the device runs without one until the next push. */
  storeError: [error: TriadkitError];
}

export class ProductTableReceiver extends EventEmitter<ProductTableReceiverEvents> {
  /** Resolves once the stored table (if any) has been loaded and announced. Never rejects. */
  readonly ready: Promise<void>;
  private table: ProductTable | undefined;
  /** The highest version ever stored (also when the table behind it is damaged): pushes below it are stale. */
  private floor = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly store: FlashStore;
  private readonly log: Logger;

  constructor(options: ProductTableReceiverOptions) {
    super();
    this.store = options.store;
    this.log = options.logger ?? silentLogger;
    this.ready = this.load();
    this.queue = this.ready;
    options.device.onService(PRODUCT_TABLE_SERVICE, (params) => this.enqueue(() => this.receive(params)));
  }

  /** The table the device holds now (after {@link ready}). */
  current(): ProductTable | undefined {
    return this.table;
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async load(): Promise<void> {
    const stored = await loadProductTable(this.store);
    // Let listeners attached right after construction see the boot event.
    await Promise.resolve();
    switch (stored.kind) {
      case "none":
        return;
      case "table":
        this.table = stored.table;
        this.floor = stored.table.version;
        this.log.info({ version: stored.table.version, items: stored.table.items.length }, "product table loaded");
        this.announce(stored.table, "flash");
        return;
      case "damaged":
        this.floor = stored.head.version;
        this.log.warn({ code: stored.error.code, version: stored.head.version }, "stored product table is damaged");
        this.emit("storeError", stored.error);
        return;
      case "unreadable":
        this.log.warn({ code: stored.error.code }, "stored product table head is unreadable");
        this.emit("storeError", stored.error);
        return;
    }
  }

  private async receive(params: unknown): Promise<ProductTableAck> {
    let table: ProductTable;
    try {
      table = parseProductTable(params);
    } catch (err) {
      this.refuse(err, undefined);
      throw err;
    }
    const held = this.table;
    if (held !== undefined && table.version === held.version) {
      if (table.hash === held.hash) return { version: held.version, hash: held.hash, applied: false };
      const err = new TriadkitError(
        "products.bad_table",
        `version ${table.version} is already held with other content: a changed table needs a new version`,
        { version: table.version },
      );
      this.refuse(err, table.version);
      throw err;
    }
    if (table.version <= this.floor) {
      this.log.info({ pushed: table.version, kept: this.floor }, "stale product table ignored");
      this.emit("stale", { pushed: table.version, kept: this.floor });
      if (held !== undefined) return { version: held.version, hash: held.hash, applied: false };
      const err = new TriadkitError(
        "products.bad_table",
        `version ${table.version} is older than version ${this.floor} this device held (its copy is damaged): push a newer version`,
        { version: table.version, kept: this.floor },
      );
      this.refuse(err, table.version);
      throw err;
    }
    try {
      await saveProductTable(this.store, table);
    } catch (err) {
      this.refuse(err, table.version);
      throw err;
    }
    this.table = table;
    this.floor = table.version;
    this.log.info({ version: table.version, items: table.items.length }, "product table accepted");
    this.announce(table, "push");
    return { version: table.version, hash: table.hash, applied: true };
  }

  private refuse(err: unknown, version: number | undefined): void {
    const coded = err instanceof TriadkitError;
    const code = coded ? err.code : "internal.unexpected";
    const message = err instanceof Error ? err.message : String(err);
    this.log.warn({ code, ...(version === undefined ? {} : { version }) }, "product table refused");
    this.emit("refused", { code, message, ...(version === undefined ? {} : { version }) });
  }

  private announce(table: ProductTable, source: "flash" | "push"): void {
    this.emit("productTable", {
      version: table.version,
      scope: table.scope,
      hash: table.hash,
      items: table.items,
      source,
    });
  }
}

/** Registers the `UpdateProductTable` service on the device and loads the stored table (see the module comment). */
export function createProductTableReceiver(options: ProductTableReceiverOptions): ProductTableReceiver {
  return new ProductTableReceiver(options);
}
