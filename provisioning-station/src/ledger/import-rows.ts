/**
 * The row rules of an import session, shared by both ledger backends: the checks that need no lookup, and the issues
 * of a row given what the backend's lookups found (SQLite looks up synchronously, PostgreSQL with awaits).
 */
import { TriadkitError } from "@triadkit/protocol";
import { sealedKeyVersion } from "../keys/pool-keyring.js";
import { describeIdentity, type IdentityKey } from "./identity.js";
import type { LedgerRowIssue, SealedRow, WorkOrder } from "./types.js";
import { identityMatchesProduct } from "./work-order.js";

/** A triad already in the ledger that a row's identity key or secret fingerprint matched. */
export interface ImportHit {
  readonly id: string;
  readonly import_id: number;
}

/**
 * The checks that need no lookup: the key version and the fingerprint format throw; true when the row is the work
 * order's product (else it is a row issue, not an error).
 */
export function checkSealedRow(row: SealedRow, keyVersion: number, workOrder: WorkOrder): boolean {
  if (sealedKeyVersion(row.sealedSecret) !== keyVersion) {
    throw new TriadkitError(
      "keys.stale_key_version",
      `row ${row.sourceRow} is sealed under pool key version ${sealedKeyVersion(row.sealedSecret)}, not the current ${keyVersion}`,
      { row: row.sourceRow },
    );
  }
  if (!/^[0-9a-f]{64}$/.test(row.secretFingerprint)) {
    throw new TriadkitError("config.invalid", "a secret fingerprint must be 64 lower-case hex digits", {
      row: row.sourceRow,
    });
  }
  return identityMatchesProduct(row.identity, workOrder);
}

/**
 * Every issue of a row, in order (product, each identity key, the secret), from what the lookups found: `identityHits`
 * holds one entry per identity key of the row, in `identityKeys` order.
 */
export function sealedRowIssues(
  row: SealedRow,
  context: { readonly workOrder: WorkOrder; readonly importId: number; readonly matchesProduct: boolean },
  identityHits: readonly { readonly key: IdentityKey; readonly hit: ImportHit | undefined }[],
  secretHit: ImportHit | undefined,
): LedgerRowIssue[] {
  const issues: LedgerRowIssue[] = [];
  const issue = (field: LedgerRowIssue["field"], code: LedgerRowIssue["code"], message: string) =>
    issues.push({ row: row.sourceRow, triadId: row.id, field, code, message });
  if (!context.matchesProduct) {
    issue(
      "product",
      "import.product_mismatch",
      `row ${row.sourceRow}: not work order ${context.workOrder.id}'s product`,
    );
  }
  for (const { key: k, hit } of identityHits) {
    if (hit === undefined) continue;
    const what = `${describeIdentity(row.identity)} (${k.field})`;
    if (hit.import_id === context.importId) {
      issue(k.field, "import.duplicate_triad", `row ${row.sourceRow}: ${what} appears earlier in this import`);
    } else {
      issue(k.field, "import.triad_exists", `row ${row.sourceRow}: ${what} is already in the ledger as ${hit.id}`);
    }
  }
  if (secretHit !== undefined) {
    const where = secretHit.import_id === context.importId ? "an earlier row of this import" : `triad ${secretHit.id}`;
    issue("secret", "import.duplicate_secret", `row ${row.sourceRow}: the same device secret is held by ${where}`);
  }
  return issues;
}
