import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectTriadkitError } from "@triadkit/protocol";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteDeviceRegistry } from "../emulator/sqlite-registry.js";
import { BINDING_SCHEMA_VERSION, BindingStore, SEEN_WINDOW } from "./store.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "triadkit-binding-store-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const device = { productKey: "a1B2c3D4e5F", deviceName: "dev001" };

describe("BindingStore schema", () => {
  it("lives beside the registry's tables in the same file, with its own version", () => {
    const file = join(dir, "platform.db");
    const registry = new SqliteDeviceRegistry(file);
    const store = new BindingStore(file);
    expect(store.schemaVersion()).toBe(BINDING_SCHEMA_VERSION);
    store.close();
    registry.close();
    const db = new Database(file, { readonly: true });
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[])
      .map((t) => t.name)
      .sort();
    db.close();
    expect(tables).toEqual(
      expect.arrayContaining(["devices", "products", "binding_schema", "binding_devices", "binding_alerts"]),
    );
    // Reopening does not migrate twice.
    const again = new BindingStore(file);
    expect(again.schemaVersion()).toBe(BINDING_SCHEMA_VERSION);
    again.close();
  });

  it("refuses a database written by a newer schema", () => {
    const file = join(dir, "newer.db");
    new BindingStore(file).close();
    const db = new Database(file);
    db.prepare("UPDATE binding_schema SET version = ?").run(BINDING_SCHEMA_VERSION + 1);
    db.close();
    expectTriadkitError(() => new BindingStore(file), "binding.unsupported_schema");
    expectTriadkitError(() => new BindingStore(file, { readonly: true }), "binding.unsupported_schema");
  });

  it("read-only: refuses a file without binding tables and never creates one", () => {
    const file = join(dir, "registry-only.db");
    new SqliteDeviceRegistry(file).close();
    expectTriadkitError(() => new BindingStore(file, { readonly: true }), "binding.unsupported_schema");
    expect(() => new BindingStore(join(dir, "missing.db"), { readonly: true })).toThrow();
  });

  it("keeps only the last SEEN_WINDOW heartbeat positions per device", () => {
    const store = new BindingStore();
    for (let seq = 0; seq < SEEN_WINDOW + 10; seq++) store.addSeen(device, 1, "b", seq, seq);
    expect(store.seenRecently(device, 1, "b", 0)).toBe(false);
    expect(store.seenRecently(device, 1, "b", 10)).toBe(true);
    expect(store.seenRecently(device, 1, "b", SEEN_WINDOW + 9)).toBe(true);
    store.close();
  });
});
