/**
 * SimulatedFlashStore: the SDK's FlashStore on a raw SimulatedFlash, with the SDK's two-slot logic
 * (TwoSlotFlashStore) over a fixed layout:
 *
 * ```
 * region = blocks [firstBlock, firstBlock + blockCount) of the chip
 * entry e (0 ≤ e < entries) = two slots; slot s of entry e = blocksPerSlot erase blocks starting at
 *   firstBlock + (2e + s) × blocksPerSlot
 * ```
 *
 * Each entry belongs to one key (the key is inside every record, so the layout needs no directory): on open the
 * store reads every slot and gives each entry to the key named by a record whose header checksum verifies. A new
 * key takes the lowest free entry; deleting a key frees its entry. No entry free: `store.io` (flash full).
 *
 * Writing a record into a slot (the commit protocol):
 *   1. erase the slot's blocks;
 *   2. program pages 1 … n−1 of the record, in order;
 *   3. program page 0 except its first two bytes;
 *   4. program the two magic bytes "TK": the commit point.
 * A slot counts as holding a record only if it starts with exactly "TK", so a write cut anywhere before step 4
 * completes leaves the slot uncommitted (ignored), never a damaged record of the key. Clearing a slot programs its
 * magic to 0x0000 (flash can clear bits without an erase); the slot is erased on its next write.
 */

import { TriadkitError } from "@triadkit/protocol";
import {
  inspectRecord,
  isNewerGeneration,
  MAX_FLASH_KEY_LENGTH,
  RECORD_MAGIC_BYTES,
  recordBytes,
  type SlotIndex,
  type SlotMedium,
  TwoSlotFlashStore,
} from "@triadkit/sdk";
import type { SimulatedFlash } from "./simulated-flash.js";

export interface SimulatedFlashStoreOptions {
  /** First erase block of the store's region; default 0. */
  readonly firstBlock?: number;
  /** Blocks in the region; default: the rest of the chip. */
  readonly blockCount?: number;
  /** Erase blocks per slot; default 1. The largest value is blocksPerSlot × block size − 84 bytes. */
  readonly blocksPerSlot?: number;
}

export interface SimulatedFlashLayout {
  readonly firstBlock: number;
  readonly blockCount: number;
  readonly blocksPerSlot: number;
  readonly slotBytes: number;
  /** Keys the region can hold. */
  readonly entries: number;
  readonly maxValueBytes: number;
}

/** Where a key lives on the chip. */
export interface SimulatedFlashLocation {
  readonly entry: number;
  /** Byte offsets of slots A and B on the chip. */
  readonly slotOffsets: readonly [number, number];
}

export class SimulatedFlashStore extends TwoSlotFlashStore {
  private constructor(
    readonly flash: SimulatedFlash,
    readonly layout: SimulatedFlashLayout,
    private readonly slots: SimulatedFlashMedium,
  ) {
    super(slots);
  }

  /**
   * Opens the store in a region of `flash`, scanning it (as firmware does at boot). Throws `config.invalid` for a
   * region that does not fit, `store.io` if the flash has no power.
   */
  static async open(flash: SimulatedFlash, options: SimulatedFlashStoreOptions = {}): Promise<SimulatedFlashStore> {
    const layout = computeLayout(flash, options);
    const medium = new SimulatedFlashMedium(flash, layout);
    medium.scan();
    return new SimulatedFlashStore(flash, layout, medium);
  }

  /** The entry and slot offsets of `key`, if it has an entry. */
  locate(key: string): SimulatedFlashLocation | undefined {
    const entry = this.slots.entryOf(key);
    if (entry === undefined) return undefined;
    return { entry, slotOffsets: [this.slots.slotOffset(entry, 0), this.slots.slotOffset(entry, 1)] };
  }
}

function computeLayout(flash: SimulatedFlash, options: SimulatedFlashStoreOptions): SimulatedFlashLayout {
  const total = flash.geometry.blockCount;
  const firstBlock = options.firstBlock ?? 0;
  checkInt("firstBlock", firstBlock, 0, total - 1);
  const blockCount = options.blockCount ?? total - firstBlock;
  checkInt("blockCount", blockCount, 1, total - firstBlock);
  const blocksPerSlot = options.blocksPerSlot ?? 1;
  checkInt("blocksPerSlot", blocksPerSlot, 1, total);
  const slotBytes = blocksPerSlot * flash.blockSize;
  const entries = Math.floor(blockCount / (2 * blocksPerSlot));
  const maxValueBytes = slotBytes - recordBytes(MAX_FLASH_KEY_LENGTH, 0);
  if (entries < 1 || maxValueBytes < 0) {
    const min = recordBytes(MAX_FLASH_KEY_LENGTH, 0);
    throw new TriadkitError("config.invalid", `the region must hold at least two slots of at least ${min} bytes`, {
      blockCount,
      blocksPerSlot,
      slotBytes,
    });
  }
  return { firstBlock, blockCount, blocksPerSlot, slotBytes, entries, maxValueBytes };
}

function checkInt(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new TriadkitError("config.invalid", `${name} must be an integer in [${min}, ${max}]`, {
      option: name,
      value,
    });
  }
}

const [MAGIC0, MAGIC1] = RECORD_MAGIC_BYTES as [number, number];

class SimulatedFlashMedium implements SlotMedium {
  readonly maxValueBytes: number;
  private readonly owners = new Map<string, number>();
  private readonly boot: number;

  constructor(
    private readonly flash: SimulatedFlash,
    private readonly layout: SimulatedFlashLayout,
  ) {
    this.maxValueBytes = layout.maxValueBytes;
    this.boot = flash.bootCount;
  }

  /** Gives each entry to the key of its newest record with a verified header. */
  scan(): void {
    const best = new Map<string, { entry: number; generation: number }>();
    for (let entry = 0; entry < this.layout.entries; entry++) {
      let owner: { key: string; generation: number } | undefined;
      for (const slot of [0, 1] as const) {
        const bytes = this.committed(entry, slot);
        if (bytes === undefined) continue;
        const inspection = inspectRecord(bytes);
        const header = inspection.status === "valid" ? inspection.record : inspection.header;
        if (header === undefined) continue;
        if (owner === undefined || isNewerGeneration(header.generation, owner.generation)) {
          owner = { key: header.key, generation: header.generation };
        }
      }
      if (owner === undefined) continue;
      const seen = best.get(owner.key);
      // Two entries naming one key cannot arise from this store's writes; keep the newer, free the other.
      if (seen === undefined || isNewerGeneration(owner.generation, seen.generation)) {
        best.set(owner.key, { entry, generation: owner.generation });
      }
    }
    for (const [key, { entry }] of best) this.owners.set(key, entry);
  }

  entryOf(key: string): number | undefined {
    return this.owners.get(key);
  }

  slotOffset(entry: number, slot: SlotIndex): number {
    const block = this.layout.firstBlock + (2 * entry + slot) * this.layout.blocksPerSlot;
    return block * this.flash.blockSize;
  }

  async listKeys(): Promise<string[]> {
    this.checkBoot();
    return [...this.owners.keys()];
  }

  async readSlot(key: string, slot: SlotIndex): Promise<Uint8Array | undefined> {
    this.checkBoot();
    const entry = this.owners.get(key);
    return entry === undefined ? undefined : this.committed(entry, slot);
  }

  async writeSlot(key: string, slot: SlotIndex, record: Uint8Array): Promise<void> {
    this.checkBoot();
    if (record.length > this.layout.slotBytes) {
      throw new TriadkitError("internal.unexpected", "record larger than a slot", { bytes: record.length });
    }
    const entry = this.owners.get(key) ?? this.allocate(key);
    const base = this.slotOffset(entry, slot);
    const { pageSize } = this.flash.geometry;
    const firstBlock = base / this.flash.blockSize;
    for (let b = 0; b < this.layout.blocksPerSlot; b++) this.flash.eraseBlock(firstBlock + b);
    for (let at = pageSize; at < record.length; at += pageSize) {
      this.flash.program(base + at, record.subarray(at, Math.min(at + pageSize, record.length)));
    }
    this.flash.program(base + 2, record.subarray(2, Math.min(pageSize, record.length)));
    this.flash.program(base, record.subarray(0, 2));
  }

  async clearSlot(key: string, slot: SlotIndex): Promise<void> {
    this.checkBoot();
    const entry = this.owners.get(key);
    if (entry === undefined) return;
    const offset = this.slotOffset(entry, slot);
    const magic = this.flash.read(offset, 2);
    if (magic[0] !== 0 || magic[1] !== 0) this.flash.program(offset, new Uint8Array(2));
    if (this.committed(entry, 0) === undefined && this.committed(entry, 1) === undefined) this.owners.delete(key);
  }

  async close(): Promise<void> {}

  /** The slot's bytes if it starts with the commit marker, else undefined. */
  private committed(entry: number, slot: SlotIndex): Uint8Array | undefined {
    const bytes = this.flash.read(this.slotOffset(entry, slot), this.layout.slotBytes);
    return bytes[0] === MAGIC0 && bytes[1] === MAGIC1 ? bytes : undefined;
  }

  private allocate(key: string): number {
    const used = new Set(this.owners.values());
    for (let entry = 0; entry < this.layout.entries; entry++) {
      if (!used.has(entry)) {
        this.owners.set(key, entry);
        return entry;
      }
    }
    throw new TriadkitError("store.io", `flash store full: all ${this.layout.entries} entries hold a key`, {
      reason: "full",
      entries: this.layout.entries,
    });
  }

  private checkBoot(): void {
    if (this.flash.bootCount !== this.boot) {
      throw new TriadkitError("store.closed", "the flash was rebooted since this store was opened; open it again");
    }
  }
}
