/**
 * Rework and scrap, by chip id. Every step is audited (actor, fixture, chip id, identity; never a secret), and
 * every change of a triad's state carries the operator's reason as a recorded human decision.
 *
 * - `reverify`: the device must hold its linked triad (same record hash). Signed unlock (the pool's anchor key,
 *   over the device's fresh challenge) → verify → lock → `verified` (from `reserved`/`written`, or from
 *   `quarantined` by the human decision; a `verified`/`registered` triad stays as it is).
 * - `revoke`: the linked (and the held) triad is voided first, its link marked `voided` (void is final: never
 *   reissued), then signed unlock and signed factory_reset leave the device blank for a fresh burn. A device that
 *   is already blank only has its triad voided. Voiding first means a failure half-way leaves a device holding a
 *   void triad (refused by `burn` until reworked again), never a live triad on a blank-looking device.
 * - scrap: the chip's active triad is voided and its link marked `scrapped`; no device needed.
 */
import { TriadkitError } from "@triadkit/protocol";
import { describeIdentity } from "../ledger/identity.js";
import type { Actor, DeviceLink, HumanDecision, Ledger, TriadRecord } from "../ledger/types.js";
import {
  actorFor,
  type BurnContext,
  type DeviceOutcome,
  deviceOf,
  lockDevice,
  retrying,
  sameBytes,
  triadOf,
  verifyOnDevice,
} from "./device-steps.js";
import type { FactoryClient } from "./factory-client.js";

export type ReworkMode = "revoke" | "reverify";

export interface ReworkRequest {
  readonly chipId: string;
  readonly reason: string;
  readonly mode: ReworkMode;
}

async function activeLink(ledger: Ledger, chipId: string): Promise<DeviceLink | undefined> {
  return (await ledger.deviceLinksByChip(chipId)).find((l) => l.status === "active");
}

function unknownDevice(chipId: string): TriadkitError {
  return new TriadkitError("station.unknown_device", `no triad in this ledger is linked to chip ${chipId}`, { chipId });
}

export async function reworkDevice(
  ctx: BurnContext,
  client: FactoryClient,
  fixture: string,
  request: ReworkRequest,
): Promise<DeviceOutcome> {
  const { chipId } = request;
  let hello = await retrying(ctx, () => client.hello());
  if (hello.chipId !== chipId) {
    throw new TriadkitError(
      "station.wrong_device",
      `the device on ${fixture} is chip ${hello.chipId}, not ${chipId}: put the board to rework on the fixture`,
      { chipId, found: hello.chipId, fixture },
    );
  }
  const actor = actorFor(ctx, fixture);
  const human: HumanDecision = { operator: ctx.operator, reason: request.reason };
  const link = await activeLink(ctx.ledger, chipId);
  const held = hello.triadId === undefined ? undefined : await ctx.ledger.getTriad(hello.triadId);
  const subject = link === undefined ? held : await ctx.ledger.getTriad(link.triadId);
  if (subject === undefined) throw unknownDevice(chipId);
  const audit = (t: TriadRecord | undefined, step: string, more: Record<string, unknown> = {}) =>
    ctx.ledger.appendAudit(actor, {
      action: "rework",
      ...(t === undefined ? {} : { triadId: t.id, identity: describeIdentity(t.identity) }),
      details: { chipId, mode: request.mode, step, reason: request.reason, deviceState: hello.state, ...more },
    });
  await audit(subject, "start");
  const out = { fixture, ...deviceOf(hello), triad: triadOf(subject) };

  const unlock = async () => {
    if (hello.state !== "locked") return;
    await client.unlock(ctx.anchor.sign("unlock", chipId, hello.challenge));
    await audit(subject, "unlock");
    hello = await retrying(ctx, () => client.hello());
  };

  if (request.mode === "reverify") {
    if (link === undefined || hello.triadId !== link.triadId || !sameBytes(hello.recordHash, link.recordHash)) {
      throw new TriadkitError(
        "factory.record_mismatch",
        `device chip ${chipId} does not hold the record of its linked triad ${link?.triadId ?? "(none)"}: use --revoke`,
        { chipId },
      );
    }
    if (subject.state === "void" || subject.state === "available") {
      throw new TriadkitError("ledger.bad_transition", `triad ${subject.id} is ${subject.state}: use --revoke`, {
        triadId: subject.id,
      });
    }
    await unlock();
    await verifyOnDevice(ctx, client, chipId, subject, link.recordHash);
    await lockDevice(ctx, client);
    await toVerified(ctx.ledger, subject, actor, human, chipId);
    await audit(subject, "reverified");
    return { ...out, result: "pass", action: "reworked" };
  }

  for (const t of new Set([subject, held].filter((x): x is TriadRecord => x !== undefined))) {
    const current = await ctx.ledger.getTriad(t.id);
    if (current === undefined || current.state === "void") continue;
    await ctx.ledger.transition(t.id, {
      to: "void",
      actor,
      reason: `rework: ${request.reason}`,
      humanDecision: human,
      expect: current.state,
      linkStatus: "voided",
      details: { chipId, rework: "revoke" },
    });
  }
  if (hello.state !== "blank") {
    await unlock();
    await client.factoryReset(ctx.anchor.sign("factory_reset", chipId, hello.challenge));
    await audit(subject, "factory_reset");
    hello = await retrying(ctx, () => client.hello());
    if (hello.state !== "blank") {
      throw new TriadkitError("factory.device_error", `device chip ${chipId} is still ${hello.state} after reset`, {
        deviceCode: "storage_failed",
      });
    }
  }
  return { ...out, result: "pass", action: "reworked" };
}

async function toVerified(
  ledger: Ledger,
  t: TriadRecord,
  actor: Actor,
  human: HumanDecision,
  chipId: string,
): Promise<void> {
  const details = { chipId, rework: "reverify" };
  if (t.state === "reserved") await ledger.transition(t.id, { to: "written", actor, expect: "reserved", details });
  if (t.state === "reserved" || t.state === "written") {
    await ledger.transition(t.id, { to: "verified", actor, expect: "written", details });
  } else if (t.state === "quarantined") {
    await ledger.transition(t.id, { to: "verified", actor, expect: "quarantined", humanDecision: human, details });
  }
}

/** Voids the chip's active triad (never reissued) and marks its link `scrapped`. */
export async function scrapChip(
  ledger: Ledger,
  actor: Actor,
  chipId: string,
  reason: string,
): Promise<{ readonly triad: TriadRecord; readonly link: DeviceLink }> {
  const link = await activeLink(ledger, chipId);
  if (link === undefined) throw unknownDevice(chipId);
  const t = await ledger.getTriad(link.triadId);
  if (t === undefined) throw unknownDevice(chipId);
  const human = { operator: actor.operator, reason };
  const triad =
    t.state === "void"
      ? t
      : await ledger.transition(t.id, {
          to: "void",
          actor,
          reason: `scrapped: ${reason}`,
          humanDecision: human,
          expect: t.state,
          linkStatus: "scrapped",
          details: { chipId },
        });
  if (t.state === "void") await ledger.setDeviceLinkStatus(t.id, "scrapped", `scrapped: ${reason}`, actor);
  return { triad, link: (await ledger.deviceLink(t.id)) as DeviceLink };
}
