/** `triadkit-station status`: triads by state, in total and per work order. */
import type { CliIo } from "@triadkit/sdk";
import type { Command } from "commander";
import { TRIAD_STATES } from "../ledger/types.js";
import { type StationCliOptions, stationOptions, table, withStation } from "./common.js";

export function registerStatusCommand(
  program: Command,
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
): void {
  stationOptions(program.command("status").description("count triads by state, in total and per work order")).action(
    async (options: StationCliOptions) => {
      await withStation(options, io, env, async (station) => {
        const counts = await station.ledger.counts();
        if (options.json) {
          io.out(
            JSON.stringify({
              stationId: station.stationId,
              poolId: station.poolId,
              total: counts.total,
              workOrders: counts.byWorkOrder,
            }),
          );
          return;
        }
        const header = ["work order", ...TRIAD_STATES];
        const rows = Object.entries(counts.byWorkOrder).map(([id, c]) => [
          id,
          ...TRIAD_STATES.map((s) => String(c[s])),
        ]);
        rows.push(["(total)", ...TRIAD_STATES.map((s) => String(counts.total[s]))]);
        for (const line of table([header, ...rows])) io.out(line);
      });
    },
  );
}
