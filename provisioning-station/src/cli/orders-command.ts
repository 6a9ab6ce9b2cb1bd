/** `triadkit-station orders [list]` and `orders add <id> --product … --model … --min-firmware …`. */
import type { CliIo } from "@triadkit/sdk";
import type { Command } from "commander";
import type { WorkOrder } from "../ledger/types.js";
import { parsePositiveInt, type StationCliOptions, stationOptions, table, withStation } from "./common.js";

interface AddOptions extends StationCliOptions {
  readonly product: string;
  readonly model: string;
  readonly minFirmware: string;
  readonly quantity?: number;
  readonly line?: string;
  readonly brand?: string;
}

function orderJson(o: WorkOrder) {
  return {
    id: o.id,
    product: o.product,
    family: o.family,
    model: o.model,
    minFirmware: o.minFirmware,
    quantity: o.quantity ?? null,
    line: o.line ?? null,
    brand: o.brand ?? null,
    createdAt: new Date(o.createdAt).toISOString(),
  };
}

export function registerOrdersCommand(
  program: Command,
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
): void {
  const orders = program
    .command("orders")
    .description("work orders: a pool of triads for one product, hardware model and minimum firmware");

  stationOptions(orders.command("list", { isDefault: true }).description("list the work orders")).action(
    async (options: StationCliOptions) => {
      await withStation(options, io, env, async (station) => {
        const list = await station.ledger.listWorkOrders();
        const counts = await station.ledger.counts();
        if (options.json) {
          io.out(
            JSON.stringify({
              workOrders: list.map((o) => ({ ...orderJson(o), triads: counts.byWorkOrder[o.id] ?? null })),
            }),
          );
          return;
        }
        if (list.length === 0) {
          io.out(
            "no work orders (add one with: triadkit-station orders add <id> --product … --model … --min-firmware …)",
          );
          return;
        }
        const header = ["id", "product", "family", "model", "min firmware", "quantity", "line", "brand", "available"];
        const rows = list.map((o) => [
          o.id,
          o.product,
          o.family,
          o.model,
          o.minFirmware,
          o.quantity === undefined ? "-" : String(o.quantity),
          o.line ?? "-",
          o.brand ?? "-",
          String(counts.byWorkOrder[o.id]?.available ?? 0),
        ]);
        for (const line of table([header, ...rows])) io.out(line);
      });
    },
  );

  stationOptions(
    orders
      .command("add")
      .description("create a work order (its id is never reused)")
      .argument("<id>", "work order id, e.g. WO-2026-0042")
      .requiredOption("--product <key-or-id>", "Alibaba ProductKey or Tmall Genie Product ID")
      .requiredOption("--model <model>", "hardware model the triads may be burnt into")
      .requiredOption("--min-firmware <version>", "lowest firmware version accepted at burn time, e.g. 1.4.0")
      .option("--quantity <n>", "devices planned (an import past it is refused)", parsePositiveInt)
      .option("--line <line>", "production line")
      .option("--brand <brand>", "brand that owns the product"),
  ).action(async (id: string, options: AddOptions) => {
    await withStation(
      options,
      io,
      env,
      async (station, actor) => {
        const order = await station.ledger.addWorkOrder(
          {
            id,
            product: options.product,
            model: options.model,
            minFirmware: options.minFirmware,
            ...(options.quantity === undefined ? {} : { quantity: options.quantity }),
            ...(options.line === undefined ? {} : { line: options.line }),
            ...(options.brand === undefined ? {} : { brand: options.brand }),
          },
          actor,
        );
        if (options.json) io.out(JSON.stringify({ ok: true, workOrder: orderJson(order) }));
        else io.out(`work order ${order.id} added (${order.family} product ${order.product}, model ${order.model})`);
      },
      { create: true },
    );
  });
}
