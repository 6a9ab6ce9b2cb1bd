/**
 * Printing a label and recording it: every print is one audit entry, `label.print` for the first label of a kind
 * for a triad and `label.reprint` (with a required reason) for any later one, with the running count of prints.
 * The entry names the device, kind, format and destination; never the PoP or the payload.
 */
import { basename } from "node:path";
import { type LabelKind, TriadkitError } from "@triadkit/protocol";
import type { AuditEntry } from "../audit/types.js";
import type { PoolKeyring } from "../keys/pool-keyring.js";
import type { Actor, Ledger } from "../ledger/types.js";
import { buildLabel, type Label, type LabelTarget } from "./build-label.js";
import { type PrinterAddress, type PrinterTimeouts, saveLabelFile, sendToPrinter } from "./printer.js";
import { type LabelFormat, type LabelSize, renderLabel } from "./render.js";

export type LabelDestination =
  | { readonly file: string }
  | { readonly printer: PrinterAddress; readonly timeouts?: PrinterTimeouts };

export interface PrintLabelOptions {
  readonly kind: LabelKind;
  readonly format: LabelFormat;
  readonly size?: LabelSize;
  readonly destination: LabelDestination;
  /** Required (1–200 characters) when a label of this kind was printed for the triad before. */
  readonly reprintReason?: string;
  /** Counts read once for a batch ({@link LabelPrintCounts.read}); default: read now. Updated after the print. */
  readonly counts?: LabelPrintCounts;
}

export interface PrintLabelResult {
  readonly action: "label.print" | "label.reprint";
  readonly kind: LabelKind;
  readonly format: LabelFormat;
  readonly triadId: string;
  readonly chipId: string;
  readonly identity: string;
  readonly shelfCode?: string;
  /** Prints of this kind for this triad, this one included. */
  readonly prints: number;
  /** The file written, or `host:port`. */
  readonly destination: string;
  readonly bytes: number;
  readonly auditSeq: number;
}

const PRINT_ACTIONS = new Set(["label.print", "label.reprint"]);
const PAGE = 1000;

/**
 * Prints per triad and kind, read from every station's audit chain in this ledger in one pass (the ledger has no
 * index of audit entries by triad). {@link printLabel} adds each print to the counts it is given, so a batch reads
 * the trail once.
 */
export class LabelPrintCounts {
  private constructor(private readonly counts: Map<string, number>) {}

  static async read(ledger: Ledger): Promise<LabelPrintCounts> {
    const counts = new Map<string, number>();
    for (const station of await ledger.stations()) {
      let after = 0;
      for (;;) {
        const entries: readonly AuditEntry[] = await ledger.auditEntries(station.stationId, after, PAGE);
        for (const e of entries) {
          if (!PRINT_ACTIONS.has(e.action)) continue;
          const key = `${e.triadId}/${JSON.parse(e.details).kind}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        if (entries.length < PAGE) break;
        after = (entries.at(-1) as AuditEntry).seq;
      }
    }
    return new LabelPrintCounts(counts);
  }

  get(triadId: string, kind: LabelKind): number {
    return this.counts.get(`${triadId}/${kind}`) ?? 0;
  }

  add(triadId: string, kind: LabelKind): void {
    this.counts.set(`${triadId}/${kind}`, this.get(triadId, kind) + 1);
  }
}

/** How many labels of a kind were printed for a triad (one pass over the audit trail). */
export async function labelPrintCount(ledger: Ledger, triadId: string, kind: LabelKind): Promise<number> {
  return (await LabelPrintCounts.read(ledger)).get(triadId, kind);
}

function checkReason(reason: string | undefined): string | undefined {
  if (reason === undefined) return undefined;
  const trimmed = reason.trim();
  if (trimmed === "" || trimmed.length > 200) {
    throw new TriadkitError("config.invalid", "a reprint reason must be 1–200 characters");
  }
  return trimmed;
}

/** Delivers already-rendered bytes; returns what the audit entry and the report call the destination. */
async function deliver(destination: LabelDestination, bytes: Uint8Array): Promise<string> {
  if ("file" in destination) {
    saveLabelFile(destination.file, bytes);
    return destination.file;
  }
  await sendToPrinter(destination.printer, bytes, destination.timeouts);
  return `${destination.printer.host}:${destination.printer.port}`;
}

/**
 * Builds (refused before `verified`), renders, delivers, then audits one label. `label.already_printed` when a
 * label of this kind was printed before and no reprint reason is given; a failed delivery records nothing.
 */
export async function printLabel(
  ledger: Ledger,
  keyring: PoolKeyring,
  actor: Actor,
  target: LabelTarget,
  options: PrintLabelOptions,
): Promise<PrintLabelResult> {
  const reason = checkReason(options.reprintReason);
  const label: Label = await buildLabel(ledger, keyring, target, options.kind);
  const counts = options.counts ?? (await LabelPrintCounts.read(ledger));
  const before = counts.get(label.triadId, options.kind);
  if (before > 0 && reason === undefined) {
    throw new TriadkitError(
      "label.already_printed",
      `the ${options.kind} label of triad ${label.triadId} was printed ${before} time(s): reprint with a reason`,
      { triadId: label.triadId, kind: options.kind, prints: before },
    );
  }
  const bytes = renderLabel(label, options.format, options.size);
  const destination = await deliver(options.destination, bytes);
  const action = before === 0 ? "label.print" : "label.reprint";
  const entry = await ledger.appendAudit(actor, {
    action,
    triadId: label.triadId,
    identity: label.identity,
    details: {
      chipId: label.chipId,
      kind: options.kind,
      format: options.format,
      to: "file" in options.destination ? "file" : "printer",
      destination: "file" in options.destination ? basename(destination) : destination,
      prints: before + 1,
      ...(reason === undefined ? {} : { reason }),
      ...(label.shelfCode === undefined ? {} : { shelfCode: label.shelfCode }),
    },
  });
  counts.add(label.triadId, options.kind);
  return {
    action,
    kind: options.kind,
    format: options.format,
    triadId: label.triadId,
    chipId: label.chipId,
    identity: label.identity,
    ...(label.shelfCode === undefined ? {} : { shelfCode: label.shelfCode }),
    prints: before + 1,
    destination,
    bytes: bytes.length,
    auditSeq: entry.seq,
  };
}
