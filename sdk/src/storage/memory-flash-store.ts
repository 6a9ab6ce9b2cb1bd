/**
 * MemoryFlashStore: a FlashStore in a Map, for tests and for simulations that do not model flash. Values are
 * copied in and out. {@link MemoryFlashStore.reopen} simulates a clean reboot: a new store over the same contents,
 * and the old instance is closed. It never tears or corrupts; use firmware-sim's SimulatedFlashStore for that.
 */
import { TriadkitError } from "@triadkit/protocol";
import { assertFlashKey, assertFlashValue, assertIntegerOption } from "./checks.js";
import type { FlashStore } from "./flash-store.js";

export interface MemoryFlashStoreOptions {
  /** Largest value accepted; default 64 KiB. */
  readonly maxValueBytes?: number;
}

export const DEFAULT_MEMORY_STORE_MAX_VALUE_BYTES = 64 * 1024;

export class MemoryFlashStore implements FlashStore {
  readonly maxValueBytes: number;
  private closed = false;

  private readonly data: Map<string, Uint8Array>;

  constructor(options: MemoryFlashStoreOptions = {}) {
    const maxValueBytes = options.maxValueBytes ?? DEFAULT_MEMORY_STORE_MAX_VALUE_BYTES;
    assertIntegerOption("maxValueBytes", maxValueBytes, 0, 256 * 1024 * 1024);
    this.maxValueBytes = maxValueBytes;
    this.data = new Map();
  }

  async read(key: string): Promise<Uint8Array | undefined> {
    this.checkKey(key);
    const value = this.data.get(key);
    return value === undefined ? undefined : new Uint8Array(value);
  }

  async write(key: string, value: Uint8Array): Promise<void> {
    this.checkKey(key);
    assertFlashValue(key, value, this.maxValueBytes);
    this.data.set(key, new Uint8Array(value)); // a copy; Buffer#slice would alias
  }

  async delete(key: string): Promise<void> {
    this.checkKey(key);
    this.data.delete(key);
  }

  async keys(): Promise<string[]> {
    this.checkOpen();
    return [...this.data.keys()].sort();
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Closes this instance and returns a new open store over the same contents (a reboot that lost nothing). */
  reopen(): MemoryFlashStore {
    this.closed = true;
    const next = new MemoryFlashStore({ maxValueBytes: this.maxValueBytes });
    for (const [key, value] of this.data) next.data.set(key, value);
    return next;
  }

  private checkOpen(): void {
    if (this.closed) throw new TriadkitError("store.closed", "flash store is closed");
  }

  private checkKey(key: unknown): void {
    this.checkOpen();
    assertFlashKey(key);
  }
}
