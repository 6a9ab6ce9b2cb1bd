/**
 * Reconciling what devices hold with what the ledger says. Rules (docs/station.md, "Burning"):
 *
 * A device whose hello shows a record:
 * - the triad is unknown to this ledger → fail `factory.record_mismatch` (another pool's device), alert;
 * - the ledger has it `available` (a database restored from an older copy, or a lost commit) → quarantine at once,
 *   alert `factory.record_mismatch`: it is never issued again;
 * - `quarantined` / `void` → fail (`factory.record_mismatch`): a human reworks that device;
 * - the triad is linked to another chip, to no chip, or the device's record hash is not the one the station wrote
 *   → quarantine, alert (a triad must never be on two devices);
 * - otherwise (`reserved`/`written`/`verified`/`registered`, this chip, this hash) → verify (and lock) on the
 *   device and bring the ledger to `verified`: never written twice.
 *
 * On start, every `reserved`/`written` triad this station holds is settled the same way when an open fixture's
 * device shows it; otherwise it is quarantined with the reason (never linked: the station stopped before writing;
 * the device came back blank; the device is not on any open fixture).
 */
import { type FactoryHello, type FactoryIdentity, isTriadkitError } from "@triadkit/protocol";
import { describeIdentity } from "../ledger/identity.js";
import type { TriadIdentity, TriadRecord } from "../ledger/types.js";
import {
  type BurnContext,
  type DeviceOutcome,
  deviceOf,
  failure,
  quarantine,
  retrying,
  sameBytes,
  settleOnDevice,
  triadOf,
} from "./device-steps.js";
import type { FactoryClient } from "./factory-client.js";

const MISMATCH = "factory.record_mismatch";

function ledgerIdentity(identity: FactoryIdentity): TriadIdentity {
  return identity.family === "alibaba"
    ? { family: "alibaba", productKey: identity.productKey, deviceName: identity.deviceName }
    : { family: "genie", productId: identity.productId, mac: identity.mac };
}

/** A device whose hello shows a record: recognise and settle it, or quarantine what cannot be trusted. */
export async function reconcileHeld(
  ctx: BurnContext,
  client: FactoryClient,
  fixture: string,
  hello: FactoryHello,
): Promise<DeviceOutcome> {
  const base = { fixture, ...deviceOf(hello) };
  const chipId = hello.chipId;
  const byId = hello.triadId === undefined ? undefined : await ctx.ledger.getTriad(hello.triadId);
  const byIdentity =
    hello.identity === undefined ? undefined : await ctx.ledger.findTriad(ledgerIdentity(hello.identity));
  const shown = hello.identity === undefined ? "(no identity)" : describeIdentity(ledgerIdentity(hello.identity));

  const mismatch = async (message: string, triads: readonly TriadRecord[]): Promise<DeviceOutcome> => {
    let quarantined = false;
    for (const t of triads) {
      quarantined = (await quarantine(ctx, fixture, t.id, message, { chipId, alert: MISMATCH })) || quarantined;
    }
    ctx.alert(MISMATCH, message, { fixture, chipId, triadIds: triads.map((t) => t.id) });
    const first = triads[0];
    return {
      ...base,
      result: "fail",
      action: quarantined ? "quarantined" : "refused",
      code: MISMATCH,
      message,
      ...(first === undefined ? {} : { triad: triadOf(first) }),
    };
  };

  if (byId === undefined && byIdentity === undefined) {
    return mismatch(`device chip ${chipId} holds triad ${shown}, which this ledger does not know (another pool?)`, []);
  }
  if (byId === undefined || (byIdentity !== undefined && byIdentity.id !== byId.id)) {
    const both = [byId, byIdentity].filter((t): t is TriadRecord => t !== undefined);
    return mismatch(
      `device chip ${chipId} holds ${shown} under triad id ${hello.triadId ?? "(none)"}, which the ledger does not pair with it`,
      both,
    );
  }
  const triad = byId;
  const out = { ...base, triad: triadOf(triad) };
  if (triad.state === "available") {
    return mismatch(
      `triad ${triad.id} (${describeIdentity(triad.identity)}) is on device chip ${chipId} but the ledger believed it available: ` +
        "the database was restored from an older copy or lost a commit; quarantined, never to be issued again",
      [triad],
    );
  }
  if (triad.state === "quarantined" || triad.state === "void") {
    return {
      ...out,
      result: "fail",
      action: "refused",
      code: MISMATCH,
      message:
        `device chip ${chipId} holds triad ${triad.id}, which is ${triad.state}` +
        `${triad.reason === undefined ? "" : ` (${triad.reason})`}: rework it (triadkit-station rework --chip ${chipId})`,
    };
  }
  const link = await ctx.ledger.deviceLink(triad.id);
  if (link === undefined || link.chipId !== chipId || link.status !== "active") {
    const where = link === undefined ? "no device" : `chip ${link.chipId} (${link.status})`;
    return mismatch(`triad ${triad.id} is on device chip ${chipId} but the ledger links it to ${where}`, [triad]);
  }
  if (!sameBytes(hello.recordHash, link.recordHash)) {
    return mismatch(
      `device chip ${chipId} holds triad ${triad.id} in a record other than the one this pool wrote (hash differs)`,
      [triad],
    );
  }
  try {
    const action = await settleOnDevice(ctx, client, fixture, hello, triad, link);
    return { ...out, result: "pass", action };
  } catch (err) {
    // A verified triad that does not answer is left as it is; anything else is ambiguous.
    const quiet = isTriadkitError(err, "factory.timeout") || isTriadkitError(err, "station.port_failed");
    if (quiet && (triad.state === "verified" || triad.state === "registered")) return failure(fixture, err, out);
    const done = await quarantine(ctx, fixture, triad.id, `reconcile failed: ${(err as Error).message}`, { chipId });
    return failure(fixture, err, { ...out, action: done ? "quarantined" : "refused" });
  }
}

export interface PortHandle {
  readonly fixture: string;
  readonly client: FactoryClient;
}

export interface StartReconcileEntry {
  readonly triadId: string;
  readonly fixture?: string;
  readonly outcome: "settled" | "quarantined" | "failed";
  readonly reason: string;
}

async function orphans(ctx: BurnContext): Promise<TriadRecord[]> {
  const out: TriadRecord[] = [];
  for (let afterId: string | undefined; ; ) {
    const page = await ctx.ledger.listTriads({
      states: ["reserved", "written"],
      limit: 500,
      ...(afterId === undefined ? {} : { afterId }),
    });
    out.push(...page.filter((t) => t.holder?.stationId === ctx.stationId));
    if (page.length < 500) return out;
    afterId = page[page.length - 1]?.id;
  }
}

/** Settles or quarantines every `reserved`/`written` triad this station holds, asking the open fixtures' devices. */
export async function reconcileOnStart(ctx: BurnContext, ports: readonly PortHandle[]): Promise<StartReconcileEntry[]> {
  const pending = await orphans(ctx);
  if (pending.length === 0) return [];
  const hellos = await Promise.all(ports.map((p) => retrying(ctx, () => p.client.hello()).catch(() => undefined)));
  const entries: StartReconcileEntry[] = [];
  for (const t of pending) {
    const link = await ctx.ledger.deviceLink(t.id);
    let i = hellos.findIndex((h) => h?.triadId === t.id);
    if (i < 0 && link !== undefined) i = hellos.findIndex((h) => h?.chipId === link.chipId);
    const port = ports[i];
    const hello = hellos[i];
    const fixture = port?.fixture ?? t.holder?.fixture ?? "";
    if (port !== undefined && hello !== undefined && hello.triadId === t.id) {
      const r = await reconcileHeld(ctx, port.client, port.fixture, hello);
      hellos[i] = undefined; // the challenge is spent; the port loop asks again
      entries.push({
        triadId: t.id,
        fixture: port.fixture,
        outcome: r.result === "pass" ? "settled" : r.action === "quarantined" ? "quarantined" : "failed",
        reason: r.message ?? `verified on device chip ${hello.chipId}`,
      });
      continue;
    }
    let reason: string;
    let voidLink = false;
    if (link === undefined) {
      reason = "interrupted burn: reserved but never linked to a device (the station stopped before writing)";
    } else if (hello !== undefined && hello.state === "blank") {
      reason = `interrupted burn: device chip ${link.chipId} is blank, the record never landed`;
      voidLink = true;
    } else if (hello !== undefined) {
      reason = `interrupted burn: device chip ${link.chipId} holds another record`;
      voidLink = true;
    } else {
      reason = `interrupted burn: device chip ${link.chipId} is not on any open fixture`;
    }
    const details = link === undefined ? {} : { chipId: link.chipId };
    const done = await quarantine(ctx, fixture, t.id, reason, details, voidLink ? "voided" : undefined);
    entries.push({ triadId: t.id, fixture, outcome: done ? "quarantined" : "failed", reason });
  }
  return entries;
}
