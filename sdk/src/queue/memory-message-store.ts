import type { MessageStore, MessageStoreLimits, MessageStoreStats, QueuedMessage } from "./message-store.js";
import {
  checkCount,
  closedError,
  copyMessage,
  prepareMessage,
  QueueIndex,
  type ResolvedLimits,
  resolveLimits,
  type SeqEntry,
} from "./queue-internals.js";

interface MemoryEntry extends SeqEntry {
  readonly message: QueuedMessage;
}

/**
 * The offline queue in RAM: lost on restart, O(1) amortised `push` and `ack` (a head-indexed deque, no
 * `Array.shift`). Payloads are copied in and out, so callers may reuse or mutate their buffers.
 *
 * Throws `config.invalid` at construction for limits that are not positive integers.
 */
export class MemoryMessageStore implements MessageStore {
  private readonly limits: ResolvedLimits;
  private readonly index = new QueueIndex<MemoryEntry>(0);
  private dropped = 0;
  private closed = false;

  constructor(limits: MessageStoreLimits) {
    this.limits = resolveLimits(limits);
  }

  async push(message: QueuedMessage): Promise<{ readonly dropped: readonly QueuedMessage[] }> {
    this.assertOpen();
    const prepared = prepareMessage(message, this.limits);
    const index = this.index;
    if (!index.fits(prepared.bytes, this.limits) && this.limits.overflow === "drop-newest") {
      this.dropped++;
      return { dropped: [message] };
    }
    const victims = index.victimsFor(prepared.bytes, this.limits);
    const dropped: QueuedMessage[] = [];
    for (let i = 0; i < victims; i++) {
      const entry = index.shift();
      if (entry !== undefined) dropped.push(entry.message);
    }
    this.dropped += dropped.length;
    index.append({ seq: index.nextSeq, bytes: prepared.bytes, message: prepared.message });
    return { dropped };
  }

  async peek(count: number): Promise<readonly QueuedMessage[]> {
    this.assertOpen();
    checkCount(count, "peek");
    this.index.markPeek();
    return this.index.entries.slice(count).map((entry) => copyMessage(entry.message));
  }

  async ack(count: number): Promise<void> {
    this.assertOpen();
    checkCount(count, "ack");
    const plan = this.index.planAck(count);
    for (let i = 0; i < plan.remove; i++) this.index.shift();
    this.index.cursor = plan.cursor;
  }

  stats(): MessageStoreStats {
    this.assertOpen();
    return { messages: this.index.entries.length, bytes: this.index.bytes, dropped: this.dropped };
  }

  /** Idempotent: closing a closed store resolves. */
  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}
