import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectTriadkitErrorAsync } from "@triadkit/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { STATION_KEY_ENV } from "../keys/station-key.js";
import { testClock } from "./__tests__/fixtures.js";
import { dropSchema, requirePostgres, TEST_POSTGRES_URL, testSchemaName } from "./__tests__/pg-test-db.js";
import { isPostgresUrl, openStation, pgTarget, redactDbUrl } from "./open-station.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tk-station-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("openStation", () => {
  it("creates database, key file (0600), pool and first pool key on first run; reopens them after", async () => {
    const dbPath = join(dir, "ledger.db");
    const s1 = await openStation({ dbPath, now: testClock(), operator: "installer" });
    expect(s1.created).toEqual({ database: true, keyFile: true });
    expect(s1.keyFile).toEqual({ path: `${dbPath}.key`, source: "default" });
    expect(statSync(`${dbPath}.key`).mode & 0o777).toBe(0o600);
    expect(s1.stationId).toMatch(/^st-[0-9a-f]{16}$/);
    expect(s1.poolId).toMatch(/^[0-9a-f]{32}$/);
    const entries = await s1.ledger.auditEntries(s1.stationId, 0, 10);
    expect(entries.map((e) => [e.action, e.operator])).toEqual([
      ["station.add", "installer"],
      ["keys.create", "installer"],
    ]);
    await s1.close();
    const s2 = await openStation({ dbPath, now: testClock(2_000_000_000_000) });
    expect(s2.created).toEqual({ database: false, keyFile: false });
    expect([s2.stationId, s2.poolId, s2.keyring.keyVersion]).toEqual([s1.stationId, s1.poolId, 1]);
    expect(await s2.verifyAudit()).toMatchObject({ ok: true, entries: 2, headSeq: 2 });
    await s2.close();
  });

  it("takes the key file from the option, then TRIADKIT_STATION_KEY_FILE", async () => {
    const dbPath = join(dir, "ledger.db");
    const keyFile = join(dir, "custom.key");
    const s = await openStation({ dbPath, env: { [STATION_KEY_ENV]: keyFile } });
    expect(s.keyFile).toEqual({ path: keyFile, source: "env" });
    await s.close();
    const again = await openStation({ dbPath, keyFile, env: { [STATION_KEY_ENV]: "/nowhere" } });
    expect(again.keyFile.source).toBe("option");
    await again.close();
  });

  it("refuses an existing ledger without its key file, with another station's key, or an open key file", async () => {
    const dbPath = join(dir, "ledger.db");
    const s = await openStation({ dbPath });
    await s.close();
    await expectTriadkitErrorAsync(
      () => openStation({ dbPath, keyFile: join(dir, "missing.key") }),
      "keys.missing_key_file",
    );
    const stranger = await openStation({ dbPath: join(dir, "other.db") });
    await stranger.close();
    await expectTriadkitErrorAsync(() => openStation({ dbPath, keyFile: join(dir, "other.db.key") }), "keys.wrong_key");
    // Same station id, different root material: also the wrong key.
    const twin = await openStation({ dbPath: join(dir, "twin.db"), stationId: s.stationId });
    await twin.close();
    await expectTriadkitErrorAsync(() => openStation({ dbPath, keyFile: join(dir, "twin.db.key") }), "keys.wrong_key");
    chmodSync(`${dbPath}.key`, 0o644);
    await expectTriadkitErrorAsync(() => openStation({ dbPath }), "keys.bad_key_file");
    chmodSync(`${dbPath}.key`, 0o600);
    const ok = await openStation({ dbPath });
    expect(await ok.verifyAudit()).toMatchObject({ ok: true });
    await ok.close();
  });

  it("a copy of the database keeps its pool; the original key file opens the copy", async () => {
    const dbPath = join(dir, "ledger.db");
    const s = await openStation({ dbPath });
    await s.close();
    copyFileSync(dbPath, join(dir, "copy.db"));
    const c = await openStation({ dbPath: join(dir, "copy.db"), keyFile: `${dbPath}.key` });
    expect(c.poolId).toBe(s.poolId);
    await c.close();
  });
});

describe("openStation on a PostgreSQL URL", () => {
  it("tells URLs from paths, redacts the password and reads the schema from the URL", () => {
    expect(isPostgresUrl("postgres://h/db")).toBe(true);
    expect(isPostgresUrl("PostgreSQL://h/db")).toBe(true);
    expect(isPostgresUrl("/srv/postgres://x.db")).toBe(false);
    expect(isPostgresUrl("ledger.db")).toBe(false);
    expect(redactDbUrl("postgres://line:s3cr%21t@db.local:5432/pool")).toBe("postgres://line:***@db.local:5432/pool");
    expect(redactDbUrl("postgres://line@db.local/pool")).toBe("postgres://line@db.local/pool");
    expect(pgTarget("postgres://u:p@h:5432/test?schema=line_pool")).toEqual({
      connectionString: "postgres://u:p@h:5432/test",
      schema: "line_pool",
    });
    expect(pgTarget("postgres://h/test?options=-c%20search_path%3Dpool_a").schema).toBe("pool_a");
    expect(pgTarget("postgres://h/test").schema).toBe("public");
  });

  it("has no default key file beside a URL, and an unreachable server is ledger.open_failed", async () => {
    const url = "postgres://line:hunter2@127.0.0.1:1/test";
    const err = await openStation({ dbPath: url }).then(
      () => new Error("opened"),
      (e: unknown) => e as Error,
    );
    expect((err as { code?: string }).code).toBe("keys.missing_key_file");
    expect(err.message).not.toContain("hunter2");
    expect(JSON.stringify((err as { context?: unknown }).context)).not.toContain("hunter2");
    const keyFile = join(dir, "line.key");
    await expectTriadkitErrorAsync(() => openStation({ dbPath: url, keyFile }), "ledger.open_failed");
    const down = await openStation({ dbPath: url, keyFile, create: true }).then(
      () => new Error("opened"),
      (e: unknown) => e as Error,
    );
    expect((down as { code?: string }).code).toBe("ledger.open_failed");
    expect(`${down.message} ${JSON.stringify((down as { context?: unknown }).context)}`).not.toContain("hunter2");
    expect(existsSync(keyFile)).toBe(false); // no key file made for a pool that could not be reached
  });
});

describe("openStation on the machine's PostgreSQL", () => {
  it("starts a pool only when asked to; a second station needs a grant", async (ctx) => {
    if (!(await requirePostgres())) return ctx.skip();
    const schema = testSchemaName();
    const u = new URL(TEST_POSTGRES_URL);
    u.searchParams.set("schema", schema);
    const dbPath = u.toString();
    const keyFile = join(dir, "line-1.key");
    try {
      await expectTriadkitErrorAsync(() => openStation({ dbPath, keyFile, now: testClock() }), "ledger.open_failed");
      const first = await openStation({ dbPath, keyFile, create: true, now: testClock() });
      expect([first.backend, first.headFile, first.created.keyFile]).toEqual(["postgres", undefined, true]);
      await first.close();
      const again = await openStation({ dbPath, keyFile, now: testClock() });
      expect((await again.verifyAudit()).ok).toBe(true);
      await again.close();
      const other = join(dir, "line-2.key");
      await expectTriadkitErrorAsync(() => openStation({ dbPath, keyFile: other }), "keys.missing_key_file");
      await expectTriadkitErrorAsync(() => openStation({ dbPath, keyFile: other, create: true }), "keys.wrong_key");
    } finally {
      await dropSchema(schema);
    }
  });
});
