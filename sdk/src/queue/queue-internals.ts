/**
 * Pieces shared by the MessageStore implementations: argument checks, the bound arithmetic and a
 * head-indexed deque. Not exported from the package barrel.
 */
import { TriadkitError } from "@triadkit/protocol";
import type { MessageStoreLimits, OverflowPolicy, QueuedMessage } from "./message-store.js";

const encoder = new TextEncoder();

export interface ResolvedLimits {
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly overflow: OverflowPolicy;
}

export function resolveLimits(limits: MessageStoreLimits): ResolvedLimits {
  const { maxMessages, maxBytes } = limits;
  const overflow = limits.overflow ?? "drop-oldest";
  if (!Number.isSafeInteger(maxMessages) || maxMessages < 1) {
    throw new TriadkitError("config.invalid", "maxMessages must be a positive integer", { maxMessages });
  }
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw new TriadkitError("config.invalid", "maxBytes must be a positive integer", { maxBytes });
  }
  if (overflow !== "drop-oldest" && overflow !== "drop-newest") {
    throw new TriadkitError("config.invalid", "overflow must be drop-oldest or drop-newest", { overflow });
  }
  return { maxMessages, maxBytes, overflow };
}

/** A checked, private copy of a message plus its UTF-8 topic and bound size. */
export interface PreparedMessage {
  readonly message: QueuedMessage;
  readonly topicBytes: Uint8Array;
  /** Bytes it counts against the bound (topic UTF-8 + payload), as `messageBytes`. */
  readonly bytes: number;
}

/**
 * Validates a pushed message, copies its payload (the caller may reuse its buffer) and refuses one that
 * could never fit with `queue.message_too_large`.
 */
export function prepareMessage(message: QueuedMessage, limits: ResolvedLimits): PreparedMessage {
  if (typeof message !== "object" || message === null) {
    throw new TriadkitError("config.invalid", "message must be an object");
  }
  const { topic, payload, qos, queuedAtMs } = message;
  if (typeof topic !== "string") throw new TriadkitError("config.invalid", "message topic must be a string");
  if (!(payload instanceof Uint8Array)) {
    throw new TriadkitError("config.invalid", "message payload must be a Uint8Array", { topic });
  }
  if (qos !== 0 && qos !== 1) throw new TriadkitError("config.invalid", "message qos must be 0 or 1", { topic, qos });
  if (typeof queuedAtMs !== "number" || !Number.isFinite(queuedAtMs)) {
    throw new TriadkitError("config.invalid", "message queuedAtMs must be a finite number", { topic });
  }
  const topicBytes = encoder.encode(topic);
  const bytes = topicBytes.length + payload.length;
  if (bytes > limits.maxBytes) {
    throw new TriadkitError("queue.message_too_large", "message is larger than the queue's byte bound", {
      topic,
      bytes,
      maxBytes: limits.maxBytes,
    });
  }
  return { message: { topic, payload: payload.slice(), qos, queuedAtMs }, topicBytes, bytes };
}

/** A copy for the caller: nobody outside the store holds a reference to its buffers. */
export function copyMessage(message: QueuedMessage): QueuedMessage {
  return { topic: message.topic, payload: message.payload.slice(), qos: message.qos, queuedAtMs: message.queuedAtMs };
}

/** `peek`/`ack` counts: non-negative safe integers. */
export function checkCount(count: number, what: "peek" | "ack"): void {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new TriadkitError("config.invalid", `${what} count must be a non-negative integer`, { count });
  }
}

export function closedError(): TriadkitError {
  return new TriadkitError("queue.closed", "the message store is closed");
}

/**
 * A FIFO with O(1) amortised `push`/`shift` and O(1) indexed access: an array plus a head index, compacted
 * when the dead prefix outweighs the live part.
 */
export class Deque<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  at(index: number): T | undefined {
    return index < 0 || index >= this.length ? undefined : this.items[this.head + index];
  }

  first(): T | undefined {
    return this.at(0);
  }

  last(): T | undefined {
    return this.at(this.length - 1);
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** The first `count` items (fewer if there are fewer). */
  slice(count: number): T[] {
    const end = this.head + Math.min(count, this.length);
    return this.items.slice(this.head, end) as T[];
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i] as T;
  }
}

/**
 * The bookkeeping both stores share, over entries that carry a sequence number and their bound size:
 * which messages overflow drops, and which ones `ack(n)` removes.
 *
 * Sequence numbers are consecutive: each accepted push takes the next one (a push refused by drop-newest takes
 * none). The head is the sequence number of the oldest held message; everything below it is gone (acked or
 * dropped). The ack cursor is where `ack` counts from: `peek` sets it to the head, `ack(n)` removes every message
 * below `cursor + n` and moves the cursor there. So when drop-oldest removes messages between a `peek` and its
 * `ack`, the ack does not remove newer, never-sent messages in their place.
 */
export interface SeqEntry {
  readonly seq: number;
  readonly bytes: number;
}

export class QueueIndex<E extends SeqEntry> {
  readonly entries = new Deque<E>();
  bytes = 0;
  /** Sequence number the next accepted push takes. */
  nextSeq: number;
  /** Sequence number `ack` counts from (volatile: reset to the head on open and on every peek). */
  cursor: number;

  constructor(nextSeq: number) {
    this.nextSeq = nextSeq;
    this.cursor = nextSeq;
  }

  get head(): number {
    return this.entries.first()?.seq ?? this.nextSeq;
  }

  append(entry: E): void {
    this.entries.push(entry);
    this.bytes += entry.bytes;
    this.nextSeq = entry.seq + 1;
  }

  shift(): E | undefined {
    const entry = this.entries.shift();
    if (entry !== undefined) this.bytes -= entry.bytes;
    return entry;
  }

  /** Whether one more message of `bytes` fits beside what is held now. */
  fits(bytes: number, limits: ResolvedLimits): boolean {
    return this.entries.length + 1 <= limits.maxMessages && this.bytes + bytes <= limits.maxBytes;
  }

  /** How many of the oldest entries drop-oldest must remove so that one more message of `bytes` fits. */
  victimsFor(bytes: number, limits: ResolvedLimits): number {
    let count = 0;
    let held = this.entries.length;
    let heldBytes = this.bytes;
    while (held + 1 > limits.maxMessages || heldBytes + bytes > limits.maxBytes) {
      const entry = this.entries.at(count);
      if (entry === undefined) break; // cannot happen: bytes <= maxBytes and maxMessages >= 1
      count++;
      held--;
      heldBytes -= entry.bytes;
    }
    return count;
  }

  /** `peek`: the ack cursor moves to the head. */
  markPeek(): void {
    this.cursor = this.head;
  }

  /** `ack(count)`: how many entries to remove from the head, and the cursor afterwards. */
  planAck(count: number): { readonly remove: number; readonly cursor: number } {
    const target = Math.min(this.cursor + count, this.nextSeq);
    let remove = 0;
    for (const entry of this.entries) {
      if (entry.seq >= target) break;
      remove++;
    }
    return { remove, cursor: Math.max(target, this.cursor) };
  }
}
