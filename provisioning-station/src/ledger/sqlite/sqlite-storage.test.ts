import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectTriadkitError, expectTriadkitErrorAsync } from "@triadkit/protocol";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { genieOrder, genieRows, knownSecret, SOURCE } from "../__tests__/fixtures.js";
import { openStation, type Station } from "../open-station.js";
import { LEDGER_SCHEMA_VERSION, openConnection } from "./schema.js";

let dir: string;
let dbPath: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tk-sqlite-"));
  dbPath = join(dir, "ledger.db");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function withRows(count: number, tag: string): Promise<Station> {
  const s = await openStation({ dbPath });
  const actor = s.actor("alice");
  await s.ledger.addWorkOrder(genieOrder("WO-1"), actor);
  const session = await s.ledger.beginImport("WO-1", SOURCE, actor);
  expect(await session.add(genieRows(s.keyring, tag, 0, count))).toEqual([]);
  await session.commit();
  return s;
}

describe("SQLite settings and schema", () => {
  it("uses WAL, synchronous=FULL (2), foreign keys and a busy timeout on every connection", async () => {
    const s = await openStation({ dbPath });
    await s.close();
    const db = openConnection(dbPath, { busyTimeoutMs: 1234 });
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(db.pragma("synchronous", { simple: true })).toBe(2);
    expect(db.pragma("foreign_keys", { simple: true })).toBe(1);
    expect(db.pragma("busy_timeout", { simple: true })).toBe(1234);
    expect(db.prepare("SELECT max(version) AS v FROM schema_migrations").get()).toEqual({ v: LEDGER_SCHEMA_VERSION });
    db.close();
  });

  it("refuses a database written by a newer triadkit", async () => {
    const s = await openStation({ dbPath });
    await s.close();
    const db = new Database(dbPath);
    db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)").run(LEDGER_SCHEMA_VERSION + 1);
    db.close();
    await expectTriadkitErrorAsync(() => openStation({ dbPath }), "ledger.schema_too_new");
  });

  it("refuses a file that is not a triadkit ledger, and leaves it untouched", async () => {
    const other = new Database(dbPath);
    other.exec("CREATE TABLE customers (id INTEGER)");
    other.close();
    const before = readFileSync(dbPath);
    await expectTriadkitErrorAsync(() => openStation({ dbPath }), "ledger.open_failed");
    expect(readFileSync(dbPath).equals(before)).toBe(true);
    expect(existsSync(`${dbPath}.key`)).toBe(false);
    const text = join(dir, "text.db");
    writeFileSync(text, "ProductKey,DeviceName,DeviceSecret\n".repeat(200));
    await expectTriadkitErrorAsync(() => openStation({ dbPath: text }), "ledger.open_failed");
    expectTriadkitError(() => openConnection(text), "ledger.open_failed");
  });
});

describe("secrets at rest", () => {
  it("no imported secret appears in the database or WAL bytes, open or closed", async () => {
    const s = await withRows(200, "raw");
    const t = await s.ledger.reserve("WO-1", s.actor("bob", "F2"));
    expect(s.keyring.open(t.id, t.sealedSecret)).toBe(knownSecret("raw", 0));
    const scan = () => {
      const files = [dbPath, `${dbPath}-wal`, `${dbPath}.audit-head`].filter(existsSync);
      const blob = Buffer.concat(files.map((f) => readFileSync(f)));
      expect(blob.length).toBeGreaterThan(0);
      for (let i = 0; i < 200; i++) {
        const secret = knownSecret("raw", i);
        expect(blob.includes(secret)).toBe(false);
        expect(blob.includes(Buffer.from(secret, "hex"))).toBe(false);
        expect(blob.includes(Buffer.from(secret, "utf16le"))).toBe(false);
      }
    };
    scan();
    await s.close();
    scan();
  });

  it("two ciphertexts swapped between rows with raw SQL fail to open (and rotation refuses)", async () => {
    const s = await withRows(3, "swap");
    const [a, b] = await s.ledger.listTriads();
    await s.close();
    const db = new Database(dbPath);
    const get = db.prepare("SELECT sealed_secret FROM triads WHERE id = ?");
    const sa = (get.get(a?.id) as { sealed_secret: Buffer }).sealed_secret;
    const sb = (get.get(b?.id) as { sealed_secret: Buffer }).sealed_secret;
    const set = db.prepare("UPDATE triads SET sealed_secret = ? WHERE id = ?");
    set.run(sb, a?.id);
    set.run(sa, b?.id);
    db.close();
    const again = await openStation({ dbPath });
    for (const id of [a?.id, b?.id] as string[]) {
      const t = await again.ledger.getTriad(id);
      expectTriadkitError(() => again.keyring.open(id, t?.sealedSecret as Uint8Array), "keys.decrypt_failed");
    }
    await expectTriadkitErrorAsync(() => again.rotateKeys(again.actor("alice")), "keys.decrypt_failed");
    expect(again.keyring.keyVersion).toBe(1);
    expect((await again.ledger.poolKeys()).map((w) => w.version)).toEqual([1]);
    await again.close();
  });
});
