/**
 * `pg-reserve`: reservations per second on the PostgreSQL ledger (issue 11), in a fresh schema of the machine's
 * server (127.0.0.1:5432, database `test`, or TRIADKIT_TEST_POSTGRES_URL), dropped afterwards.
 *
 * - baseline: one station, one reservation at a time (reserve = one transaction: SKIP LOCKED pick, update, the
 *   station's audit entry);
 * - figure: four stations (four PgLedger instances, each its own connection pool of 4), four reservations in flight
 *   each, drawing from the same work order. Every triad handed out once is checked, not timed.
 *
 * Skipped (no figures) when PostgreSQL does not answer.
 */
import { CryptoRandom } from "@triadkit/sdk";
import { grantStation, openPoolKeyring } from "../../provisioning-station/src/keys/pool-keys.js";
import { deriveStationKey } from "../../provisioning-station/src/keys/station-key.js";
import { genieOrder, genieRows, SOURCE, testClock } from "../../provisioning-station/src/ledger/__tests__/fixtures.js";
import {
  dropSchema,
  isReachable,
  TEST_POSTGRES_URL,
  testSchemaName,
} from "../../provisioning-station/src/ledger/__tests__/pg-test-db.js";
import { openPgLedger, type PgLedger } from "../../provisioning-station/src/ledger/postgres/pg-ledger.js";
import { type Benchmark, figure } from "./types.js";

const STATIONS = 4;
const IN_FLIGHT = 4;
const NO_SIZES: Readonly<Record<string, number>> = {};

export const pgReserve: Benchmark = {
  name: "pg-reserve",
  title: "PostgreSQL ledger: reservations per second, one station vs four stations of one pool",
  async run(ctx) {
    const url = new URL(TEST_POSTGRES_URL);
    if (!(await isReachable(url.hostname, Number(url.port || 5432)))) {
      ctx.log(`pg-reserve: PostgreSQL is not reachable at ${url.hostname}:${url.port || 5432}; skipped`);
      return { sizes: NO_SIZES, figures: [] };
    }
    const perPhase = ctx.quick ? 200 : 2000;
    const now = testClock();
    const random = new CryptoRandom();
    const schema = testSchemaName();
    const keys = Array.from({ length: STATIONS }, (_, i) => deriveStationKey(`st-bench${i + 1}`, random.bytes(32)));
    const open = (i: number) =>
      openPgLedger({ connectionString: TEST_POSTGRES_URL, schema, keys: keys[i] as never, now, random });
    const ledgers: PgLedger[] = [];
    try {
      const first = await open(0);
      ledgers.push(first);
      const admin = { stationId: "st-bench1", operator: "bench" };
      const keyring = await openPoolKeyring(first, keys[0] as never, admin, { now, random });
      for (const k of keys.slice(1)) await grantStation(first, keyring, k, admin, { now });
      for (let i = 1; i < STATIONS; i++) ledgers.push(await open(i));
      await first.addWorkOrder(genieOrder("WO-B"), admin);
      const session = await first.beginImport("WO-B", SOURCE, admin);
      for (let from = 0; from < 2 * perPhase; from += 1000) {
        await session.add(genieRows(keyring, "bench", from, Math.min(1000, 2 * perPhase - from)));
      }
      await session.commit();
      ctx.log(`pg-reserve: ${2 * perPhase} triads imported`);

      let t0 = performance.now();
      for (let i = 0; i < perPhase; i++) await first.reserve("WO-B", admin);
      const single = perPhase / ((performance.now() - t0) / 1000);

      t0 = performance.now();
      const ids: string[] = [];
      let left = perPhase;
      await Promise.all(
        ledgers.flatMap((ledger, i) =>
          Array.from({ length: IN_FLIGHT }, async () => {
            const actor = { stationId: `st-bench${i + 1}`, operator: "bench" };
            while (left > 0) {
              left--;
              ids.push((await ledger.reserve("WO-B", actor)).id);
            }
          }),
        ),
      );
      const many = perPhase / ((performance.now() - t0) / 1000);
      if (new Set(ids).size !== perPhase) throw new Error("pg-reserve: a triad was handed out twice");
      return {
        sizes: { triads: 2 * perPhase, stations: STATIONS, inFlightPerStation: IN_FLIGHT },
        figures: [
          figure({
            label: `${STATIONS} stations × ${IN_FLIGHT} in flight`,
            unit: "reservations/s",
            value: many,
            baseline: { label: "1 station, 1 in flight", value: single },
            note: "each reservation is one transaction with its audit entry; PostgreSQL shares the 2 cores",
          }),
        ],
      };
    } finally {
      for (const l of ledgers) await l.close();
      await dropSchema(schema);
    }
  },
};
