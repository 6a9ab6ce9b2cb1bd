import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { genieOrder, genieRows, SOURCE } from "../ledger/__tests__/fixtures.js";
import { openStation, type Station } from "../ledger/open-station.js";
import type { AuditProblem } from "./types.js";

let dir: string;
let dbPath: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tk-audit-"));
  dbPath = join(dir, "ledger.db");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const open = () => openStation({ dbPath, checkpointEvery: 10 });

/** A history of exactly `entries` audit entries (checkpoints at every 10th). */
async function history(entries: number): Promise<void> {
  const s = await open();
  const actor = s.actor("alice", "F1");
  await s.ledger.addWorkOrder(genieOrder("WO-1"), actor);
  const session = await s.ledger.beginImport("WO-1", SOURCE, actor);
  await session.add(genieRows(s.keyring, "audit", 0, 40));
  await session.commit();
  await more(s, entries - 4); // station.add, keys.create, work_order.add, import
  await s.close();
}

async function more(s: Station, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const t = await s.ledger.reserve("WO-1", s.actor("bob", `F${i % 3}`));
    expect(t.state).toBe("reserved");
  }
}

function tamper(...sql: string[]): void {
  const db = new Database(dbPath);
  for (const t of ["audit_entries", "audit_checkpoints"]) {
    db.exec(`DROP TRIGGER IF EXISTS ${t}_no_update; DROP TRIGGER IF EXISTS ${t}_no_delete;`);
  }
  for (const q of sql) db.exec(q);
  db.close();
}

async function verify(): Promise<{ ok: boolean; problems: readonly AuditProblem[]; lastSeq: number }> {
  const s = await open();
  const r = await s.verifyAudit();
  await s.close();
  return r;
}

const brief = (ps: readonly AuditProblem[]) => ps.map((p) => [p.code, p.seq]);
const COLUMNS = "time, operator, fixture, action, triad_id, identity, details, prev_mac, mac";
const swapSql = (a: number, b: number) => [
  `CREATE TEMP TABLE keep AS SELECT * FROM audit_entries WHERE seq IN (${a}, ${b})`,
  ...[
    [a, b],
    [b, a],
  ].map(
    ([to, from]) =>
      `UPDATE audit_entries SET (${COLUMNS}) = (SELECT ${COLUMNS} FROM keep WHERE seq = ${from}) WHERE seq = ${to}`,
  ),
];

describe("verifyAudit", () => {
  it("an untampered ledger verifies, with its checkpoints and head", async () => {
    await history(30);
    const r = await verify();
    expect(r).toMatchObject({ ok: true, problems: [], entries: 30, checkpoints: 3, lastSeq: 30, headSeq: 30 });
  });

  it("the tables refuse UPDATE and DELETE while their triggers stand", async () => {
    await history(12);
    const db = new Database(dbPath);
    expect(() => db.exec("UPDATE audit_entries SET operator = 'x' WHERE seq = 3")).toThrow(/append-only/);
    expect(() => db.exec("DELETE FROM audit_checkpoints")).toThrow(/append-only/);
    db.close();
  });

  it("detects an edited field and says which entry", async () => {
    await history(30);
    tamper(
      "UPDATE audit_entries SET operator = 'mallory' WHERE seq = 12",
      `UPDATE audit_entries SET details = replace(details, 'available', 'void') WHERE seq = 20`,
    );
    expect(brief((await verify()).problems)).toEqual([
      ["audit.entry_modified", 12],
      ["audit.entry_modified", 20],
    ]);
  });

  it("detects an edited MAC (the entry, not its successor, is reported)", async () => {
    await history(15);
    tamper("UPDATE audit_entries SET mac = randomblob(32) WHERE seq = 7");
    expect(brief((await verify()).problems)).toEqual([["audit.entry_modified", 7]]);
  });

  it("detects a deleted middle entry and a deleted range", async () => {
    await history(30);
    tamper("DELETE FROM audit_entries WHERE seq = 15", "DELETE FROM audit_entries WHERE seq BETWEEN 21 AND 23");
    const r = await verify();
    expect(r.problems.map((p) => [p.code, p.seq, p.lastSeq])).toEqual([
      ["audit.entry_missing", 15, 15],
      ["audit.entry_missing", 21, 23],
    ]);
  });

  it("detects two entries whose contents were swapped, neighbours or far apart", async () => {
    await history(30);
    tamper(...swapSql(8, 9));
    expect(brief((await verify()).problems)).toEqual([
      ["audit.entry_reordered", 8],
      ["audit.entry_reordered", 9],
    ]);
    tamper("DROP TABLE IF EXISTS keep", ...swapSql(8, 9), "DROP TABLE keep", ...swapSql(5, 22));
    const r = await verify();
    expect(brief(r.problems)).toEqual([
      ["audit.entry_reordered", 5],
      ["audit.entry_reordered", 22],
    ]);
    expect(r.problems[0]?.message).toContain("belongs at seq 22");
  });

  it("detects a deleted tail through the head file and the checkpoints", async () => {
    await history(30);
    tamper("DELETE FROM audit_entries WHERE seq > 25");
    const r = await verify();
    expect(r.problems.map((p) => [p.code, p.seq, p.lastSeq])).toEqual([["audit.truncated", 26, 30]]);
    // Without the head file, the signed checkpoint at 30 still gives it away (and the head is missing).
    rmSync(`${dbPath}.audit-head`);
    tamper("DELETE FROM audit_checkpoints WHERE seq = 30", "DELETE FROM audit_entries WHERE seq > 15");
    expect(brief((await verify()).problems)).toEqual([
      ["audit.head_missing", 15],
      ["audit.truncated", 16],
    ]);
  });

  it("detects a forged or altered checkpoint", async () => {
    await history(30);
    tamper(
      "INSERT INTO audit_checkpoints SELECT station_id, 5, mac, 0, randomblob(64) FROM audit_entries WHERE seq = 5",
      "UPDATE audit_checkpoints SET head_mac = randomblob(32) WHERE seq = 20",
    );
    expect(brief((await verify()).problems)).toEqual([
      ["audit.bad_checkpoint", 5],
      ["audit.bad_checkpoint", 20],
    ]);
  });

  it("reports a missing or forged head file", async () => {
    await history(12);
    const head = readFileSync(`${dbPath}.audit-head`, "utf8");
    rmSync(`${dbPath}.audit-head`);
    expect(brief((await verify()).problems)).toEqual([["audit.head_missing", 12]]);
    writeFileSync(`${dbPath}.audit-head`, "{}");
    expect(brief((await verify()).problems)).toEqual([["audit.head_missing", 12]]);
    const forged = JSON.parse(head);
    forged.seq = 11;
    writeFileSync(`${dbPath}.audit-head`, JSON.stringify(forged));
    expect(brief((await verify()).problems)).toEqual([["audit.bad_checkpoint", 11]]);
  });

  it("a deleted tail plus a deleted head file stays visible: later writes never recreate the head", async () => {
    await history(20);
    rmSync(`${dbPath}.audit-head`);
    tamper("DELETE FROM audit_entries WHERE seq > 15");
    const s = await open();
    await more(s, 3);
    await s.close();
    expect(existsSync(`${dbPath}.audit-head`)).toBe(false);
    const result = await verify();
    expect(result.ok).toBe(false);
    expect(brief(result.problems)).toContainEqual(["audit.head_missing", 18]);
  });

  it("a head left behind by a crash after COMMIT is fine", async () => {
    await history(12);
    const head = readFileSync(`${dbPath}.audit-head`);
    const s = await open();
    await more(s, 5);
    await s.close();
    writeFileSync(`${dbPath}.audit-head`, head); // as if the head writes after those commits never happened
    expect(await verify()).toMatchObject({ ok: true, lastSeq: 17 });
  });

  it("a database replaced by an older copy is truncation, even after new writes", async () => {
    await history(12);
    copyFileSync(dbPath, join(dir, "old.db"));
    const s = await open();
    await more(s, 6);
    await s.close();
    copyFileSync(join(dir, "old.db"), dbPath);
    expect(brief((await verify()).problems)).toEqual([["audit.truncated", 13]]);
    const again = await open();
    await more(again, 10); // the chain grows past the head's seq again, on a different history
    await again.close();
    const r = await verify();
    expect(brief(r.problems)).toEqual([["audit.truncated", 18]]);
    expect(r.problems[0]?.message).toMatch(/no longer has/);
  });
});
