import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectTriadkitError } from "@triadkit/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_FLASH_GEOMETRY, SimulatedFlash } from "./simulated-flash.js";

const geometry = { pageSize: 16, pagesPerBlock: 4, blockCount: 4 }; // 64-byte blocks, 256 bytes
const bytes = (...v: number[]) => new Uint8Array(v);

describe("SimulatedFlash", () => {
  it("starts erased and has the documented default geometry", () => {
    const flash = SimulatedFlash.inMemory();
    expect(flash.geometry).toEqual(DEFAULT_FLASH_GEOMETRY);
    expect(flash.blockSize).toBe(4096);
    expect(flash.sizeBytes).toBe(512 * 1024);
    expect(flash.snapshot().every((b) => b === 0xff)).toBe(true);
  });

  it("programs by AND (clearing bits only) and erases whole blocks", () => {
    const flash = SimulatedFlash.inMemory(geometry);
    flash.program(3, bytes(0x0f, 0xf0));
    expect(flash.read(2, 4)).toEqual(bytes(0xff, 0x0f, 0xf0, 0xff));
    flash.program(3, bytes(0x3c));
    expect(flash.read(3, 1)).toEqual(bytes(0x0c)); // 0x0f & 0x3c
    expect(flash.stats()).toEqual({ programs: 2, programmedBytes: 3, erases: 0, overPrograms: 1 });
    flash.program(64, bytes(0));
    flash.eraseBlock(0);
    expect(flash.read(0, 8)).toEqual(new Uint8Array(8).fill(0xff));
    expect(flash.read(64, 1)).toEqual(bytes(0)); // block 1 untouched
  });

  it("counts wear per page and per block", () => {
    const flash = SimulatedFlash.inMemory(geometry);
    flash.program(0, bytes(1));
    flash.program(15, bytes(1));
    flash.program(16, bytes(1));
    flash.eraseBlock(0);
    flash.eraseBlock(0);
    flash.eraseBlock(3);
    expect([0, 1, 2].map((p) => flash.pageProgramCount(p))).toEqual([2, 1, 0]);
    expect([0, 1, 2, 3].map((b) => flash.blockEraseCount(b))).toEqual([2, 0, 0, 1]);
  });

  it("refuses programs that cross a page and ranges out of bounds", () => {
    const flash = SimulatedFlash.inMemory(geometry);
    expectTriadkitError(() => flash.program(15, bytes(0, 0)), "config.invalid");
    expectTriadkitError(() => flash.read(250, 7), "config.invalid");
    expectTriadkitError(() => flash.read(-1, 1), "config.invalid");
    expectTriadkitError(() => flash.eraseBlock(4), "config.invalid");
    expectTriadkitError(() => flash.flipBit(0, 8), "config.invalid");
  });

  it("powerCutAtPage: the n-th program writes nothing, then everything fails until reboot", () => {
    const flash = SimulatedFlash.inMemory(geometry);
    flash.powerCutAtPage(2);
    flash.program(0, bytes(1));
    flash.program(16, bytes(2));
    const err = expectTriadkitError(() => flash.program(32, bytes(3)), "store.io");
    expect(err.context).toEqual({ reason: "power_cut" });
    expect(flash.powered).toBe(false);
    expectTriadkitError(() => flash.read(0, 1), "store.io");
    expectTriadkitError(() => flash.eraseBlock(0), "store.io");
    expect(flash.bootCount).toBe(0);
    flash.reboot();
    expect(flash.bootCount).toBe(1);
    expect(flash.read(0, 33)).toEqual(Uint8Array.from({ length: 33 }, (_, i) => (i === 0 ? 1 : i === 16 ? 2 : 0xff)));
    flash.program(32, bytes(3)); // disarmed
  });

  it("tearNextWrite: the program that reaches the byte count is partial", () => {
    const flash = SimulatedFlash.inMemory(geometry);
    flash.program(16, new Uint8Array(16).fill(0x0f)); // old content the torn program lands on
    flash.tearNextWrite({ afterBytes: 5 });
    flash.program(0, bytes(0, 0));
    expectTriadkitError(() => flash.program(16, new Uint8Array(8)), "store.io");
    flash.reboot();
    expect(flash.read(16, 8)).toEqual(bytes(0, 0, 0, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f));
    flash.tearNextWrite({ afterBytes: 0 });
    flash.eraseBlock(1); // erases are not affected
    expectTriadkitError(() => flash.program(0, bytes(0)), "store.io");
  });

  it("powerCutAtErase: the erase stops half-way", () => {
    const flash = SimulatedFlash.inMemory(geometry);
    for (let page = 0; page < 4; page++) flash.program(page * 16, new Uint8Array(16));
    flash.powerCutAtErase(0);
    expectTriadkitError(() => flash.eraseBlock(0), "store.io");
    flash.reboot();
    const block = flash.read(0, 64);
    expect(block.subarray(0, 32).every((b) => b === 0xff)).toBe(true);
    expect(block.subarray(32).every((b) => b === 0)).toBe(true);
  });

  it("flips single bits, even without power", () => {
    const flash = SimulatedFlash.inMemory(geometry);
    flash.powerCutAtPage(0);
    expectTriadkitError(() => flash.program(0, bytes(0)), "store.io");
    flash.flipBit(10, 3);
    flash.reboot();
    expect(flash.read(10, 1)).toEqual(bytes(0xf7));
  });

  it("validates geometry and fault arguments", () => {
    for (const g of [
      { pageSize: 8 },
      { pagesPerBlock: 0 },
      { blockCount: 1.5 },
      { pageSize: 65536, blockCount: 8192 },
    ]) {
      expectTriadkitError(() => SimulatedFlash.inMemory(g), "config.invalid");
    }
    const flash = SimulatedFlash.inMemory(geometry);
    expectTriadkitError(() => flash.powerCutAtPage(-1), "config.invalid");
    expectTriadkitError(() => flash.tearNextWrite({ afterBytes: 0.5 }), "config.invalid");
    expectTriadkitError(() => flash.powerCutAtErase(Number.NaN), "config.invalid");
  });

  describe("image file", () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), "triadkit-flash-"));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("creates an erased image and writes every change through, before the call returns", async () => {
      const path = join(dir, "flash.img");
      const flash = SimulatedFlash.openImage(path, geometry);
      expect(flash.imagePath).toBe(path);
      expect(await readFile(path)).toEqual(Buffer.alloc(256, 0xff));
      flash.program(20, bytes(1, 2, 3));
      flash.flipBit(255, 0);
      flash.powerCutAtErase(0);
      expectTriadkitError(() => flash.eraseBlock(1), "store.io");
      // No close, no flush: a killed process leaves exactly the chip's content in the file.
      expect(new Uint8Array(await readFile(path))).toEqual(flash.snapshot());
      const again = SimulatedFlash.openImage(path, geometry);
      expect(again.snapshot()).toEqual(flash.snapshot());
      expect(again.read(255, 1)).toEqual(bytes(0xfe));
      again.close();
      again.close();
      flash.close();
    });

    it("refuses an image whose size does not match the geometry, and unusable paths", async () => {
      const path = join(dir, "flash.img");
      await writeFile(path, new Uint8Array(100));
      const err = expectTriadkitError(() => SimulatedFlash.openImage(path, geometry), "config.invalid");
      expect(err.context).toMatchObject({ bytes: 100, expected: 256 });
      expectTriadkitError(() => SimulatedFlash.openImage(join(dir, "missing", "flash.img"), geometry), "store.io");
    });
  });
});
