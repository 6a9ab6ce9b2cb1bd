/**
 * A separate station process for the SQLite process tests (run with `node --conditions=source --import tsx`).
 *
 *   import <db> <workOrder>   imports batches of rows forever inside one session, printing "ADDING <n>" per batch
 *   reserve <db> <workOrder>  reserves until the pool runs dry, then prints {"ids":[...]} on one line
 *   large <db> <workOrder> <rows>  imports that many rows in one session (run it with a small heap), prints the summary
 */
import { isTriadkitError } from "@triadkit/protocol";
import { openStation } from "../open-station.js";
import { genieRows, SOURCE } from "./fixtures.js";

const [mode, dbPath, workOrderId, rows] = process.argv.slice(2) as [string, string, string, string?];
const station = await openStation({ dbPath, busyTimeoutMs: 30_000 });
const actor = station.actor(`pid-${process.pid}`, `F${process.pid % 7}`);

if (mode === "import") {
  const session = await station.ledger.beginImport(workOrderId, SOURCE, actor);
  for (let batch = 0; ; batch++) {
    const issues = await session.add(genieRows(station.keyring, "killed", batch * 500, 500));
    if (issues.length > 0) throw new Error("unexpected issues");
    process.stdout.write(`ADDING ${(batch + 1) * 500}\n`);
    await new Promise((r) => setTimeout(r, 5));
  }
} else if (mode === "large") {
  const session = await station.ledger.beginImport(workOrderId, SOURCE, actor);
  let peak = 0;
  for (let i = 0; i < Number(rows); i += 1000) {
    if ((await session.add(genieRows(station.keyring, "large", i, 1000))).length > 0) throw new Error("issues");
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }
  const summary = await session.commit();
  await station.close();
  process.stdout.write(`${JSON.stringify({ ...summary, peakHeapMb: Math.round(peak / 2 ** 20) })}\n`);
} else if (mode === "reserve") {
  const ids: string[] = [];
  for (;;) {
    try {
      ids.push((await station.ledger.reserve(workOrderId, actor)).id);
    } catch (err) {
      if (isTriadkitError(err, "ledger.pool_exhausted")) break;
      throw err;
    }
  }
  await station.close();
  process.stdout.write(`${JSON.stringify({ ids })}\n`);
}
