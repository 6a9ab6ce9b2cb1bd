/**
 * What burning, reconciling and rework share: the context, the per-device outcome, safe retries, the verify and
 * lock steps, quarantine. Secrets are opened from the keyring only inside a step, in memory, and never logged.
 */
import {
  checkVerifyMac,
  type ErrorCode,
  type FactoryHello,
  isTriadkitError,
  TriadkitError,
  toHex,
} from "@triadkit/protocol";
import type { Random } from "@triadkit/sdk";
import type { FactoryAnchor } from "../keys/factory-anchor.js";
import type { PoolKeyring } from "../keys/pool-keyring.js";
import { describeIdentity } from "../ledger/identity.js";
import type { ShelfSelector } from "../ledger/shelf.js";
import type { Actor, DeviceLink, Ledger, TransitionRequest, TriadIdentity, TriadRecord } from "../ledger/types.js";
import type { FactoryClient } from "./factory-client.js";

export interface BurnContext {
  readonly ledger: Ledger;
  readonly keyring: PoolKeyring;
  readonly anchor: FactoryAnchor;
  readonly stationId: string;
  readonly operator: string;
  readonly random: Random;
  readonly now: () => number;
  /** Extra attempts of an idempotent request (hello, verify, lock) after a timeout. */
  readonly retries: number;
  /**
   * Set while the ledger looks restored from an older copy (the audit head file is ahead of it): devices holding
   * records are still reconciled (quarantining what the ledger forgot), but no triad is reserved; blank devices
   * fail with this error until a person accepts the database (`audit accept-head`).
   */
  readonly holdReservations?: TriadkitError;
  /**
   * `burn --shelf`: each blank device also gets a smart-shelf device code of this brand or store (the one its chip
   * holds already, else the next unassigned one), written into the record's `shelf` and linked in the ledger.
   * None left is `shelf.no_code` before any triad is reserved.
   */
  readonly shelf?: ShelfSelector;
  /** An alert for the operator (a triad found where the ledger did not expect it). Never carries a secret. */
  readonly alert: (code: ErrorCode, message: string, context: Readonly<Record<string, unknown>>) => void;
}

export type OutcomeAction = "burnt" | "reconciled" | "already" | "refused" | "quarantined" | "reworked";

/** One device's result; the CLI prints it as one JSON line. Never a secret or PoP. */
export interface DeviceOutcome {
  readonly fixture: string;
  readonly result: "pass" | "fail";
  readonly action: OutcomeAction;
  readonly code?: string;
  readonly message?: string;
  readonly chipId?: string;
  readonly device?: { readonly model: string; readonly firmware: string };
  readonly triad?: { readonly id: string; readonly identity: string };
  /** `burn --shelf`: the store id and device code written with the triad. */
  readonly shelf?: { readonly storeId: number; readonly deviceCode: string };
}

export function actorFor(ctx: BurnContext, fixture: string): Actor {
  return { stationId: ctx.stationId, operator: ctx.operator, fixture };
}

export function deviceOf(hello: FactoryHello | undefined): Pick<DeviceOutcome, "chipId" | "device"> {
  return hello === undefined ? {} : { chipId: hello.chipId, device: { model: hello.model, firmware: hello.firmware } };
}

export function triadOf(t: { readonly id: string; readonly identity: TriadIdentity }): DeviceOutcome["triad"] {
  return { id: t.id, identity: describeIdentity(t.identity) };
}

export function failure(fixture: string, err: unknown, extra: Partial<DeviceOutcome> = {}): DeviceOutcome {
  const code = isTriadkitError(err) ? err.code : "internal.unexpected";
  const message = err instanceof Error ? err.message : String(err);
  return { fixture, result: "fail", action: "refused", code, message, ...extra };
}

/** Runs an idempotent request again after `factory.timeout` (up to ctx.retries more times). */
export async function retrying<T>(ctx: BurnContext, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= ctx.retries || !isTriadkitError(err, "factory.timeout")) throw err;
    }
  }
}

/**
 * Moves a triad to `quarantined` with a reason (best effort: a triad already quarantined or void stays as it
 * is). Returns true when this call quarantined it.
 */
export async function quarantine(
  ctx: BurnContext,
  fixture: string,
  triadId: string,
  reason: string,
  details: Readonly<Record<string, unknown>> = {},
  linkStatus?: TransitionRequest["linkStatus"],
): Promise<boolean> {
  const t = await ctx.ledger.getTriad(triadId);
  if (t === undefined || t.state === "quarantined" || t.state === "void") return false;
  await ctx.ledger.transition(triadId, {
    to: "quarantined",
    actor: actorFor(ctx, fixture),
    reason,
    details,
    expect: t.state,
    ...(linkStatus === undefined ? {} : { linkStatus }),
  });
  return true;
}

export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Asks the device to prove it holds the record whose hash the station computed itself: a MAC under the verify
 * key derived from the triad's secret, over both nonces, the chip id and that hash. `factory.verify_failed` when
 * the hash or the MAC differs.
 */
export async function verifyOnDevice(
  ctx: BurnContext,
  client: FactoryClient,
  chipId: string,
  triad: TriadRecord,
  recordHash: Uint8Array,
): Promise<void> {
  const answer = await retrying(ctx, () => client.verify());
  const secret = ctx.keyring.open(triad.id, triad.sealedSecret);
  const macOk = checkVerifyMac(secret, answer.deviceNonce, answer.stationNonce, chipId, recordHash, answer.mac);
  if (!sameBytes(answer.recordHash, recordHash) || !macOk) {
    throw new TriadkitError(
      "factory.verify_failed",
      sameBytes(answer.recordHash, recordHash)
        ? `device chip ${chipId} answered verify with a wrong MAC: it does not hold triad ${triad.id}'s secret`
        : `device chip ${chipId} holds a record with another hash than the one written for triad ${triad.id}`,
      { chipId, triadId: triad.id, recordHash: toHex(recordHash), deviceRecordHash: toHex(answer.recordHash) },
    );
  }
}

export async function lockDevice(ctx: BurnContext, client: FactoryClient): Promise<void> {
  const answer = await retrying(ctx, () => client.lock());
  if (answer.state !== "locked") {
    throw new TriadkitError("factory.device_error", `the device answered lock with state ${answer.state}`, {
      deviceCode: "storage_failed",
    });
  }
}

/**
 * A device that holds this triad's record (its hello says so, its hash is the linked one): verify, lock, and bring
 * the ledger to `verified`. Never writes anything to the device. Returns "already" when the ledger had it verified.
 */
export async function settleOnDevice(
  ctx: BurnContext,
  client: FactoryClient,
  fixture: string,
  hello: FactoryHello,
  triad: TriadRecord,
  link: DeviceLink,
): Promise<"reconciled" | "already"> {
  await verifyOnDevice(ctx, client, hello.chipId, triad, link.recordHash);
  if (hello.state !== "locked") await lockDevice(ctx, client);
  const actor = actorFor(ctx, fixture);
  const details = { chipId: hello.chipId, reconciled: true };
  if (triad.state === "reserved") {
    await ctx.ledger.transition(triad.id, { to: "written", actor, expect: "reserved", details });
  }
  if (triad.state === "reserved" || triad.state === "written") {
    await ctx.ledger.transition(triad.id, { to: "verified", actor, expect: "written", details });
    return "reconciled";
  }
  return "already";
}
