/**
 * `triadkit-station label print|scan`: device and carton labels (docs/station.md "Labels / 标签").
 * The label holds the PoP, so nothing here prints the payload; a scanned label is read from stdin, never argv.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { type LabelKind, TriadkitError } from "@triadkit/protocol";
import { type CliIo, CliUsageError } from "@triadkit/sdk";
import type { Command } from "commander";
import type { LabelTarget } from "../labels/build-label.js";
import {
  checkLabelScan,
  LABEL_DPIS,
  type LabelDestination,
  type LabelDpi,
  type LabelFormat,
  LabelPrintCounts,
  type PrintLabelResult,
  parsePrinterAddress,
  printLabel,
} from "../labels/index.js";
import type { Ledger } from "../ledger/types.js";
import { errorText, parsePositiveInt, type StationCliOptions, stationOptions, withStation } from "./common.js";

type Env = Readonly<Record<string, string | undefined>>;
/** Reads the first non-empty line of stdin (injected by tests; the process's stdin by default). */
export type ReadStdin = () => Promise<string>;

const KINDS: readonly LabelKind[] = ["device", "carton"];

/** A keyboard-wedge scanner types the label and Enter: the first non-empty line is the scan (no Ctrl-D needed). */
async function firstStdinLine(): Promise<string> {
  const lines = createInterface({ input: process.stdin, terminal: false });
  try {
    for await (const line of lines) if (line.trim() !== "") return line;
    return "";
  } finally {
    lines.close();
    process.stdin.pause();
  }
}

function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new CliUsageError(errorText(err));
  }
}

function kindOption(value: string): LabelKind {
  if (!(KINDS as readonly string[]).includes(value)) throw new CliUsageError("--kind must be device or carton");
  return value as LabelKind;
}

function formatOption(value: string): LabelFormat {
  if (value !== "png" && value !== "zpl") throw new CliUsageError("--format must be png or zpl");
  return value;
}

function dpiOption(value: string): LabelDpi {
  const dpi = Number(value);
  if (!(LABEL_DPIS as readonly number[]).includes(dpi)) throw new CliUsageError("--dpi must be 203 or 300");
  return dpi as LabelDpi;
}

function mmOption(value: string): number {
  if (!/^[0-9]{1,3}(\.[0-9])?$/.test(value)) throw new CliUsageError(`not a size in mm: ${value}`);
  return Number(value);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

interface PrintOptions extends StationCliOptions {
  readonly chip?: string;
  readonly triad?: string;
  readonly workOrder?: string;
  readonly allVerified?: boolean;
  readonly kind: LabelKind;
  readonly format?: LabelFormat;
  readonly out?: string;
  readonly printer?: string;
  readonly reprint?: boolean;
  readonly reason?: string;
  readonly dpi?: LabelDpi;
  readonly widthMm?: number;
  readonly heightMm?: number;
  readonly printerTimeoutMs?: number;
}

interface PrintPlan {
  readonly targets: "batch" | LabelTarget;
  readonly format: LabelFormat;
  readonly reason?: string;
}

/** Every usage rule of `label print`, checked before the ledger is opened. */
function planPrint(o: PrintOptions): PrintPlan {
  const chosen = [o.chip, o.triad, o.workOrder].filter((v) => v !== undefined).length;
  if (chosen !== 1) throw new CliUsageError("give exactly one of --chip, --triad or --work-order");
  if (o.workOrder !== undefined && o.allVerified !== true) {
    throw new CliUsageError("--work-order prints a whole batch: add --all-verified to confirm");
  }
  if (o.allVerified === true && o.workOrder === undefined) throw new CliUsageError("--all-verified needs --work-order");
  if ((o.out === undefined) === (o.printer === undefined))
    throw new CliUsageError("give exactly one of --out or --printer");
  if (o.reprint === true && (o.reason === undefined || o.reason.trim() === "")) {
    throw new CliUsageError("--reprint needs --reason <text> (it is recorded in the audit trail)");
  }
  if (o.reason !== undefined && o.reprint !== true) throw new CliUsageError("--reason is only for --reprint");
  const fromExt = o.out?.toLowerCase().endsWith(".png")
    ? "png"
    : o.out?.toLowerCase().endsWith(".zpl")
      ? "zpl"
      : undefined;
  const format = o.format ?? fromExt ?? "zpl";
  if (o.printer !== undefined && format !== "zpl")
    throw new CliUsageError("a network label printer takes --format zpl");
  if (o.printer !== undefined) usage(() => parsePrinterAddress(o.printer as string));
  const targets: PrintPlan["targets"] =
    o.workOrder !== undefined
      ? "batch"
      : o.chip !== undefined
        ? { chipId: o.chip.trim().toLowerCase() }
        : { triadId: o.triad as string };
  if (targets === "batch" && o.out !== undefined && !isDirectory(o.out)) {
    throw new CliUsageError("--work-order with --out needs an existing directory");
  }
  return { targets, format, ...(o.reprint === true ? { reason: o.reason as string } : {}) };
}

/** The verified/registered triad ids of a work order, in import order. */
async function batchTriads(ledger: Ledger, workOrderId: string): Promise<string[]> {
  if ((await ledger.getWorkOrder(workOrderId)) === undefined) {
    throw new TriadkitError("ledger.unknown_work_order", `no work order ${workOrderId}`, { workOrderId });
  }
  const ids: string[] = [];
  let afterId: string | undefined;
  for (;;) {
    const page = await ledger.listTriads({
      workOrderId,
      states: ["verified", "registered"],
      limit: 1000,
      ...(afterId === undefined ? {} : { afterId }),
    });
    ids.push(...page.map((t) => t.id));
    if (page.length < 1000) return ids;
    afterId = page.at(-1)?.id;
  }
}

function destinationFor(o: PrintOptions, plan: PrintPlan, chipId: string): LabelDestination {
  if (o.printer !== undefined) {
    const printer = parsePrinterAddress(o.printer);
    const timeouts =
      o.printerTimeoutMs === undefined
        ? {}
        : { timeouts: { connectTimeoutMs: o.printerTimeoutMs, writeTimeoutMs: o.printerTimeoutMs } };
    return { printer, ...timeouts };
  }
  const out = o.out as string;
  return { file: plan.targets === "batch" || isDirectory(out) ? join(out, `${o.kind}-${chipId}.${plan.format}`) : out };
}

function resultJson(r: PrintLabelResult) {
  return {
    action: r.action,
    kind: r.kind,
    format: r.format,
    chipId: r.chipId,
    triadId: r.triadId,
    identity: r.identity,
    shelfCode: r.shelfCode ?? null,
    prints: r.prints,
    destination: r.destination,
    bytes: r.bytes,
    auditSeq: r.auditSeq,
  };
}

function registerPrint(label: Command, io: CliIo, env: Env): void {
  stationOptions(
    label
      .command("print")
      .description("print a device's label (QR + text; device label with the PoP, carton label without)")
      .option("--chip <id>", "the device by its chip id (as the fixture reads it)")
      .option("--triad <id>", "the device by its triad id")
      .option("--work-order <id>", "every verified or registered device of a work order (with --all-verified)")
      .option("--all-verified", "confirm a batch: --work-order prints each device not printed yet (all with --reprint)")
      .option(
        "--kind <kind>",
        "device (on the device, holds the PoP) or carton (outer box, no PoP)",
        kindOption,
        "device",
      )
      .option("--format <format>", "png or zpl (default: from --out's extension, else zpl)", formatOption)
      .option("--out <path>", "save to this file (mode 0600), or into this directory as <kind>-<chip>.<format>")
      .option("--printer <host[:port]>", "send ZPL to a network label printer over raw TCP (default port 9100)")
      .option("--reprint", "print a label again (audited label.reprint; needs --reason)")
      .option("--reason <text>", "why the label is printed again (recorded in the audit trail)")
      .option("--dpi <dpi>", "printer resolution for ZPL: 203 or 300 (default 203)", dpiOption)
      .option("--width-mm <mm>", "label width for ZPL, 20–150 (default 50)", mmOption)
      .option("--height-mm <mm>", "label height for ZPL, 10–150 (default 30)", mmOption)
      .option(
        "--printer-timeout-ms <ms>",
        "connect and send timeout for --printer (default 5000 / 10000)",
        parsePositiveInt,
      ),
  ).action(async (options: PrintOptions) => {
    const plan = planPrint(options);
    const size = {
      ...(options.dpi === undefined ? {} : { dpi: options.dpi }),
      ...(options.widthMm === undefined ? {} : { widthMm: options.widthMm }),
      ...(options.heightMm === undefined ? {} : { heightMm: options.heightMm }),
    };
    await withStation(options, io, env, async (station, actor) => {
      const { ledger, keyring } = station;
      const printed: PrintLabelResult[] = [];
      const skipped: { triadId: string; prints: number }[] = [];
      const targets: LabelTarget[] =
        plan.targets === "batch"
          ? (await batchTriads(ledger, options.workOrder as string)).map((triadId) => ({ triadId }))
          : [plan.targets];
      const counts = await LabelPrintCounts.read(ledger);
      for (const target of targets) {
        if (plan.targets === "batch" && plan.reason === undefined && "triadId" in target) {
          const prints = counts.get(target.triadId, options.kind);
          if (prints > 0) {
            skipped.push({ triadId: target.triadId, prints });
            continue;
          }
        }
        const link =
          "chipId" in target ? target.chipId : ((await ledger.deviceLink(target.triadId))?.chipId ?? "unknown");
        const result = await printLabel(ledger, keyring, actor, target, {
          kind: options.kind,
          format: plan.format,
          size,
          destination: destinationFor(options, plan, link),
          counts,
          ...(plan.reason === undefined ? {} : { reprintReason: plan.reason }),
        });
        printed.push(result);
        if (!options.json) {
          const n = result.action === "label.reprint" ? `reprint #${result.prints}` : "first print";
          io.out(
            `printed ${result.kind} label of chip ${result.chipId} (${result.identity}) to ${result.destination}, ${n}`,
          );
        }
      }
      if (options.json) {
        io.out(JSON.stringify({ ok: true, printed: printed.map(resultJson), skipped }));
      } else if (skipped.length > 0) {
        io.out(`skipped ${skipped.length} device(s) printed before (reprint them with --reprint --reason …)`);
      }
    });
  });
}

interface ScanOptions extends StationCliOptions {
  readonly chip: string;
  readonly kind: LabelKind;
}

function registerScan(label: Command, io: CliIo, env: Env, readStdin: ReadStdin): void {
  stationOptions(
    label
      .command("scan")
      .description("check a scanned label against the device (the scanned text is read from stdin, never argv)")
      .requiredOption("--chip <id>", "the device whose label was scanned")
      .option("--kind <kind>", "the label scanned: device or carton", kindOption, "device"),
  ).action(async (options: ScanOptions) => {
    if (process.stdin.isTTY) io.err(`scan the ${options.kind} label of chip ${options.chip} now`);
    const text = (await readStdin()).split(/\r?\n/).find((line) => line.trim() !== "");
    if (text === undefined) throw new CliUsageError("no scanned label on stdin");
    await withStation(options, io, env, async (station, actor) => {
      const r = await checkLabelScan(station.ledger, station.keyring, actor, options.chip.trim().toLowerCase(), text, {
        kind: options.kind,
      });
      if (options.json) {
        io.out(
          JSON.stringify({
            ok: true,
            kind: r.kind,
            chipId: r.chipId,
            triadId: r.triadId,
            identity: r.identity,
            shelfCode: r.shelfCode ?? null,
            auditSeq: r.auditSeq,
          }),
        );
      } else {
        io.out(`OK ${r.kind} label matches chip ${r.chipId} (${r.identity})`);
      }
    });
  });
}

export function registerLabelCommand(
  program: Command,
  io: CliIo,
  env: Env,
  readStdin: ReadStdin = firstStdinLine,
): void {
  const label = program
    .command("label")
    .description("device and carton labels: print (PNG/ZPL, file or network printer) and check a scanned label");
  registerPrint(label, io, env);
  registerScan(label, io, env, readStdin);
}
