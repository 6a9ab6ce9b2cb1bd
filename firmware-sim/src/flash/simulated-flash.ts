/**
 * SimulatedFlash: a raw NOR-like flash chip in memory, optionally written through to an image file.
 *
 * Semantics, as on real NOR flash:
 * - `eraseBlock` sets a whole erase block to 0xFF; it is the only way to turn 0 bits back into 1.
 * - `program` writes within one page and can only clear bits: the result is `old AND new`. Programming a byte
 *   that needed a 0 → 1 change is counted in `stats().overPrograms` (a bug in the caller, on real hardware too).
 * - A page may be programmed several times between erases (partial page programming), as NOR allows.
 *
 * Faults, for power-cut and corruption tests:
 * - {@link SimulatedFlash.powerCutAtPage}: power fails just before the n-th page program from now, which writes
 *   nothing; {@link SimulatedFlash.tearNextWrite}: power fails after n more bytes have been programmed, mid-page
 *   if so (the rest of that page keeps its previous content); {@link SimulatedFlash.powerCutAtErase}: the n-th
 *   erase from now stops half-way (the first half of the block's pages erased, the rest as before).
 * - After the cut every operation throws `store.io` until {@link SimulatedFlash.reboot}, which also invalidates
 *   stores opened before it (they throw `store.closed`): reopen them, as firmware would after a reset.
 * - {@link SimulatedFlash.flipBit} flips one stored bit (retention loss, disturb, a cosmic ray).
 *
 * Wear: program count per page and erase count per block, since this object was created (not kept in the image).
 *
 * Image file: with {@link SimulatedFlash.openImage} every program, erase and bit flip is written through to the file
 * at the same offset before the call returns (synchronously, as a flash driver would), so the file is at every
 * instant exactly what the chip holds, and a killed simulator process loses nothing. `flush()` fsyncs it.
 * The image is a raw dump (size = blockCount × pagesPerBlock × pageSize, erased bytes 0xFF); the geometry is not
 * stored in it (the simulated device's device.json holds it, see docs/storage.md).
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { TriadkitError } from "@triadkit/protocol";

export interface FlashGeometry {
  /** Bytes per program page, 16..65536. */
  readonly pageSize: number;
  /** Pages per erase block, 1..4096. */
  readonly pagesPerBlock: number;
  /** Erase blocks in the chip, 1..65536. */
  readonly blockCount: number;
}

/** 256-byte pages, 4 KiB erase blocks (typical SPI NOR sectors), 512 KiB. */
export const DEFAULT_FLASH_GEOMETRY: FlashGeometry = { pageSize: 256, pagesPerBlock: 16, blockCount: 128 };
const MAX_FLASH_BYTES = 256 * 1024 * 1024;

export interface FlashStats {
  /** Program operations (each within one page). */
  readonly programs: number;
  readonly programmedBytes: number;
  readonly erases: number;
  /** Program operations that asked for a 0 → 1 change (which flash cannot do without an erase). */
  readonly overPrograms: number;
}

type Cut =
  | { readonly kind: "pages"; remaining: number }
  | { readonly kind: "bytes"; remaining: number }
  | { readonly kind: "erase"; remaining: number };

export class SimulatedFlash {
  readonly geometry: FlashGeometry;
  readonly blockSize: number;
  readonly sizeBytes: number;
  private readonly pagePrograms: Uint32Array;
  private readonly blockErases: Uint32Array;
  private counters = { programs: 0, programmedBytes: 0, erases: 0, overPrograms: 0 };
  private cut: Cut | undefined;
  private poweredOn = true;
  private boots = 0;

  private constructor(
    geometry: FlashGeometry,
    private readonly bytes: Uint8Array,
    private fd: number | undefined,
    readonly imagePath: string | undefined,
  ) {
    this.geometry = geometry;
    this.blockSize = geometry.pageSize * geometry.pagesPerBlock;
    this.sizeBytes = this.blockSize * geometry.blockCount;
    this.pagePrograms = new Uint32Array(geometry.pagesPerBlock * geometry.blockCount);
    this.blockErases = new Uint32Array(geometry.blockCount);
  }

  /** A factory-fresh (all 0xFF) chip in memory. */
  static inMemory(geometry: Partial<FlashGeometry> = {}): SimulatedFlash {
    const g = resolveGeometry(geometry);
    return new SimulatedFlash(g, new Uint8Array(totalBytes(g)).fill(0xff), undefined, undefined);
  }

  /**
   * The chip stored in the image file at `path`, created erased if missing (atomically: temp file + rename).
   * Throws `config.invalid` if an existing image's size does not match the geometry, `store.io` on file errors.
   */
  static openImage(path: string, geometry: Partial<FlashGeometry> = {}): SimulatedFlash {
    const g = resolveGeometry(geometry);
    const size = totalBytes(g);
    try {
      if (!existsSync(path)) {
        const tmp = `${path}.tmp`;
        const fd = openSync(tmp, "w", 0o600);
        try {
          writeSync(fd, new Uint8Array(size).fill(0xff));
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, path);
      }
      const bytes = new Uint8Array(readFileSync(path));
      if (bytes.length !== size) {
        throw new TriadkitError("config.invalid", `flash image is ${bytes.length} bytes, the geometry needs ${size}`, {
          path,
          bytes: bytes.length,
          expected: size,
        });
      }
      return new SimulatedFlash(g, bytes, openSync(path, "r+"), path);
    } catch (err) {
      if (err instanceof TriadkitError) throw err;
      throw ioError("open image", err, path);
    }
  }

  /** False between a power cut and {@link reboot}. */
  get powered(): boolean {
    return this.poweredOn;
  }

  /** How many times {@link reboot} was called; stores remember it to notice they outlived a reboot. */
  get bootCount(): number {
    return this.boots;
  }

  read(offset: number, length: number): Uint8Array {
    this.checkRange(offset, length);
    this.checkPower();
    return this.bytes.slice(offset, offset + length);
  }

  /** Programs `data` at `offset`; the range must lie within one page. Result per byte: `old AND new`. */
  program(offset: number, data: Uint8Array): void {
    this.checkRange(offset, data.length);
    const { pageSize } = this.geometry;
    const page = Math.floor(offset / pageSize);
    if (data.length > 0 && Math.floor((offset + data.length - 1) / pageSize) !== page) {
      throw new TriadkitError("config.invalid", "a program operation must stay within one page", { offset });
    }
    this.checkPower();
    let length = data.length;
    if (this.cut?.kind === "pages") {
      if (this.cut.remaining === 0) this.powerFail();
      this.cut.remaining--;
    } else if (this.cut?.kind === "bytes") {
      length = Math.min(length, this.cut.remaining);
      this.cut.remaining -= length;
    }
    let over = false;
    for (let i = 0; i < length; i++) {
      const old = this.bytes[offset + i] as number;
      const wanted = data[i] as number;
      if ((old & wanted) !== wanted) over = true;
      this.bytes[offset + i] = old & wanted;
    }
    this.counters.programs++;
    this.counters.programmedBytes += length;
    if (over) this.counters.overPrograms++;
    this.pagePrograms[page] = (this.pagePrograms[page] as number) + 1;
    this.writeThrough(offset, length);
    if (this.cut?.kind === "bytes" && this.cut.remaining === 0) this.powerFail();
  }

  /** Erases block `block` to 0xFF. */
  eraseBlock(block: number): void {
    if (!Number.isInteger(block) || block < 0 || block >= this.geometry.blockCount) {
      throw new TriadkitError("config.invalid", "block out of range", { block });
    }
    this.checkPower();
    const start = block * this.blockSize;
    let end = start + this.blockSize;
    const interrupted = this.cut?.kind === "erase" && this.cut.remaining === 0;
    if (this.cut?.kind === "erase") this.cut.remaining--;
    if (interrupted) end = start + Math.floor(this.geometry.pagesPerBlock / 2) * this.geometry.pageSize;
    this.bytes.fill(0xff, start, end);
    this.counters.erases++;
    this.blockErases[block] = (this.blockErases[block] as number) + 1;
    this.writeThrough(start, end - start);
    if (interrupted) this.powerFail();
  }

  /** Power fails just before the `pages`-th page program from now (0: the next one), which then writes nothing. */
  powerCutAtPage(pages: number): void {
    assertCount("pages", pages);
    this.cut = { kind: "pages", remaining: pages };
  }

  /**
   * Power fails once `afterBytes` more bytes have been programmed: the program operation that reaches the count
   * writes its bytes up to it (the rest of its range keeps the previous content) and fails; with 0, the next program
   * writes nothing and fails. Erases before that are not affected.
   */
  tearNextWrite(options: { afterBytes: number }): void {
    assertCount("afterBytes", options.afterBytes);
    this.cut = { kind: "bytes", remaining: options.afterBytes };
  }

  /** The `erases`-th erase from now (0: the next one) is interrupted half-way, and power fails. */
  powerCutAtErase(erases: number): void {
    assertCount("erases", erases);
    this.cut = { kind: "erase", remaining: erases };
  }

  /** Disarms a pending power cut. */
  clearFaults(): void {
    this.cut = undefined;
  }

  /** Flips bit `bit` (0..7) of the byte at `offset`, powered or not. */
  flipBit(offset: number, bit: number): void {
    this.checkRange(offset, 1);
    assertCount("bit", bit, 7);
    this.bytes[offset] = (this.bytes[offset] as number) ^ (1 << bit);
    this.writeThrough(offset, 1);
  }

  /** Power comes back: faults are disarmed, and stores opened before must be reopened. */
  reboot(): void {
    this.poweredOn = true;
    this.cut = undefined;
    this.boots++;
  }

  /** Program operations on page `page` since creation. */
  pageProgramCount(page: number): number {
    return this.pagePrograms[page] ?? 0;
  }

  /** Erases of block `block` since creation. */
  blockEraseCount(block: number): number {
    return this.blockErases[block] ?? 0;
  }

  stats(): FlashStats {
    return { ...this.counters };
  }

  /** A copy of the whole chip. */
  snapshot(): Uint8Array {
    return this.bytes.slice();
  }

  /** fsyncs the image file (no-op in memory). */
  flush(): void {
    if (this.fd === undefined) return;
    try {
      fsyncSync(this.fd);
    } catch (err) {
      throw ioError("flush image", err, this.imagePath);
    }
  }

  /** Flushes and closes the image file; the chip stays readable in memory. Idempotent. */
  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  private powerFail(): never {
    this.poweredOn = false;
    this.cut = undefined;
    throw new TriadkitError("store.io", "flash lost power (simulated power cut); reboot() it", { reason: "power_cut" });
  }

  private checkPower(): void {
    if (!this.poweredOn) {
      throw new TriadkitError("store.io", "flash has no power (simulated power cut); reboot() it", {
        reason: "power_cut",
      });
    }
  }

  private checkRange(offset: number, length: number): void {
    if (
      !Number.isInteger(offset) ||
      !Number.isInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > this.sizeBytes
    ) {
      throw new TriadkitError("config.invalid", "flash range out of bounds", { offset, length, size: this.sizeBytes });
    }
  }

  private writeThrough(offset: number, length: number): void {
    if (this.fd === undefined || length === 0) return;
    try {
      writeSync(this.fd, this.bytes, offset, length, offset);
    } catch (err) {
      throw ioError("write image", err, this.imagePath);
    }
  }
}

function resolveGeometry(partial: Partial<FlashGeometry>): FlashGeometry {
  const g = { ...DEFAULT_FLASH_GEOMETRY, ...partial };
  const check = (name: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new TriadkitError("config.invalid", `${name} must be an integer in [${min}, ${max}]`, {
        option: name,
        value,
      });
    }
  };
  check("pageSize", g.pageSize, 16, 65536);
  check("pagesPerBlock", g.pagesPerBlock, 1, 4096);
  check("blockCount", g.blockCount, 1, 65536);
  if (totalBytes(g) > MAX_FLASH_BYTES) {
    throw new TriadkitError("config.invalid", "simulated flash larger than 256 MiB", { bytes: totalBytes(g) });
  }
  return { pageSize: g.pageSize, pagesPerBlock: g.pagesPerBlock, blockCount: g.blockCount };
}

function totalBytes(g: FlashGeometry): number {
  return g.pageSize * g.pagesPerBlock * g.blockCount;
}

function assertCount(name: string, value: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new TriadkitError("config.invalid", `${name} must be an integer in [0, ${max}]`, { option: name, value });
  }
}

function ioError(op: string, err: unknown, path: string | undefined): TriadkitError {
  const errno = (err as { code?: unknown } | null)?.code;
  return new TriadkitError("store.io", `flash image ${op} failed`, { op, path, errno }, { cause: err });
}
