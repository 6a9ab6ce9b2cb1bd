/**
 * `triadkit-station export <kind>`: files for the platforms, from the ledger, audited with a signed checkpoint.
 * Kinds here: `imei`, `iccid`, `bindings`, `burns` (see ../exports). `export` is a command with subcommands, and other
 * modules add theirs through the registry: a registrar `(exportCommand, io, env) => void` passed to
 * {@link registerExportCommand} (main.ts does), which adds `export <name>` with {@link exportFileOptions} and writes
 * its file with `writeAuditedExport` (../exports/audited-export.ts), printing with {@link reportExport}.
 */
import { extname } from "node:path";
import { TriadkitError } from "@triadkit/protocol";
import { type CliIo, CliUsageError } from "@triadkit/sdk";
import { type Command, Option } from "commander";
import type { AuditedExport, ExportTarget } from "../exports/audited-export.js";
import {
  DEVICE_EXPORT_KINDS,
  DEVICE_EXPORT_RULES,
  type DeviceExportKind,
  type DeviceExportResult,
  deviceTemplate,
  exportDevices,
  SHIPPING_STATES,
} from "../exports/device-export.js";
import { DEVICE_FIELDS } from "../exports/fields.js";
import type { ExportFormat, ExportTemplate } from "../exports/template.js";
import { ReportedFailure, type StationCliOptions, stationOptions, withStation } from "./common.js";

type Env = Readonly<Record<string, string | undefined>>;

/** How a module adds `export <name>`: called with the `export` command once it has the built-in kinds. */
export type ExportSubcommandRegistrar = (exportCommand: Command, io: CliIo, env: Env) => void;

/** The options every export subcommand takes (besides its own). */
export interface ExportFileOptions extends StationCliOptions {
  readonly out?: string;
  readonly format?: string;
  readonly template?: string;
  readonly force?: boolean;
}

interface DeviceExportCliOptions extends ExportFileOptions {
  readonly workOrder?: string;
  readonly skipInvalid?: boolean;
  readonly includeQuarantined?: boolean;
}

const TEXT_PROBLEMS = 20;
const JSON_PROBLEMS = 1000;

const DESCRIPTIONS: Record<DeviceExportKind, string> = {
  imei: "the IMEI library an IoT service distributor uploads (IMEI 库), from what the devices' modems reported",
  iccid: "the ICCID list an IoT service supplier (card supplier) uploads, from what the devices reported",
  bindings: "expected machine-card bindings imei,iccid,imsi: the binding monitor's import format",
  burns: "a burn report, one row per device (never a secret or PoP)",
};

/** Adds `--out`, `--format`, `--template`, `--force` and the station options. */
export function exportFileOptions(cmd: Command): Command {
  cmd
    .option("--out <file>", "the file to write (default: <kind>[-<work order>]-<UTC time>.<csv|xlsx> here)")
    .addOption(new Option("--format <format>", "csv or xlsx (default: from --out, else the template's)"))
    .option(
      "--template <file>",
      "columns, headers, encoding (JSON); default: provisioning-station/templates/<kind>.json",
    )
    .option("--force", "replace --out (and its .checkpoint.json) when it exists");
  return stationOptions(cmd);
}

function fileSafe(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, "_");
}

/** `<kind>[-<work order>]-<yyyymmddThhmmssZ>.<ext>` in the current directory. */
export function defaultExportName(kind: string, format: ExportFormat, workOrderId?: string, now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${kind}${workOrderId === undefined ? "" : `-${fileSafe(workOrderId)}`}-${stamp}.${format}`;
}

/** Where and in which format an export goes: `--format`, else the extension of `--out`, else the template's. */
export function exportTarget(
  kind: string,
  options: ExportFileOptions,
  template: ExportTemplate,
  workOrderId?: string,
): ExportTarget {
  const ext = options.out === undefined ? "" : extname(options.out).toLowerCase();
  const fromExt = ext === ".csv" ? "csv" : ext === ".xlsx" ? "xlsx" : undefined;
  if (options.format !== undefined && options.format !== "csv" && options.format !== "xlsx") {
    throw new CliUsageError(`--format must be csv or xlsx, not ${options.format}`);
  }
  const asked = options.format as ExportFormat | undefined;
  if (asked !== undefined && fromExt !== undefined && asked !== fromExt) {
    throw new CliUsageError(`--format ${asked} but --out ends in ${ext}`);
  }
  if (ext === ".xls") throw new CliUsageError("the old .xls format is not written: use .xlsx");
  const format = asked ?? fromExt ?? template.defaultFormat;
  return {
    out: options.out ?? defaultExportName(kind, format, workOrderId),
    format,
    force: options.force === true,
  };
}

/** The warning an assumed template earns on every use. */
export function assumedTemplateWarning(template: ExportTemplate): string {
  return (
    `triadkit-station: warning: template ${template.source} is an ASSUMED format (the platform's upload template is ` +
    "not published): check it against the platform's real template before uploading, and pass that one with --template"
  );
}

/** Prints a written export: one line of text, or the JSON document (with `extra` fields). */
export function reportExport(io: CliIo, json: boolean | undefined, e: AuditedExport, extra: object = {}): void {
  if (json) {
    io.out(
      JSON.stringify({
        ok: true,
        kind: e.kind,
        file: e.file,
        format: e.format,
        rows: e.rows,
        sha256: e.sha256,
        bytes: e.bytes,
        contentSha256: e.contentSha256,
        auditSeq: e.auditSeq,
        checkpoint: e.checkpoint,
        ...(e.sidecar === undefined ? {} : { sidecar: e.sidecar }),
        ...extra,
      }),
    );
    return;
  }
  const where = e.sidecar === undefined ? `checkpoint on sheet "checkpoint"` : `checkpoint ${e.sidecar}`;
  io.out(`exported ${e.rows} ${e.kind} row(s) to ${e.file} (audit seq ${e.auditSeq}; ${where})`);
}

function printDeviceResult(io: CliIo, options: DeviceExportCliOptions, r: DeviceExportResult): void {
  const what = r.kind === "imei" ? "an IMEI" : r.kind === "iccid" ? "an ICCID" : "a SIM identity (IMEI, ICCID, IMSI)";
  if (r.skipped > 0 && r.kind !== "burns") {
    io.err(`triadkit-station: ${r.skipped} device(s) without ${what} were left out`);
  }
  for (const [code, n] of Object.entries(r.warnings)) io.err(`triadkit-station: warning: ${n} value(s) with ${code}`);
  if (r.problemCount > 0 && r.outcome !== "rejected") {
    const how =
      DEVICE_EXPORT_RULES[r.kind].onProblem === "flag"
        ? "flagged in the problems column"
        : "found: those devices were left out";
    io.err(`triadkit-station: ${r.problemCount} problem(s) ${how}; report: ${r.problemsReport}`);
  }
  const template = { source: r.template.source, assumed: r.template.assumed, encoding: r.template.encoding };
  const base = {
    skipped: r.skipped,
    problems: r.problemCount,
    ...(r.problemsReport === undefined ? {} : { problemsReport: r.problemsReport }),
    warnings: r.warnings,
    template,
  };
  if (r.outcome === "written" && r.export !== undefined) {
    reportExport(io, options.json, r.export, base);
    return;
  }
  if (r.outcome === "empty") {
    const scope = options.workOrder === undefined ? "on any work order" : `on work order ${options.workOrder}`;
    throw new TriadkitError(
      "export.empty",
      `no ${SHIPPING_STATES.join("/")} device with an active link ${scope}${r.skipped > 0 ? ` has ${what}` : ""}: nothing was written`,
      { kind: r.kind, skipped: r.skipped },
    );
  }
  const message =
    `${r.kind} export rejected: ${r.problemCount} problem(s); nothing was exported. Report: ${r.problemsReport}. ` +
    "Rework the devices named there, or export with --skip-invalid to leave them out";
  if (options.json) {
    io.out(
      JSON.stringify({
        ok: false,
        error: { code: "export.rejected", message },
        ...base,
        issues: r.problems.slice(0, JSON_PROBLEMS),
        moreIssues: Math.max(0, r.problemCount - JSON_PROBLEMS),
      }),
    );
  } else {
    for (const p of r.problems.slice(0, TEXT_PROBLEMS)) {
      io.err(`  chip ${p.chipId} ${p.identity} [${p.field}]: ${p.code}${p.cause ? ` (${p.cause})` : ""} ${p.message}`);
    }
    if (r.problemCount > TEXT_PROBLEMS) io.err(`  … and ${r.problemCount - TEXT_PROBLEMS} more in the report`);
  }
  io.err(`triadkit-station: ${message} (export.rejected)`);
  throw new ReportedFailure("export.rejected");
}

function fieldsHelp(): string {
  const width = Math.max(...Object.keys(DEVICE_FIELDS).map((k) => k.length));
  return [
    "",
    'Template fields (a column is {"header": …, "field": …} or {"header": …, "value": "fixed text"}):',
    ...Object.entries(DEVICE_FIELDS).map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
  ].join("\n");
}

function registerDeviceExport(exportCommand: Command, kind: DeviceExportKind, io: CliIo, env: Env): void {
  const cmd = exportCommand
    .command(kind)
    .description(DESCRIPTIONS[kind])
    .option("--work-order <id>", "only this work order (default: every work order)")
    .option(
      "--skip-invalid",
      kind === "burns"
        ? "(burns flags problems on the row and never refuses; accepted for symmetry)"
        : "write the good rows and leave the devices with problems out (listed in <out>.problems.csv)",
    );
  if (kind === "burns") {
    cmd.option("--include-quarantined", "also devices whose triad is quarantined (still linked to the board)");
  }
  exportFileOptions(cmd)
    .addHelpText("after", fieldsHelp())
    .action(async (options: DeviceExportCliOptions) => {
      const template = deviceTemplate(kind, options.template);
      const target = exportTarget(kind, options, template, options.workOrder);
      if (template.assumed) io.err(assumedTemplateWarning(template));
      await withStation(options, io, env, async (station, actor) => {
        const result = await exportDevices(station, actor, {
          kind,
          template,
          target,
          ...(options.workOrder === undefined ? {} : { workOrderId: options.workOrder }),
          skipInvalid: options.skipInvalid === true,
          includeQuarantined: options.includeQuarantined === true,
        });
        printDeviceResult(io, options, result);
      });
    });
}

/**
 * Adds `export` with its built-in subcommands, then each of `more` (e.g. the smart-shelf export). Returns the
 * `export` command.
 */
export function registerExportCommand(
  program: Command,
  io: CliIo,
  env: Env,
  more: readonly ExportSubcommandRegistrar[] = [],
): Command {
  const exportCommand = program
    .command("export")
    .description("write a file for a platform from the ledger (audited, with a signed checkpoint)");
  for (const kind of DEVICE_EXPORT_KINDS) registerDeviceExport(exportCommand, kind, io, env);
  for (const register of more) register(exportCommand, io, env);
  return exportCommand;
}
