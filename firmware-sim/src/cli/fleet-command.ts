/**
 * `triadkit-sim fleet`: N virtual devices (real SDK sessions, virtual modems, simulated flash, binding heartbeats)
 * against the in-process platform emulator or `--cloud`; optionally a scenario (faults and assertions on a virtual
 * clock) and worker processes. Prints `READY fleet …` once the devices are online (or the scenario started), live
 * progress on a terminal (JSON lines with `--json`), and the report; exit 1 when a device stayed offline, a
 * heartbeat was lost or an assertion failed. docs/fleet.md.
 */
import { chmod, readFile, writeFile } from "node:fs/promises";
import { isTriadkitError, TriadkitError } from "@triadkit/protocol";
import { SingleBar } from "cli-progress";
import { type Command, InvalidArgumentError } from "commander";
import { Fleet, type FleetOptionsInput, fleetSpecs, resolveFleetOptions, sleep } from "../fleet/fleet.js";
import type { FleetReport } from "../fleet/report.js";
import { runShardedFleet } from "../fleet/shard.js";
import { scenarioJUnit } from "../scenario/junit.js";
import { runScenario, type ScenarioResult } from "../scenario/runner.js";
import { loadScenario } from "../scenario/schema.js";
import { type CliIo, CliUsageError } from "./io.js";

export interface FleetCommandOptions {
  readonly devices: number;
  readonly cloud?: string;
  readonly ca?: string;
  readonly triads?: string;
  readonly heartbeatSec: number;
  readonly scenario?: string;
  readonly seed?: number;
  readonly report?: string;
  readonly junit?: string;
  readonly json?: boolean;
  readonly durationSec: number;
  readonly workers: number;
  readonly onlineTimeoutSec: number;
  readonly connectConcurrency: number;
  readonly spreadAddresses: boolean;
  readonly writeSheets?: string;
}

const intIn = (min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`must be an integer ${min}–${max}`);
  return n;
};

export function registerFleetCommand(program: Command, io: CliIo): void {
  program
    .command("fleet")
    .description("run N virtual devices (real SDK sessions, virtual modems, flash, heartbeats); optionally a scenario")
    .option("--devices <n>", "number of devices, 1–200000", intIn(1, 200_000), 10)
    .option("--cloud <url>", "the platform: mqtt:// or mqtts:// (default: an in-process emulator per process)")
    .option("--ca <file>", "CA bundle (PEM) to verify an mqtts:// platform")
    .option(
      "--triads <csv>",
      "the devices' triads (the emulator's CSV import format); default: generated from the seed",
    )
    .option("--heartbeat-sec <n>", "binding heartbeat interval, 10–86400", intIn(10, 86_400), 300)
    .option("--scenario <file>", "run this scenario (YAML or JSON; --devices and --heartbeat-sec come from it)")
    .option(
      "--seed <n>",
      "seed of every random choice (in the report and JUnit file: replays a run)",
      intIn(0, 0xffff_ffff),
    )
    .option("--report <file.json>", "write the final report (JSON) here")
    .option("--junit <file.xml>", "write the scenario's assertions as JUnit XML here")
    .option("--json", "machine-readable JSON lines on stdout instead of a progress bar")
    .option(
      "--duration-sec <n>",
      "without a scenario: keep the fleet running this long once online",
      intIn(0, 86_400),
      0,
    )
    .option("--workers <n>", "shard the devices over this many worker processes (1–64)", intIn(1, 64), 1)
    .option("--online-timeout-sec <n>", "how long devices may take to come online", intIn(1, 3_600), 120)
    .option("--connect-concurrency <n>", "devices started at once per process", intIn(1, 10_000), 100)
    .option("--no-spread-addresses", "let the OS pick source addresses (default: spread over 127.0.0.0/8)")
    .option(
      "--write-sheets <prefix>",
      "write <prefix>triads.csv (mode 0600) and <prefix>bindings.csv for the seed, exit",
    )
    .action(async (options: FleetCommandOptions) => {
      await runFleetCommand(options, io);
    });
}

function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isTriadkitError(err) && err.code === "config.invalid") throw new CliUsageError(err.message);
    throw err;
  }
}

/** Resolves when the run was healthy; throws `fleet.unhealthy` / `scenario.assertion_failed` (exit 1) otherwise. */
async function runFleetCommand(options: FleetCommandOptions, io: CliIo): Promise<void> {
  if (options.workers > 1 && options.scenario !== undefined) {
    throw new CliUsageError("--workers cannot be combined with --scenario (a scenario runs in one process)");
  }
  const caPem = options.ca === undefined ? undefined : await readFile(options.ca, "utf8");
  const triadsCsv = options.triads === undefined ? undefined : await readFile(options.triads, "utf8");
  const fleetInput: FleetOptionsInput = {
    devices: options.devices,
    heartbeatSec: options.heartbeatSec,
    connectConcurrency: options.connectConcurrency,
    spreadAddresses: options.spreadAddresses,
    ...(options.cloud === undefined ? {} : { cloud: options.cloud }),
    ...(caPem === undefined ? {} : { caPem }),
    ...(triadsCsv === undefined ? {} : { triadsCsv }),
    ...(options.seed === undefined ? {} : { seed: options.seed }),
  };
  if (options.writeSheets !== undefined) return writeSheets(options.writeSheets, fleetInput, io);
  if (options.scenario !== undefined) return runScenarioCommand(options, options.scenario, io);
  const resolved = usage(() => resolveFleetOptions(fleetInput));
  const progress = createProgress(io, options.json === true, resolved.devices);
  let report: FleetReport;
  try {
    if (options.workers > 1) {
      const sharded = await runShardedFleet({
        workers: options.workers,
        fleet: { ...fleetInput, seed: resolved.seed },
        onlineTimeoutMs: options.onlineTimeoutSec * 1000,
        onProgress: (p) => progress.update(p.online),
      });
      progress.stop();
      io.out(`READY fleet ${sharded.allOnlineAtOnce}/${resolved.devices} online ${options.workers} workers`);
      report = sharded;
    } else {
      report = await runInProcess(fleetInput, options, io, progress);
    }
  } finally {
    progress.stop();
  }
  await emit(io, options, report, undefined);
  if (report.online !== report.devices || report.heartbeats.lost !== 0) {
    throw new TriadkitError(
      "fleet.unhealthy",
      `${report.devices - report.online} of ${report.devices} devices offline, ${report.heartbeats.lost} heartbeats lost (seed ${report.seed})`,
    );
  }
}

async function runInProcess(
  input: FleetOptionsInput,
  options: FleetCommandOptions,
  io: CliIo,
  progress: Progress,
): Promise<FleetReport> {
  const fleet = await Fleet.create({ ...input, onProgress: (p) => progress.update(p.online) }).catch((err) =>
    usage(() => {
      throw err;
    }),
  );
  try {
    await fleet.start();
    await fleet.waitAllOnline(options.onlineTimeoutSec * 1000);
    progress.update(fleet.onlineCount());
    progress.stop();
    io.out(`READY fleet ${fleet.onlineCount()}/${fleet.devices.length} online ${fleet.emulator?.url ?? options.cloud}`);
    await fleet.heartbeatAll();
    if (options.durationSec > 0) {
      await Promise.race([sleep(options.durationSec * 1000), io.shutdownSignal()]);
    }
    await fleet.drain(30_000);
    return fleet.report();
  } finally {
    await fleet.close();
  }
}

async function runScenarioCommand(options: FleetCommandOptions, file: string, io: CliIo): Promise<void> {
  const scenario = await loadScenario(file).catch((err) =>
    usage(() => {
      throw err;
    }),
  );
  const seed = options.seed ?? scenario.seed;
  io.out(`READY scenario ${scenario.name} devices ${scenario.devices} seed ${seed ?? "random"}`);
  const result = await runScenario(scenario, {
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.cloud === undefined ? {} : { cloud: options.cloud }),
    onStep: (step, online, total) => {
      const line = { event: "step", ...step, online, total };
      if (options.json) io.out(JSON.stringify(line));
      else
        io.err(
          `${fmtMs(step.atMs).padStart(9)}  ${step.kind === "do" ? "do    " : step.passed ? "PASS  " : "FAIL  "}${step.name} (${step.devices} devices)${step.message === undefined ? "" : `: ${step.message}`}  [${online}/${total} online]`,
        );
    },
  });
  if (options.junit !== undefined) await writeFile(options.junit, scenarioJUnit(result));
  await emit(io, options, result.report, result);
  if (!result.passed) {
    const failed = result.steps.filter((s) => s.passed === false).length;
    throw new TriadkitError(
      "scenario.assertion_failed",
      `scenario ${result.name}: ${failed} assertion(s) failed; replay with --seed ${result.seed}`,
    );
  }
}

async function emit(
  io: CliIo,
  options: FleetCommandOptions,
  report: FleetReport,
  scenario: ScenarioResult | undefined,
): Promise<void> {
  const full = scenario === undefined ? report : { ...report, scenario: { ...scenario, report: undefined } };
  if (options.report !== undefined) await writeFile(options.report, `${JSON.stringify(full, null, 2)}\n`);
  if (options.json) {
    io.out(JSON.stringify({ event: "report", ...full }));
    return;
  }
  const l = report.connectLatency;
  io.out(
    [
      scenario === undefined
        ? undefined
        : `scenario ${scenario.name}: ${scenario.passed ? "PASSED" : "FAILED"} (seed ${scenario.seed}, ${fmtMs(scenario.scenarioMs)} ${scenario.clock} time in ${fmtMs(scenario.realMs)})`,
      `devices ${report.online}/${report.devices} online  seed ${report.seed}  broker ${report.broker}`,
      `connect latency ms  p50 ${l.p50Ms}  p90 ${l.p90Ms}  p99 ${l.p99Ms}  max ${l.maxMs}`,
      `heartbeats  sent ${report.heartbeats.sent}  acknowledged ${report.heartbeats.acked}  lost ${report.heartbeats.lost}`,
      `reconnects ${report.reconnects}  refused logins ${report.authRefused}  flash records recovered ${report.flashRecoveries}`,
      `memory per device ${(report.memory.perDeviceBytes / 1024).toFixed(1)} KiB (RSS ${mib(report.memory.rssBeforeBytes)} → ${mib(report.memory.rssAfterBytes)} MiB${report.memory.afterGc ? ", after GC" : ""})`,
    ]
      .filter((x) => x !== undefined)
      .join("\n"),
  );
}

async function writeSheets(prefix: string, input: FleetOptionsInput, io: CliIo): Promise<void> {
  const resolved = usage(() => resolveFleetOptions(input));
  const specs = fleetSpecs(resolved);
  const triads = `${prefix}triads.csv`;
  const bindings = `${prefix}bindings.csv`;
  // The triad sheet holds device secrets: owner-only, never printed.
  await writeFile(triads, "", { mode: 0o600 });
  await chmod(triads, 0o600);
  await writeFile(
    triads,
    [
      "productKey,deviceName,deviceSecret",
      ...specs.map((s) => `${s.triad.productKey},${s.triad.deviceName},${s.triad.deviceSecret}`),
    ].join("\n") + "\n",
  );
  await writeFile(
    bindings,
    ["imei,iccid,imsi", ...specs.map((s) => `${s.imei},${s.iccid},${s.imsi}`)].join("\n") + "\n",
  );
  io.out(`wrote ${triads} and ${bindings}: ${specs.length} devices, seed ${resolved.seed}`);
}

interface Progress {
  update(online: number): void;
  stop(): void;
}

/** A progress bar on a terminal (stderr); JSON lines with --json; nothing otherwise. */
function createProgress(io: CliIo, json: boolean, total: number): Progress {
  if (json) {
    let last = -1;
    return {
      update: (online) => {
        if (online === last) return;
        last = online;
        io.out(JSON.stringify({ event: "progress", online, total }));
      },
      stop: () => {},
    };
  }
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new SingleBar({ format: "devices online {bar} {value}/{total}", stream: process.stderr });
  bar.start(total, 0);
  let stopped = false;
  return {
    update: (online) => stopped || bar.update(online),
    stop: () => {
      if (!stopped) bar.stop();
      stopped = true;
    },
  };
}

function fmtMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

const mib = (bytes: number) => (bytes / 1_048_576).toFixed(0);
