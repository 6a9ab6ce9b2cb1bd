/**
 * The offline queue: what the device could not send yet. Bounded by count and bytes; what is dropped at the
 * bound is counted and reported, never silent. Messages leave in the order they came.
 *
 * Contract (tested by the shared contract suite against every implementation):
 * - `push` appends; when the bound would be exceeded, the overflow policy drops messages (oldest or newest)
 *   and `push` returns exactly what it dropped; `stats().dropped` counts them all since creation
 *   (persistent stores keep the count across restarts).
 * - `peek(n)` returns up to n messages from the head without removing them; `ack(n)` removes the first n.
 *   A message is removed only by `ack` (or dropped at the bound), so a crash between send and ack resends it
 *   (at-least-once).
 * - `ack(n)` counts from where the last `peek` started (then from where the last `ack` stopped). Without drops in
 *   between that is exactly "remove the first n". If drop-oldest removed some peeked messages while they were in
 *   flight, `ack` does not remove newer, never-sent messages in their place: it removes only what is left of the
 *   n it acknowledges. One consumer per store.
 * - `ack(n)` beyond what is held clamps (acks everything); `peek(0)`/`ack(0)` are no-ops; a count that is not a
 *   non-negative integer is `config.invalid`.
 * - A single message larger than the byte bound is refused with `queue.message_too_large`.
 * - After `close()`, every method rejects with `queue.closed` (`stats()` throws it); `close()` itself is
 *   idempotent.
 */
export interface QueuedMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: 0 | 1;
  /** Wall-clock ms when it was queued (for age reporting). */
  readonly queuedAtMs: number;
}

export type OverflowPolicy = "drop-oldest" | "drop-newest";

export interface MessageStoreLimits {
  /** Maximum number of messages held. */
  readonly maxMessages: number;
  /** Maximum total of topic + payload bytes held. */
  readonly maxBytes: number;
  /** Default `drop-oldest`. */
  readonly overflow?: OverflowPolicy;
}

export interface MessageStoreStats {
  readonly messages: number;
  readonly bytes: number;
  /** Dropped at the bound since the store was created. */
  readonly dropped: number;
}

export interface MessageStore {
  push(message: QueuedMessage): Promise<{ readonly dropped: readonly QueuedMessage[] }>;
  peek(count: number): Promise<readonly QueuedMessage[]>;
  ack(count: number): Promise<void>;
  stats(): MessageStoreStats;
  close(): Promise<void>;
}

/** Bytes a message counts against the bound. */
export function messageBytes(message: Pick<QueuedMessage, "topic" | "payload">): number {
  return new TextEncoder().encode(message.topic).length + message.payload.length;
}
