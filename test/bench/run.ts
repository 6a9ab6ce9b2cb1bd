/**
 * `npm run bench`: every benchmark in test/bench/, each against a baseline measured in the same run with the same
 * method. `--only <name>` (repeatable, comma-separated), `--quick` (small sizes, a smoke run), `--json <file>`.
 * Exit codes: 0 ran (whatever PASS/SHORT says: these are measurements, not tests), 1 a benchmark failed, 2 usage.
 */
import { writeFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { Command, CommanderError } from "commander";
import { BENCHMARKS } from "./registry.js";
import { type BenchReport, formatResult, machine } from "./report.js";
import type { BenchResult } from "./types.js";

export interface RunOptions {
  readonly only?: readonly string[];
  readonly quick?: boolean;
  readonly log?: (line: string) => void;
  readonly out?: (line: string) => void;
  /** Called with the report so far after each benchmark (the JSON file is rewritten, so a crash keeps the rest). */
  readonly onResult?: (report: BenchReport) => Promise<void>;
}

/** Runs the chosen benchmarks one after another. Throws `Error` for an unknown name. */
export async function runBenchmarks(options: RunOptions = {}): Promise<BenchReport> {
  const names = options.only ?? BENCHMARKS.map((b) => b.name);
  const unknown = names.filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length > 0) {
    throw new UsageError(`unknown benchmark ${unknown.join(", ")}; known: ${BENCHMARKS.map((b) => b.name).join(", ")}`);
  }
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const quick = options.quick ?? false;
  const startedAt = new Date().toISOString();
  const results: BenchResult[] = [];
  for (const bench of BENCHMARKS.filter((b) => names.includes(b.name))) {
    const start = performance.now();
    const r = await bench.run({ quick, log });
    const result: BenchResult = { name: bench.name, title: bench.title, ...r, durationMs: performance.now() - start };
    results.push(result);
    for (const line of formatResult(result)) out(line);
    await options.onResult?.({ machine: machine(), quick, startedAt, results });
  }
  return { machine: machine(), quick, startedAt, results };
}

export class UsageError extends Error {}

export interface BenchIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const processIo: BenchIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** The `npm run bench` command line; resolves with the exit code. */
export async function main(argv: readonly string[], io: BenchIo = processIo): Promise<number> {
  const program = new Command("bench")
    .description("triadkit benchmarks: each figure against a baseline measured in the same run")
    .option("--only <names>", "run only these benchmarks (comma-separated, repeatable)", collect, [])
    .option("--quick", "small sizes: a smoke run of a minute or two", false)
    .option("--json <file>", "also write the results as JSON to this file")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  try {
    program.parse(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  const opts = program.opts<{ only: string[]; quick: boolean; json?: string }>();
  const json = opts.json;
  const m = machine();
  io.out(
    `machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryMiB} MiB, node ${m.node} ${m.platform}/${m.arch}${opts.quick ? " (quick)" : ""}`,
  );
  try {
    const report = await runBenchmarks({
      ...(opts.only.length > 0 ? { only: opts.only } : {}),
      quick: opts.quick,
      log: io.err,
      out: io.out,
      ...(json === undefined
        ? {}
        : { onResult: (r: BenchReport) => writeFile(json, `${JSON.stringify(r, null, 2)}\n`) }),
    });
    if (json !== undefined) await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`bench: ${err.message}`);
      return 2;
    }
    io.err(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  }
}

function collect(value: string, previous: string[]): string[] {
  return [
    ...previous,
    ...value
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  ];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`bench: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
