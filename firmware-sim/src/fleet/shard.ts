/**
 * A fleet sharded over worker processes (`child_process.fork`): each worker holds its share of the devices (and,
 * without `cloud`, its own in-process emulator: one broker per worker), so no process needs more file descriptors
 * than its limit (20,000 here). The workers come online, the parent counts them all online at once, then tells them
 * to send a heartbeat each, drain and report; the parent merges the reports (latency percentiles over all samples).
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { TriadkitError } from "@triadkit/protocol";
import type { FleetOptionsInput } from "./fleet.js";
import type { FleetReport } from "./report.js";
import { summariseLatency } from "./stats.js";

/** Parent → worker. */
export type ShardCommand =
  | { readonly type: "run"; readonly options: FleetOptionsInput; readonly onlineTimeoutMs: number }
  | { readonly type: "finish" };

/** Worker → parent. */
export type ShardMessage =
  | { readonly type: "online"; readonly online: number; readonly devices: number }
  | { readonly type: "report"; readonly report: FleetReport; readonly latencies: readonly number[] }
  | { readonly type: "failed"; readonly message: string };

export interface ShardedFleetOptions {
  readonly workers: number;
  readonly fleet: Omit<FleetOptionsInput, "indexOffset"> & { readonly seed: number };
  /** Real ms each worker waits for its devices to come online. Default 120000. */
  readonly onlineTimeoutMs?: number;
  readonly onProgress?: (progress: { workersOnline: number; workers: number; online: number }) => void;
}

function workerEntry(): { module: string; execArgv: string[]; cwd: string } {
  const fromSources = import.meta.url.endsWith(".ts");
  const module = fileURLToPath(new URL(fromSources ? "./shard-worker.ts" : "./shard-worker.js", import.meta.url));
  const execArgv = ["--expose-gc", ...(fromSources ? ["--conditions=source", "--import", "tsx"] : [])];
  // From the package's directory, so that `--import tsx` resolves whatever the caller's working directory (the
  // workers read no path: the parent sends them the triad sheet's text).
  const cwd = fileURLToPath(new URL("../..", import.meta.url));
  return { module, execArgv, cwd };
}

/** Runs the fleet over `workers` processes and returns the merged report (with each worker's in `shards`). */
export async function runShardedFleet(
  options: ShardedFleetOptions,
): Promise<FleetReport & { allOnlineAtOnce: number }> {
  const { workers, fleet } = options;
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new TriadkitError("config.invalid", "workers must be between 1 and 64");
  }
  const per = Math.ceil(fleet.devices / workers);
  const { module, execArgv, cwd } = workerEntry();
  const children: ChildProcess[] = [];
  const onlineCounts: number[] = [];
  const reports: { report: FleetReport; latencies: readonly number[] }[] = [];
  // Holds the event loop open while only IPC channels are pending (Node unreferences an idle channel).
  const keepAlive = setInterval(() => {}, 1_000);
  try {
    const online = await Promise.all(
      Array.from({ length: workers }, (_, w) => {
        const devices = Math.min(per, fleet.devices - w * per);
        const child = fork(module, [], { execArgv, cwd, stdio: ["ignore", "inherit", "inherit", "ipc"] });
        children.push(child);
        const command: ShardCommand = {
          type: "run",
          options: { ...fleet, devices, indexOffset: w * per, connectConcurrency: fleet.connectConcurrency ?? 100 },
          onlineTimeoutMs: options.onlineTimeoutMs ?? 120_000,
        };
        child.send(command);
        return nextMessage(child, "online").then((m) => {
          onlineCounts[w] = m.online;
          options.onProgress?.({
            workersOnline: onlineCounts.filter((n) => n !== undefined).length,
            workers,
            online: onlineCounts.reduce((a, b) => a + (b ?? 0), 0),
          });
          return m.online;
        });
      }),
    );
    const allOnlineAtOnce = online.reduce((a, b) => a + b, 0);
    // Listen for every report before asking for any: a worker answers (and exits) as soon as it is told.
    const answers = children.map((child) => nextMessage(child, "report"));
    for (const child of children) child.send({ type: "finish" } satisfies ShardCommand);
    for (const m of await Promise.all(answers)) reports.push({ report: m.report, latencies: m.latencies });
    return { ...mergeReports(reports), allOnlineAtOnce };
  } finally {
    clearInterval(keepAlive);
    for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  }
}

function nextMessage<T extends ShardMessage["type"]>(
  child: ChildProcess,
  type: T,
): Promise<Extract<ShardMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: ShardMessage) => {
      if (m.type === type) {
        cleanup();
        resolve(m as Extract<ShardMessage, { type: T }>);
      } else if (m.type === "failed") {
        cleanup();
        reject(new TriadkitError("fleet.worker_failed", `fleet worker failed: ${m.message}`));
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new TriadkitError("fleet.worker_failed", `fleet worker exited (${code}) before ${type}`));
    };
    const cleanup = () => {
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    child.on("message", onMessage);
    child.on("exit", onExit);
  });
}

/** Sums the shards' counters; latency percentiles over every device's sample. */
export function mergeReports(parts: readonly { report: FleetReport; latencies: readonly number[] }[]): FleetReport {
  const reports = parts.map((p) => p.report);
  const sum = (f: (r: FleetReport) => number) => reports.reduce((a, r) => a + f(r), 0);
  const devices = sum((r) => r.devices);
  const sent = sum((r) => r.heartbeats.sent);
  const acked = sum((r) => r.heartbeats.acked);
  return {
    seed: reports[0]?.seed ?? 0,
    devices,
    online: sum((r) => r.online),
    broker: reports[0]?.broker ?? "cloud",
    durationMs: Math.max(0, ...reports.map((r) => r.durationMs)),
    connectLatency: summariseLatency(parts.flatMap((p) => p.latencies)),
    heartbeats: { sent, acked, lost: Math.max(0, sent - acked) },
    reconnects: sum((r) => r.reconnects),
    authRefused: sum((r) => r.authRefused),
    flashRecoveries: sum((r) => r.flashRecoveries),
    memory: {
      rssBeforeBytes: sum((r) => r.memory.rssBeforeBytes),
      rssAfterBytes: sum((r) => r.memory.rssAfterBytes),
      perDeviceBytes: Math.round(sum((r) => r.memory.rssAfterBytes - r.memory.rssBeforeBytes) / Math.max(1, devices)),
      afterGc: reports.every((r) => r.memory.afterGc),
    },
    shards: reports,
  };
}
