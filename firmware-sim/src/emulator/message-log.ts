import { type DeviceIdentity, topicMatchesFilter } from "@triadkit/protocol";

/** A message a device published, as the platform received it. */
export interface ReceivedMessage {
  /** Increasing per emulator, from 1: use it to ask for what came after a point (`afterSeq`). */
  readonly seq: number;
  readonly identity: DeviceIdentity;
  readonly clientId: string;
  readonly topic: string;
  readonly payload: Uint8Array;
  /** Wall clock of the emulator's clock when the message arrived. */
  readonly receivedAtMs: number;
  /** True when the rate limit refused it (answered 429 or dropped). */
  readonly rateLimited: boolean;
}

export interface MessageFilter {
  readonly productKey?: string;
  readonly deviceName?: string;
  /** An MQTT topic filter (`+` and `#` allowed). */
  readonly topic?: string;
  /** Only messages with a larger `seq`. */
  readonly afterSeq?: number;
}

/** A bounded ring buffer of received messages: the oldest are dropped once `capacity` is reached. */
export class MessageLog {
  private readonly buffer: (ReceivedMessage | undefined)[];
  private next = 0;
  private count = 0;
  private seq = 0;

  constructor(readonly capacity: number) {
    this.buffer = new Array<ReceivedMessage | undefined>(capacity).fill(undefined);
  }

  push(message: Omit<ReceivedMessage, "seq">): ReceivedMessage {
    const stored: ReceivedMessage = { ...message, seq: ++this.seq };
    if (this.capacity === 0) return stored;
    this.buffer[this.next] = stored;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
    return stored;
  }

  /** Oldest first. */
  list(filter: MessageFilter = {}): ReceivedMessage[] {
    const out: ReceivedMessage[] = [];
    for (let i = 0; i < this.count; i++) {
      const m = this.buffer[(this.next - this.count + i + this.capacity) % this.capacity];
      if (m === undefined) continue;
      if (filter.productKey !== undefined && m.identity.productKey !== filter.productKey) continue;
      if (filter.deviceName !== undefined && m.identity.deviceName !== filter.deviceName) continue;
      if (filter.afterSeq !== undefined && m.seq <= filter.afterSeq) continue;
      if (filter.topic !== undefined && !topicMatchesFilter(filter.topic, m.topic)) continue;
      out.push(m);
    }
    return out;
  }
}
