/**
 * `triadkit-station export shelf [--brand B] [--store ID] [--assigned] [--out F] [--format csv|xlsx] [--template T]`:
 * the smart-shelf registration list with each device's ISV line, audited with a signed checkpoint. `--lines` prints
 * only the ISV lines (UTF-8, one per device) on stdout, to paste into DingTalk; that is audited too.
 */
import { createHash } from "node:crypto";
import { TriadkitError } from "@triadkit/protocol";
import { type CliIo, CliUsageError } from "@triadkit/sdk";
import type { Command } from "commander";
import { checkpointJson } from "../audit/checkpoint-json.js";
import { writeAuditedExport } from "../exports/audited-export.js";
import { loadTemplate } from "../exports/template.js";
import { isvLine, parseStoreId } from "../ledger/shelf.js";
import {
  SHELF_EXPORT_KIND,
  SHELF_FIELDS,
  type ShelfExportQuery,
  shelfDevicesOf,
  shelfExportRow,
} from "../shelf/shelf-export.js";
import { errorText, withStation } from "./common.js";
import {
  assumedTemplateWarning,
  type ExportFileOptions,
  exportFileOptions,
  exportTarget,
  reportExport,
} from "./export-command.js";

interface ShelfExportOptions extends ExportFileOptions {
  readonly brand?: string;
  readonly store?: number;
  readonly assigned?: boolean;
  readonly lines?: boolean;
}

function storeOption(value: string): number {
  try {
    return parseStoreId(value, "--store");
  } catch (err) {
    throw new CliUsageError(errorText(err));
  }
}

function emptyError(query: ShelfExportQuery): TriadkitError {
  return new TriadkitError("export.empty", "no shelf device matches: nothing was written", {
    kind: SHELF_EXPORT_KIND,
    ...query,
  });
}

function fieldsHelp(): string {
  const width = Math.max(...Object.keys(SHELF_FIELDS).map((k) => k.length));
  return ["", "Template fields:", ...Object.entries(SHELF_FIELDS).map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join(
    "\n",
  );
}

export function registerShelfExport(
  exportCommand: Command,
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
): void {
  const cmd = exportCommand
    .command("shelf")
    .description("the smart-shelf registration list with each device's ISV line (品牌，门店id：…，设备id:…)")
    .option("--brand <name>", "only this brand")
    .option("--store <id>", "only this store (门店id)", storeOption)
    .option("--assigned", "only device codes already burnt into a board")
    .option("--lines", "print only the ISV lines (UTF-8, one per device) on stdout, for pasting; no file");
  exportFileOptions(cmd)
    .addHelpText("after", fieldsHelp())
    .action(async (options: ShelfExportOptions) => {
      const query: ShelfExportQuery = {
        ...(options.brand === undefined ? {} : { brand: options.brand }),
        ...(options.store === undefined ? {} : { storeId: options.store }),
        ...(options.assigned === true ? { assignedOnly: true } : {}),
      };
      if (options.lines) {
        if (options.out !== undefined || options.format !== undefined || options.template !== undefined) {
          throw new CliUsageError("--lines prints on stdout: no --out, --format or --template");
        }
        await withStation(options, io, env, async (station, actor) => {
          const lines: string[] = [];
          for await (const d of shelfDevicesOf(station.ledger, query)) lines.push(isvLine(d));
          if (lines.length === 0) throw emptyError(query);
          const text = `${lines.join("\n")}\n`;
          const sha256 = createHash("sha256").update(text, "utf8").digest("hex");
          const entry = await station.ledger.appendAudit(actor, {
            action: "export",
            details: { kind: "shelf-lines", rows: lines.length, sha256, ...query },
          });
          const checkpoint = checkpointJson(await station.ledger.checkpoint(), station.stationKey.publicKey);
          if (options.json) {
            io.out(
              JSON.stringify({
                ok: true,
                kind: "shelf-lines",
                rows: lines.length,
                sha256,
                lines,
                auditSeq: entry.seq,
                checkpoint,
              }),
            );
            return;
          }
          for (const line of lines) io.out(line);
          io.err(
            `triadkit-station: ${lines.length} ISV line(s), SHA-256 ${sha256}, audit seq ${entry.seq} (checkpoint ${checkpoint.seq})`,
          );
        });
        return;
      }
      const template = loadTemplate(SHELF_EXPORT_KIND, Object.keys(SHELF_FIELDS), options.template);
      const target = exportTarget(SHELF_EXPORT_KIND, options, template);
      if (template.assumed) io.err(assumedTemplateWarning(template));
      await withStation(options, io, env, async (station, actor) => {
        async function* rows(): AsyncGenerator<readonly string[]> {
          for await (const d of shelfDevicesOf(station.ledger, query)) {
            const row = await shelfExportRow(station.ledger, d);
            yield template.columns.map((c) => (c.field === undefined ? (c.value ?? "") : (row[c.field] ?? "")));
          }
        }
        const written = await writeAuditedExport(station, actor, {
          kind: SHELF_EXPORT_KIND,
          template,
          target,
          rows: rows(),
          keep: (n) => n > 0,
          details: { ...query },
        });
        if (written === undefined) throw emptyError(query);
        reportExport(io, options.json, written);
      });
    });
}
