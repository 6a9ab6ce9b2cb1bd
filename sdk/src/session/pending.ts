import { type AlinkReply, TriadkitError } from "@triadkit/protocol";
import type { Clock, TimerHandle } from "../clock.js";

interface Pending {
  resolve(reply: AlinkReply): void;
  reject(err: unknown): void;
  timer?: TimerHandle;
  readonly method: string;
}

/**
 * Requests waiting for their reply, by Alink id. Each gets its timer when it is actually sent; every entry
 * leaves the table by a reply, its timeout, an abort, a drop from the queue, or `rejectAll` on close.
 */
export class PendingReplies {
  /** Created on the first request: an idle device keeps no table. */
  private table: Map<string, Pending> | undefined;

  constructor(private readonly clock: Clock) {}

  get size(): number {
    return this.table?.size ?? 0;
  }

  add(id: string, method: string): Promise<AlinkReply> {
    return new Promise<AlinkReply>((resolve, reject) => {
      this.table ??= new Map();
      this.table.set(id, { resolve, reject, method });
    });
  }

  /** Starts the reply timeout for a request that has just gone out. */
  sent(id: string, timeoutMs: number): void {
    const p = this.table?.get(id);
    if (p === undefined || p.timer !== undefined) return;
    p.timer = this.clock.setTimeout(() => {
      this.table?.delete(id);
      p.reject(new TriadkitError("alink.reply_timeout", `no reply to ${p.method} within ${timeoutMs} ms`, { id }));
    }, timeoutMs);
  }

  /** Hands a reply to its waiter. Returns false for a reply nobody waits for (late or unknown). */
  resolve(reply: AlinkReply): boolean {
    const p = this.table?.get(reply.id);
    if (p === undefined) return false;
    this.table?.delete(reply.id);
    p.timer?.cancel();
    p.resolve(reply);
    return true;
  }

  reject(id: string, err: unknown): void {
    const p = this.table?.get(id);
    if (p === undefined) return;
    this.table?.delete(id);
    p.timer?.cancel();
    p.reject(err);
  }

  rejectAll(err: () => unknown): void {
    if (this.table === undefined) return;
    for (const id of [...this.table.keys()]) this.reject(id, err());
  }
}
