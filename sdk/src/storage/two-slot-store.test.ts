import { expectTriadkitErrorAsync, utf8 } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { FakeSlotMedium, type TornOutcome } from "./__tests__/fake-slot-medium.js";
import { crc32 } from "./crc32.js";
import { decodeRecord, encodeRecord } from "./record-format.js";
import { TwoSlotFlashStore } from "./two-slot-store.js";

const v = (text: string) => utf8(text);
const gen = (medium: FakeSlotMedium, key: string, slot: 0 | 1) => {
  const bytes = medium.get(key, slot);
  return bytes === undefined ? undefined : decodeRecord(bytes).generation;
};
const flipLastByte = (bytes: Uint8Array | undefined) => {
  const out = (bytes as Uint8Array).slice();
  out[out.length - 1] = (out[out.length - 1] as number) ^ 0x10;
  return out;
};

describe("TwoSlotFlashStore", () => {
  it("mirrors the first write into both slots, then alternates, never touching the slot holding the current value", async () => {
    const medium = new FakeSlotMedium();
    const store = new TwoSlotFlashStore(medium);
    await store.write("k", v("one"));
    expect(medium.log).toEqual(["write k 0", "write k 1"]);
    expect([gen(medium, "k", 0), gen(medium, "k", 1)]).toEqual([1, 1]);
    await store.write("k", v("two"));
    await store.write("k", v("three"));
    await store.write("k", v("four"));
    expect(medium.log.slice(2)).toEqual(["write k 1", "write k 0", "write k 1"]);
    expect([gen(medium, "k", 0), gen(medium, "k", 1)]).toEqual([3, 4]);
    expect(await store.read("k")).toEqual(v("four"));
    expect(await store.inspect("k")).toMatchObject({ current: 1, slots: [{ kind: "valid" }, { kind: "valid" }] });
  });

  it("deletes the older slot first, then the current one", async () => {
    const medium = new FakeSlotMedium();
    const store = new TwoSlotFlashStore(medium);
    await store.write("k", v("a"));
    await store.write("k", v("b")); // current is slot 1
    medium.log.length = 0;
    await store.delete("k");
    expect(medium.log).toEqual(["clear k 0", "clear k 1"]);
    expect(medium.slots.size).toBe(0);
  });

  it("falls back to the older copy when the newest is damaged, and the next write repairs the damaged slot", async () => {
    const medium = new FakeSlotMedium();
    const store = new TwoSlotFlashStore(medium);
    await store.write("k", v("old"));
    await store.write("k", v("new")); // slot 1, generation 2
    medium.set("k", 1, flipLastByte(medium.get("k", 1)));
    expect(await store.read("k")).toEqual(v("old"));
    expect(await store.keys()).toEqual(["k"]);
    await store.write("k", v("newer"));
    expect(medium.log.at(-1)).toBe("write k 1");
    expect(gen(medium, "k", 1)).toBe(2);
    expect(await store.read("k")).toEqual(v("newer"));
  });

  it("keeps a value written once even if one copy is damaged (the mirror)", async () => {
    const medium = new FakeSlotMedium();
    const store = new TwoSlotFlashStore(medium);
    await store.write("triad", v("pk&dn&secret"));
    medium.set("triad", 0, flipLastByte(medium.get("triad", 0)));
    expect(await store.read("triad")).toEqual(v("pk&dn&secret"));
  });

  it("throws store.corrupt_record when no valid copy is left, and lists the key so it is not silently lost", async () => {
    const medium = new FakeSlotMedium();
    const store = new TwoSlotFlashStore(medium);
    await store.write("k", v("a"));
    await store.write("k", v("b"));
    medium.set("k", 0, flipLastByte(medium.get("k", 0)));
    medium.set("k", 1, new Uint8Array([0x54, 0x4b, 1])); // header torn away
    const err = await expectTriadkitErrorAsync(() => store.read("k"), "store.corrupt_record");
    expect(err.context).toMatchObject({ key: "k" });
    expect(await store.keys()).toEqual(["k"]);
    // Writing recovers the key; deleting clears both slots.
    await store.write("k", v("c"));
    expect(await store.read("k")).toEqual(v("c"));
    await store.delete("k");
    expect(medium.slots.size).toBe(0);
  });

  it("treats a valid record of another key in the slot as damage", async () => {
    const medium = new FakeSlotMedium();
    const store = new TwoSlotFlashStore(medium);
    medium.set("k", 0, encodeRecord({ key: "j", generation: 5, value: v("x") }));
    await expectTriadkitErrorAsync(() => store.read("k"), "store.corrupt_record");
  });

  it("does not fall back past a newer-format record, but prefers an understood copy of the same generation", async () => {
    const medium = new FakeSlotMedium();
    const store = new TwoSlotFlashStore(medium);
    const v2 = (generation: number) => {
      const bytes = encodeRecord({ key: "k", generation, value: v("future") });
      bytes[2] = 2;
      new DataView(bytes.buffer).setUint32(16, crc32(bytes, crc32(bytes, 0, 0, 16), 20, 21), true);
      return bytes;
    };
    medium.set("k", 0, encodeRecord({ key: "k", generation: 4, value: v("old") }));
    medium.set("k", 1, v2(5));
    const err = await expectTriadkitErrorAsync(() => store.read("k"), "store.unsupported_version");
    expect(err.context).toMatchObject({ key: "k", version: 2 });
    medium.set("k", 1, v2(4));
    expect(await store.read("k")).toEqual(v("old"));
    medium.set("k", 1, v2(3));
    expect(await store.read("k")).toEqual(v("old"));
    // Writing supersedes the newer-format record.
    medium.set("k", 1, v2(5));
    await store.write("k", v("now"));
    expect(await store.read("k")).toEqual(v("now"));
    expect([gen(medium, "k", 0), gen(medium, "k", 1)]).toEqual([6, 6]);
  });

  it("orders generations across the u32 wrap", async () => {
    const medium = new FakeSlotMedium();
    const store = new TwoSlotFlashStore(medium);
    medium.set("k", 0, encodeRecord({ key: "k", generation: 0xffff_ffff, value: v("before wrap") }));
    medium.set("k", 1, encodeRecord({ key: "k", generation: 0, value: v("after wrap") }));
    expect(await store.read("k")).toEqual(v("after wrap"));
    await store.write("k", v("next"));
    expect(gen(medium, "k", 0)).toBe(1);
  });

  it("passes medium errors through, and closes the medium once", async () => {
    const medium = new FakeSlotMedium();
    const store = new TwoSlotFlashStore(medium);
    medium.crashAfter(0, "unchanged");
    await expectTriadkitErrorAsync(() => store.write("k", v("x")), "store.io");
    await store.close();
    await store.close();
    expect(medium.closed).toBe(1);
  });

  describe("an interruption at any point leaves exactly the old or the new value", () => {
    const outcomes: TornOutcome[] = ["unchanged", "empty", "damaged-previous", "complete"];
    const scenarios: { name: string; history: string[]; op: "write" | "delete" }[] = [
      { name: "first write", history: [], op: "write" },
      { name: "second write", history: ["a"], op: "write" },
      { name: "steady-state write", history: ["a", "b", "c"], op: "write" },
      { name: "delete of a mirrored value", history: ["a"], op: "delete" },
      { name: "delete", history: ["a", "b"], op: "delete" },
    ];
    for (const { name, history, op } of scenarios) {
      it(name, async () => {
        const old = history.at(-1);
        for (const outcome of outcomes) {
          for (let cut = 0; ; cut++) {
            const medium = new FakeSlotMedium();
            let store = new TwoSlotFlashStore(medium);
            for (const value of history) await store.write("k", v(value));
            medium.crashAfter(cut, outcome);
            const done = await (op === "write" ? store.write("k", v("new")) : store.delete("k")).then(
              () => true,
              () => false,
            );
            store = new TwoSlotFlashStore(medium); // reboot
            const read = await store.read("k");
            const expected = op === "write" ? [old, "new"] : [old, undefined];
            expect(expected, `${outcome} at ${cut}`).toContainEqual(read && new TextDecoder().decode(read));
            if (done) {
              expect(read && new TextDecoder().decode(read)).toBe(expected[1]);
              break;
            }
            // And the store keeps working after the interruption.
            await store.write("k", v("after"));
            expect(await store.read("k")).toEqual(v("after"));
          }
        }
      });
    }
  });
});
