import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Deque } from "./queue-internals.js";

describe("Deque", () => {
  it("matches an array under random push/shift, across its compaction threshold", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 3000 })), { maxLength: 12 }), (steps) => {
        const deque = new Deque<number>();
        const model: number[] = [];
        let next = 0;
        for (const [push, times] of steps) {
          for (let i = 0; i < times; i++) {
            if (push) {
              deque.push(next);
              model.push(next++);
            } else {
              expect(deque.shift()).toBe(model.shift());
            }
          }
          expect(deque.length).toBe(model.length);
          expect(deque.first()).toBe(model[0]);
          expect(deque.last()).toBe(model.at(-1));
          expect(deque.at(5)).toBe(model[5]);
          expect(deque.slice(7)).toEqual(model.slice(0, 7));
          expect([...deque]).toEqual(model);
        }
      }),
      { numRuns: 25 },
    );
  });
});
