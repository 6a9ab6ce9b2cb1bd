import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectTriadkitErrorAsync, utf8 } from "@triadkit/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileFlashStore } from "./file-flash-store.js";
import { runFlashStoreContract } from "./flash-store.contract.js";
import { decodeRecord, encodeRecord } from "./record-format.js";

runFlashStoreContract("FileFlashStore", async () => {
  const root = await mkdtemp(join(tmpdir(), "triadkit-fs-contract-"));
  const dir = join(root, "store");
  return {
    store: await FileFlashStore.open(dir, { maxValueBytes: 8192 }),
    reopen: () => FileFlashStore.open(dir, { maxValueBytes: 8192 }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

describe("FileFlashStore", () => {
  let root: string;
  let dir: string;
  let store: FileFlashStore | undefined;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "triadkit-fs-"));
    dir = join(root, "state", "flash");
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    await rm(root, { recursive: true, force: true });
  });
  const open = async () => {
    await store?.close();
    store = await FileFlashStore.open(dir);
    return store;
  };

  it("keeps each key as two slot files of plain records, private to the owner", async () => {
    const s = await open();
    expect(s.dir).toBe(dir);
    expect(s.maxValueBytes).toBe(1024 * 1024);
    await s.write("triad", utf8("v1"));
    await s.write("triad", utf8("v2"));
    expect((await readdir(dir)).sort()).toEqual(["triad.a.rec", "triad.b.rec"]);
    expect(decodeRecord(await readFile(join(dir, "triad.a.rec")))).toMatchObject({ generation: 1, value: utf8("v1") });
    expect(decodeRecord(await readFile(join(dir, "triad.b.rec")))).toMatchObject({ generation: 2, value: utf8("v2") });
    if (process.platform !== "win32") {
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
      expect((await stat(join(dir, "triad.a.rec"))).mode & 0o777).toBe(0o600);
    }
    await s.delete("triad");
    expect(await readdir(dir)).toEqual([]);
  });

  it("a crash that left a half-written temp file: the old value stays and open removes the temp file", async () => {
    let s = await open();
    await s.write("k", utf8("old"));
    const full = encodeRecord({ key: "k", generation: 2, value: utf8("new") });
    await writeFile(join(dir, "k.b.rec.tmp"), full.subarray(0, 10));
    await writeFile(join(dir, "k.a.rec.tmp"), full);
    s = await open();
    expect(await s.read("k")).toEqual(utf8("old"));
    expect((await readdir(dir)).sort()).toEqual(["k.a.rec", "k.b.rec"]);
  });

  it("falls back to the other slot file when the newest is damaged or truncated", async () => {
    const s = await open();
    await s.write("k", utf8("old"));
    await s.write("k", utf8("new"));
    const newest = join(dir, "k.b.rec");
    const bytes = new Uint8Array(await readFile(newest));
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 4;
    await writeFile(newest, bytes);
    expect(await s.read("k")).toEqual(utf8("old"));
    await writeFile(newest, bytes.subarray(0, 5));
    expect(await s.read("k")).toEqual(utf8("old"));
    await s.write("k", utf8("repaired"));
    expect(decodeRecord(await readFile(newest))).toMatchObject({ generation: 2, value: utf8("repaired") });
  });

  it("reports store.corrupt_record when both slot files are damaged", async () => {
    const s = await open();
    await s.write("k", utf8("value"));
    await writeFile(join(dir, "k.a.rec"), new Uint8Array([1, 2, 3]));
    await writeFile(join(dir, "k.b.rec"), new Uint8Array(0));
    await expectTriadkitErrorAsync(() => s.read("k"), "store.corrupt_record");
    expect(await s.keys()).toEqual(["k"]);
  });

  it("reads at most one maximal record from an oversized file", async () => {
    store = await FileFlashStore.open(dir, { maxValueBytes: 16 });
    await writeFile(join(dir, "big.a.rec"), new Uint8Array(10 * 1024 * 1024).fill(0x54));
    await expectTriadkitErrorAsync(() => store!.read("big"), "store.corrupt_record");
  });

  it("ignores files that are not slots of valid keys", async () => {
    await mkdir(dir, { recursive: true });
    for (const name of ["README", "Bad.a.rec", "k.c.rec", ".a.rec", "x.a.rec.bak"]) {
      await writeFile(join(dir, name), "x");
    }
    const s = await open();
    expect(await s.keys()).toEqual([]);
    await s.write("k", utf8("1"));
    expect(await s.keys()).toEqual(["k"]);
  });

  it("turns filesystem failures into store.io without touching the current value", async () => {
    const s = await open();
    await mkdir(join(dir, "k.a.rec", "blocker"), { recursive: true });
    let err = await expectTriadkitErrorAsync(() => s.read("k"), "store.io");
    expect(err.context).toMatchObject({ op: "read", errno: "EISDIR" });
    await rm(join(dir, "k.a.rec"), { recursive: true });
    await s.write("k", utf8("old"));
    // The temp path of the next target slot is taken by a directory: the write fails before touching the slot.
    await mkdir(join(dir, "k.b.rec.tmp"));
    await s.write("j", utf8("j")); // other keys are unaffected
    await rm(join(dir, "k.b.rec"));
    err = await expectTriadkitErrorAsync(() => s.write("k", utf8("new")), "store.io");
    expect(err.context).toMatchObject({ op: "write", errno: "EISDIR" });
    expect(await s.read("k")).toEqual(utf8("old"));
    await rm(join(dir, "k.b.rec.tmp"), { recursive: true });
    await s.write("k", utf8("new"));
    expect(await s.read("k")).toEqual(utf8("new"));
    expect((await readdir(dir)).sort()).toEqual(["j.a.rec", "j.b.rec", "k.a.rec", "k.b.rec"]);
    await writeFile(join(root, "file"), "x");
    await expectTriadkitErrorAsync(() => FileFlashStore.open(join(root, "file")), "store.io");
  });

  it("validates options", async () => {
    await expectTriadkitErrorAsync(() => FileFlashStore.open(dir, { maxValueBytes: -1 }), "config.invalid");
    await expectTriadkitErrorAsync(() => FileFlashStore.open(""), "config.invalid");
  });
});
