/** The shapes every benchmark module shares: a figure against a baseline measured in the same run, and a goal. */

/** `max`: the ratio must be at most `ratio` (smaller is better); `min`: at least `ratio` (larger is better). */
export interface Goal {
  readonly kind: "max" | "min";
  readonly ratio: number;
}

/** A goal on the figure itself, not on a ratio (`≥ 50,000 heartbeats/s`). */
export interface Target {
  readonly kind: "max" | "min";
  readonly value: number;
}

export interface Figure {
  /** What was measured (`RSS per device`, `signatures per second`). */
  readonly label: string;
  readonly unit: string;
  readonly value: number;
  /** The baseline measured in the same run with the same method; absent for a figure reported without one. */
  readonly baseline?: { readonly label: string; readonly value: number };
  /** value / baseline.value. */
  readonly ratio?: number;
  readonly goal?: Goal;
  readonly target?: Target;
  /** PASS or SHORT against the goal; INFO when there is no goal. */
  readonly status: "PASS" | "SHORT" | "INFO";
  /** What limits it, sizes, anything the reader needs. */
  readonly note?: string;
}

export interface BenchResult {
  readonly name: string;
  readonly title: string;
  readonly sizes: Readonly<Record<string, number>>;
  readonly figures: readonly Figure[];
  readonly durationMs: number;
}

export interface BenchContext {
  /** Small sizes for a smoke run. */
  readonly quick: boolean;
  /** Progress lines (stderr). */
  readonly log: (line: string) => void;
}

export interface Benchmark {
  readonly name: string;
  readonly title: string;
  run(ctx: BenchContext): Promise<Omit<BenchResult, "name" | "title" | "durationMs">>;
}

/** A figure with its ratio and PASS/SHORT computed. */
export function figure(input: {
  label: string;
  unit: string;
  value: number;
  baseline?: { label: string; value: number };
  goal?: Goal;
  target?: Target;
  note?: string;
}): Figure {
  const ratio = input.baseline === undefined ? undefined : input.value / input.baseline.value;
  let status: Figure["status"] = "INFO";
  if (input.goal !== undefined && ratio !== undefined) {
    const ok = input.goal.kind === "max" ? ratio <= input.goal.ratio : ratio >= input.goal.ratio;
    status = ok ? "PASS" : "SHORT";
  }
  const t = input.target;
  if (t !== undefined) {
    const ok = t.kind === "max" ? input.value <= t.value : input.value >= t.value;
    status = ok && status !== "SHORT" ? "PASS" : "SHORT";
  }
  return {
    label: input.label,
    unit: input.unit,
    value: input.value,
    ...(input.baseline === undefined ? {} : { baseline: input.baseline }),
    ...(ratio === undefined ? {} : { ratio }),
    ...(input.goal === undefined ? {} : { goal: input.goal }),
    ...(input.target === undefined ? {} : { target: input.target }),
    status,
    ...(input.note === undefined ? {} : { note: input.note }),
  };
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The value below which `p` (0–1) of the values fall (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank] as number;
}

/**
 * Operations per second of `fn`, ours and a baseline interleaved round by round (so both see the same noise on a
 * shared machine); the median of the rounds.
 */
export function interleavedRate(fns: readonly (() => void)[], options: { rounds: number; roundMs: number }): number[] {
  const rates: number[][] = fns.map(() => []);
  for (const fn of fns) for (let i = 0; i < 200; i++) fn(); // warm-up (JIT)
  for (let r = 0; r < options.rounds; r++) {
    fns.forEach((fn, k) => {
      let ops = 0;
      const start = performance.now();
      let elapsed = 0;
      do {
        for (let i = 0; i < 100; i++) fn();
        ops += 100;
        elapsed = performance.now() - start;
      } while (elapsed < options.roundMs);
      rates[k]?.push((ops * 1000) / elapsed);
    });
  }
  return rates.map(median);
}
