/**
 * `verifyAudit`: checks one station's chain, its checkpoints and the head file, and says where it is broken.
 *
 * - every entry's MAC is recomputed (a failing entry is `entry_modified`, or `entry_reordered` when its content
 *   verifies at another position, found by following its prevMac link);
 * - seq gaps are `entry_missing`; a valid entry whose prevMac is not its predecessor's MAC is `entry_reordered`;
 * - checkpoints must carry the station's Ed25519 signature and match the chain (`bad_checkpoint`);
 * - a head file or checkpoint beyond the last entry, or a chain that no longer has the head's MAC at the head's seq,
 *   is `truncated`; a head file missing while the chain has entries is `head_missing`.
 *
 * Memory stays bounded: entries are read in pages, twice at most; only failing entries are remembered.
 */
import { auditEntryMac, checkpointSignatureValid, GENESIS_MAC, macEqual } from "./encoding.js";
import { readAuditHead } from "./head-file.js";
import type { AuditCheckpoint, AuditEntry, AuditKeys, AuditProblem, AuditSource, AuditVerification } from "./types.js";

export interface VerifyAuditOptions {
  readonly source: AuditSource;
  readonly keys: AuditKeys;
  /** The head counter file; omit only where no head file is kept. */
  readonly headFile?: string;
  readonly pageSize?: number;
  readonly maxProblems?: number;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const GENESIS_HEX = hex(GENESIS_MAC);
/** Failing entries remembered for reorder detection; beyond this they are reported as modified. */
const MAX_TRACKED_BAD = 10_000;

export async function verifyAudit(options: VerifyAuditOptions): Promise<AuditVerification> {
  const { source, keys } = options;
  const pageSize = options.pageSize ?? 5000;
  const problems: AuditProblem[] = [];
  const report = (p: AuditProblem) => problems.push(p);

  const head = options.headFile === undefined ? undefined : readAuditHead(options.headFile);
  const checkpoints = await source.auditCheckpoints(keys.stationId);
  const wantedMacs = new Map<number, Uint8Array | undefined>();
  for (const c of checkpoints) wantedMacs.set(c.seq, undefined);
  if (head?.kind === "ok") wantedMacs.set(head.head.seq, undefined);

  // Pass 1: MACs, gaps and links.
  const bad = new Map<number, AuditEntry>();
  let entries = 0;
  let expected = 1;
  let prev: { seq: number; mac: Uint8Array; bad: boolean } | undefined;
  for await (const e of pages(source, keys.stationId, pageSize)) {
    entries++;
    const gap = e.seq > expected;
    if (gap) {
      report({
        code: "audit.entry_missing",
        seq: expected,
        lastSeq: e.seq - 1,
        message:
          e.seq - 1 === expected ? `entry ${expected} is missing` : `entries ${expected}–${e.seq - 1} are missing`,
      });
    }
    const valid = macEqual(auditEntryMac(keys.auditMacKey, e), e.mac);
    if (!valid) {
      if (bad.size < MAX_TRACKED_BAD) bad.set(e.seq, e);
      else report(modified(e.seq));
    } else if (!gap && (prev === undefined ? e.seq === 1 : !prev.bad)) {
      const expectedPrev = prev === undefined ? GENESIS_MAC : prev.mac;
      if (!macEqual(e.prevMac, expectedPrev)) {
        report({
          code: "audit.entry_reordered",
          seq: e.seq,
          message: `entry ${e.seq} is authentic but does not follow entry ${e.seq - 1} (its previous-MAC link points elsewhere)`,
        });
      }
    }
    if (wantedMacs.has(e.seq)) wantedMacs.set(e.seq, valid ? e.mac : undefined);
    prev = { seq: e.seq, mac: e.mac, bad: !valid };
    expected = e.seq + 1;
  }
  const lastSeq = prev?.seq ?? 0;

  // Pass 2: where did each failing entry come from?
  if (bad.size > 0) {
    for (const p of await locateFailing(source, keys, bad, pageSize)) report(p);
  }

  // Checkpoints and head.
  let claimedEnd: { seq: number; by: string } | undefined;
  const claim = (seq: number, by: string) => {
    if (seq > lastSeq && (claimedEnd === undefined || seq > claimedEnd.seq)) claimedEnd = { seq, by };
  };
  for (const c of checkpoints) {
    if (!checkpointSignatureValid(c, keys.publicKey)) {
      report({ code: "audit.bad_checkpoint", seq: c.seq, message: `checkpoint at seq ${c.seq} has a bad signature` });
      continue;
    }
    claim(c.seq, `a signed checkpoint at seq ${c.seq}`);
    checkAgainstChain(c, "checkpoint", wantedMacs, report);
  }
  if (head !== undefined) {
    if (head.kind === "missing" || head.kind === "unreadable") {
      if (lastSeq > 0) {
        const why = head.kind === "missing" ? "is missing" : `is unreadable (${head.reason})`;
        report({ code: "audit.head_missing", seq: lastSeq, message: `the audit head file ${why}` });
      }
    } else if (head.head.stationId !== keys.stationId || !checkpointSignatureValid(head.head, keys.publicKey)) {
      report({
        code: "audit.bad_checkpoint",
        seq: head.head.seq,
        message: "the audit head file is not signed by this station",
      });
    } else {
      claim(head.head.seq, `the head file outside the database (seq ${head.head.seq})`);
      checkAgainstChain(head.head, "head", wantedMacs, report);
    }
  }
  if (claimedEnd !== undefined) {
    report({
      code: "audit.truncated",
      seq: lastSeq + 1,
      lastSeq: claimedEnd.seq,
      message: `the audit table ends at seq ${lastSeq} but ${claimedEnd.by} says it reached ${claimedEnd.seq}: entries were deleted from the end, or the database was replaced by an older copy`,
    });
  }

  problems.sort((a, b) => a.seq - b.seq);
  const max = options.maxProblems ?? 1000;
  return {
    ok: problems.length === 0,
    stationId: keys.stationId,
    entries,
    checkpoints: checkpoints.length,
    lastSeq,
    ...(head?.kind === "ok" ? { headSeq: head.head.seq } : {}),
    problems: problems.slice(0, max),
    moreProblems: Math.max(0, problems.length - max),
  };
}

function modified(seq: number): AuditProblem {
  return {
    code: "audit.entry_modified",
    seq,
    message: `entry ${seq} was modified: its MAC does not match its content`,
  };
}

/** A checkpoint or head (signature already checked) must name the MAC the chain has at its seq. */
function checkAgainstChain(
  c: AuditCheckpoint,
  kind: "checkpoint" | "head",
  macs: ReadonlyMap<number, Uint8Array | undefined>,
  report: (p: AuditProblem) => void,
): void {
  if (c.seq === 0) {
    if (!macEqual(c.headMac, GENESIS_MAC)) {
      report({ code: "audit.bad_checkpoint", seq: 0, message: `${kind} at seq 0 names a non-empty chain` });
    }
    return;
  }
  const mac = macs.get(c.seq);
  // Missing or failing entries are reported on their own; beyond the end is reported as truncation.
  if (mac === undefined || macEqual(mac, c.headMac)) return;
  report(
    kind === "checkpoint"
      ? {
          code: "audit.bad_checkpoint",
          seq: c.seq,
          message: `the signed checkpoint at seq ${c.seq} does not match the chain there`,
        }
      : {
          code: "audit.truncated",
          seq: c.seq,
          message: `the chain no longer has the head file's entry at seq ${c.seq}: history after an older copy was rewritten`,
        },
  );
}

async function* pages(source: AuditSource, stationId: string, pageSize: number): AsyncGenerator<AuditEntry> {
  let after = 0;
  for (;;) {
    const page = await source.auditEntries(stationId, after, pageSize);
    for (const e of page) yield e;
    if (page.length < pageSize) return;
    after = (page[page.length - 1] as AuditEntry).seq;
  }
}

/**
 * A failing entry whose content verifies at another seq was moved (reordered); otherwise it was modified. Its
 * original seq is one more than the original seq of the entry whose MAC its prevMac names.
 */
async function locateFailing(
  source: AuditSource,
  keys: AuditKeys,
  bad: ReadonlyMap<number, AuditEntry>,
  pageSize: number,
): Promise<AuditProblem[]> {
  const wanted = new Set([...bad.values()].map((e) => hex(e.prevMac)));
  const holder = new Map<string, number>();
  for await (const e of pages(source, keys.stationId, pageSize)) {
    const h = hex(e.mac);
    if (wanted.has(h) && !holder.has(h)) holder.set(h, e.seq);
  }
  const memo = new Map<number, number | undefined>();
  const originalSeq = (pos: number, depth: number): number | undefined => {
    const e = bad.get(pos);
    if (e === undefined) return pos;
    if (memo.has(pos)) return memo.get(pos);
    memo.set(pos, undefined); // cycle guard
    const p = hex(e.prevMac);
    const holderPos = p === GENESIS_HEX ? 0 : holder.get(p);
    const before = holderPos === undefined ? undefined : holderPos === 0 ? 0 : originalSeq(holderPos, depth + 1);
    let found: number | undefined;
    if (before !== undefined && depth < 5000) {
      const seq = before + 1;
      if (macEqual(auditEntryMac(keys.auditMacKey, { ...e, seq }), e.mac)) found = seq;
    }
    memo.set(pos, found);
    return found;
  };
  const out: AuditProblem[] = [];
  for (const pos of bad.keys()) {
    const original = originalSeq(pos, 0);
    out.push(
      original === undefined || original === pos
        ? modified(pos)
        : {
            code: "audit.entry_reordered",
            seq: pos,
            message: `entry ${pos} holds the authentic entry that belongs at seq ${original}: entries were reordered`,
          },
    );
  }
  return out;
}
