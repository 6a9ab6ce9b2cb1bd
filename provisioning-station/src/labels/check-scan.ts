/**
 * Scan-back: the operator scans the printed label (keyboard-wedge scanner) and the station checks it against what
 * the ledger says for the device: label kind, identity, PoP (constant time) and shelf code. Every check is audited
 * (`label.scan` with `ok` and, on a mismatch, the field); neither the scanned text nor the PoP is ever recorded.
 */
import {
  constantTimeEqual,
  isTriadkitError,
  type LabelKind,
  type LabelPayload,
  parseLabelPayload,
  TriadkitError,
} from "@triadkit/protocol";
import type { PoolKeyring } from "../keys/pool-keyring.js";
import type { Actor, Ledger } from "../ledger/types.js";
import { buildLabel } from "./build-label.js";

export type LabelScanField = "payload" | "kind" | "identity" | "pop" | "shelfCode";

export interface LabelScanResult {
  readonly ok: true;
  readonly kind: LabelKind;
  readonly triadId: string;
  readonly chipId: string;
  readonly identity: string;
  readonly shelfCode?: string;
  readonly auditSeq: number;
}

function mismatchField(expected: LabelPayload, scanned: LabelPayload): LabelScanField | undefined {
  if (scanned.kind !== expected.kind) return "kind";
  if (JSON.stringify(scanned.identity) !== JSON.stringify(expected.identity)) return "identity";
  if (expected.kind === "device" && scanned.kind === "device" && !constantTimeEqual(scanned.pop, expected.pop)) {
    return "pop";
  }
  if (scanned.shelfCode !== expected.shelfCode) return "shelfCode";
  return undefined;
}

/**
 * Checks a scanned label against the chip's device. `label.scan_mismatch` (context `field`) when it belongs to
 * another device, the parser's error when the text is no label payload; both audited with `ok: false`.
 */
export async function checkLabelScan(
  ledger: Ledger,
  keyring: PoolKeyring,
  actor: Actor,
  chipId: string,
  scannedText: string,
  options: { readonly kind?: LabelKind } = {},
): Promise<LabelScanResult> {
  const kind = options.kind ?? "device";
  const label = await buildLabel(ledger, keyring, { chipId }, kind);
  const audit = (ok: boolean, field?: LabelScanField) =>
    ledger.appendAudit(actor, {
      action: "label.scan",
      triadId: label.triadId,
      identity: label.identity,
      details: { chipId: label.chipId, kind, ok, ...(field === undefined ? {} : { field }) },
    });
  let scanned: LabelPayload;
  try {
    scanned = parseLabelPayload(scannedText);
  } catch (err) {
    if (isTriadkitError(err)) await audit(false, "payload");
    throw err;
  }
  const field = mismatchField(parseLabelPayload(label.payload), scanned);
  if (field !== undefined) {
    await audit(false, field);
    throw new TriadkitError(
      "label.scan_mismatch",
      `the scanned label does not match chip ${label.chipId}: ${field} differs`,
      { chipId: label.chipId, field },
    );
  }
  const entry = await audit(true);
  return {
    ok: true,
    kind,
    triadId: label.triadId,
    chipId: label.chipId,
    identity: label.identity,
    ...(label.shelfCode === undefined ? {} : { shelfCode: label.shelfCode }),
    auditSeq: entry.seq,
  };
}
