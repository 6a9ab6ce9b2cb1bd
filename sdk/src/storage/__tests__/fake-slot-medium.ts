import { TriadkitError } from "@triadkit/protocol";
import type { SlotIndex, SlotMedium } from "../two-slot-store.js";

/**
 * How an interrupted mutation leaves the slot (the outcomes SlotMedium allows): as before, empty, its previous
 * content damaged (writes only; a clear treats it as "unchanged"), or fully done (and the call still fails).
 */
export type TornOutcome = "unchanged" | "empty" | "damaged-previous" | "complete";

/**
 * An in-memory SlotMedium for testing the two-slot logic: logs every mutation, lets a test damage slots and
 * crash the n-th mutation with a chosen outcome.
 */
export class FakeSlotMedium implements SlotMedium {
  readonly slots = new Map<string, [Uint8Array | undefined, Uint8Array | undefined]>();
  readonly log: string[] = [];
  private crash: { after: number; outcome: TornOutcome } | undefined;
  closed = 0;

  constructor(readonly maxValueBytes = 1024) {}

  /** The `after`-th next mutation (0 = the next) fails with store.io, leaving its slot as `outcome` says. */
  crashAfter(after: number, outcome: TornOutcome): void {
    this.crash = { after, outcome };
  }

  async listKeys(): Promise<string[]> {
    return [...this.slots.keys()];
  }

  async readSlot(key: string, slot: SlotIndex): Promise<Uint8Array | undefined> {
    return this.slots.get(key)?.[slot]?.slice();
  }

  async writeSlot(key: string, slot: SlotIndex, record: Uint8Array): Promise<void> {
    this.mutate(key, slot, `write ${key} ${slot}`, record.slice(), true);
  }

  async clearSlot(key: string, slot: SlotIndex): Promise<void> {
    this.mutate(key, slot, `clear ${key} ${slot}`, undefined, false);
  }

  async close(): Promise<void> {
    this.closed++;
  }

  /** Sets a slot's raw content (undefined = nothing committed). */
  set(key: string, slot: SlotIndex, bytes: Uint8Array | undefined): void {
    const pair = this.slots.get(key) ?? [undefined, undefined];
    pair[slot] = bytes;
    if (pair[0] === undefined && pair[1] === undefined) this.slots.delete(key);
    else this.slots.set(key, pair);
  }

  get(key: string, slot: SlotIndex): Uint8Array | undefined {
    return this.slots.get(key)?.[slot];
  }

  private mutate(key: string, slot: SlotIndex, entry: string, next: Uint8Array | undefined, isWrite: boolean) {
    if (this.crash !== undefined) {
      if (this.crash.after === 0) {
        const { outcome } = this.crash;
        this.crash = undefined;
        const previous = this.get(key, slot);
        if (outcome === "empty") this.set(key, slot, undefined);
        if (outcome === "complete") this.set(key, slot, next);
        if (outcome === "damaged-previous" && isWrite && previous !== undefined) {
          this.set(key, slot, previous.subarray(0, previous.length - 1));
        }
        this.log.push(`torn ${entry}`);
        throw new TriadkitError("store.io", "power lost");
      }
      this.crash.after--;
    }
    this.log.push(entry);
    this.set(key, slot, next);
  }
}
