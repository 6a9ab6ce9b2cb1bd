import { type AlinkReply, decodeRequest, isTriadkitError, TriadkitError, tryParseTopic } from "@triadkit/protocol";
import type { Clock } from "../clock.js";
import type { Logger } from "../logging/logger.js";
import type { MessageStore, QueuedMessage } from "../queue/message-store.js";
import type { MessageFamily } from "./options.js";
import { PendingReplies } from "./pending.js";
import { type RateLimit, TokenBucket } from "./token-bucket.js";

export interface SendOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

export interface OutboxDeps {
  readonly queue: MessageStore;
  readonly clock: Clock;
  readonly log: Logger;
  readonly rateLimits: Partial<Record<MessageFamily, RateLimit>>;
  /** Publishes now, resolving on PUBACK (QoS 1); rejects when not online. */
  readonly publish: (topic: string, payload: Uint8Array) => Promise<void>;
  readonly isOnline: () => boolean;
  readonly onDropped: (info: { count: number; total: number }) => void;
}

/**
 * Everything upstream that expects a reply: the offline queue, the pump that drains it in order (one message in
 * flight, each family within its token bucket), the table of requests waiting for replies, and the drop accounting.
 */
export class Outbox {
  private readonly pending: PendingReplies;
  /** Reply timeouts of queued requests, by id; created on the first request. */
  private timeouts: Map<string, number> | undefined;
  /** One token bucket per family with a limit, each created when its family first sends. */
  private buckets: Map<MessageFamily, TokenBucket> | undefined;
  private pumping = false;
  /** The message being sent right now. Drop-oldest may evict it from the store while it is on the wire. */
  private inFlight: { id: string | undefined; evicted: boolean } | undefined;
  /** Evicted while in flight and then acknowledged by the broker: counted by the store, but not lost. */
  private rescued = 0;

  constructor(private readonly deps: OutboxDeps) {
    this.pending = new PendingReplies(deps.clock);
  }

  /** The family's bucket (full when first created, as it would be after a long idle); none without a limit. */
  private bucket(family: MessageFamily): TokenBucket | undefined {
    let bucket = this.buckets?.get(family);
    if (bucket === undefined) {
      const limit = this.deps.rateLimits[family];
      if (limit === undefined) return undefined;
      bucket = new TokenBucket(limit, this.deps.clock);
      this.buckets ??= new Map();
      this.buckets.set(family, bucket);
    }
    return bucket;
  }

  get pendingRequests(): number {
    return this.pending.size;
  }

  stats(): { messages: number; bytes: number; dropped: number } {
    const { messages, bytes, dropped } = this.deps.queue.stats();
    return { messages, bytes, dropped: dropped - this.rescued };
  }

  /** Queues an encoded request and resolves with its reply; the timeout starts when it is sent. */
  send(topic: string, id: string, method: string, payload: Uint8Array, options: SendOptions): Promise<AlinkReply> {
    const reply = this.pending.add(id, method);
    this.timeouts ??= new Map();
    this.timeouts.set(id, options.timeoutMs);
    const signal = options.signal;
    if (signal) {
      const onAbort = () => this.pending.reject(id, signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      void reply.finally(() => signal.removeEventListener("abort", onAbort)).catch(() => undefined);
    }
    const message: QueuedMessage = { topic, payload, qos: 1, queuedAtMs: this.deps.clock.nowMs() };
    this.deps.queue.push(message).then(
      ({ dropped }) => {
        if (dropped.length > 0) this.onEvicted(dropped);
        this.kick();
      },
      (err: unknown) => this.pending.reject(id, err),
    );
    return reply;
  }

  /** A reply arrived: resolve its waiter; a 429 slows its family down. Returns false for a late or unknown one. */
  receive(reply: AlinkReply, topic: string): boolean {
    this.timeouts?.delete(reply.id);
    if (reply.code === 429) {
      const family = familyOf(topic);
      this.bucket(family)?.slowDown();
      this.deps.log.warn({ family }, "platform replied 429: slowing down");
    }
    return this.pending.resolve(reply);
  }

  rejectAll(err: () => unknown): void {
    this.pending.rejectAll(err);
  }

  /** Starts draining if online and not already draining. */
  kick(): void {
    if (this.pumping || !this.deps.isOnline()) return;
    this.pumping = true;
    void this.pump().finally(() => {
      this.pumping = false;
      // A push may have landed while the pump was finishing an empty peek: look again.
      if (this.deps.isOnline() && this.deps.queue.stats().messages > 0) this.kick();
    });
  }

  private onEvicted(dropped: readonly QueuedMessage[]): void {
    let count = 0;
    for (const m of dropped) {
      const id = idOf(m.payload);
      if (this.inFlight !== undefined && id !== undefined && id === this.inFlight.id) {
        this.inFlight.evicted = true; // decided when its PUBACK comes (or does not)
        continue;
      }
      count++;
      if (id !== undefined) this.rejectDropped(id);
    }
    if (count > 0) this.reportDropped(count);
  }

  private rejectDropped(id: string): void {
    this.timeouts?.delete(id);
    this.pending.reject(id, new TriadkitError("queue.dropped", "dropped from the offline queue at its bound", { id }));
  }

  private reportDropped(count: number): void {
    const total = this.stats().dropped;
    this.deps.log.warn({ count, total }, "offline queue full: messages dropped");
    this.deps.onDropped({ count, total });
  }

  private async pump(): Promise<void> {
    const { queue, clock } = this.deps;
    while (this.deps.isOnline()) {
      const [message] = await queue.peek(1).catch(() => []);
      if (message === undefined) return;
      const token = this.bucket(familyOf(message.topic))?.tryTake() ?? { ok: true as const };
      if (!token.ok) {
        await new Promise<void>((resolve) => clock.setTimeout(resolve, token.waitMs));
        continue;
      }
      const id = idOf(message.payload);
      const flight = { id, evicted: false };
      this.inFlight = flight;
      try {
        await this.deps.publish(message.topic, message.payload);
      } catch (err) {
        this.inFlight = undefined;
        if (flight.evicted) {
          // Evicted from the store while on the wire, and the wire failed: it is lost after all.
          if (id !== undefined) this.rejectDropped(id);
          this.reportDropped(1);
        } else if (this.deps.isOnline()) {
          this.deps.log.warn({ err: (err as Error).message }, "publish failed; will retry");
        }
        return; // a message still in the store stays at the head and is resent after reconnect
      }
      this.inFlight = undefined;
      if (flight.evicted) this.rescued++;
      await queue.ack(1);
      if (id !== undefined) {
        const timeoutMs = this.timeouts?.get(id);
        this.timeouts?.delete(id);
        if (timeoutMs !== undefined) this.pending.sent(id, timeoutMs);
      }
    }
  }
}

function idOf(payload: Uint8Array): string | undefined {
  try {
    return decodeRequest(payload).id;
  } catch (err) {
    if (isTriadkitError(err)) return undefined;
    throw err;
  }
}

/** Which token bucket a topic draws from. */
export function familyOf(topic: string): MessageFamily {
  const parsed = tryParseTopic(topic);
  if (parsed === undefined) return "other";
  const kind = parsed.kind;
  if (kind.startsWith("property.post")) return "property";
  if (kind.startsWith("event.post")) return "event";
  if (kind.startsWith("deviceinfo")) return "tags";
  if (kind.startsWith("config")) return "config";
  if (kind.startsWith("ntp")) return "ntp";
  if (kind.endsWith("reply") || kind === "rrpc.response") return "reply";
  return "other";
}
