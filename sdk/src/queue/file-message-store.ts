import { type FileHandle, mkdir, open, readdir, readFile, rename, truncate, unlink } from "node:fs/promises";
import { join } from "node:path";
import { isTriadkitError, TriadkitError } from "@triadkit/protocol";
import {
  decodeHead,
  decodeRecord,
  encodeHead,
  encodeRecord,
  findNextFrame,
  type HeadState,
  readFrame,
} from "./file-format.js";
import type { MessageStore, MessageStoreLimits, MessageStoreStats, QueuedMessage } from "./message-store.js";
import {
  checkCount,
  closedError,
  type PreparedMessage,
  prepareMessage,
  QueueIndex,
  type ResolvedLimits,
  resolveLimits,
  type SeqEntry,
} from "./queue-internals.js";

export interface FileMessageStoreOptions {
  /**
   * Roll to a new segment file once the current one holds this many bytes (default 256 KiB). Disk use stays
   * below the live records plus about two segments.
   */
  readonly segmentBytes?: number;
  /**
   * `fsync` every append, the head file and directory changes before the call resolves (default true).
   * `false` is faster but a power cut may lose the last pushes and acks (acks come back as resends).
   */
  readonly fsync?: boolean;
}

export interface FileMessageStoreStats extends MessageStoreStats {
  /**
   * Messages lost to damaged records found while opening (CRC or framing bad in the middle of the log),
   * counted once across restarts. A torn tail (power cut mid-append) is not counted: that push never completed.
   */
  readonly corrupted: number;
}

interface Segment {
  readonly firstSeq: number;
  readonly path: string;
  /** Bytes of good records (appends go here). */
  size: number;
  /** Highest seq of a record in it; `firstSeq - 1` while empty. */
  lastSeq: number;
}

interface FileEntry extends SeqEntry {
  readonly segment: Segment;
  readonly offset: number;
  readonly length: number;
}

const HEAD_FILE = "head";
const HEAD_TEMP = "head.tmp";
const SEGMENT_PATTERN = /^seg-(\d{16})\.log$/;
const DEFAULT_SEGMENT_BYTES = 256 * 1024;

function segmentName(firstSeq: number): string {
  return `seg-${String(firstSeq).padStart(16, "0")}.log`;
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err ? String((err as { code: unknown }).code) : undefined;
}

/** Runs a filesystem call, turning its failure into `store.io` (TriadkitErrors pass through). */
async function io<T>(op: string, path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isTriadkitError(err)) throw err;
    throw new TriadkitError(
      "store.io",
      `offline queue ${op} failed`,
      { op, path, errno: errnoCode(err) },
      { cause: err },
    );
  }
}

async function fsyncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch (err) {
    // Some platforms cannot open or fsync a directory; the rename is then as durable as the platform allows.
    const code = errnoCode(err);
    if (code !== "EISDIR" && code !== "EPERM" && code !== "EINVAL" && code !== "EACCES") throw err;
  } finally {
    await handle?.close();
  }
}

/**
 * The offline queue on a filesystem, for real boards: survives restarts and power cuts.
 *
 * Layout of `dir` (one store per directory; do not open the same directory twice at once):
 * - `seg-<first seq, 16 digits>.log`: append-only segments of framed records
 *   (magic "TKQ1", CRC-32, length, seq, queuedAtMs, qos, topic, payload; see `file-format.ts`).
 *   Sequence numbers are consecutive across segments; a segment is named after the first seq it holds.
 * - `head`: 44 bytes with the head seq (everything below it is acked or dropped), the dropped counter and the
 *   corrupted counter, each write replacing it atomically (write `head.tmp`, fsync, rename, fsync the directory).
 *
 * A push appends one record (and fsyncs it) before it resolves; the head file is rewritten only when the head
 * or a counter moves (ack, drop). Segments whose records are all below the head are deleted, and the current one
 * is rolled at `segmentBytes`, so disk use stays bounded by the live messages plus about two segments.
 *
 * Opening scans every segment and rebuilds the in-memory index (seq, segment, offset, length; payloads stay
 * on disk and are read by `peek`):
 * - a torn tail (a truncated or CRC-bad last record of the last segment, with no good record after it) is
 *   discarded and the file truncated there: a power cut mid-append loses only that push, which never resolved;
 * - a damaged record with good records after it is skipped: the scan resynchronises on the next good record and
 *   the messages lost in the gap (known exactly from the consecutive seqs) are counted once in
 *   `stats().corrupted` (persisted). The queue stays usable rather than refusing to open;
 * - a damaged `head` file is `queue.corrupt` (it cannot be told which messages were acked);
 * - if the held messages exceed the (possibly smaller) limits, the oldest are dropped and counted.
 *
 * `peek` reads records from disk and throws `queue.corrupt` if one changed after opening (close and reopen to
 * skip it). Filesystem failures are `store.io`.
 */
export class FileMessageStore implements MessageStore {
  private readonly dir: string;
  private readonly limits: ResolvedLimits;
  private readonly segmentBytes: number;
  private readonly fsync: boolean;
  private readonly index: QueueIndex<FileEntry>;
  private readonly segments: Segment[];
  private head: HeadState;
  private appender: FileHandle | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private closing = false;
  private closed: Promise<void> | undefined;

  private constructor(
    dir: string,
    limits: ResolvedLimits,
    options: { segmentBytes: number; fsync: boolean },
    state: { index: QueueIndex<FileEntry>; segments: Segment[]; head: HeadState },
  ) {
    this.dir = dir;
    this.limits = limits;
    this.segmentBytes = options.segmentBytes;
    this.fsync = options.fsync;
    this.index = state.index;
    this.segments = state.segments;
    this.head = state.head;
  }

  /**
   * Opens (creating if needed) the store in `dir`. Throws `config.invalid` for bad limits or options,
   * `queue.corrupt` for a damaged head file, `store.io` when the filesystem fails.
   */
  static async open(
    dir: string,
    limits: MessageStoreLimits,
    options: FileMessageStoreOptions = {},
  ): Promise<FileMessageStore> {
    const resolved = resolveLimits(limits);
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (!Number.isSafeInteger(segmentBytes) || segmentBytes < 1) {
      throw new TriadkitError("config.invalid", "segmentBytes must be a positive integer", { segmentBytes });
    }
    const fsync = options.fsync ?? true;
    await io("mkdir", dir, () => mkdir(dir, { recursive: true }));

    const headPath = join(dir, HEAD_FILE);
    const headBytes = await io("read head", headPath, async () => {
      try {
        return await readFile(headPath);
      } catch (err) {
        if (errnoCode(err) === "ENOENT") return undefined;
        throw err;
      }
    });
    await io("unlink", join(dir, HEAD_TEMP), () => unlink(join(dir, HEAD_TEMP)).catch(ignoreEnoent));

    const names = await io("readdir", dir, () => readdir(dir));
    const files = names
      .map((name) => ({ name, match: SEGMENT_PATTERN.exec(name) }))
      .filter((f): f is { name: string; match: RegExpExecArray } => f.match !== null)
      .map((f) => ({ path: join(dir, f.name), firstSeq: Number(f.match[1]) }))
      .filter((f) => Number.isSafeInteger(f.firstSeq))
      .sort((a, b) => a.firstSeq - b.firstSeq);

    const stored = headBytes === undefined ? undefined : decodeHead(headBytes);
    const headSeq = stored?.headSeq ?? files[0]?.firstSeq ?? 0;
    let dropped = stored?.dropped ?? 0;
    let corrupted = stored?.corrupted ?? 0;
    let corruptThrough = stored?.corruptThrough ?? -1;
    /** Counts the seqs from..to as lost to corruption, once, if they were still held. */
    const noteLost = (from: number, to: number) => {
      const lo = Math.max(from, headSeq, corruptThrough + 1);
      if (to >= lo) {
        corrupted += to - lo + 1;
        corruptThrough = to;
      }
    };

    const segments: Segment[] = [];
    const entries: FileEntry[] = [];
    let lastSeq = -1;
    for (const [i, file] of files.entries()) {
      const isLast = i === files.length - 1;
      const bytes = await io("read segment", file.path, () => readFile(file.path));
      const segment: Segment = {
        firstSeq: file.firstSeq,
        path: file.path,
        size: bytes.length,
        lastSeq: file.firstSeq - 1,
      };
      segments.push(segment);
      noteLost(lastSeq + 1, file.firstSeq - 1);
      lastSeq = Math.max(lastSeq, file.firstSeq - 1);
      let pos = 0;
      while (pos < bytes.length) {
        const frame = readFrame(bytes, pos);
        if (frame !== undefined && frame.seq > lastSeq) {
          noteLost(lastSeq + 1, frame.seq - 1);
          if (frame.seq >= headSeq) {
            entries.push({ seq: frame.seq, bytes: frame.bytes, segment, offset: pos, length: frame.length });
          }
          lastSeq = frame.seq;
          segment.lastSeq = frame.seq;
          pos += frame.length;
          continue;
        }
        const next = findNextFrame(bytes, pos + 1, lastSeq + 1);
        if (next !== undefined) {
          pos = next; // a damaged record in the middle: skip it; the seq gap is counted above
          continue;
        }
        if (isLast) {
          // Torn tail: cut it off so appends continue from the last good record.
          await io("truncate", file.path, () => truncate(file.path, pos));
          segment.size = pos;
        }
        // A damaged tail of an older segment: its lost seqs show up as the gap before the next segment.
        break;
      }
    }

    const index = new QueueIndex<FileEntry>(headSeq);
    for (const entry of entries) index.append(entry);
    index.nextSeq = Math.max(lastSeq + 1, headSeq, files.at(-1)?.firstSeq ?? 0);
    // Limits may have shrunk since the last run, or a crash came between an append and the drop it caused.
    while (index.entries.length > resolved.maxMessages || index.bytes > resolved.maxBytes) {
      index.shift();
      dropped++;
    }
    index.markPeek();

    const head: HeadState = { headSeq: index.head, dropped, corrupted, corruptThrough };
    const store = new FileMessageStore(dir, resolved, { segmentBytes, fsync }, { index, segments, head });
    if (stored === undefined || !sameHead(stored, head)) await store.writeHead(head);
    await store.compact();
    return store;
  }

  push(message: QueuedMessage): Promise<{ readonly dropped: readonly QueuedMessage[] }> {
    return this.run(async () => {
      const prepared = prepareMessage(message, this.limits);
      const index = this.index;
      if (!index.fits(prepared.bytes, this.limits) && this.limits.overflow === "drop-newest") {
        await this.writeHead({ ...this.head, dropped: this.head.dropped + 1 });
        return { dropped: [message] };
      }
      const victims = index.victimsFor(prepared.bytes, this.limits);
      const dropped = victims > 0 ? await this.readMessages(index.entries.slice(victims)) : [];
      // Append first: a crash before the head moves leaves the queue over its bound, which open() trims
      // (dropping and counting the same oldest messages).
      const entry = await this.append(index.nextSeq, prepared);
      index.append(entry);
      if (victims > 0) {
        const newHead = index.entries.at(victims)?.seq ?? index.nextSeq;
        await this.writeHead({ ...this.head, headSeq: newHead, dropped: this.head.dropped + victims });
        for (let i = 0; i < victims; i++) index.shift();
      }
      await this.compact();
      return { dropped };
    });
  }

  peek(count: number): Promise<readonly QueuedMessage[]> {
    return this.run(async () => {
      checkCount(count, "peek");
      this.index.markPeek();
      return this.readMessages(this.index.entries.slice(count));
    });
  }

  ack(count: number): Promise<void> {
    return this.run(async () => {
      checkCount(count, "ack");
      const plan = this.index.planAck(count);
      if (plan.remove > 0) {
        const newHead = this.index.entries.at(plan.remove)?.seq ?? this.index.nextSeq;
        await this.writeHead({ ...this.head, headSeq: newHead });
        for (let i = 0; i < plan.remove; i++) this.index.shift();
        await this.compact();
      }
      this.index.cursor = plan.cursor;
    });
  }

  stats(): FileMessageStoreStats {
    if (this.closing) throw closedError();
    return {
      messages: this.index.entries.length,
      bytes: this.index.bytes,
      dropped: this.head.dropped,
      corrupted: this.head.corrupted,
    };
  }

  /** Waits for calls already made, then releases the files. Idempotent. */
  close(): Promise<void> {
    if (this.closed === undefined) {
      this.closing = true;
      this.closed = this.chain.then(async () => {
        const appender = this.appender;
        this.appender = undefined;
        await appender?.close();
      });
    }
    return this.closed;
  }

  /** Serialises operations; calls made after `close()` reject with `queue.closed`. */
  private run<T>(op: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(closedError());
    const result = this.chain.then(op);
    this.chain = result.catch(() => undefined);
    return result;
  }

  private async writeHead(state: HeadState): Promise<void> {
    const tempPath = join(this.dir, HEAD_TEMP);
    const headPath = join(this.dir, HEAD_FILE);
    await io("write head", tempPath, async () => {
      const handle = await open(tempPath, "w");
      try {
        await handle.writeFile(encodeHead(state));
        if (this.fsync) await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tempPath, headPath);
      if (this.fsync) await fsyncDir(this.dir);
    });
    this.head = state;
  }

  /** Appends one record to the current segment (rolling first when it is full) and returns its index entry. */
  private async append(seq: number, prepared: PreparedMessage): Promise<FileEntry> {
    let segment = this.segments.at(-1);
    if (segment === undefined || this.appender === undefined || segment.size >= this.segmentBytes) {
      segment = await this.openAppender(seq, segment);
    }
    const record = encodeRecord(seq, prepared.message, prepared.topicBytes);
    const appender = this.appender as FileHandle;
    const offset = segment.size;
    const path = segment.path;
    await io("append", path, async () => {
      try {
        let written = 0;
        while (written < record.length) {
          const { bytesWritten } = await appender.write(record, written, record.length - written);
          written += bytesWritten;
        }
        if (this.fsync) await appender.sync();
      } catch (err) {
        // Leave no partial record behind for the next append to follow.
        await truncate(path, offset).catch(() => undefined);
        throw err;
      }
    });
    segment.size = offset + record.length;
    segment.lastSeq = seq;
    return { seq, bytes: prepared.bytes, segment, offset, length: record.length };
  }

  /** Opens the last segment for appending, or rolls to a new one named after `seq`. */
  private async openAppender(seq: number, last: Segment | undefined): Promise<Segment> {
    const previous = this.appender;
    this.appender = undefined;
    await io("close segment", last?.path ?? this.dir, async () => previous?.close());
    let segment = last;
    if (segment === undefined || segment.size >= this.segmentBytes) {
      segment = { firstSeq: seq, path: join(this.dir, segmentName(seq)), size: 0, lastSeq: seq - 1 };
      const path = segment.path;
      this.appender = await io("create segment", path, () => open(path, "a"));
      this.segments.push(segment);
      if (this.fsync) await io("fsync dir", this.dir, () => fsyncDir(this.dir));
    } else {
      const path = segment.path;
      this.appender = await io("open segment", path, () => open(path, "a"));
    }
    return segment;
  }

  /** Deletes every segment but the current one whose records are all below the head. */
  private async compact(): Promise<void> {
    const head = this.index.head;
    while (this.segments.length > 1) {
      const oldest = this.segments[0] as Segment;
      if (oldest.lastSeq >= head) break;
      this.segments.shift();
      await io("delete segment", oldest.path, () => unlink(oldest.path).catch(ignoreEnoent));
    }
  }

  /** Reads the messages of `entries` (consecutive, oldest first), one read per segment. */
  private async readMessages(entries: readonly FileEntry[]): Promise<QueuedMessage[]> {
    const out: QueuedMessage[] = [];
    let i = 0;
    while (i < entries.length) {
      const first = entries[i] as FileEntry;
      let j = i;
      while (j + 1 < entries.length && (entries[j + 1] as FileEntry).segment === first.segment) j++;
      const last = entries[j] as FileEntry;
      const start = first.offset;
      const length = last.offset + last.length - start;
      const bytes = await io("read segment", first.segment.path, async () => {
        const handle = await open(first.segment.path, "r");
        try {
          const buffer = new Uint8Array(length);
          let read = 0;
          while (read < length) {
            const { bytesRead } = await handle.read(buffer, read, length - read, start + read);
            if (bytesRead === 0) break;
            read += bytesRead;
          }
          return buffer.subarray(0, read);
        } finally {
          await handle.close();
        }
      });
      for (let k = i; k <= j; k++) {
        const entry = entries[k] as FileEntry;
        const record = decodeRecord(bytes, entry.offset - start);
        if (record.seq !== entry.seq) {
          throw new TriadkitError("queue.corrupt", "queue record changed on disk", {
            expectedSeq: entry.seq,
            seq: record.seq,
          });
        }
        out.push(record.message);
      }
      i = j + 1;
    }
    return out;
  }
}

function ignoreEnoent(err: unknown): void {
  if (errnoCode(err) !== "ENOENT") throw err;
}

function sameHead(a: HeadState, b: HeadState): boolean {
  return (
    a.headSeq === b.headSeq &&
    a.dropped === b.dropped &&
    a.corrupted === b.corrupted &&
    a.corruptThrough === b.corruptThrough
  );
}
