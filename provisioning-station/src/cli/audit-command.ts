/** `triadkit-station audit verify` and `audit show`: the tamper-evident trail of everything the station did. */
import { toHex } from "@triadkit/protocol";
import { type CliIo, CliUsageError } from "@triadkit/sdk";
import type { Command } from "commander";
import { checkpointJson } from "../audit/checkpoint-json.js";
import { acceptRestoredHead } from "../ledger/accept-head.js";
import {
  parsePositiveInt,
  ReportedFailure,
  type StationCliOptions,
  stationOptions,
  table,
  withStation,
} from "./common.js";

interface ShowOptions extends StationCliOptions {
  readonly last: number;
}

interface AcceptOptions extends StationCliOptions {
  readonly reason: string;
  readonly fence?: number;
}

function nonNegativeInt(value: string): number {
  if (!/^(0|[1-9][0-9]{0,8})$/.test(value)) throw new CliUsageError(`not a whole number: ${value}`);
  return Number(value);
}

export function registerAuditCommand(
  program: Command,
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
): void {
  const audit = program.command("audit").description("the audit trail: chained, MACed entries and signed checkpoints");

  stationOptions(
    audit
      .command("verify")
      .description(
        "check the chain, the checkpoints and the head counter; exit 1 and say where if anything was changed",
      ),
  ).action(async (options: StationCliOptions) => {
    await withStation(options, io, env, async (station) => {
      const result = await station.verifyAudit();
      if (options.json) {
        io.out(JSON.stringify(result));
      } else {
        io.out(
          `station ${result.stationId}: ${result.entries} entries (last seq ${result.lastSeq}), ` +
            `${result.checkpoints} checkpoints, head counter ${result.headSeq ?? "unreadable"}`,
        );
        for (const p of result.problems) {
          const where = p.lastSeq === undefined || p.lastSeq === p.seq ? `seq ${p.seq}` : `seq ${p.seq}–${p.lastSeq}`;
          io.out(`  ${p.code} at ${where}: ${p.message}`);
        }
        if (result.moreProblems > 0) io.out(`  … and ${result.moreProblems} more`);
        io.out(result.ok ? "audit trail OK" : "audit trail FAILED verification");
      }
      if (!result.ok) throw new ReportedFailure(result.problems[0]?.code ?? "audit.entry_modified");
    });
  });

  stationOptions(
    audit
      .command("show")
      .description("print the latest entries of this station's chain")
      .option("--last <n>", "how many entries", parsePositiveInt, 20),
  ).action(async (options: ShowOptions) => {
    await withStation(options, io, env, async (station) => {
      const all = [];
      let after = 0;
      for (;;) {
        const page = await station.ledger.auditEntries(station.stationId, after, 1000);
        if (page.length === 0) break;
        all.push(...page);
        if (all.length > options.last) all.splice(0, all.length - options.last);
        after = page[page.length - 1]?.seq ?? after;
      }
      const entries = all.map((e) => ({
        seq: e.seq,
        time: new Date(e.time).toISOString(),
        operator: e.operator,
        fixture: e.fixture,
        action: e.action,
        triadId: e.triadId,
        identity: e.identity,
        details: JSON.parse(e.details || "{}") as unknown,
        mac: toHex(e.mac),
      }));
      if (options.json) {
        io.out(JSON.stringify({ stationId: station.stationId, entries }));
        return;
      }
      const rows = entries.map((e) => [
        String(e.seq),
        e.time,
        e.operator,
        e.action,
        e.identity || e.triadId,
        JSON.stringify(e.details),
      ]);
      for (const line of table([["seq", "time", "operator", "action", "subject", "details"], ...rows])) io.out(line);
    });
  });

  stationOptions(
    audit
      .command("accept-head")
      .description(
        "accept a database restored from an older copy (audit.truncated): fence triads it may have issued, record the decision, move the head",
      )
      .requiredOption("--reason <text>", "why the older copy is accepted (recorded as a human decision)")
      .option(
        "--fence <n>",
        "quarantine the first n available triads of every work order (default: the number of lost audit entries; required when the head file is missing)",
        nonNegativeInt,
      ),
  ).action(async (options: AcceptOptions) => {
    if (options.reason.trim() === "") throw new CliUsageError("--reason must not be empty");
    await withStation(
      options,
      io,
      env,
      async (station, actor) => {
        const r = await acceptRestoredHead(station, actor, {
          reason: options.reason,
          ...(options.fence === undefined ? {} : { fence: options.fence }),
        });
        if (options.json) {
          io.out(JSON.stringify({ ok: true, ...r }));
          return;
        }
        io.out(
          r.previousHead.seq === 0
            ? `accepted: the head file was missing; the chain ends at seq ${r.lastSeq}; decision recorded at seq ${r.seq}`
            : `accepted: the head file said seq ${r.previousHead.seq}; the older copy ended at seq ${r.restoredSeq} ` +
                `(${r.lastSeq} now); decision recorded at seq ${r.seq}`,
        );
        io.out(`fenced ${r.fenced.length} triad(s) (up to ${r.fence} per work order) as quarantined`);
      },
      { quietHead: true },
    ); // the head is rewritten at the end: no warning per fenced triad
  });

  stationOptions(
    audit
      .command("checkpoint")
      .description("sign and store a checkpoint of the chain head now (for a report or a hand-over)"),
  ).action(async (options: StationCliOptions) => {
    await withStation(options, io, env, async (station) => {
      const json = checkpointJson(await station.ledger.checkpoint(), station.stationKey.publicKey);
      if (options.json) io.out(JSON.stringify({ ok: true, checkpoint: json }));
      else
        io.out(`checkpoint of ${json.stationId} at seq ${json.seq}: head ${json.headMac}, signature ${json.signature}`);
    });
  });
}
