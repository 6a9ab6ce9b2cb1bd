/**
 * Is this ledger older than its audit head file? The head file outside the database names the last committed
 * (seq, MAC) of this station's chain. A chain that ends before that seq, or has another entry there, is a
 * database restored from an older copy (or one that lost commits): triads issued since may be on devices that
 * have left the line, and the ledger believes them available. A cheap check (one entry read), made before burning.
 */
import { TriadkitError } from "@triadkit/protocol";
import { macEqual } from "../audit/encoding.js";
import { readAuditHead } from "../audit/head-file.js";
import type { AuditSource } from "../audit/types.js";

export async function restoredDatabaseError(
  source: AuditSource,
  stationId: string,
  headFile: string | undefined,
): Promise<TriadkitError | undefined> {
  // A PostgreSQL pool keeps no head file (the database is the only copy): nothing to compare against.
  if (headFile === undefined) return undefined;
  const head = readAuditHead(headFile);
  if (head.kind !== "ok" || head.head.stationId !== stationId) {
    // Without this station's head file a deleted tail cannot be ruled out: hold issuing, as for a restored copy.
    const last = await lastSeq(source, stationId);
    if (last === 0) return undefined;
    return new TriadkitError(
      "audit.head_missing",
      `the audit head file is ${head.kind === "ok" ? "another station's" : head.kind}, so a deleted tail of the ` +
        "audit chain cannot be ruled out: no triad is issued until a person checks and runs " +
        "`triadkit-station audit accept-head --reason … --fence n`",
      { lastSeq: last },
    );
  }
  if (head.head.seq === 0) return undefined;
  const [entry] = await source.auditEntries(stationId, head.head.seq - 1, 1);
  if (entry !== undefined && entry.seq === head.head.seq && macEqual(entry.mac, head.head.headMac)) return undefined;
  const last = await lastSeq(source, stationId);
  return new TriadkitError(
    "audit.truncated",
    `the ledger is older than its audit head file (head at seq ${head.head.seq}, ` +
      `the database ${entry === undefined ? `ends at seq ${last}` : `has another entry there`}): it was restored from ` +
      "an older copy or lost commits. Devices holding triads it forgot are quarantined as they come, but no triad " +
      "is issued until a person checks and runs `triadkit-station audit accept-head --reason …`",
    { headSeq: head.head.seq, lastSeq: last },
  );
}

async function lastSeq(source: AuditSource, stationId: string): Promise<number> {
  let after = 0;
  for (;;) {
    const page = await source.auditEntries(stationId, after, 5000);
    if (page.length === 0) return after;
    after = page[page.length - 1]?.seq ?? after;
    if (page.length < 5000) return after;
  }
}
