/** Printing results for people and writing them as JSON. */
import { arch, cpus, totalmem } from "node:os";
import type { BenchResult, Figure } from "./types.js";

export interface BenchReport {
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryMiB: number;
    readonly node: string;
    readonly arch: string;
    readonly platform: string;
  };
  readonly quick: boolean;
  readonly startedAt: string;
  readonly results: readonly BenchResult[];
}

export function machine(): BenchReport["machine"] {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryMiB: Math.round(totalmem() / 1024 / 1024),
    node: process.version,
    arch: arch(),
    platform: process.platform,
  };
}

function num(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString("en-US");
  return value.toPrecision(3);
}

function goalText(f: Figure): string {
  const parts: string[] = [];
  if (f.goal !== undefined) parts.push(`${f.goal.kind === "max" ? "≤" : "≥"} ${f.goal.ratio}×`);
  if (f.target !== undefined) parts.push(`${f.target.kind === "max" ? "≤" : "≥"} ${num(f.target.value)} ${f.unit}`);
  return parts.length === 0 ? "" : ` | goal ${parts.join(" and ")}`;
}

/** One line per figure: the figure, the baseline, the ratio, the goal and PASS/SHORT. */
export function formatResult(result: BenchResult): string[] {
  const lines = [`== ${result.name}: ${result.title} (${(result.durationMs / 1000).toFixed(1)} s)`];
  for (const f of result.figures) {
    const base = f.baseline === undefined ? "" : ` | baseline ${num(f.baseline.value)} ${f.unit} (${f.baseline.label})`;
    const ratio = f.ratio === undefined ? "" : ` | ratio ${f.ratio.toFixed(2)}×`;
    lines.push(`  [${f.status}] ${f.label}: ${num(f.value)} ${f.unit}${base}${ratio}${goalText(f)}`);
    if (f.note !== undefined) lines.push(`         ${f.note}`);
  }
  return lines;
}
