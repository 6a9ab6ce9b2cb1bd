/**
 * Test helper: a station on a temp database whose triads are driven through the real ledger to any state, each
 * linked to a chip with a PoP sealed by the pool keyring (what a burn records), optionally holding a shelf code.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatPop } from "@triadkit/protocol";
import { CryptoRandom } from "@triadkit/sdk";
import {
  alibabaOrder,
  alibabaRows,
  genieOrder,
  genieRows,
  knownSecret,
  SOURCE,
} from "../../ledger/__tests__/fixtures.js";
import { openStation, type Station } from "../../ledger/open-station.js";
import type { SealedRow, TriadState } from "../../ledger/types.js";

export interface LabelDevice {
  readonly triadId: string;
  readonly chipId: string;
  readonly pop: Uint8Array;
  readonly popText: string;
  readonly secret: string;
  readonly shelfCode?: string;
}

export interface LabelStation {
  readonly dir: string;
  readonly dbPath: string;
  readonly station: Station;
  /** Imports one triad and drives it to `state` (`reserved` and later ones are linked to `chipId`). */
  device(options: {
    chipId: string;
    state?: TriadState;
    family?: "alibaba" | "genie";
    shelfCode?: string;
  }): Promise<LabelDevice>;
  /** Closes the station (the database stays, e.g. for the CLI to open). */
  release(): Promise<void>;
  /** Closes the station if still open and removes the directory. */
  close(): Promise<void>;
}

export async function labelStation(): Promise<LabelStation> {
  const dir = mkdtempSync(join(tmpdir(), "tk-label-"));
  const dbPath = join(dir, "station.db");
  const station = await openStation({ dbPath, operator: "tester" });
  const actor = station.actor("tester");
  const ledger = station.ledger;
  const random = new CryptoRandom();
  await ledger.addWorkOrder(alibabaOrder("WO-A"), actor);
  await ledger.addWorkOrder(genieOrder("WO-G"), actor);
  let next = 0;
  let open = true;
  return {
    dir,
    dbPath,
    station,
    async device({ chipId, state = "verified", family = "alibaba", shelfCode }) {
      const i = next++;
      const workOrder = family === "alibaba" ? "WO-A" : "WO-G";
      const rows: SealedRow[] = (family === "alibaba" ? alibabaRows : genieRows)(station.keyring, "label", i, 1);
      const session = await ledger.beginImport(workOrder, { ...SOURCE, fileName: `sheet-${i}.csv` }, actor);
      await session.add(rows);
      await session.commit();
      const triadId = (rows[0] as SealedRow).id;
      const pop = random.bytes(16);
      if (state !== "available") {
        const reserved = await ledger.reserve(workOrder, actor);
        if (reserved.id !== triadId) throw new Error("the fixture reserved another triad");
        if (shelfCode !== undefined) {
          const r = await ledger.importShelfDevices(
            [{ row: 0, brand: "Acme", storeId: 77, deviceCode: shelfCode }],
            { via: "line" },
            actor,
          );
          if (!r.ok) throw new Error("shelf code refused");
          await ledger.assignShelfDevice(chipId, { storeId: 77 }, actor);
        }
        await ledger.linkDevice(
          triadId,
          {
            chipId,
            wifiMac: "0c0000aa0001",
            model: "TK-PLUG-2",
            firmware: "2.0.1",
            recordHash: new Uint8Array(32).fill(7),
            writtenAt: Date.now(),
            sealedPop: station.keyring.sealPop(triadId, pop),
            popSalt: new Uint8Array(16).fill(9),
            ...(shelfCode === undefined ? {} : { shelf: { storeId: 77, deviceCode: shelfCode } }),
          },
          actor,
        );
        const path: TriadState[] = ["written", "verified", "registered"];
        const target = path.indexOf(state);
        for (let s = 0; s <= target; s++) await ledger.transition(triadId, { to: path[s] as TriadState, actor });
        if (state === "quarantined") await ledger.transition(triadId, { to: "quarantined", actor, reason: "test" });
      }
      return {
        triadId,
        chipId,
        pop,
        popText: formatPop(pop),
        secret: knownSecret("label", i),
        ...(shelfCode === undefined ? {} : { shelfCode }),
      };
    },
    async release() {
      if (open) await station.close();
      open = false;
    },
    async close() {
      if (open) await station.close();
      open = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
