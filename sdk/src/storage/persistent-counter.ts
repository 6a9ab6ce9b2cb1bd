/**
 * PersistentCounter: a counter that changes often (heartbeat and message sequence numbers, nonces) and must never
 * hand out the same value twice, not even after a power cut, yet must not wear out flash with a write per step.
 *
 * Scheme (block reservation): the store holds a ceiling C, and every value handed out so far is < C. `next()`
 * returns values from memory and writes only when it reaches the ceiling, then reserving `reserve` (R) more values
 * with one write (C' = C + R) before returning. So writes ≈ increments / R.
 *
 * On open, the counter cannot know how far below the stored ceiling it had got, so it resumes at the ceiling. It
 * goes one step further to stay safe when the FlashStore falls back to the older of its two copies (the newest copy
 * was damaged): consecutive stored ceilings differ by at most R, so the value read is at least (true ceiling − R)
 * and resuming at read + R is never below the true ceiling. To keep that bound true for the next boot, `open`
 * stores read + R at once (one write per boot).
 *
 * Trade-off: after every reboot, clean or not, up to 2R − 1 values are skipped (a gap, never a repeat). Pick R so
 * that increments between reboots ÷ R writes fit the flash's endurance and a gap of 2R is harmless to the protocol.
 * The ceiling is stored with {@link defineRecord} as `{"v":1,"data":{"ceiling":C,"reserve":R}}`. A counter keeps the
 * largest R it has ever used (lowering the option later has no effect), since the safety bound relies on it.
 */
import { TriadkitError } from "@triadkit/protocol";
import { assertIntegerOption, SerialQueue } from "./checks.js";
import type { FlashStore } from "./flash-store.js";
import { defineRecord, type TypedRecord } from "./typed-record.js";

export interface PersistentCounterOptions {
  /** Values reserved per write, 1..2^31. */
  readonly reserve: number;
  /** No value below this is ever returned (the first value of a new counter); default 0. */
  readonly start?: number;
}

interface CounterState {
  readonly ceiling: number;
  readonly reserve: number;
}

function parseState(value: unknown): CounterState {
  const v = value as Partial<CounterState> | null;
  if (
    typeof v !== "object" ||
    v === null ||
    !Number.isSafeInteger(v.ceiling) ||
    (v.ceiling as number) < 0 ||
    !Number.isSafeInteger(v.reserve) ||
    (v.reserve as number) < 1
  ) {
    throw new Error("counter state must be {ceiling: safe integer ≥ 0, reserve: integer ≥ 1}");
  }
  return { ceiling: v.ceiling as number, reserve: v.reserve as number };
}

export class PersistentCounter {
  private readonly queue = new SerialQueue();

  private constructor(
    private readonly store: FlashStore,
    private readonly record: TypedRecord<CounterState>,
    private readonly reserve: number,
    private nextValue: number,
    private ceiling: number,
  ) {}

  /**
   * Opens the counter stored under `key` (one write; see the module comment). Throws `config.invalid` for bad
   * options, and the store's errors (`store.corrupt_record` if no valid copy of the ceiling is left).
   */
  static async open(store: FlashStore, key: string, options: PersistentCounterOptions): Promise<PersistentCounter> {
    assertIntegerOption("reserve", options.reserve, 1, 2 ** 31);
    const start = options.start ?? 0;
    assertIntegerOption("start", start, 0, Number.MAX_SAFE_INTEGER);
    const record = defineRecord<CounterState>({ key, version: 1, schema: parseState });
    const stored = await record.load(store);
    const reserve = Math.max(options.reserve, stored?.reserve ?? 0);
    const resume = stored === undefined ? start : Math.max(start, checkedAdd(stored.ceiling, reserve));
    await record.save(store, { ceiling: resume, reserve });
    return new PersistentCounter(store, record, reserve, resume, resume);
  }

  /** The next value: strictly greater than every value returned before, on this boot or any earlier one. */
  next(): Promise<number> {
    return this.queue.run(async () => {
      if (this.nextValue >= this.ceiling) {
        const ceiling = checkedAdd(this.nextValue, this.reserve);
        await this.record.save(this.store, { ceiling, reserve: this.reserve });
        this.ceiling = ceiling;
      }
      return this.nextValue++;
    });
  }

  /** The value the next call to {@link next} will return (nothing is reserved or written). */
  peek(): number {
    return this.nextValue;
  }

  /** Values reserved per write (the larger of the option and what was stored). */
  get reserved(): number {
    return this.reserve;
  }
}

function checkedAdd(a: number, b: number): number {
  const sum = a + b;
  if (!Number.isSafeInteger(sum)) {
    throw new TriadkitError("internal.unexpected", "persistent counter exhausted the safe integer range", { a, b });
  }
  return sum;
}
