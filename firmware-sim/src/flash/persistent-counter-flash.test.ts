/**
 * PersistentCounter on raw simulated flash: never repeats across power cuts, and spares the flash.
 */
import { PersistentCounter } from "@triadkit/sdk";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SimulatedFlash } from "./simulated-flash.js";
import { SimulatedFlashStore } from "./simulated-flash-store.js";

const geometry = { pageSize: 64, pagesPerBlock: 4, blockCount: 8 };

function slotOffsets(store: SimulatedFlashStore, key: string): readonly [number, number] {
  const location = store.locate(key);
  if (location === undefined) throw new Error(`${key} has no entry`);
  return location.slotOffsets;
}

describe("PersistentCounter on SimulatedFlash", () => {
  it("10 000 increments with reserve 100 cost 102 slot writes, spread over both slots", async () => {
    const flash = SimulatedFlash.inMemory(geometry);
    const store = await SimulatedFlashStore.open(flash);
    const counter = await PersistentCounter.open(store, "hb.seq", { reserve: 100 });
    for (let i = 0; i < 10_000; i++) expect(await counter.next()).toBe(i);
    const [a, b] = slotOffsets(store, "hb.seq");
    // open() writes the first ceiling (mirrored: 2 slot writes), then one write per 100 values.
    expect(flash.stats().erases).toBe(2 + 100);
    expect([flash.blockEraseCount(a / flash.blockSize), flash.blockEraseCount(b / flash.blockSize)]).toEqual([51, 51]);
    expect(flash.stats().overPrograms).toBe(0);
  });

  it("property: strictly increasing across power cuts at any page program, with writes ≈ increments / reserve", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.record({ steps: fc.nat({ max: 120 }), cut: fc.option(fc.nat({ max: 12 }), { freq: 2 }) }), {
          minLength: 1,
          maxLength: 15,
        }),
        async (reserve, boots) => {
          const flash = SimulatedFlash.inMemory(geometry);
          let last = -1;
          let increments = 0;
          let opens = 0;
          for (const { steps, cut } of boots) {
            const store = await SimulatedFlashStore.open(flash);
            const counter = await PersistentCounter.open(store, "seq", { reserve });
            opens++;
            if (cut !== null) flash.powerCutAtPage(cut);
            for (let i = 0; i < steps; i++) {
              const value = await counter.next().catch(() => undefined);
              if (value === undefined) break; // power cut
              expect(value).toBeGreaterThan(last);
              last = value;
              increments++;
            }
            flash.clearFaults();
            flash.reboot(); // after a cut, or a clean reset
          }
          // One slot write = one erase (the very first is mirrored: 2). Per boot: open() writes once, next() once per
          // reserve values started (ceil: +1 per boot), plus the write a cut interrupted (+1 per boot).
          expect(flash.stats().erases).toBeLessThanOrEqual(
            1 + opens + Math.floor(increments / reserve) + 2 * boots.length,
          );
        },
      ),
      { numRuns: 120 },
    );
  });
});
