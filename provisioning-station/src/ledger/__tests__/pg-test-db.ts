/**
 * Test support for the PostgreSQL ledger: the machine's server (127.0.0.1:5432, trust auth, database `test`, or
 * TRIADKIT_TEST_POSTGRES_URL), and a fresh schema per fixture, dropped at cleanup. Not used by the station itself.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { isReachable, requireService } from "../../../../test/helpers/services.js";

export const TEST_POSTGRES_URL = process.env.TRIADKIT_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** True when PostgreSQL answers; otherwise a loud notice and false, or a failure with TRIADKIT_REQUIRE_SERVICES=1. */
export async function requirePostgres(): Promise<boolean> {
  const url = new URL(TEST_POSTGRES_URL);
  const host = url.hostname;
  const port = Number(url.port || 5432);
  if (!(await requireService("PostgreSQL", host, port))) return false;
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch (err) {
    const message = `PostgreSQL at ${host}:${port} refused the test connection (${(err as Error).message})`;
    if (process.env.TRIADKIT_REQUIRE_SERVICES === "1") {
      throw new Error(`${message}, and TRIADKIT_REQUIRE_SERVICES=1 requires it`);
    }
    console.warn(`\n*** SKIPPED: ${message}; the PostgreSQL ledger tests did not run ***\n`);
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export { isReachable };

/** A new schema name for one fixture. */
export function testSchemaName(): string {
  return `triadkit_test_${randomBytes(6).toString("hex")}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}
