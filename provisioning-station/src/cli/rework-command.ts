/**
 * `triadkit-station rework --chip <id> --reason <text> --fixture <name>|--port <path> --revoke|--reverify` and
 * `triadkit-station scrap --chip <id> --reason <text>`. Both record the operator's reason as a human decision in
 * the audit trail; neither prints a secret.
 */
import { TriadkitError } from "@triadkit/protocol";
import { type CliIo, CliUsageError } from "@triadkit/sdk";
import type { Command } from "commander";
import { FactoryClient } from "../burn/factory-client.js";
import { reworkDevice, scrapChip } from "../burn/rework.js";
import { describeIdentity } from "../ledger/identity.js";
import { outcomeJson, outcomeText } from "./burn-command.js";
import { type StationCliOptions, stationOptions, withStation } from "./common.js";
import { openPorts, type PortCliOptions, portOptions, withFixtures } from "./fixture-ports.js";

interface ReworkOptions extends PortCliOptions {
  readonly chip: string;
  readonly reason: string;
  readonly revoke?: boolean;
  readonly reverify?: boolean;
}

interface ScrapOptions extends StationCliOptions {
  readonly chip: string;
  readonly reason: string;
}

function chipId(value: string): string {
  const v = value.trim().toLowerCase();
  if (!/^[0-9a-f]{1,64}$/.test(v))
    throw new CliUsageError(`--chip must be the chip id in hex (as burn prints it): ${value}`);
  return v;
}

function reason(value: string): string {
  if (value.trim() === "") throw new CliUsageError("--reason must not be empty");
  return value.trim();
}

export function registerReworkCommands(
  program: Command,
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
): void {
  const rework = program
    .command("rework")
    .description("rework a burnt board on a fixture: signed unlock, then re-verify it or revoke its triad and reset it")
    .requiredOption("--chip <id>", "the board's chip id (the device on the fixture must show it)", chipId)
    .requiredOption("--reason <text>", "why (recorded as a human decision in the audit trail)", reason)
    .option("--revoke", "void the triad (never reissued) and factory-reset the board: blank, ready for a fresh burn")
    .option("--reverify", "keep the triad: verify it on the board again, lock, mark verified");
  stationOptions(portOptions(rework, false)).action(async (options: ReworkOptions) => {
    if (options.revoke === options.reverify) throw new CliUsageError("give exactly one of --revoke and --reverify");
    const how = { command: "rework", many: false, createAnchor: false };
    await withFixtures(options, io, env, how, async (_station, ctx, [spec]) => {
      if (spec === undefined) throw new CliUsageError("give --fixture <name> or --port <path>");
      const { opened, failed } = await openPorts([spec]);
      const port = opened[0];
      if (port === undefined) throw failed[0]?.error ?? new TriadkitError("station.port_failed", "cannot open");
      const client = new FactoryClient({
        link: port.link,
        random: ctx.random,
        timeoutMs: options.timeoutMs,
        where: spec.fixture,
      });
      try {
        const outcome = await reworkDevice(ctx, client, spec.fixture, {
          chipId: options.chip,
          reason: options.reason,
          mode: options.revoke === true ? "revoke" : "reverify",
        });
        io.out(options.json ? JSON.stringify({ ok: true, ...outcomeJson(outcome) }) : outcomeText(outcome));
      } finally {
        client.close();
        await port.link.close();
      }
    });
  });

  stationOptions(
    program
      .command("scrap")
      .description("scrap a board: its triad is voided (never reissued), its device link recorded as scrapped")
      .requiredOption("--chip <id>", "the board's chip id", chipId)
      .requiredOption("--reason <text>", "why (recorded as a human decision in the audit trail)", reason),
  ).action(async (options: ScrapOptions) => {
    await withStation(options, io, env, async (station, actor) => {
      const { triad, link } = await scrapChip(station.ledger, actor, options.chip, options.reason);
      const json = {
        ok: true,
        chipId: options.chip,
        triad: { id: triad.id, identity: describeIdentity(triad.identity), state: triad.state },
        link: { status: link.status },
      };
      if (options.json) io.out(JSON.stringify(json));
      else io.out(`chip ${options.chip} scrapped: triad ${triad.id} (${json.triad.identity}) is void`);
    });
  });
}
