import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { genieOrder, genieRows, SOURCE } from "../__tests__/fixtures.js";
import { openStation } from "../open-station.js";

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("schema v2 (burning)", () => {
  it("migrates a version 1 ledger in place, keeping its triads, and keeps links and the anchor forever", async () => {
    dir = mkdtempSync(join(tmpdir(), "tk-v2-"));
    const dbPath = join(dir, "l.db");
    let station = await openStation({ dbPath });
    const actor = station.actor("alice");
    await station.ledger.addWorkOrder(genieOrder("WO-1"), actor);
    const session = await station.ledger.beginImport("WO-1", SOURCE, actor);
    await session.add(genieRows(station.keyring, "v", 0, 3));
    await session.commit();
    await station.close();
    // Back to what version 1 had.
    const raw = new Database(dbPath);
    raw.exec(
      "DROP TABLE shelf_codes; DROP TABLE shelf_devices; DROP TABLE shelf_stores; DROP TABLE shelf_brands; " +
        "DROP TABLE device_links; DROP TABLE factory_anchor; DELETE FROM schema_migrations WHERE version >= 2",
    );
    raw.close();

    station = await openStation({ dbPath });
    expect((await station.ledger.counts()).total.available).toBe(3);
    const db = new Database(dbPath);
    expect(db.prepare("SELECT version FROM schema_migrations WHERE version = 2").get()).toEqual({ version: 2 });
    const t = await station.ledger.reserve("WO-1", actor);
    await station.ledger.linkDevice(
      t.id,
      {
        chipId: "c0ffee01",
        wifiMac: "0c0000000001",
        model: "TK-SPK-1",
        firmware: "1.4.0",
        recordHash: new Uint8Array(32),
        writtenAt: 1,
        sealedPop: station.keyring.sealPop(t.id, new Uint8Array(16)),
        popSalt: new Uint8Array(16),
      },
      actor,
    );
    expect(() => db.prepare("DELETE FROM device_links").run()).toThrow(/kept forever/);
    await station.close();
    db.close();
  });
});
