/**
 * The two-slot scheme, written once and shared by every persistent FlashStore (files on a board, raw simulated
 * flash): each key owns two slots, A (0) and B (1), each holding one encoded record or nothing.
 *
 * - Read: decode both slots; the valid record with the newer generation wins. A torn or damaged slot is ignored.
 * - Write: the new record (generation + 1) goes into the slot NOT holding the current value, so the current value
 *   is never touched while the new one is being written. If the other slot holds no valid record (the key's first
 *   write, or a slot found damaged), the new record is then copied there too, so every value that is not being
 *   superseded has two copies and a single corrupted slot never loses it.
 * - Delete: clear the slot not holding the current value first, then the current one, so an interrupted delete
 *   leaves the current value or nothing, never the older value.
 *
 * Atomicity argument: a write changes only the target slot until the moment it is complete. The medium promises
 * that an interrupted slot write leaves the slot reading as the complete new record, as nothing, or as its previous
 * content, possibly damaged (see {@link SlotMedium.writeSlot}); that previous content is never the current value
 * (the target is the other slot) and always older than it. The other slot still holds the current value, so the
 * reader returns either the current (old) value or the new one. On a key's first write there is no current value,
 * the target held nothing valid, and an interruption leaves it holding nothing valid: the key reads as before.
 *
 * When no valid copy is left: if the medium attributes a damaged record to the key (a checksum failed after the
 * write had committed), `read` throws `store.corrupt_record` instead of pretending the key was never written; if a
 * slot holds a record of a newer format version, `read` throws `store.unsupported_version` rather than falling back
 * to an older value. Interrupted writes never produce either: they leave the slot uncommitted.
 */
import { TriadkitError } from "@triadkit/protocol";
import { assertFlashKey, assertFlashValue, SerialQueue } from "./checks.js";
import type { FlashStore } from "./flash-store.js";
import {
  encodeRecord,
  type FlashRecord,
  inspectRecord,
  isNewerGeneration,
  nextGeneration,
  type RecordHeader,
} from "./record-format.js";

export type SlotIndex = 0 | 1;

/**
 * Where the slots live. Implementations: one file per slot (FileFlashStore), erase blocks of a raw flash
 * (SimulatedFlashStore in firmware-sim). Called one operation at a time.
 */
export interface SlotMedium {
  /** Largest value a slot can hold (for any key). */
  readonly maxValueBytes: number;
  /** Keys the medium attributes at least one slot to (their slots may all be invalid). Any order. */
  listKeys(): Promise<string[]>;
  /**
   * The bytes of the slot if it holds a committed record (trailing bytes allowed), `undefined` if it holds
   * nothing committed (never written, cleared, or a write that was interrupted before its commit point).
   */
  readSlot(key: string, slot: SlotIndex): Promise<Uint8Array | undefined>;
  /**
   * Replaces the slot's content with `record`. If interrupted (power cut, crash, I/O error), the slot must read as
   * the complete new record, as `undefined`, or as its previous content (which the interruption may have damaged so
   * that it fails validation). A partly written new record must read as `undefined`: the medium needs a commit
   * point (an atomic rename, a commit marker programmed last).
   */
  writeSlot(key: string, slot: SlotIndex, record: Uint8Array): Promise<void>;
  /** Makes the slot read as `undefined`. If interrupted, the slot reads as before or as `undefined`. */
  clearSlot(key: string, slot: SlotIndex): Promise<void>;
  /** Releases the medium; called once, after the last operation. */
  close(): Promise<void>;
}

/** One slot as the store sees it. */
export type SlotState =
  | { readonly kind: "empty" }
  | { readonly kind: "valid"; readonly record: FlashRecord }
  | { readonly kind: "unsupported"; readonly header: RecordHeader }
  | { readonly kind: "damaged"; readonly reason: string; readonly generation?: number };

/** Diagnostic view of a key: both slots, and which one `read` would return. */
export interface KeyInspection {
  readonly slots: readonly [SlotState, SlotState];
  /** Slot of the newest valid or unsupported record, if any. */
  readonly current: SlotIndex | undefined;
}

/** A FlashStore over any {@link SlotMedium}; see the module comment for the scheme. */
export class TwoSlotFlashStore implements FlashStore {
  readonly maxValueBytes: number;
  private readonly queue = new SerialQueue();
  private closed = false;

  constructor(private readonly medium: SlotMedium) {
    this.maxValueBytes = medium.maxValueBytes;
  }

  read(key: string): Promise<Uint8Array | undefined> {
    return this.op(key, async () => {
      const inspection = await this.inspectNow(key);
      const current = currentState(inspection);
      if (current?.kind === "valid") return current.record.value;
      if (current?.kind === "unsupported") {
        throw new TriadkitError(
          "store.unsupported_version",
          `${key} was written in record format version ${current.header.version}`,
          {
            key,
            version: current.header.version,
          },
        );
      }
      const damaged = inspection.slots.find((s) => s.kind === "damaged");
      if (damaged?.kind === "damaged") {
        throw new TriadkitError("store.corrupt_record", `${key}: no valid copy left (${damaged.reason})`, {
          key,
          reason: damaged.reason,
        });
      }
      return undefined;
    });
  }

  write(key: string, value: Uint8Array): Promise<void> {
    return this.op(key, async () => {
      assertFlashValue(key, value, this.maxValueBytes);
      const inspection = await this.inspectNow(key);
      const { slots, current } = inspection;
      let target: SlotIndex;
      let generation: number;
      if (current !== undefined) {
        target = other(current);
        generation = nextGeneration(generationOf(slots[current]) as number);
      } else {
        target = slots[0].kind === "empty" || slots[1].kind !== "empty" ? 0 : 1;
        const known = slots.map(generationOf).filter((g): g is number => g !== undefined);
        generation = known.length === 0 ? 1 : nextGeneration(known.reduce((a, b) => (isNewerGeneration(a, b) ? a : b)));
      }
      const record = encodeRecord({ key, generation, value });
      await this.medium.writeSlot(key, target, record);
      // No valid older copy beside the new one: mirror it so one damaged slot cannot lose the value.
      if (slots[other(target)].kind !== "valid") await this.medium.writeSlot(key, other(target), record);
    });
  }

  delete(key: string): Promise<void> {
    return this.op(key, async () => {
      const { slots, current } = await this.inspectNow(key);
      const order: SlotIndex[] = current === undefined ? [0, 1] : [other(current), current];
      for (const slot of order) if (slots[slot].kind !== "empty") await this.medium.clearSlot(key, slot);
    });
  }

  keys(): Promise<string[]> {
    return this.run(async () => {
      const out: string[] = [];
      for (const key of await this.medium.listKeys()) {
        const { slots } = await this.inspectNow(key);
        if (slots.some((s) => s.kind !== "empty")) out.push(key);
      }
      return out.sort();
    });
  }

  /** Both slots of `key` and which one is current: for diagnostics and tests. */
  inspect(key: string): Promise<KeyInspection> {
    return this.op(key, () => this.inspectNow(key));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.run(() => this.medium.close());
  }

  private op<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.run(async () => {
      assertFlashKey(key);
      return fn();
    });
  }

  private run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new TriadkitError("store.closed", "flash store is closed"));
    return this.queue.run(fn);
  }

  private async inspectNow(key: string): Promise<KeyInspection> {
    const slots = [await this.slotState(key, 0), await this.slotState(key, 1)] as const;
    let current: SlotIndex | undefined;
    for (const slot of [0, 1] as const) {
      const s = slots[slot];
      if (s.kind !== "valid" && s.kind !== "unsupported") continue;
      if (current === undefined) {
        current = slot;
        continue;
      }
      const c = slots[current];
      const g = generationOf(s) as number;
      const cg = generationOf(c) as number;
      // Newer generation wins; on a tie (a mirrored pair) prefer a record this version understands.
      if (isNewerGeneration(g, cg) || (g === cg && s.kind === "valid" && c.kind === "unsupported")) current = slot;
    }
    return { slots, current };
  }

  private async slotState(key: string, slot: SlotIndex): Promise<SlotState> {
    const bytes = await this.medium.readSlot(key, slot);
    if (bytes === undefined) return { kind: "empty" };
    const inspection = inspectRecord(bytes);
    switch (inspection.status) {
      case "valid":
        if (inspection.record.key !== key) return { kind: "damaged", reason: "record belongs to another key" };
        return { kind: "valid", record: inspection.record };
      case "unsupported":
        if (inspection.header.key !== key) return { kind: "damaged", reason: "record belongs to another key" };
        return { kind: "unsupported", header: inspection.header };
      case "damaged":
        return inspection.header?.key === key
          ? { kind: "damaged", reason: inspection.reason, generation: inspection.header.generation }
          : { kind: "damaged", reason: inspection.reason };
    }
  }
}

function currentState(inspection: KeyInspection): SlotState | undefined {
  return inspection.current === undefined ? undefined : inspection.slots[inspection.current];
}

function other(slot: SlotIndex): SlotIndex {
  return slot === 0 ? 1 : 0;
}

function generationOf(state: SlotState): number | undefined {
  switch (state.kind) {
    case "valid":
      return state.record.generation;
    case "unsupported":
      return state.header.generation;
    case "damaged":
      return state.generation;
    case "empty":
      return undefined;
  }
}
