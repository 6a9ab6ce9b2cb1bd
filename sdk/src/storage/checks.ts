import { TriadkitError } from "@triadkit/protocol";
import { FLASH_KEY_PATTERN } from "./flash-store.js";

/** Longest key {@link FLASH_KEY_PATTERN} allows. */
export const MAX_FLASH_KEY_LENGTH = 64;

/** Throws `store.bad_key` unless `key` is a string matching {@link FLASH_KEY_PATTERN}. */
export function assertFlashKey(key: unknown): asserts key is string {
  if (typeof key !== "string" || !FLASH_KEY_PATTERN.test(key)) {
    // The key is not secret, but it may be arbitrary caller input: report only its shape.
    throw new TriadkitError(
      "store.bad_key",
      "flash keys are 1-64 characters of a-z 0-9 . _ - starting with a letter or digit",
      { type: typeof key, length: typeof key === "string" ? key.length : undefined },
    );
  }
}

/** Throws `config.invalid` unless `value` is a Uint8Array, `store.record_too_large` if it exceeds `maxBytes`. */
export function assertFlashValue(key: string, value: unknown, maxBytes: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TriadkitError("config.invalid", "flash values must be Uint8Array", { key, type: typeof value });
  }
  if (value.length > maxBytes) {
    throw new TriadkitError("store.record_too_large", `value of ${value.length} bytes exceeds ${maxBytes} bytes`, {
      key,
      bytes: value.length,
      maxBytes,
    });
  }
}

/** Throws `config.invalid` unless `value` is an integer in [min, max]. */
export function assertIntegerOption(name: string, value: unknown, min: number, max: number): asserts value is number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new TriadkitError("config.invalid", `${name} must be an integer in [${min}, ${max}]`, {
      option: name,
      value,
    });
  }
}

/**
 * Runs async operations one at a time, in call order. Each store owns one, so concurrent calls on a store never
 * interleave their reads and writes of the same slots.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
