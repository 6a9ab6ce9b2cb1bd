/**
 * `triadkit-station triads [list]`, `triads release <id>` and `triads void <id>`: the triads themselves, and the
 * human decisions the state machine asks for (a quarantined or reserved triad back to `available`, or `void`).
 */
import { TriadkitError } from "@triadkit/protocol";
import type { CliIo } from "@triadkit/sdk";
import { CliUsageError } from "@triadkit/sdk";
import type { Command } from "commander";
import { describeIdentity } from "../ledger/identity.js";
import { TRIAD_STATES, type TriadRecord, type TriadState } from "../ledger/types.js";
import { parsePositiveInt, type StationCliOptions, stationOptions, table, withStation } from "./common.js";

interface ListOptions extends StationCliOptions {
  readonly workOrder?: string;
  readonly state?: string[];
  readonly limit: number;
}

interface DecisionOptions extends StationCliOptions {
  readonly reason: string;
}

function triadJson(t: TriadRecord) {
  return {
    id: t.id,
    workOrderId: t.workOrderId,
    identity: describeIdentity(t.identity),
    state: t.state,
    reason: t.reason ?? null,
    updatedAt: new Date(t.updatedAt).toISOString(),
  };
}

function states(values: readonly string[] | undefined): TriadState[] | undefined {
  if (values === undefined) return undefined;
  for (const v of values) {
    if (!(TRIAD_STATES as readonly string[]).includes(v)) {
      throw new CliUsageError(`--state must be one of ${TRIAD_STATES.join(", ")}, not ${v}`);
    }
  }
  return values as TriadState[];
}

function reasonOf(options: DecisionOptions): string {
  const reason = options.reason.trim();
  if (reason === "" || reason.length > 500) throw new CliUsageError("--reason must be 1–500 characters");
  return reason;
}

export function registerTriadsCommand(
  program: Command,
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
): void {
  const triads = program.command("triads").description("list triads; release or void one by a recorded human decision");

  stationOptions(
    triads
      .command("list", { isDefault: true })
      .description("triads by work order and state (never the secret)")
      .option("--work-order <id>", "only this work order")
      .option("--state <state...>", `only these states (${TRIAD_STATES.join(", ")})`)
      .option("--limit <n>", "at most n triads", parsePositiveInt, 100),
  ).action(async (options: ListOptions) => {
    const wanted = states(options.state);
    await withStation(options, io, env, async (station) => {
      const list = await station.ledger.listTriads({
        ...(options.workOrder === undefined ? {} : { workOrderId: options.workOrder }),
        ...(wanted === undefined ? {} : { states: wanted }),
        limit: options.limit,
      });
      if (options.json) {
        io.out(JSON.stringify({ triads: list.map(triadJson) }));
        return;
      }
      const rows = list.map(triadJson).map((t) => [t.id, t.workOrderId, t.state, t.identity, t.reason ?? ""]);
      for (const line of table([["id", "work order", "state", "identity", "reason"], ...rows])) io.out(line);
    });
  });

  stationOptions(
    triads
      .command("release")
      .description("return a quarantined (or stuck reserved) triad to available: a human decision, audited")
      .argument("<id>", "triad id (see `triads list --state quarantined`)")
      .requiredOption("--reason <text>", "why it is safe to issue again (e.g. the board was checked blank)"),
  ).action(async (id: string, options: DecisionOptions) => {
    const reason = reasonOf(options);
    await withStation(options, io, env, async (station, actor) => {
      // A triad once linked to a board can never go to another one (the board may hold it): releasing it would
      // only make the next burn quarantine it again. Such a triad is settled by rework or voided.
      const link = await station.ledger.deviceLink(id);
      if (link !== undefined) {
        throw new TriadkitError(
          "ledger.bad_transition",
          `triad ${id} was linked to chip ${link.chipId} (${link.status}): it is never issued to another board; ` +
            `rework that board (\`rework --chip ${link.chipId} --reverify\`) or void the triad`,
          { triadId: id, chipId: link.chipId, linkStatus: link.status },
        );
      }
      const record = await station.ledger.release(id, { operator: actor.operator, reason }, actor);
      if (options.json) io.out(JSON.stringify({ ok: true, triad: triadJson(record) }));
      else io.out(`${record.id} (${describeIdentity(record.identity)}) is available again`);
    });
  });

  stationOptions(
    triads
      .command("void")
      .description("retire a triad for good (never issued again): audited, with a reason")
      .argument("<id>", "triad id")
      .requiredOption("--reason <text>", "why (e.g. the platform revoked it, the board was destroyed)"),
  ).action(async (id: string, options: DecisionOptions) => {
    const reason = reasonOf(options);
    await withStation(options, io, env, async (station, actor) => {
      const record = await station.ledger.transition(id, {
        to: "void",
        actor,
        reason,
        humanDecision: { operator: actor.operator, reason },
      });
      if (options.json) io.out(JSON.stringify({ ok: true, triad: triadJson(record) }));
      else io.out(`${record.id} (${describeIdentity(record.identity)}) is void`);
    });
  });
}
