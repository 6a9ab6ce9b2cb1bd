import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { genieOrder, genieRows, SOURCE } from "../__tests__/fixtures.js";
import { openStation } from "../open-station.js";

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("schema v3 (smart-shelf codes)", () => {
  it("migrates a version 2 ledger in place and keeps shelf rows and code history forever", async () => {
    dir = mkdtempSync(join(tmpdir(), "tk-v3-"));
    const dbPath = join(dir, "l.db");
    let station = await openStation({ dbPath });
    const actor = station.actor("alice");
    await station.ledger.addWorkOrder(genieOrder("WO-1"), actor);
    const session = await station.ledger.beginImport("WO-1", SOURCE, actor);
    await session.add(genieRows(station.keyring, "v", 0, 2));
    await session.commit();
    await station.close();
    const raw = new Database(dbPath);
    raw.exec(
      "DROP TABLE shelf_codes; DROP TABLE shelf_devices; DROP TABLE shelf_stores; DROP TABLE shelf_brands; " +
        "DELETE FROM schema_migrations WHERE version >= 3",
    );
    raw.close();

    station = await openStation({ dbPath });
    expect((await station.ledger.counts()).total.available).toBe(2);
    const db = new Database(dbPath);
    expect(db.prepare("SELECT version FROM schema_migrations WHERE version = 3").get()).toEqual({ version: 3 });
    await station.ledger.importShelfDevices(
      [{ row: 2, brand: "Acme", storeId: 184454101, deviceCode: "8F6A77C73E" }],
      { via: "line" },
      actor,
    );
    await station.ledger.changeShelfCode("8F6A77C73E", "8F6A77C73F", "platform", undefined, actor);
    for (const table of ["shelf_codes", "shelf_devices", "shelf_stores", "shelf_brands"]) {
      expect(() => db.prepare(`DELETE FROM ${table}`).run()).toThrow(/kept forever/);
    }
    expect(() => db.prepare("UPDATE shelf_codes SET valid_to = 1 WHERE code = '8F6A77C73E'").run()).toThrow(
      /end time, once/,
    );
    expect(() => db.prepare("UPDATE shelf_codes SET note = 'x' WHERE code = '8F6A77C73F'").run()).toThrow(
      /end time, once/,
    );
    expect(() => db.prepare("UPDATE shelf_stores SET brand = 'Other'").run()).toThrow(/never changes brand/);
    await station.close();
    db.close();
  });
});
