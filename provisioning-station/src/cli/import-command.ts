import { type CliIo, CliUsageError, CryptoRandom } from "@triadkit/sdk";
import { SingleBar } from "cli-progress";
import type { Command } from "commander";
import { checkpointJson } from "../audit/checkpoint-json.js";
import { importSheet, shredFile } from "../station-import.js";
import { type StationCliOptions, stationOptions, withStation } from "./common.js";
import { rejectSheet } from "./sheet-rejection.js";

interface ImportOptions extends StationCliOptions {
  readonly workOrder: string;
  readonly format: string;
  readonly sheet?: string;
  readonly encoding?: string;
  readonly report?: string;
  readonly shredSource?: boolean;
  readonly progress: boolean;
}

function progressBar(enabled: boolean) {
  if (!enabled) return undefined;
  const bar = new SingleBar({
    format: "importing [{bar}] {percentage}% {value}/{total} bytes",
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true,
  });
  let started = false;
  return {
    update(done: number, total: number) {
      if (!started) {
        bar.start(total, 0);
        started = true;
      }
      bar.update(done);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

export function registerImportCommand(
  program: Command,
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
): void {
  stationOptions(
    program
      .command("import")
      .description("import a platform triad sheet (.xlsx or .csv) into a work order, all rows or none")
      .argument("<file>", "the triad sheet the platform issued (Tmall Genie or Alibaba Cloud IoT)")
      .requiredOption("--work-order <id>", "work order the triads belong to")
      .option("--format <format>", "genie, alibaba or auto (detect from the header)", "auto")
      .option("--sheet <name>", "xlsx: the sheet to read (default: the one with a triad header)")
      .option("--encoding <label>", "CSV: force utf-8, gb18030 or gbk (default: detect)")
      .option("--report <file>", "where a rejected file's report goes (default: <file>.report.csv)")
      .option("--shred-source", "after a successful import, overwrite the sheet with random bytes and delete it")
      .option("--no-progress", "no progress bar on stderr"),
  ).action(async (file: string, options: ImportOptions) => {
    if (!["auto", "genie", "alibaba"].includes(options.format)) {
      throw new CliUsageError(`--format must be genie, alibaba or auto, not ${options.format}`);
    }
    const random = new CryptoRandom();
    await withStation(options, io, env, async (station, actor) => {
      const bar = progressBar(options.progress && process.stderr.isTTY === true);
      let outcome: Awaited<ReturnType<typeof importSheet>>;
      try {
        outcome = await importSheet(station.ledger, station.keyring, file, {
          workOrderId: options.workOrder,
          actor,
          random,
          format: options.format as "auto" | "genie" | "alibaba",
          ...(options.sheet === undefined ? {} : { sheet: options.sheet }),
          ...(options.encoding === undefined ? {} : { encoding: options.encoding }),
          ...(bar === undefined ? {} : { onProgress: (done, total) => bar.update(done, total) }),
        });
      } finally {
        bar?.stop();
      }
      if (outcome.ok) {
        const { summary, info } = outcome;
        let shredded = false;
        if (options.shredSource) {
          await shredFile(file, random);
          shredded = true;
        }
        const checkpoint = checkpointJson(await station.ledger.checkpoint(), station.stationKey.publicKey);
        if (options.json) {
          io.out(
            JSON.stringify({
              ok: true,
              checkpoint,
              workOrder: summary.workOrderId,
              imported: summary.imported,
              workOrderTotal: summary.workOrderTotal,
              importId: summary.importId,
              auditSeq: summary.auditSeq,
              file: outcome.file,
              sheet: {
                kind: info.kind,
                format: info.format,
                sheet: info.sheet ?? null,
                encoding: info.encoding ?? null,
              },
              shredded,
            }),
          );
        } else {
          io.out(
            `imported ${summary.imported} triads into ${summary.workOrderId} (${summary.workOrderTotal} on the work order)`,
          );
          if (shredded) io.out(`${outcome.file.name} overwritten and deleted (best effort on SSDs and snapshots)`);
        }
        return;
      }
      return rejectSheet(io, station, actor, {
        reportPath: options.report ?? `${file}.report.csv`,
        fileName: outcome.file.name,
        issues: outcome.issues,
        moreIssues: outcome.moreIssues,
        rowsRead: outcome.rowsRead,
        details: { workOrderId: options.workOrder, fileName: outcome.file.name, sha256: outcome.file.sha256 },
        json: options.json === true,
      });
    });
  });
}
