/** A station on a temp database with one Genie work order of known secrets, and the BurnContext to burn with. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ErrorCode } from "@triadkit/protocol";
import { CryptoRandom, MemorySerialLink } from "@triadkit/sdk";
import { obtainFactoryAnchor } from "../../keys/factory-anchor.js";
import { genieOrder, genieRows, SOURCE } from "../../ledger/__tests__/fixtures.js";
import { openStation, type Station } from "../../ledger/open-station.js";
import type { WorkOrder } from "../../ledger/types.js";
import type { BurnContext } from "../device-steps.js";
import type { FakeDevice } from "./fake-device.js";

export const ORDER_ID = "WO-B1";
export const TAG = "burn";

export interface Alert {
  readonly code: ErrorCode;
  readonly message: string;
}

export interface BurnHarness {
  readonly dir: string;
  readonly dbPath: string;
  station: Station;
  ctx: BurnContext;
  order: WorkOrder;
  readonly alerts: Alert[];
  /** Closes and opens the station again (a restart), with a fresh context. */
  reopen(options?: { retries?: number }): Promise<void>;
  close(): Promise<void>;
}

export async function burnContext(station: Station, alerts: Alert[], retries = 1): Promise<BurnContext> {
  const random = new CryptoRandom();
  const actor = station.actor("tester");
  const anchor = await obtainFactoryAnchor(station.ledger, station.keyring, actor, {
    random,
    now: Date.now,
    create: true,
  });
  return {
    ledger: station.ledger,
    keyring: station.keyring,
    anchor,
    stationId: station.stationId,
    operator: "tester",
    random,
    now: Date.now,
    retries,
    alert: (code, message) => alerts.push({ code, message }),
  };
}

export async function burnHarness(
  count: number,
  options: { retries?: number; from?: number } = {},
): Promise<BurnHarness> {
  const dir = mkdtempSync(join(tmpdir(), "tk-burn-"));
  const dbPath = join(dir, "station.db");
  const alerts: Alert[] = [];
  const station = await openStation({ dbPath, operator: "tester" });
  const actor = station.actor("tester");
  await station.ledger.addWorkOrder(genieOrder(ORDER_ID), actor);
  if (count > 0) {
    const session = await station.ledger.beginImport(ORDER_ID, SOURCE, actor);
    await session.add(genieRows(station.keyring, TAG, options.from ?? 0, count));
    await session.commit();
  }
  const order = (await station.ledger.getWorkOrder(ORDER_ID)) as WorkOrder;
  const h: BurnHarness = {
    dir,
    dbPath,
    station,
    ctx: await burnContext(station, alerts, options.retries),
    order,
    alerts,
    async reopen(o = {}) {
      await h.station.close();
      h.station = await openStation({ dbPath, operator: "tester" });
      h.ctx = await burnContext(h.station, alerts, o.retries ?? options.retries);
    },
    async close() {
      await h.station.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

/** A fresh cable between the station and the device: returns the station's end. */
export function plug(device: FakeDevice): MemorySerialLink {
  const [station, dev] = MemorySerialLink.pair();
  device.attach(dev);
  return station;
}
