/**
 * Typed JSON records with a schema version and migrations, on any FlashStore.
 *
 * Stored bytes: UTF-8 JSON `{"v":<version>,"data":<value>}`. Loading a record written at an older version runs
 * the migrations `migrate[v]`, `migrate[v+1]`, … (each maps a value of version k to version k+1) and then the schema.
 * A record written at a newer version (newer firmware, then a downgrade) is refused with `store.unsupported_version`
 * rather than misread. Loading does not write the migrated value back; the next `save` stores the current version.
 *
 * ```ts
 * const wifi = defineRecord<{ ssid: string; psk: string }>({ key: "wifi", version: 2, schema: parseWifi,
 *   migrate: { 1: (old) => ({ ...(old as object), psk: "" }) } });
 * await wifi.save(store, { ssid: "lab", psk: "…" });
 * const creds = await wifi.load(store); // undefined if never saved
 * ```
 */
import { fromUtf8, TriadkitError, utf8 } from "@triadkit/protocol";
import { assertFlashKey, assertIntegerOption } from "./checks.js";
import type { FlashStore } from "./flash-store.js";

/** `fromVersion → (value at fromVersion) => value at fromVersion + 1`. */
export type RecordMigrations = Readonly<Record<number, (old: unknown) => unknown>>;

export interface RecordSpec<T> {
  /** FlashStore key. */
  readonly key: string;
  /** Current schema version, 1..65535. Bump it, and add a migration, whenever the stored shape changes. */
  readonly version: number;
  /**
   * Validates (and may normalise) a loaded value of the current version; throws if it is not a T. Without one,
   * loaded data is trusted as T: give one for anything a board depends on.
   */
  readonly schema?: (value: unknown) => T;
  readonly migrate?: RecordMigrations;
}

export interface TypedRecord<T> {
  readonly key: string;
  readonly version: number;
  /**
   * The stored value, migrated and validated, or `undefined` if the key holds nothing. Throws
   * `store.corrupt_record` (not JSON, bad envelope, a migration or the schema threw; the cause is attached),
   * `store.unsupported_version` (newer version, or no migration path), or the store's own errors.
   */
  load(store: FlashStore): Promise<T | undefined>;
  /** Stores `value` at the current version. Throws `config.invalid` if it would not load back (not JSON, schema). */
  save(store: FlashStore, value: T): Promise<void>;
  /** Deletes the record. */
  remove(store: FlashStore): Promise<void>;
  /** The bytes `save` writes. */
  encode(value: T): Uint8Array;
  /** What `load` does with bytes. */
  decode(bytes: Uint8Array): T;
}

export function defineRecord<T>(spec: RecordSpec<T>): TypedRecord<T> {
  const { key, version, schema, migrate = {} } = spec;
  assertFlashKey(key);
  assertIntegerOption("version", version, 1, 0xffff);
  for (const [from, fn] of Object.entries(migrate)) {
    assertIntegerOption("migrate key", Number(from), 1, version - 1);
    if (typeof fn !== "function") throw new TriadkitError("config.invalid", "migrations must be functions", { key });
  }

  const corrupt = (message: string, cause?: unknown, context: Record<string, unknown> = {}) =>
    new TriadkitError("store.corrupt_record", `${key}: ${message}`, { key, ...context }, { cause });

  const decode = (bytes: Uint8Array): T => {
    let envelope: unknown;
    try {
      envelope = JSON.parse(fromUtf8(bytes));
    } catch (err) {
      throw corrupt("not UTF-8 JSON", err);
    }
    if (
      typeof envelope !== "object" ||
      envelope === null ||
      Array.isArray(envelope) ||
      !Object.hasOwn(envelope, "data")
    ) {
      throw corrupt("not a {v, data} record");
    }
    const stored = (envelope as { v?: unknown }).v;
    if (typeof stored !== "number" || !Number.isInteger(stored) || stored < 1) throw corrupt("bad version field");
    if (stored > version) {
      throw new TriadkitError(
        "store.unsupported_version",
        `${key} was saved at version ${stored}, this build reads up to ${version}`,
        {
          key,
          version: stored,
          supported: version,
        },
      );
    }
    let data: unknown = (envelope as { data: unknown }).data;
    for (let v = stored; v < version; v++) {
      const step = Object.hasOwn(migrate, v) ? migrate[v] : undefined;
      if (step === undefined) {
        throw new TriadkitError("store.unsupported_version", `${key}: no migration from version ${v}`, {
          key,
          version: v,
        });
      }
      try {
        data = step(data);
      } catch (err) {
        throw corrupt(`migration from version ${v} failed`, err, { fromVersion: v });
      }
    }
    if (schema === undefined) return data as T;
    try {
      return schema(data);
    } catch (err) {
      throw corrupt("value does not match the schema", err, { version });
    }
  };

  const encode = (value: T): Uint8Array => {
    let bytes: Uint8Array;
    try {
      const json = JSON.stringify({ v: version, data: value });
      if (json === undefined) throw new Error("not JSON-serialisable");
      bytes = utf8(json);
      decode(bytes); // refuse to store what would not load back
    } catch (err) {
      throw new TriadkitError(
        "config.invalid",
        `${key}: value cannot be stored (not JSON, or fails the schema)`,
        { key },
        { cause: err },
      );
    }
    return bytes;
  };

  return {
    key,
    version,
    encode,
    decode,
    async load(store) {
      const bytes = await store.read(key);
      return bytes === undefined ? undefined : decode(bytes);
    },
    async save(store, value) {
      await store.write(key, encode(value));
    },
    async remove(store) {
      await store.delete(key);
    },
  };
}
