/**
 * The device exports: `imei` (the IMEI library an IoT service distributor uploads), `iccid` (the ICCID list a card
 * supplier uploads), `bindings` (`imei,iccid,imsi`: the binding monitor's import format) and `burns` (a burn report,
 * one row per device). Every identity comes from the ledger's device links, i.e. what each device's modem reported at
 * `hello`, never from a sheet. Which devices: triads `verified` or `registered` whose device link is `active` (the
 * devices that may ship); the burn report may add `quarantined` ones (`includeQuarantined`).
 */
import { rm } from "node:fs/promises";
import { TriadkitError } from "@triadkit/protocol";
import { stringify } from "csv-stringify/sync";
import type { Actor, Ledger, TriadState } from "../ledger/types.js";
import {
  type AuditedExport,
  checkTargetFree,
  type ExportStation,
  type ExportTarget,
  problemsPath,
  sidecarPath,
  writeAuditedExport,
  writeFileAtomic,
} from "./audited-export.js";
import { type CheckRules, type ExportProblem, RowChecker } from "./check.js";
import { deviceRow, linkedDevices, readBurnFacts } from "./devices.js";
import { DEVICE_FIELD_NAMES, type DeviceRow, IDENTIFIER_FIELDS, type IdentifierField } from "./fields.js";
import { type ExportTemplate, loadTemplate, templateFields } from "./template.js";
import { neutraliseCsvCell } from "./writer.js";

export const DEVICE_EXPORT_KINDS = ["imei", "iccid", "bindings", "burns"] as const;
export type DeviceExportKind = (typeof DEVICE_EXPORT_KINDS)[number];

/** What each kind needs, keeps unique, and does about a problem. */
export const DEVICE_EXPORT_RULES: Readonly<
  Record<DeviceExportKind, Pick<CheckRules, "required" | "unique" | "onProblem">>
> = {
  imei: { required: ["imei"], unique: ["imei"], onProblem: "refuse" },
  iccid: { required: ["iccid"], unique: ["iccid"], onProblem: "refuse" },
  bindings: { required: ["imei", "iccid", "imsi"], unique: ["imei", "iccid", "imsi"], onProblem: "refuse" },
  burns: { required: [], unique: ["imei", "iccid", "imsi"], onProblem: "flag" },
};

export const SHIPPING_STATES: readonly TriadState[] = ["verified", "registered"];

export interface DeviceExportOptions {
  readonly kind: DeviceExportKind;
  readonly workOrderId?: string;
  /** Default: the shipped template of the kind. */
  readonly template?: ExportTemplate;
  readonly target: ExportTarget;
  /** Write the good rows and leave the problem rows out (listed in the problems report) instead of refusing. */
  readonly skipInvalid?: boolean;
  /** `burns` only: quarantined triads with an active link too. */
  readonly includeQuarantined?: boolean;
}

export interface DeviceExportResult {
  readonly kind: DeviceExportKind;
  /** `written`: the file is there; `rejected`: problems and no `skipInvalid`; `empty`: no row to write. */
  readonly outcome: "written" | "rejected" | "empty";
  readonly template: ExportTemplate;
  readonly export?: AuditedExport;
  /** Devices left out because they lack an identifier the kind needs (e.g. no SIM for `bindings`). */
  readonly skipped: number;
  readonly problemCount: number;
  /** The first MAX_PROBLEMS problems. */
  readonly problems: readonly ExportProblem[];
  /** `<out>.problems.csv`, written whenever there is a problem. */
  readonly problemsReport?: string;
  /** Parser warnings (legal but unusual values, e.g. a China Mobile ICCID whose check digit is not Luhn), by code. */
  readonly warnings: Readonly<Record<string, number>>;
}

export function isDeviceExportKind(kind: string): kind is DeviceExportKind {
  return (DEVICE_EXPORT_KINDS as readonly string[]).includes(kind);
}

/** The shipped default template of a device export kind, or the file given. */
export function deviceTemplate(kind: DeviceExportKind, path?: string): ExportTemplate {
  return loadTemplate(kind, DEVICE_FIELD_NAMES, path);
}

const PROBLEM_COLUMNS = ["chipId", "triadId", "identity", "field", "value", "code", "cause", "message"] as const;

async function writeProblems(path: string, problems: readonly ExportProblem[], more: number): Promise<void> {
  const records = problems.map((p) =>
    [p.chipId, p.triadId, p.identity, p.field, p.value, p.code, p.cause ?? "", p.message].map(neutraliseCsvCell),
  );
  if (more > 0) records.push(["", "", "", "", "", "", "", `… and ${more} more problem(s) not listed`]);
  const text = stringify(records, {
    header: true,
    columns: [...PROBLEM_COLUMNS],
    bom: true,
    record_delimiter: "windows",
  });
  await writeFileAtomic(path, text);
}

/**
 * Runs one device export against the station's ledger. Never throws for row problems: the result says what happened
 * (the CLI turns `rejected` and `empty` into `export.rejected` / `export.empty`). Throws `export.bad_template`,
 * `export.file_exists`, `ledger.unknown_work_order`.
 */
export async function exportDevices(
  station: ExportStation & { readonly ledger: Ledger },
  actor: Actor,
  options: DeviceExportOptions,
): Promise<DeviceExportResult> {
  const { kind, target } = options;
  const template = options.template ?? deviceTemplate(kind);
  if (template.kind !== kind) {
    throw new TriadkitError("export.bad_template", `template ${template.source} is for ${template.kind}, not ${kind}`);
  }
  const rules = DEVICE_EXPORT_RULES[kind];
  const used = templateFields(template);
  const checker = new RowChecker({
    ...rules,
    validate: IDENTIFIER_FIELDS.filter(
      (f: IdentifierField) => rules.required.includes(f) || used.has(f) || kind === "burns",
    ),
    encoding: template.encoding,
  });
  for (const [i, c] of template.columns.entries()) {
    for (const text of [c.header, c.value ?? ""]) {
      if (!checker.encodable(text)) {
        throw new TriadkitError(
          "export.bad_template",
          `export template ${template.source}: columns.${i}: a character ${template.encoding} cannot represent`,
          { template: template.source, path: `columns.${i}` },
        );
      }
    }
  }
  const problemsFile = problemsPath(target.out);
  checkTargetFree(target.format === "csv" ? [target.out, sidecarPath(target.out)] : [target.out], target.force);
  await rm(problemsFile, { force: true }); // a report left by an earlier attempt would describe another run
  const states: TriadState[] = [...SHIPPING_STATES];
  if (options.includeQuarantined && kind === "burns") states.push("quarantined");
  const facts = used.has("operator") || used.has("verifiedAt") ? await readBurnFacts(station.ledger) : undefined;
  const headers = template.columns.map((c) => c.header);
  const cellsOf = (row: DeviceRow) =>
    template.columns.map((c) => (c.field === undefined ? (c.value ?? "") : (row[c.field as keyof DeviceRow] ?? "")));
  async function* rows(): AsyncGenerator<string[]> {
    for await (const d of linkedDevices(station.ledger, {
      ...(options.workOrderId === undefined ? {} : { workOrderId: options.workOrderId }),
      states,
    })) {
      const cells = checker.check(deviceRow(d.triad, d.link, d.order, facts), cellsOf, headers);
      if (cells !== undefined) yield cells;
    }
  }
  let outcome: DeviceExportResult["outcome"] = "written";
  const refuse = rules.onProblem === "refuse" && !options.skipInvalid;
  const written = await writeAuditedExport(station, actor, {
    kind,
    template,
    target,
    rows: rows(),
    keep: (n) => {
      if (refuse && checker.problemCount > 0) outcome = "rejected";
      else if (n === 0) outcome = "empty";
      return outcome === "written";
    },
    details: () => ({
      ...(options.workOrderId === undefined ? {} : { workOrderId: options.workOrderId }),
      states,
      skipped: checker.skipped,
      problems: checker.problemCount,
    }),
  });
  let problemsReport: string | undefined;
  if (checker.problemCount > 0) {
    await writeProblems(problemsFile, checker.problems, checker.problemCount - checker.problems.length);
    problemsReport = problemsFile;
  }
  return {
    kind,
    outcome,
    template,
    ...(written === undefined ? {} : { export: written }),
    skipped: checker.skipped,
    problemCount: checker.problemCount,
    problems: checker.problems,
    ...(problemsReport === undefined ? {} : { problemsReport }),
    warnings: Object.fromEntries(checker.warnings),
  };
}
