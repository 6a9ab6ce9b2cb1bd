/**
 * Everything a device keeps across power cycles goes through one FlashStore: the triad record, the PoP
 * verifier, WiFi credentials, binding state, the offline queue, counters.
 *
 * Contract (tested by the shared contract suite against every implementation):
 * - `write` is atomic per key: after a crash or power cut at any point, `read` returns the previous value or
 *   the new one, never a mix, never garbage. Corruption that is detected (checksum) falls back to the other copy.
 * - `read` of a key never written (or deleted) returns `undefined`.
 * - Keys match {@link FLASH_KEY_PATTERN}; values are at most {@link FlashStore.maxValueBytes} bytes.
 * - After `close()`, every other method rejects with `store.closed`; calling `close()` again resolves.
 * - Concurrent calls take effect in call order.
 */
export interface FlashStore {
  read(key: string): Promise<Uint8Array | undefined>;
  write(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
  keys(): Promise<string[]>;
  close(): Promise<void>;
  readonly maxValueBytes: number;
}

/** Lowercase letters, digits, `.`, `_`, `-`; 1–64 characters; starts with a letter or digit. */
export const FLASH_KEY_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
