/**
 * PostgreSQL ledger plumbing against the machine's server: bounded retries, migrations, open failures, and two
 * stations importing the same rows at once. Skipped loudly without PostgreSQL (a failure with
 * TRIADKIT_REQUIRE_SERVICES=1).
 */
import { expectTriadkitErrorAsync } from "@triadkit/protocol";
import { CryptoRandom } from "@triadkit/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { grantStation, openPoolKeyring } from "../../keys/pool-keys.js";
import { deriveStationKey } from "../../keys/station-key.js";
import { genieOrder, genieRows, SOURCE, testClock } from "../__tests__/fixtures.js";
import { dropSchema, requirePostgres, TEST_POSTGRES_URL, testSchemaName } from "../__tests__/pg-test-db.js";
import { openPgLedger, type PgLedger } from "./pg-ledger.js";
import { connectPool, inTransaction, migratePg, PG_SCHEMA_VERSION } from "./pg-schema.js";

const available = await requirePostgres();

describe.skipIf(!available)("PostgreSQL ledger plumbing", () => {
  const schemas: string[] = [];
  const closers: (() => Promise<void>)[] = [];
  const newSchema = () => {
    const s = testSchemaName();
    schemas.push(s);
    return s;
  };
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
    for (const s of schemas.splice(0)) await dropSchema(s);
  });

  it("retries a serialization failure or deadlock a bounded number of times, then ledger.busy", async () => {
    const pool = connectPool({ connectionString: TEST_POSTGRES_URL });
    closers.push(() => pool.end());
    let calls = 0;
    const result = await inTransaction(pool, async (db) => {
      calls++;
      if (calls < 3)
        throw Object.assign(new Error("could not serialize access"), { code: calls === 1 ? "40001" : "40P01" });
      return (await db.query<{ n: number }>("SELECT 1::bigint AS n")).rows[0]?.n;
    });
    expect(result).toBe(1); // BIGINT read as a number
    expect(calls).toBe(3);
    let tries = 0;
    const err = await expectTriadkitErrorAsync(
      () =>
        inTransaction(
          pool,
          async () => {
            tries++;
            throw Object.assign(new Error("deadlock detected"), { code: "40P01" });
          },
          { attempts: 4 },
        ),
      "ledger.busy",
    );
    expect(tries).toBe(4);
    expect(err.context).toMatchObject({ attempts: 4, sqlstate: "40P01" });
    // Anything else is not retried.
    tries = 0;
    await expect(
      inTransaction(pool, async () => {
        tries++;
        throw Object.assign(new Error("unique"), { code: "23505" });
      }),
    ).rejects.toThrow("unique");
    expect(tries).toBe(1);
  });

  it("migrates once, records every version, and refuses a newer schema", async () => {
    const schema = newSchema();
    const pool = connectPool({ connectionString: TEST_POSTGRES_URL, schema });
    closers.push(() => pool.end());
    const now = testClock();
    await Promise.all([migratePg(pool, schema, now), migratePg(pool, schema, now)]);
    const versions = await pool.query<{ version: number }>("SELECT version FROM schema_migrations ORDER BY version");
    expect(versions.rows.map((r) => r.version)).toEqual(Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => i + 1));
    await pool.query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)", [PG_SCHEMA_VERSION + 1]);
    await expectTriadkitErrorAsync(() => migratePg(pool, schema, now), "ledger.schema_too_new");
  });

  it("reports an unreachable server as ledger.open_failed", async () => {
    const random = new CryptoRandom();
    await expectTriadkitErrorAsync(
      () =>
        openPgLedger({
          connectionString: "postgres://postgres@127.0.0.1:1/test",
          keys: deriveStationKey("st-x", random.bytes(32)),
          now: testClock(),
          random,
        }),
      "ledger.open_failed",
    );
    await expectTriadkitErrorAsync(
      () =>
        openPgLedger({
          connectionString: TEST_POSTGRES_URL,
          schema: "Bad-Name",
          keys: deriveStationKey("st-x", random.bytes(32)),
          now: testClock(),
          random,
        }),
      "config.invalid",
    );
  });

  it("two stations importing the same rows at once: one import holds them, the other is refused row by row", async () => {
    const schema = newSchema();
    const now = testClock();
    const random = new CryptoRandom();
    const keys = [deriveStationKey("st-a", random.bytes(32)), deriveStationKey("st-b", random.bytes(32))];
    const open = (i: number) =>
      openPgLedger({ connectionString: TEST_POSTGRES_URL, schema, keys: keys[i] as never, now, random });
    const a = await open(0);
    closers.push(() => a.close());
    const actorA = { stationId: "st-a", operator: "alice" };
    const actorB = { stationId: "st-b", operator: "bob" };
    const keyring = await openPoolKeyring(a, keys[0] as never, actorA, { now, random });
    await grantStation(a, keyring, keys[1] as never, actorA, { now });
    const b: PgLedger = await open(1);
    closers.push(() => b.close());
    await a.addWorkOrder(genieOrder("WO-1"), actorA);
    await a.addWorkOrder(genieOrder("WO-2"), actorA);
    const rows = genieRows(keyring, "same", 0, 50);
    // Same identities and secrets, other triad ids: the second import must refuse all of them.
    const again = genieRows(keyring, "same", 0, 50);
    const sa = await a.beginImport("WO-1", SOURCE, actorA);
    const sb = await b.beginImport("WO-2", SOURCE, actorB);
    expect(await sa.add(rows)).toEqual([]);
    const pendingB = sb.add(again); // waits on A's uncommitted unique keys
    await sa.commit();
    const issues = await pendingB;
    expect(new Set(issues.map((i) => i.row)).size).toBe(50);
    expect(issues.every((i) => i.code === "import.triad_exists" || i.code === "import.duplicate_secret")).toBe(true);
    await expectTriadkitErrorAsync(() => sb.commit(), "import.rejected");
    const counts = await b.counts();
    expect(counts.byWorkOrder["WO-1"]?.available).toBe(50);
    expect(counts.byWorkOrder["WO-2"]?.available).toBe(0);
  });
});
