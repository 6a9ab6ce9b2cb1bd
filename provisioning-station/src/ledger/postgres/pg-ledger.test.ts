/**
 * The whole Ledger contract suite against PostgreSQL (each fixture in its own schema, dropped afterwards), and
 * several stations of one pool reserving from one work order at once. Skipped loudly without PostgreSQL; a
 * failure with TRIADKIT_REQUIRE_SERVICES=1.
 */
import { isTriadkitError } from "@triadkit/protocol";
import { CryptoRandom } from "@triadkit/sdk";
import { describe, expect, it } from "vitest";
import { grantStation, openPoolKeyring } from "../../keys/pool-keys.js";
import { deriveStationKey } from "../../keys/station-key.js";
import { genieOrder, genieRows, SOURCE, testClock } from "../__tests__/fixtures.js";
import { dropSchema, requirePostgres, TEST_POSTGRES_URL, testSchemaName } from "../__tests__/pg-test-db.js";
import { ledgerContract } from "../ledger.contract.js";
import type { TriadRecord } from "../types.js";
import { openPgLedger } from "./pg-ledger.js";

const available = await requirePostgres();

describe.skipIf(!available)("PostgreSQL ledger", () => {
  ledgerContract("postgres", async ({ now, random }) => {
    const schema = testSchemaName();
    const stationKey = deriveStationKey("st-contract", random.bytes(32));
    const open = () => openPgLedger({ connectionString: TEST_POSTGRES_URL, schema, keys: stationKey, now, random });
    const ledger = await open();
    return {
      ledger,
      stationKey,
      openAnother: open,
      async cleanup() {
        await ledger.close();
        await dropSchema(schema);
      },
    };
  });

  it("several stations of one pool reserve from one work order at once: each triad once, totals add up", async () => {
    const now = testClock();
    const random = new CryptoRandom();
    const schema = testSchemaName();
    const keys = ["st-line1", "st-line2", "st-line3", "st-line4"].map((id) => deriveStationKey(id, random.bytes(32)));
    const open = (i: number) =>
      openPgLedger({ connectionString: TEST_POSTGRES_URL, schema, keys: keys[i] as never, now, random });
    const first = await open(0);
    const stations = [first];
    try {
      const admin = { stationId: "st-line1", operator: "alice" };
      const keyring = await openPoolKeyring(first, keys[0] as never, admin, { now, random });
      for (const k of keys.slice(1)) await grantStation(first, keyring, k, admin, { now });
      for (let i = 1; i < keys.length; i++) stations.push(await open(i));
      await first.addWorkOrder(genieOrder("WO-1"), admin);
      const session = await first.beginImport("WO-1", SOURCE, admin);
      expect(await session.add(genieRows(keyring, "multi", 0, 60))).toEqual([]);
      await session.commit();

      const attempts = stations.flatMap((ledger, i) =>
        Array.from({ length: 20 }, (_, j) =>
          ledger
            .reserve("WO-1", { stationId: `st-line${i + 1}`, operator: "op", fixture: `F${j % 2}` })
            .catch((e: unknown) => e),
        ),
      );
      const results = await Promise.all(attempts);
      const got = results.filter((r): r is TriadRecord => !(r instanceof Error));
      expect(got).toHaveLength(60);
      expect(new Set(got.map((t) => t.id)).size).toBe(60);
      expect(results.filter((r) => r instanceof Error).every((e) => isTriadkitError(e, "ledger.pool_exhausted"))).toBe(
        true,
      );
      const counts = await first.counts();
      expect(counts.total).toMatchObject({ available: 0, reserved: 60 });
      const held = new Map<string, number>();
      for (const t of await first.listTriads({ limit: 100 })) {
        held.set(t.holder?.stationId ?? "", (held.get(t.holder?.stationId ?? "") ?? 0) + 1);
      }
      const perStation = got.reduce<Record<string, number>>((acc, t) => {
        const s = t.holder?.stationId ?? "";
        acc[s] = (acc[s] ?? 0) + 1;
        return acc;
      }, {});
      expect(Object.fromEntries(held)).toEqual(perStation);
      // Each station's own chain holds exactly its reservations.
      for (const [i, ledger] of stations.entries()) {
        const entries = await ledger.auditEntries(`st-line${i + 1}`, 0, 1000);
        expect(entries.map((e) => e.seq)).toEqual(entries.map((_, k) => k + 1));
        expect(entries.filter((e) => e.action === "reserve")).toHaveLength(perStation[`st-line${i + 1}`] ?? 0);
      }
    } finally {
      for (const s of stations) await s.close();
      await dropSchema(schema);
    }
  });
});
