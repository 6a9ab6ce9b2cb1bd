/**
 * A rejected sheet (triad import, shelf import): the report is written, the rejection audited with the report's
 * hash, and a signed checkpoint covering that entry written beside the report (`<report>.checkpoint.json`), so the
 * report can later be proven to be the one this station made. Then the issues go to the screen (or `--json`) and
 * the command fails with `import.rejected`.
 */
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import type { CliIo } from "@triadkit/sdk";
import { checkpointJson } from "../audit/checkpoint-json.js";
import type { AuditDetails } from "../audit/types.js";
import { issuesToJson, writeIssueReport } from "../import/report.js";
import type { ImportIssue } from "../import/types.js";
import type { Station } from "../ledger/open-station.js";
import type { Actor } from "../ledger/types.js";
import { ReportedFailure } from "./common.js";

/** At most this many issues are printed as text (the report has them all). */
export const TEXT_ISSUES = 20;

export interface SheetRejection {
  readonly reportPath: string;
  readonly fileName: string;
  readonly issues: readonly ImportIssue[];
  /** Issues found beyond those listed. */
  readonly moreIssues: number;
  readonly rowsRead: number;
  /** Audit details of the `import.rejected` entry besides the report's name, hash and counts. */
  readonly details: AuditDetails;
  readonly json: boolean;
}

export async function rejectSheet(io: CliIo, station: Station, actor: Actor, r: SheetRejection): Promise<never> {
  await writeIssueReport(r.issues, r.reportPath);
  const total = r.issues.length + r.moreIssues;
  const reportSha256 = createHash("sha256")
    .update(await readFile(r.reportPath))
    .digest("hex");
  await station.ledger.appendAudit(actor, {
    action: "import.rejected",
    details: {
      ...r.details,
      problems: total,
      dataRows: r.rowsRead,
      report: basename(r.reportPath),
      reportSha256,
    },
  });
  const checkpoint = checkpointJson(await station.ledger.checkpoint(), station.stationKey.publicKey);
  await writeFile(
    `${r.reportPath}.checkpoint.json`,
    `${JSON.stringify({ report: basename(r.reportPath), reportSha256, checkpoint }, null, 2)}\n`,
  );
  const message = `${r.fileName} rejected: ${total} problem(s) in ${r.rowsRead} data rows; nothing was imported. Report: ${r.reportPath}`;
  if (r.json) {
    io.out(
      JSON.stringify({
        ok: false,
        error: { code: "import.rejected", message },
        report: r.reportPath,
        reportSha256,
        checkpoint,
        problems: total,
        issues: issuesToJson(r.issues),
        moreIssues: r.moreIssues,
      }),
    );
  } else {
    for (const issue of r.issues.slice(0, TEXT_ISSUES)) {
      io.err(`  row ${issue.row}${issue.column ? ` [${issue.column}]` : ""}: ${issue.code} ${issue.message}`);
    }
    if (total > TEXT_ISSUES) io.err(`  … and ${total - TEXT_ISSUES} more in the report`);
  }
  io.err(`triadkit-station: ${message} (import.rejected)`);
  throw new ReportedFailure("import.rejected");
}
