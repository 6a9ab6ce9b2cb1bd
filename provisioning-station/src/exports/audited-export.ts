/**
 * An audited export, for any kind of rows (the device exports here; the smart-shelf export plugs into the same
 * function): the file is written to a temporary name beside the target, then audited
 * (`export` entry: kind, rows, the file's SHA-256 for CSV, the content digest, the template), then a signed
 * checkpoint of the chain is taken that covers that entry, then the file gets its final name. The checkpoint goes
 * into `<file>.checkpoint.json` beside a CSV, and onto a second sheet `checkpoint` of an xlsx. A file is never
 * overwritten unless asked (`force`).
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { TriadkitError } from "@triadkit/protocol";
import { checkpointJson } from "../audit/checkpoint-json.js";
import type { AuditDetails } from "../audit/types.js";
import type { Actor, Ledger } from "../ledger/types.js";
import type { ExportFormat, ExportTemplate } from "./template.js";
import { type ExportFileWriter, openExportFile, type WrittenFile } from "./writer.js";

export const CHECKPOINT_SIDECAR_FORMAT = "triadkit-export-checkpoint";

export interface ExportTarget {
  /** The file to write. */
  readonly out: string;
  readonly format: ExportFormat;
  /** Overwrite `out` (and its sidecar files) when they exist. */
  readonly force: boolean;
}

export type CheckpointJson = ReturnType<typeof checkpointJson>;

export interface AuditedExport {
  readonly kind: string;
  readonly file: string;
  readonly format: ExportFormat;
  /** Data rows (the header row not counted). */
  readonly rows: number;
  /** SHA-256 of the file's bytes. */
  readonly sha256: string;
  readonly bytes: number;
  /** SHA-256 of the cells as written (see ./writer.ts). */
  readonly contentSha256: string;
  readonly auditSeq: number;
  readonly checkpoint: CheckpointJson;
  /** CSV: `<file>.checkpoint.json`. */
  readonly sidecar?: string;
}

export interface AuditedExportOptions {
  readonly kind: string;
  readonly template: ExportTemplate;
  readonly target: ExportTarget;
  /** The rows, each as cells in the template's column order. */
  readonly rows: AsyncIterable<readonly string[]>;
  /** Called once every row is written, before anything is audited: false abandons the export (no file, no audit). */
  readonly keep?: (rows: number) => boolean;
  /** More details for the audit entry (never a secret); a function is called once every row is written. */
  readonly details?: AuditDetails | (() => AuditDetails);
}

/** What writing an export needs from the station. */
export interface ExportStation {
  readonly ledger: Pick<Ledger, "appendAudit" | "checkpoint">;
  readonly stationKey: { readonly publicKey: Uint8Array };
}

export function sidecarPath(out: string): string {
  return `${out}.checkpoint.json`;
}

export function problemsPath(out: string): string {
  return `${out}.problems.csv`;
}

/** `export.file_exists` unless `force`, for each path that exists. */
export function checkTargetFree(paths: readonly string[], force: boolean): void {
  if (force) return;
  for (const p of paths) {
    if (existsSync(p)) {
      throw new TriadkitError("export.file_exists", `${p} exists: choose another --out, or add --force to replace it`, {
        file: basename(p),
      });
    }
  }
}

/** Writes `text` to `path` through a temporary file beside it. */
export async function writeFileAtomic(path: string, text: string | Buffer): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(temp, text, { flag: "wx", mode: 0o644 });
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** The checkpoint sheet of an xlsx export: what was audited and the signed checkpoint that covers it. */
function checkpointRows(
  kind: string,
  rows: number,
  contentSha256: string,
  auditSeq: number,
  cp: CheckpointJson,
): [string, string][] {
  return [
    ["format", CHECKPOINT_SIDECAR_FORMAT],
    ["kind", kind],
    ["rows", String(rows)],
    ["contentSha256", contentSha256],
    ["auditSeq", String(auditSeq)],
    ["stationId", cp.stationId],
    ["seq", String(cp.seq)],
    ["headMac", cp.headMac],
    ["time", cp.time],
    ["signature", cp.signature],
    ["publicKey", cp.publicKey],
    [
      "note",
      "contentSha256 = SHA-256 over each row of the first sheet (header included) as JSON.stringify(array of its " +
        `cell texts) + "\\n"; the audit entry at auditSeq records it, and the signed checkpoint covers that entry`,
    ],
  ];
}

/**
 * Writes and audits one export. Returns undefined when `keep` abandoned it (nothing written, nothing audited).
 * Throws `export.file_exists` before writing anything when a target exists and `force` is not set.
 */
export async function writeAuditedExport(
  station: ExportStation,
  actor: Actor,
  options: AuditedExportOptions,
): Promise<AuditedExport | undefined> {
  const { kind, template, target } = options;
  const csv = target.format === "csv";
  checkTargetFree(csv ? [target.out, sidecarPath(target.out)] : [target.out], target.force);
  const temp = `${target.out}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  let writer: ExportFileWriter | undefined;
  try {
    writer = await openExportFile(temp, target.format, template);
    for await (const cells of options.rows) await writer.addRow(cells);
    const data = await writer.endData();
    if (options.keep !== undefined && !options.keep(data.rows)) {
      await writer.abort();
      writer = undefined;
      return undefined;
    }
    const details = {
      kind,
      format: target.format,
      file: basename(target.out),
      rows: data.rows,
      contentSha256: data.contentSha256,
      template: template.source,
      assumedTemplate: template.assumed,
      ...(csv ? { encoding: template.encoding } : { sheet: template.sheetName }),
      ...(typeof options.details === "function" ? options.details() : options.details),
    };
    let file: WrittenFile | undefined;
    if (csv) file = await writer.finish();
    const entry = await station.ledger.appendAudit(actor, {
      action: "export",
      details: file === undefined ? details : { ...details, sha256: file.sha256, bytes: file.bytes },
    });
    const checkpoint = checkpointJson(await station.ledger.checkpoint(), station.stationKey.publicKey);
    if (!csv) file = await writer.finish(checkpointRows(kind, data.rows, data.contentSha256, entry.seq, checkpoint));
    writer = undefined;
    const written = file as WrittenFile;
    await rename(temp, target.out);
    let sidecar: string | undefined;
    if (csv) {
      sidecar = sidecarPath(target.out);
      const json = {
        format: CHECKPOINT_SIDECAR_FORMAT,
        version: 1,
        export: basename(target.out),
        kind,
        rows: data.rows,
        sha256: written.sha256,
        contentSha256: data.contentSha256,
        auditSeq: entry.seq,
        checkpoint,
      };
      await writeFileAtomic(sidecar, `${JSON.stringify(json, null, 2)}\n`);
    }
    return {
      kind,
      file: target.out,
      format: target.format,
      rows: data.rows,
      sha256: written.sha256,
      bytes: written.bytes,
      contentSha256: data.contentSha256,
      auditSeq: entry.seq,
      checkpoint,
      ...(sidecar === undefined ? {} : { sidecar }),
    };
  } catch (err) {
    await writer?.abort().catch(() => {});
    await rm(temp, { force: true });
    throw err;
  }
}
