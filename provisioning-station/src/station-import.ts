/**
 * Importing a platform triad sheet into the ledger, all or nothing: the reader (./import) streams validated rows and
 * issues; each secret is sealed for its triad id and dropped; rows go to one ledger ImportSession in batches; any
 * issue anywhere (in the sheet or against the ledger) aborts the session and the whole file is rejected with a
 * report. Nothing here logs or returns a secret.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, rm, stat, unlink } from "node:fs/promises";
import { basename } from "node:path";
import { TriadkitError } from "@triadkit/protocol";
import type { Random } from "@triadkit/sdk";
import { detectTriadColumns, type TriadColumns } from "./import/columns.js";
import { openTriadSheet } from "./import/open-sheet.js";
import type { ImportIssue, SheetFormat, SheetInfo } from "./import/types.js";
import type { SecretSealer } from "./keys/pool-keyring.js";
import { pooledRandom } from "./keys/pooled-random.js";
import { createTriadId } from "./ledger/identity.js";
import type { Actor, ImportSummary, Ledger, LedgerRowIssue, SealedRow } from "./ledger/types.js";

/** Issues kept in memory for the report and `--json`; past this only the count grows. */
export const MAX_REPORTED_ISSUES = 100_000;

export interface ImportSheetOptions {
  readonly workOrderId: string;
  readonly actor: Actor;
  readonly random: Random;
  readonly format?: SheetFormat | "auto";
  readonly sheet?: string;
  readonly encoding?: string;
  /** Rows per ledger batch (default 1000). */
  readonly batchSize?: number;
  readonly onProgress?: (bytesRead: number, total: number) => void;
}

export type ImportOutcome =
  | {
      readonly ok: true;
      readonly info: SheetInfo;
      readonly summary: ImportSummary;
      readonly file: { readonly name: string; readonly sha256: string; readonly bytes: number };
    }
  | {
      readonly ok: false;
      readonly info?: SheetInfo;
      /** Every issue up to {@link MAX_REPORTED_ISSUES}, in file order. */
      readonly issues: readonly ImportIssue[];
      /** Issues found beyond those listed. */
      readonly moreIssues: number;
      /** Data rows read (valid or not). */
      readonly rowsRead: number;
      readonly file: { readonly name: string; readonly sha256: string; readonly bytes: number };
    };

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** The sheet column (header text) a ledger refusal is about. */
function columnFor(issue: LedgerRowIssue, columns: TriadColumns, headers: readonly string[]): string {
  const at = (i: number | undefined) => (i === undefined ? "" : (headers[i] ?? ""));
  if (columns.family === "alibaba") {
    if (issue.field === "secret") return at(columns.deviceSecret);
    if (issue.field === "product") return at(columns.productKey);
    return at(columns.deviceName);
  }
  if (issue.field === "secret") return at(columns.secret);
  if (issue.field === "product") return at(columns.productId);
  if (issue.field === "bleMac") return at(columns.bleMac);
  return at(columns.mac);
}

/**
 * Reads `path` and imports every row into `options.workOrderId`, or nothing. Sheet-level failures (unreadable file,
 * no header, wrong format, unknown work order) throw a TriadkitError; row problems come back as `ok: false` with
 * the issues (the ledger has been left untouched).
 */
export async function importSheet(
  ledger: Ledger,
  sealer: SecretSealer,
  path: string,
  options: ImportSheetOptions,
): Promise<ImportOutcome> {
  const workOrder = await ledger.getWorkOrder(options.workOrderId);
  if (workOrder === undefined) {
    throw new TriadkitError("ledger.unknown_work_order", `no work order ${options.workOrderId}`, {
      workOrderId: options.workOrderId,
    });
  }
  const name = basename(path);
  const bytes = (await stat(path).catch(() => undefined))?.size ?? 0;
  const sheet = await openTriadSheet(path, {
    format: options.format ?? "auto",
    ...(options.sheet === undefined ? {} : { sheet: options.sheet }),
    ...(options.encoding === undefined ? {} : { encoding: options.encoding }),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    // Repeats within the file are found by the ledger's unique indexes (on disk), so memory stays flat.
    checkDuplicates: false,
  });
  const { info } = sheet;
  if (info.format !== workOrder.family) {
    await sheet.close();
    throw new TriadkitError(
      "import.format_mismatch",
      `${name} is ${info.format === "genie" ? "a Tmall Genie" : "an Alibaba Cloud"} sheet but work order ${workOrder.id} is for a ${workOrder.family === "genie" ? "Tmall Genie Product ID" : "ProductKey"}`,
      { file: name, sheetFormat: info.format, workOrderFamily: workOrder.family },
    );
  }
  const columns = detectTriadColumns(info.headers, info.format);
  const sha256 = await sha256File(path);
  const file = { name, sha256, bytes };
  const session = await ledger.beginImport(
    workOrder.id,
    {
      fileName: name,
      sha256,
      details: {
        kind: info.kind,
        format: info.format,
        ...(info.sheet === undefined ? {} : { sheet: info.sheet }),
        ...(info.encoding === undefined ? {} : { encoding: info.encoding }),
        bytes,
      },
    },
    options.actor,
  );
  const issues: ImportIssue[] = [];
  let moreIssues = 0;
  const note = (issue: ImportIssue) => {
    if (issues.length < MAX_REPORTED_ISSUES) issues.push(issue);
    else moreIssues++;
  };
  let rowsRead = 0;
  let batch: SealedRow[] = [];
  const batchSize = options.batchSize ?? 1000;
  const flush = async () => {
    if (batch.length === 0) return;
    const refused = await session.add(batch);
    batch = [];
    for (const r of refused) {
      note({
        row: r.row,
        column: columnFor(r, columns, info.headers),
        code: r.code,
        message: r.message.replace(/^row \d+: /, ""),
        ...(info.sheet === undefined ? {} : { sheet: info.sheet }),
      });
    }
  };
  let lastRow = -1;
  const ids = pooledRandom(options.random);
  try {
    for await (const item of sheet.items) {
      if (item.value.row > info.headerRow && item.value.row !== lastRow) {
        lastRow = item.value.row;
        rowsRead++;
      }
      if (item.kind === "issue") {
        note(item.value);
        continue;
      }
      const row = item.value;
      const id = createTriadId(ids);
      batch.push({
        id,
        sourceRow: row.row,
        identity: row.identity,
        sealedSecret: sealer.seal(id, row.secret),
        secretFingerprint: sealer.fingerprint(row.secret),
      });
      if (batch.length >= batchSize) await flush();
    }
    await flush();
  } catch (err) {
    await session.abort().catch(() => undefined);
    await sheet.close().catch(() => undefined);
    throw err;
  }
  if (rowsRead === 0 && issues.length === 0) {
    await session.abort();
    throw new TriadkitError("import.empty_file", `${name} has a header but no data rows`, { file: name });
  }
  if (issues.length > 0 || moreIssues > 0) {
    await session.abort();
    issues.sort((a, b) => a.row - b.row);
    return { ok: false, info, issues, moreIssues, rowsRead, file };
  }
  // import.over_quantity (and any other refusal at commit) is a whole-file error: nothing was imported.
  const summary = await session.commit();
  return { ok: true, info, summary, file };
}

/**
 * `--shred-source`: overwrites the sheet with random bytes, flushes it to the device, then unlinks it. On SSDs,
 * copy-on-write file systems and anything with snapshots or backups this is best effort only (the docs say so).
 */
export async function shredFile(path: string, random: Random): Promise<void> {
  const handle = await open(path, "r+");
  try {
    const { size } = await handle.stat();
    const chunk = 1 << 16;
    for (let offset = 0; offset < size; offset += chunk) {
      const n = Math.min(chunk, size - offset);
      await handle.write(random.bytes(n), 0, n, offset);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  await unlink(path).catch(async () => rm(path, { force: true }));
}
