/**
 * `triadkit-station` as factory staff run it (node provisioning-station/bin/triadkit-station.js, no build): work
 * orders, imports of sheets made by a real spreadsheet program (LibreOffice Calc fixtures), a rejected file leaving
 * the ledger untouched, status, keys, audit, a process killed mid-import, and no secret anywhere it should not be.
 */
import { type SpawnSyncReturns, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ed25519 } from "@noble/curves/ed25519.js";
import { fromHex } from "@triadkit/protocol";
import { encodeCheckpoint, openStation } from "@triadkit/provisioning-station";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { root } from "../helpers/sim-cli.js";

const stationBin = join(root, "provisioning-station/bin/triadkit-station.js");
const fixtures = join(root, "provisioning-station/src/import/__fixtures__");
let dir: string;
let db: string;

/** Secrets of the fixtures imported below (from make.sh); none may show outside the encrypted column. */
const GENIE_SECRETS = [
  "4e000701f6ca6c8013548ded4b961e5b",
  "33e408df9a764eb0d90a17c3d1599368",
  "ce846dba2897e5089405ce0e2ee96e7e",
  "e8beea194377cde491d135fc08648993",
];
const ALIBABA_SECRETS = ["QjQDfDGNfQhzBylLdrZmP7n9oEmldTQx", "49Z1s0jfwvhKLAPfxDaEHitKziUxp7YQ"];
const outputs: string[] = [];

function station(args: readonly string[], options: { db?: string; env?: Record<string, string> } = {}) {
  const run: SpawnSyncReturns<string> = spawnSync(
    process.execPath,
    [stationBin, ...args, "--db", options.db ?? db, "--operator", "line-3-alice"],
    { cwd: dir, encoding: "utf8", timeout: 60_000, env: { ...process.env, ...options.env } },
  );
  outputs.push(run.stdout, run.stderr);
  return run;
}

function json(run: SpawnSyncReturns<string>): Record<string, unknown> {
  return JSON.parse(run.stdout.trim().split("\n").at(-1) as string) as Record<string, unknown>;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "triadkit-station-"));
  db = join(dir, "station.db");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("triadkit-station", () => {
  it("every command has --help and a usage error exits 2", () => {
    for (const cmd of [[], ["orders"], ["orders", "add"], ["import"], ["status"], ["keys"], ["keys", "rotate"]]) {
      const run = station([...cmd, "--help"]);
      expect(run.status, cmd.join(" ")).toBe(0);
      expect(run.stdout).toContain("Usage: triadkit-station");
    }
    for (const cmd of [
      ["audit", "verify"],
      ["audit", "show"],
    ]) {
      expect(station([...cmd, "--help"]).stdout).toContain("--key-file");
    }
    const missing = station(["import", join(fixtures, "genie-numeric.xlsx")]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("--work-order");
  });

  it("creates work orders and imports Calc-made sheets whole (numeric MAC cells, GBK CSV with Chinese headers)", () => {
    const added = station(
      ["orders", "add", "WO-G1", "--product", "5001234", "--model", "TG-SPK-1"].concat([
        "--min-firmware",
        "1.2.0",
        "--quantity",
        "10",
        "--line",
        "L3",
        "--brand",
        "Acme",
        "--json",
      ]),
    );
    expect(added.status, added.stderr).toBe(0);
    expect(json(added)).toMatchObject({ ok: true, workOrder: { id: "WO-G1", family: "genie", quantity: 10 } });
    expect(added.stderr).toContain("created a new station key"); // the first run made the key, and said so
    expect(statSync(`${db}.key`).mode & 0o077).toBe(0);
    expect(statSync(db).mode & 0o077).toBe(0); // the ledger file is private too
    const alibaba = [
      "orders",
      "add",
      "WO-A1",
      "--product",
      "a1B2c3D4e5F",
      "--model",
      "AL-1",
      "--min-firmware",
      "1.0.0",
    ];
    expect(station(alibaba).status).toBe(0);
    expect(station(alibaba).status).toBe(1); // ids are never reused

    const genie = station(["import", join(fixtures, "genie-numeric.xlsx"), "--work-order", "WO-G1", "--json"]);
    expect(genie.status, genie.stderr).toBe(0);
    expect(json(genie)).toMatchObject({
      ok: true,
      imported: 4,
      workOrderTotal: 4,
      sheet: { kind: "xlsx", format: "genie" },
    });
    const gbk = station(["import", join(fixtures, "alibaba-gbk.csv"), "--work-order", "WO-A1", "--json"]);
    expect(gbk.status, gbk.stderr).toBe(0);
    expect(json(gbk)).toMatchObject({ ok: true, imported: 2, sheet: { kind: "csv", encoding: "gb18030" } });

    const status = json(station(["status", "--json"]));
    const zero = { reserved: 0, written: 0, verified: 0, registered: 0, quarantined: 0, void: 0 };
    expect(status.total).toEqual({ available: 6, ...zero });
    expect(status.workOrders).toEqual({ "WO-G1": { available: 4, ...zero }, "WO-A1": { available: 2, ...zero } });
    const orders = json(station(["orders", "--json"])) as { workOrders: { id: string }[] };
    expect(orders.workOrders.map((o) => o.id).sort()).toEqual(["WO-A1", "WO-G1"]);
  });

  it("rejects a damaged or duplicate file whole, with a coded report, and leaves the ledger untouched", async () => {
    const before = json(station(["status", "--json"]));
    const auditBefore = json(station(["audit", "verify", "--json"]));
    const damaged = station(
      ["import", join(fixtures, "genie-damaged.xlsx"), "--work-order", "WO-G1", "--json"].concat([
        "--report",
        join(dir, "damaged.report.csv"),
      ]),
    );
    expect(damaged.status).toBe(1);
    const report = json(damaged) as {
      ok: boolean;
      error: { code: string };
      report: string;
      issues: { row: number; column: string; code: string }[];
    };
    expect(report.error.code).toBe("import.rejected");
    expect(report.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ row: 3, column: "Mac Lower", code: "import.damaged_cell" }),
        expect.objectContaining({ row: 4, column: "Device Secret", code: "import.damaged_cell" }),
      ]),
    );
    const csv = readFileSync(report.report, "utf8");
    expect(csv).toContain("row,column,code,message");
    expect(csv).toContain("import.damaged_cell");

    // The same Genie sheet again: every row is already in the ledger.
    const copy = join(dir, "again.xlsx");
    copyFileSync(join(fixtures, "genie-numeric.xlsx"), copy);
    const again = station(["import", copy, "--work-order", "WO-G1"]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain("import.triad_exists");
    expect(readFileSync(`${copy}.report.csv`, "utf8")).toContain("import.duplicate_secret");

    // A CSV with a duplicate inside the file and a product of another work order.
    const mixed = join(dir, "mixed.csv");
    await writeFile(
      mixed,
      "ProductKey,DeviceName,DeviceSecret\n" +
        "a1B2c3D4e5F,dev-0100,Zk3mWv8uTs7rQp6oNm5lKj4iHg3fEd2c\n" +
        "a1B2c3D4e5F,dev-0100,Zk3mWv8uTs7rQp6oNm5lKj4iHg3fEd2d\n" +
        "a1XXXXXXXXX,dev-0101,Zk3mWv8uTs7rQp6oNm5lKj4iHg3fEd2e\n",
    );
    const mixedRun = station(["import", mixed, "--work-order", "WO-A1", "--json"]);
    expect(mixedRun.status).toBe(1);
    const codes = (json(mixedRun) as { issues: { row: number; code: string }[] }).issues.map(
      (i) => `${i.row}:${i.code}`,
    );
    expect(codes).toEqual(expect.arrayContaining(["3:import.duplicate_triad", "4:import.product_mismatch"]));

    expect(json(station(["status", "--json"]))).toEqual(before);
    // Nothing was imported, but each rejection is audited (file hash, report hash) and the report carries a signed
    // checkpoint that covers that entry.
    const auditAfter = json(station(["audit", "verify", "--json"]));
    expect(auditAfter).toMatchObject({ ok: true, lastSeq: (auditBefore.lastSeq as number) + 3 });
    const shown = json(station(["audit", "show", "--last", "3", "--json"])) as {
      entries: { seq: number; action: string; details: { reportSha256: string; problems: number } }[];
    };
    expect(shown.entries.map((e) => e.action)).toEqual(["import.rejected", "import.rejected", "import.rejected"]);
    const sidecar = JSON.parse(readFileSync(`${report.report}.checkpoint.json`, "utf8")) as {
      reportSha256: string;
      checkpoint: {
        stationId: string;
        seq: number;
        headMac: string;
        time: string;
        signature: string;
        publicKey: string;
      };
    };
    expect(sidecar.reportSha256).toBe(createHash("sha256").update(readFileSync(report.report)).digest("hex"));
    expect(shown.entries[0]?.details.reportSha256).toBe(sidecar.reportSha256);
    const cp = sidecar.checkpoint;
    expect(cp.seq).toBe(shown.entries[0]?.seq);
    const signed = encodeCheckpoint({
      stationId: cp.stationId,
      seq: cp.seq,
      headMac: fromHex(cp.headMac),
      time: Date.parse(cp.time),
    });
    expect(ed25519.verify(fromHex(cp.signature), signed, fromHex(cp.publicKey))).toBe(true);
    expect(
      ed25519.verify(
        fromHex(cp.signature),
        signed.map((b, i) => (i === 40 ? b ^ 1 : b)),
        fromHex(cp.publicKey),
      ),
    ).toBe(false);
  });

  it("a format that does not match the work order, and an unknown work order, are coded errors", () => {
    const wrong = station(["import", join(fixtures, "alibaba-gbk.csv"), "--work-order", "WO-G1", "--json"]);
    expect(wrong.status).toBe(1);
    expect(json(wrong)).toMatchObject({ ok: false, error: { code: "import.format_mismatch" } });
    const unknown = station(["import", join(fixtures, "alibaba-gbk.csv"), "--work-order", "WO-NOPE", "--json"]);
    expect(json(unknown)).toMatchObject({ ok: false, error: { code: "ledger.unknown_work_order" } });
  });

  it("a process killed during a large import leaves nothing; the same file then imports", async () => {
    const big = join(dir, "big.csv");
    const rows = ["ProductKey,DeviceName,DeviceSecret"];
    for (let i = 0; i < 150_000; i++) {
      rows.push(`a1B2c3D4e5F,kill-${String(i).padStart(6, "0")},${(`S${i}`.padEnd(32, "x") as string).slice(0, 32)}`);
    }
    await writeFile(big, `${rows.join("\n")}\n`);
    const child = spawn(process.execPath, [stationBin, "import", big, "--work-order", "WO-A1", "--db", db], {
      cwd: dir,
      stdio: "ignore",
    });
    let finished = false;
    const exited = new Promise((resolve) =>
      child.once("exit", (code) => {
        finished = true;
        resolve(code);
      }),
    );
    // Kill it once the uncommitted transaction has spilled into the WAL (the import is well under way). The child is
    // killed whatever happens here: a test that gave up must not leave an import running into the next tests.
    const wal = `${db}-wal`;
    try {
      const deadline = Date.now() + 90_000; // a loaded machine starts the CLI slowly
      while (Date.now() < deadline && !finished && !(existsSync(wal) && statSync(wal).size > 2_000_000)) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(finished, "the import ended before it could be killed").toBe(false);
      expect(existsSync(wal) && statSync(wal).size > 2_000_000).toBe(true);
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
    const status = json(station(["status", "--json"])) as { workOrders: Record<string, { available: number }> };
    expect(status.workOrders["WO-A1"]?.available).toBe(2);
    expect(json(station(["audit", "verify", "--json"]))).toMatchObject({ ok: true });
    const retry = station(["import", big, "--work-order", "WO-A1", "--json", "--shred-source"]);
    expect(retry.status, retry.stderr).toBe(0);
    expect(json(retry)).toMatchObject({ ok: true, imported: 150_000, shredded: true });
    expect(existsSync(big)).toBe(false);
  });

  it("keys rotate re-encrypts every secret; a wrong or missing key file is refused", async () => {
    const rotated = station(["keys", "rotate", "--json"]);
    expect(rotated.status, rotated.stderr).toBe(0);
    expect(json(rotated)).toMatchObject({ ok: true, keyVersion: 2, resealed: 150_006 });
    expect(json(station(["keys", "--json"]))).toMatchObject({ keyVersion: 2, poolKeys: [{ version: 2 }] });

    const other = join(dir, "other.db");
    const start = ["orders", "add", "WO-X", "--product", "a1B2c3D4e5F", "--model", "X", "--min-firmware", "1.0.0"];
    expect(station(start, { db: other }).status).toBe(0); // a second station with its own key
    const typo = station(["status", "--json"], { db: join(dir, "typo.db") });
    expect(json(typo)).toMatchObject({ ok: false, error: { code: "ledger.open_failed" } });
    expect(existsSync(join(dir, "typo.db"))).toBe(false);
    const wrongKey = station(["status", "--json", "--key-file", `${other}.key`]);
    expect(wrongKey.status).toBe(1);
    expect(json(wrongKey)).toMatchObject({ error: { code: "keys.wrong_key" } });
    const missing = station(["status", "--json", "--key-file", join(dir, "nope.key")]);
    expect(json(missing)).toMatchObject({ error: { code: "keys.missing_key_file" } });
    const viaEnv = station(["status", "--json"], { env: { TRIADKIT_STATION_KEY_FILE: `${other}.key` } });
    expect(json(viaEnv)).toMatchObject({ error: { code: "keys.wrong_key" } });
  });

  it("triads list, void (a human decision) and release: void is final", () => {
    const list = json(station(["triads", "--work-order", "WO-G1", "--state", "available", "--json"])) as {
      triads: { id: string; identity: string; state: string }[];
    };
    expect(list.triads).toHaveLength(4);
    expect(list.triads[0]?.identity).toMatch(/^genie:5001234\//);
    const id = list.triads[0]?.id as string;
    const voided = station(["triads", "void", id, "--reason", "platform revoked it", "--json"]);
    expect(voided.status, voided.stderr).toBe(0);
    expect(json(voided)).toMatchObject({ ok: true, triad: { id, state: "void", reason: "platform revoked it" } });
    const release = station(["triads", "release", id, "--reason", "oops", "--json"]);
    expect(release.status).toBe(1);
    expect(json(release)).toMatchObject({ ok: false, error: { code: "ledger.bad_transition" } });
    expect(station(["triads", "void", id]).status).toBe(2); // --reason is required
    expect(station(["triads", "--state", "lost"]).status).toBe(2);
  });

  it("a triad once linked to a board is never released to available (rework or void instead)", async () => {
    const s = await openStation({ dbPath: db, operator: "line-3-alice" });
    const actor = s.actor("line-3-alice");
    const t = await s.ledger.reserve("WO-G1", actor);
    await s.ledger.linkDevice(
      t.id,
      {
        chipId: "c0ffee0011223344",
        wifiMac: "a4c1380e7000",
        model: "TG-SPK-1",
        firmware: "1.2.0",
        recordHash: new Uint8Array(32).fill(7),
        writtenAt: Date.now(),
        sealedPop: s.keyring.sealPop(t.id, new Uint8Array(16).fill(9)),
        popSalt: new Uint8Array(16).fill(1),
      },
      actor,
    );
    await s.ledger.transition(t.id, { to: "quarantined", actor, reason: "verify timed out" });
    await s.close();
    const release = station(["triads", "release", t.id, "--reason", "looks fine", "--json"]);
    expect(release.status).toBe(1);
    expect(json(release)).toMatchObject({
      ok: false,
      error: { code: "ledger.bad_transition", context: { chipId: "c0ffee0011223344" } },
    });
    expect(release.stdout).toContain("rework --chip c0ffee0011223344");
  });

  it("audit verify passes, then finds and locates an edited entry", () => {
    const ok = station(["audit", "verify"]);
    expect(ok.status, ok.stdout).toBe(0);
    expect(ok.stdout).toContain("audit trail OK");
    const cp = json(station(["audit", "checkpoint", "--json"])) as { checkpoint: { seq: number; signature: string } };
    expect(cp.checkpoint.signature).toMatch(/^[0-9a-f]{128}$/);
    const show = json(station(["audit", "show", "--last", "50", "--json"])) as { entries: { action: string }[] };
    expect(show.entries.map((e) => e.action)).toEqual(
      expect.arrayContaining(["station.add", "keys.create", "work_order.add", "import", "keys.rotate"]),
    );
    // The ledger's triggers refuse UPDATE and DELETE on the trail; a tamperer with the file drops them first.
    const sql = new Database(db);
    try {
      const triggers = sql
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_entries'")
        .all() as { name: string }[];
      expect(triggers.length).toBeGreaterThan(0);
      expect(() => sql.prepare("UPDATE audit_entries SET operator = 'mallory' WHERE seq = 3").run()).toThrow(
        /append-only/,
      );
      for (const t of triggers) sql.exec(`DROP TRIGGER "${t.name}"`);
      sql.prepare("UPDATE audit_entries SET operator = 'mallory' WHERE seq = 3").run();
    } finally {
      sql.close();
    }
    const bad = station(["audit", "verify", "--json"]);
    expect(bad.status).toBe(1);
    expect(json(bad)).toMatchObject({
      ok: false,
      problems: [expect.objectContaining({ code: "audit.entry_modified", seq: 3 })],
    });
  });

  it("no secret of any imported row appears in output, reports, the head file or the database in clear", () => {
    const files = [db, `${db}-wal`, `${db}.audit-head`, join(dir, "again.xlsx.report.csv")].filter(existsSync);
    const haystack = outputs.join("\n") + files.map((f) => readFileSync(f).toString("latin1")).join("\n");
    for (const secret of [...GENIE_SECRETS, ...ALIBABA_SECRETS, "Zk3mWv8uTs7rQp6oNm5lKj4iHg3fEd2c"]) {
      expect(haystack).not.toContain(secret);
    }
    expect(haystack).not.toContain("S1000".padEnd(32, "x"));
  });
});
