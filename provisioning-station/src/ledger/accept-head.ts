/**
 * `audit accept-head`: a person accepts a ledger restored from an older copy (the audit head file outside the
 * database is ahead of it, `audit.truncated`). Until then `burn` issues no triad.
 *
 * In one command:
 * 1. the chain itself must verify apart from the truncation (an edited or reordered chain is not accepted);
 * 2. fence: on every work order the first `fence` available triads (in reservation order) are quarantined, because
 *    reservations take the first available triad, so any triad issued after the older copy was made is among them.
 *    Default: the number of audit entries the database lost, an upper bound of the reservations lost (each one
 *    wrote at least its `reserve` entry). The lost entries are those between the older copy's last entry and the
 *    head file's seq; the older copy's last entry is the last one written no later than the head file's time
 *    (entries written since the restore are later). `--fence 0` to skip;
 * 3. an `audit.accept_head` entry records the human decision (operator, reason), the previous head (seq, MAC,
 *    time) and what was fenced;
 * 4. the head file is rewritten to that entry, so `audit verify` passes again and the evidence stays in the chain.
 */
import { TriadkitError, toHex } from "@triadkit/protocol";
import { readAuditHead, writeAuditHead } from "../audit/head-file.js";
import type { Station } from "./open-station.js";
import type { Actor } from "./types.js";

export interface AcceptHeadResult {
  readonly previousHead: { readonly seq: number; readonly time: number };
  readonly lastSeq: number;
  /** The last seq of the older copy (the last entry no later than the head file's time). */
  readonly restoredSeq: number;
  readonly fence: number;
  readonly fenced: readonly string[];
  readonly seq: number;
}

export async function acceptRestoredHead(
  station: Station,
  actor: Actor,
  options: { readonly reason: string; readonly fence?: number },
): Promise<AcceptHeadResult> {
  const reason = options.reason.trim();
  if (reason === "") throw new TriadkitError("config.invalid", "a reason is required (--reason)");
  const headFile = station.headFile;
  if (headFile === undefined) {
    throw new TriadkitError("config.invalid", "a PostgreSQL pool keeps no audit head file: nothing to accept");
  }
  const check = await station.verifyAudit();
  const truncated = check.problems.filter((p) => p.code === "audit.truncated");
  const other = check.problems.find((p) => p.code !== "audit.truncated" && p.code !== "audit.head_missing");
  if (other !== undefined) {
    throw new TriadkitError(
      other.code,
      `the audit chain fails verification at seq ${other.seq} (${other.message}): accept-head accepts an older database, not an edited one`,
      { seq: other.seq },
    );
  }
  const head = readAuditHead(headFile);
  const missing = check.problems.some((p) => p.code === "audit.head_missing");
  if (head.kind !== "ok" && missing)
    return acceptMissingHead(station, headFile, actor, reason, check.lastSeq, options.fence);
  if (truncated.length === 0 || head.kind !== "ok") {
    throw new TriadkitError("config.invalid", "the audit head file agrees with the database: nothing to accept", {
      lastSeq: check.lastSeq,
    });
  }
  const restoredSeq = await lastSeqAtOrBefore(station, head.head.time);
  const fence = options.fence ?? Math.max(0, head.head.seq - restoredSeq);
  const fenced = await fenceAvailable(
    station,
    actor,
    fence,
    "fenced when accepting a database restored from an older copy: it may have been issued since",
  );
  const entry = await station.ledger.appendAudit(actor, {
    action: "audit.accept_head",
    details: {
      reason,
      humanDecision: { operator: actor.operator, reason },
      previousHead: { seq: head.head.seq, mac: toHex(head.head.headMac), time: head.head.time },
      lastSeqBefore: check.lastSeq,
      restoredSeq,
      fence,
      fenced: fenced.length,
    },
  });
  writeAuditHead(headFile, station.stationKey, entry);
  return {
    previousHead: { seq: head.head.seq, time: head.head.time },
    lastSeq: check.lastSeq,
    restoredSeq,
    fence,
    fenced,
    seq: entry.seq,
  };
}

async function lastSeqAtOrBefore(station: Station, time: number): Promise<number> {
  let found = 0;
  for (let after = 0; ; ) {
    const page = await station.ledger.auditEntries(station.stationId, after, 5000);
    for (const e of page) if (e.time <= time) found = e.seq;
    if (page.length < 5000) return found;
    after = page[page.length - 1]?.seq ?? after;
  }
}

/** Quarantines the first `fence` available triads of every work order (reservation order); returns their ids. */
async function fenceAvailable(station: Station, actor: Actor, fence: number, reason: string): Promise<string[]> {
  const fenced: string[] = [];
  if (fence <= 0) return fenced;
  for (const order of await station.ledger.listWorkOrders()) {
    const picks = await station.ledger.listTriads({ workOrderId: order.id, states: ["available"], limit: fence });
    for (const t of picks) {
      await station.ledger.transition(t.id, {
        to: "quarantined",
        actor,
        expect: "available",
        reason,
        details: { acceptHead: true },
      });
      fenced.push(t.id);
    }
  }
  return fenced;
}

/**
 * The head file is missing or unreadable (`audit.head_missing`). How many entries a deleted tail took cannot be
 * known without it, so the person must say how many triads to fence (`--fence n`; 0 only when they know, e.g. the
 * database was moved without its head file). The head is then rewritten to the decision's entry.
 */
async function acceptMissingHead(
  station: Station,
  headFile: string,
  actor: Actor,
  reason: string,
  lastSeq: number,
  fence: number | undefined,
): Promise<AcceptHeadResult> {
  if (fence === undefined) {
    throw new TriadkitError(
      "config.invalid",
      "the audit head file is missing, so how many entries may be lost is unknown: give --fence n (how many available triads per work order to quarantine; 0 only if you know nothing was lost)",
      { lastSeq },
    );
  }
  const fenced = await fenceAvailable(
    station,
    actor,
    fence,
    "fenced when accepting a ledger whose audit head file was missing: it may have been issued since",
  );
  const entry = await station.ledger.appendAudit(actor, {
    action: "audit.accept_head",
    details: {
      reason,
      humanDecision: { operator: actor.operator, reason },
      previousHead: null,
      headMissing: true,
      lastSeqBefore: lastSeq,
      fence,
      fenced: fenced.length,
    },
  });
  writeAuditHead(headFile, station.stationKey, entry);
  return { previousHead: { seq: 0, time: 0 }, lastSeq, restoredSeq: lastSeq, fence, fenced, seq: entry.seq };
}
