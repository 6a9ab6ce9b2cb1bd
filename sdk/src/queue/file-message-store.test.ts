import { cp, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectTriadkitErrorAsync } from "@triadkit/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { decodeRecord, encodeHead, encodeRecord, HEAD_BYTES, RECORD_HEADER_BYTES } from "./file-format.js";
import { FileMessageStore, type FileMessageStoreOptions } from "./file-message-store.js";
import { msg, runMessageStoreContract } from "./message-store.contract.js";
import type { MessageStoreLimits, QueuedMessage } from "./message-store.js";

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "triadkit-queue-"));
}

runMessageStoreContract(
  "FileMessageStore",
  async (limits) => {
    const dir = await tempDir();
    // Small segments so the contract also exercises rolling and compaction.
    const options: FileMessageStoreOptions = { segmentBytes: 256 };
    let store: FileMessageStore;
    try {
      store = await FileMessageStore.open(dir, limits, options);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return {
      store,
      async reopen() {
        await store.close();
        store = await FileMessageStore.open(dir, limits, options);
        return store;
      },
      async dispose() {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  { numRuns: 100 },
);

const roomy: MessageStoreLimits = { maxMessages: 1_000, maxBytes: 1_000_000 };

function numbered(n: number): QueuedMessage {
  return msg(`t/${n}`, `payload-${n}`, 1_000 + n);
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.startsWith("seg-")).sort();
}

async function diskBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}

describe("FileMessageStore", () => {
  const dirs: string[] = [];
  const stores: FileMessageStore[] = [];
  const newDir = async () => {
    const dir = await tempDir();
    dirs.push(dir);
    return dir;
  };
  const openStore = async (dir: string, limits = roomy, options?: FileMessageStoreOptions) => {
    const store = await FileMessageStore.open(dir, limits, options);
    stores.push(store);
    return store;
  };
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  /** A directory holding messages 0..count-1 in one segment, closed; returns it and where each record starts. */
  const fill = async (count: number) => {
    const dir = await newDir();
    const store = await openStore(dir);
    for (let n = 0; n < count; n++) await store.push(numbered(n));
    await store.close();
    const [segment] = await segmentFiles(dir);
    const offsets: number[] = [];
    let pos = 0;
    for (let n = 0; n < count; n++) {
      offsets.push(pos);
      pos += encodeRecord(n, numbered(n)).length;
    }
    return { dir, segment: join(dir, segment as string), offsets, size: pos };
  };

  it("writes the documented layout: a head file and seg-<16-digit first seq>.log of framed records", async () => {
    const { dir, segment, size } = await fill(2);
    expect((await readdir(dir)).sort()).toEqual(["head", "seg-0000000000000000.log"]);
    const bytes = new Uint8Array(await readFile(segment));
    expect(bytes.length).toBe(size);
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0x54, 0x4b, 0x51, 0x31]);
    const first = encodeRecord(0, numbered(0));
    expect(first.length).toBe(RECORD_HEADER_BYTES + 3 + 9);
    expect(new DataView(first.buffer).getUint32(8, true)).toBe(first.length - 12);
    expect(decodeRecord(bytes, first.length)).toEqual({ seq: 1, message: numbered(1) });
    expect((await readFile(join(dir, "head"))).length).toBe(HEAD_BYTES);
  });

  it("torn tail: truncating at every byte offset of the last record keeps all earlier messages", async () => {
    const count = 4;
    const { dir, segment, offsets, size } = await fill(count);
    const lastStart = offsets[count - 1] as number;
    const earlier = Array.from({ length: count - 1 }, (_, n) => numbered(n));
    for (let cut = lastStart; cut < size; cut++) {
      const copy = await newDir();
      await cp(dir, copy, { recursive: true });
      await truncate(join(copy, segment.slice(dir.length + 1)), cut);
      const store = await openStore(copy);
      expect(await store.peek(10)).toEqual(earlier);
      expect(store.stats()).toMatchObject({ messages: count - 1, dropped: 0, corrupted: 0 });
      // Appends continue cleanly after the cut, and survive another restart.
      await store.push(numbered(99));
      await store.close();
      const again = await openStore(copy);
      expect(await again.peek(10)).toEqual([...earlier, numbered(99)]);
      expect(again.stats().corrupted).toBe(0);
      await again.close();
    }
  });

  it("a CRC-bad last record is treated as a torn tail (dropped, not counted as corruption)", async () => {
    const { dir, segment, size } = await fill(3);
    const bytes = await readFile(segment);
    bytes[size - 1] = (bytes[size - 1] as number) ^ 0xff;
    await writeFile(segment, bytes);
    const store = await openStore(dir);
    expect(await store.peek(10)).toEqual([numbered(0), numbered(1)]);
    expect(store.stats().corrupted).toBe(0);
    expect((await stat(segment)).size).toBeLessThan(size);
  });

  for (const [what, offsetInRecord] of [
    ["payload byte", RECORD_HEADER_BYTES + 5],
    ["CRC field", 5],
    ["length field", 9],
    ["magic", 0],
  ] as const) {
    it(`a damaged middle record (${what}) is skipped and counted once in stats().corrupted`, async () => {
      const { dir, segment, offsets } = await fill(5);
      const bytes = await readFile(segment);
      const at = (offsets[2] as number) + offsetInRecord;
      bytes[at] = (bytes[at] as number) ^ 0x5a;
      await writeFile(segment, bytes);
      let store = await openStore(dir);
      expect(await store.peek(10)).toEqual([0, 1, 3, 4].map(numbered));
      expect(store.stats()).toMatchObject({ messages: 4, dropped: 0, corrupted: 1 });
      await store.close();
      store = await openStore(dir);
      expect(store.stats().corrupted).toBe(1); // not counted again
      await store.peek(2);
      await store.ack(2);
      await store.push(numbered(5));
      await store.close();
      store = await openStore(dir);
      expect(await store.peek(10)).toEqual([3, 4, 5].map(numbered));
      expect(store.stats().corrupted).toBe(1);
    });
  }

  it("does not count a damaged record that was already acked", async () => {
    const { dir, segment, offsets } = await fill(4);
    let store = await openStore(dir);
    await store.peek(2);
    await store.ack(2);
    await store.close();
    const bytes = await readFile(segment);
    const at = (offsets[1] as number) + RECORD_HEADER_BYTES + 2;
    bytes[at] = (bytes[at] as number) ^ 1;
    await writeFile(segment, bytes);
    store = await openStore(dir);
    expect(await store.peek(10)).toEqual([numbered(2), numbered(3)]);
    expect(store.stats().corrupted).toBe(0);
  });

  it("counts every message lost in a damaged run, even across a segment boundary", async () => {
    const dir = await newDir();
    let store = await openStore(dir, roomy, { segmentBytes: 100 }); // about two records per segment
    for (let n = 0; n < 10; n++) await store.push(numbered(n));
    await store.close();
    const segments = await segmentFiles(dir);
    expect(segments.length).toBeGreaterThan(3);
    // Wipe the whole second segment.
    const second = join(dir, segments[1] as string);
    await writeFile(second, new Uint8Array((await stat(second)).size).fill(0xee));
    store = await openStore(dir, roomy, { segmentBytes: 100 });
    const left = (await store.peek(100)).map((m) => m.topic);
    const lost = 10 - left.length;
    expect(lost).toBeGreaterThan(0);
    expect(store.stats().corrupted).toBe(lost);
    expect(left).toEqual([...left].sort((a, b) => Number(a.slice(2)) - Number(b.slice(2))));
  });

  it("a damaged head file is queue.corrupt", async () => {
    const { dir } = await fill(2);
    const head = await readFile(join(dir, "head"));
    head[10] = (head[10] as number) ^ 1;
    await writeFile(join(dir, "head"), head);
    await expectTriadkitErrorAsync(() => FileMessageStore.open(dir, roomy), "queue.corrupt");
    await writeFile(join(dir, "head"), encodeHead({ headSeq: 1, dropped: 7, corrupted: 0, corruptThrough: -1 }));
    const store = await openStore(dir);
    expect(await store.peek(10)).toEqual([numbered(1)]);
    expect(store.stats().dropped).toBe(7);
  });

  it("a record changed on disk after opening makes peek fail with queue.corrupt; reopening skips it", async () => {
    const { dir, segment, offsets } = await fill(3);
    const store = await openStore(dir);
    const bytes = await readFile(segment);
    const at = (offsets[0] as number) + RECORD_HEADER_BYTES + 4;
    bytes[at] = (bytes[at] as number) ^ 1;
    await writeFile(segment, bytes);
    await expectTriadkitErrorAsync(() => store.peek(1), "queue.corrupt");
    await store.close();
    const again = await openStore(dir);
    expect(await again.peek(10)).toEqual([numbered(1), numbered(2)]);
    expect(again.stats().corrupted).toBe(1);
  });

  it("trims to smaller limits on open, dropping and counting the oldest", async () => {
    const { dir } = await fill(5);
    const store = await openStore(dir, { maxMessages: 2, maxBytes: 1_000 });
    expect(await store.peek(10)).toEqual([numbered(3), numbered(4)]);
    expect(store.stats().dropped).toBe(3);
    await store.close();
    const again = await openStore(dir);
    expect(again.stats()).toMatchObject({ messages: 2, dropped: 3 });
  });

  it("peeks across segments and after rolling", async () => {
    const dir = await newDir();
    const store = await openStore(dir, roomy, { segmentBytes: 64 });
    for (let n = 0; n < 20; n++) await store.push(numbered(n));
    expect((await segmentFiles(dir)).length).toBeGreaterThan(5);
    expect(await store.peek(20)).toEqual(Array.from({ length: 20 }, (_, n) => numbered(n)));
    await store.ack(15);
    expect((await segmentFiles(dir)).length).toBeLessThanOrEqual(4);
    expect(await store.peek(20)).toEqual([15, 16, 17, 18, 19].map(numbered));
  });

  it("compaction keeps disk use bounded over 10k push/ack cycles", async () => {
    const dir = await newDir();
    const segmentBytes = 4_096;
    const limits = { maxMessages: 64, maxBytes: 4_096 };
    // Compaction does not depend on fsync; skipping it keeps 10k cycles fast on slow CI disks.
    const store = await openStore(dir, limits, { segmentBytes, fsync: false });
    const payload = new Uint8Array(40).fill(0xab);
    const recordBytes = encodeRecord(0, msg("t/telemetry", payload)).length;
    const bound = HEAD_BYTES + 2 * (segmentBytes + recordBytes) + limits.maxMessages * recordBytes;
    let peak = 0;
    let delivered = 0;
    for (let i = 0; i < 10_000; i++) {
      await store.push({ topic: "t/telemetry", payload, qos: 1, queuedAtMs: i });
      if (i % 7 === 6) {
        // A consumer that lags behind a little, acking in batches.
        const batch = await store.peek(5);
        delivered += batch.length;
        await store.ack(batch.length);
      }
      if (i % 100 === 0) peak = Math.max(peak, await diskBytes(dir));
    }
    expect(peak).toBeLessThanOrEqual(bound);
    expect((await segmentFiles(dir)).length).toBeLessThanOrEqual(3);
    const { messages, dropped } = store.stats();
    expect(delivered + messages + dropped).toBe(10_000);
    await store.ack(messages);
    await store.push({ topic: "t/x", payload, qos: 0, queuedAtMs: 0 });
    expect(await diskBytes(dir)).toBeLessThanOrEqual(HEAD_BYTES + 2 * (segmentBytes + recordBytes));
  });

  it("filesystem failures are store.io", async () => {
    const dir = await newDir();
    const file = join(dir, "not-a-dir");
    await writeFile(file, "x");
    await expectTriadkitErrorAsync(() => FileMessageStore.open(file, roomy), "store.io");
    await expectTriadkitErrorAsync(() => FileMessageStore.open(dir, roomy, { segmentBytes: 0 }), "config.invalid");
  });
});
