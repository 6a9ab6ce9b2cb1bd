import { type AlinkReply, decodeReply, fromUtf8, TriadkitError } from "@triadkit/protocol";
import type { Clock, TimerHandle } from "@triadkit/sdk";

interface Waiter {
  readonly id: string;
  readonly resolve: (reply: AlinkReply) => void;
  readonly reject: (err: Error) => void;
  readonly timer: TimerHandle;
}

/**
 * Platform → device calls waiting for the device's answer, keyed by the reply topic and matched by message id.
 * Devices that do not echo the id (the official Node SDK's sync service reply, `{code, data}` only) are matched to
 * the oldest call waiting on that topic, which for RRPC is unique anyway (the topic carries the message id).
 */
export class PendingReplies {
  private readonly byTopic = new Map<string, Waiter[]>();

  constructor(private readonly clock: Clock) {}

  /** Waits for a reply on `replyTopic` to message `id`; rejects with `alink.reply_timeout` after `timeoutMs`. */
  wait(replyTopic: string, id: string, timeoutMs: number): Promise<AlinkReply> {
    return new Promise<AlinkReply>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.remove(replyTopic, waiter);
        reject(
          new TriadkitError("alink.reply_timeout", `no reply within ${timeoutMs} ms`, {
            topic: replyTopic,
            id,
            timeoutMs,
          }),
        );
      }, timeoutMs);
      const waiter: Waiter = { id, resolve, reject, timer };
      const list = this.byTopic.get(replyTopic) ?? [];
      list.push(waiter);
      this.byTopic.set(replyTopic, list);
    });
  }

  /** True when somebody waits on `topic` (so a device publish there is an answer, not a request). */
  has(topic: string): boolean {
    return (this.byTopic.get(topic)?.length ?? 0) > 0;
  }

  /** Hands a reply to its waiter. Returns false when nobody waited for it. */
  settle(topic: string, reply: AlinkReply): boolean {
    const list = this.byTopic.get(topic);
    if (list === undefined || list.length === 0) return false;
    const waiter = list.find((w) => w.id === reply.id) ?? (reply.id === "" ? list[0] : undefined);
    if (waiter === undefined) return false;
    this.remove(topic, waiter);
    waiter.timer.cancel();
    waiter.resolve(reply);
    return true;
  }

  /** Rejects every waiter (on close). */
  rejectAll(err: Error): void {
    for (const list of this.byTopic.values()) {
      for (const w of list) {
        w.timer.cancel();
        w.reject(err);
      }
    }
    this.byTopic.clear();
  }

  private remove(topic: string, waiter: Waiter): void {
    const list = this.byTopic.get(topic);
    if (list === undefined) return;
    const rest = list.filter((w) => w !== waiter);
    if (rest.length === 0) this.byTopic.delete(topic);
    else this.byTopic.set(topic, rest);
  }
}

/**
 * Decodes a device's reply. Strict first (protocol's `decodeReply`); failing that, a JSON object with an integer
 * `code` is accepted with `id` "" (the Node SDK's sync reply leaves the id out). Returns undefined otherwise.
 */
export function decodeDeviceReply(payload: Uint8Array): AlinkReply | undefined {
  try {
    return decodeReply(payload);
  } catch {
    try {
      const obj: unknown = JSON.parse(fromUtf8(payload));
      if (typeof obj !== "object" || obj === null || Array.isArray(obj)) return undefined;
      const { code, data, id } = obj as Record<string, unknown>;
      if (typeof code !== "number" || !Number.isSafeInteger(code)) return undefined;
      return { id: typeof id === "string" || typeof id === "number" ? String(id) : "", code, data };
    } catch {
      return undefined;
    }
  }
}
