/**
 * The shared MessageStore contract suite: every implementation runs it from its own `*.test.ts`
 * (`runMessageStoreContract("MyStore", factory)`). Uses vitest and fast-check, so it is not exported from the
 * package barrel; import it by path.
 */
import { expectTriadkitError, expectTriadkitErrorAsync } from "@triadkit/protocol";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import {
  type MessageStore,
  type MessageStoreLimits,
  type MessageStoreStats,
  messageBytes,
  type QueuedMessage,
} from "./message-store.js";

export interface MessageStoreFixture {
  /** A fresh, empty store with the limits given to the factory. */
  readonly store: MessageStore;
  /**
   * Persistent stores only: closes the current store (if still open) and opens the same storage again with the
   * same limits. Its presence turns on the restart tests and the reopen step of the model property.
   */
  reopen?(): Promise<MessageStore>;
  /** Releases whatever the fixture created (temporary directories). Called after each test and each run. */
  dispose(): Promise<void>;
}

export type MessageStoreFactory = (limits: MessageStoreLimits) => Promise<MessageStoreFixture>;

export interface MessageStoreContractOptions {
  /** fast-check runs of the model-based property (default 150). */
  readonly numRuns?: number;
}

const encoder = new TextEncoder();

/** A message whose payload is the UTF-8 of `text` (or the given bytes). */
export function msg(topic: string, payload: string | Uint8Array, queuedAtMs = 1_000, qos: 0 | 1 = 1): QueuedMessage {
  return { topic, payload: typeof payload === "string" ? encoder.encode(payload) : payload, qos, queuedAtMs };
}

function numbered(n: number, payloadBytes = 4): QueuedMessage {
  return msg(`t/${n}`, new Uint8Array(payloadBytes).fill(n & 0xff), 1_000 + n, (n % 2) as 0 | 1);
}

function plainStats(stats: MessageStoreStats): MessageStoreStats {
  return { messages: stats.messages, bytes: stats.bytes, dropped: stats.dropped };
}

/** The reference model: a plain array with the contract's semantics, including the ack cursor. */
class Model {
  private items: { seq: number; message: QueuedMessage }[] = [];
  private nextSeq = 0;
  private cursor = 0;
  dropped = 0;

  constructor(private readonly limits: MessageStoreLimits) {}

  private get head(): number {
    return this.items[0]?.seq ?? this.nextSeq;
  }
  private get bytes(): number {
    return this.items.reduce((sum, item) => sum + messageBytes(item.message), 0);
  }
  private fits(size: number): boolean {
    return this.items.length + 1 <= this.limits.maxMessages && this.bytes + size <= this.limits.maxBytes;
  }

  /** `undefined`: refused as too large. */
  push(message: QueuedMessage): QueuedMessage[] | undefined {
    const size = messageBytes(message);
    if (size > this.limits.maxBytes) return undefined;
    const dropped: QueuedMessage[] = [];
    if (!this.fits(size)) {
      if ((this.limits.overflow ?? "drop-oldest") === "drop-newest") {
        this.dropped++;
        return [message];
      }
      while (!this.fits(size)) dropped.push((this.items.shift() as { message: QueuedMessage }).message);
    }
    this.dropped += dropped.length;
    this.items.push({ seq: this.nextSeq++, message });
    return dropped;
  }
  peek(count: number): QueuedMessage[] {
    this.cursor = this.head;
    return this.items.slice(0, count).map((item) => item.message);
  }
  ack(count: number): void {
    const target = Math.min(this.cursor + count, this.nextSeq);
    while (this.items.length > 0 && (this.items[0] as { seq: number }).seq < target) this.items.shift();
    this.cursor = target;
  }
  reopen(): void {
    this.cursor = this.head;
  }
  stats(): MessageStoreStats {
    return { messages: this.items.length, bytes: this.bytes, dropped: this.dropped };
  }
}

type Op =
  | { readonly kind: "push"; readonly message: QueuedMessage }
  | { readonly kind: "peek"; readonly count: number }
  | { readonly kind: "ack"; readonly count: number }
  | { readonly kind: "reopen" };

const messageArb: fc.Arbitrary<QueuedMessage> = fc.record({
  topic: fc.constantFrom("a", "t/1", "/sys/pk/dn/thing/event/property/post", "温度/湿度", ""),
  payload: fc.uint8Array({ maxLength: 24 }),
  qos: fc.constantFrom<0 | 1>(0, 1),
  queuedAtMs: fc.oneof(fc.integer({ min: 0, max: 2 ** 42 }), fc.double({ noNaN: true, noDefaultInfinity: true })),
});

function opsArb(withReopen: boolean): fc.Arbitrary<Op[]> {
  const ops: fc.Arbitrary<Op>[] = [
    messageArb.map((message) => ({ kind: "push" as const, message })),
    messageArb.map((message) => ({ kind: "push" as const, message })),
    fc.integer({ min: 0, max: 8 }).map((count) => ({ kind: "peek" as const, count })),
    fc.integer({ min: 0, max: 5 }).map((count) => ({ kind: "ack" as const, count })),
  ];
  if (withReopen) ops.push(fc.constant({ kind: "reopen" as const }));
  return fc.array(fc.oneof(...ops), { maxLength: 60 });
}

const limitsArb: fc.Arbitrary<MessageStoreLimits> = fc.record({
  maxMessages: fc.integer({ min: 1, max: 6 }),
  maxBytes: fc.integer({ min: 1, max: 80 }),
  overflow: fc.constantFrom("drop-oldest" as const, "drop-newest" as const),
});

export function runMessageStoreContract(
  name: string,
  factory: MessageStoreFactory,
  options: MessageStoreContractOptions = {},
): void {
  describe(`MessageStore contract: ${name}`, () => {
    const fixtures: MessageStoreFixture[] = [];
    afterEach(async () => {
      for (const fixture of fixtures.splice(0)) await fixture.dispose();
    });
    const make = async (limits: MessageStoreLimits) => {
      const fixture = await factory(limits);
      fixtures.push(fixture);
      return fixture;
    };
    const open = async (limits: MessageStoreLimits) => (await make(limits)).store;
    const roomy: MessageStoreLimits = { maxMessages: 100, maxBytes: 10_000 };

    it("delivers in FIFO order, with topic, payload, qos and queuedAtMs intact", async () => {
      const store = await open(roomy);
      const sent = [0, 1, 2, 3, 4].map((n) => numbered(n));
      for (const m of sent) expect((await store.push(m)).dropped).toEqual([]);
      expect(await store.peek(10)).toEqual(sent);
      expect(await store.peek(2)).toEqual(sent.slice(0, 2));
      expect(plainStats(store.stats())).toEqual({
        messages: 5,
        bytes: sent.reduce((s, m) => s + messageBytes(m), 0),
        dropped: 0,
      });
    });

    it("peek does not remove; ack(n) removes the first n", async () => {
      const store = await open(roomy);
      for (let n = 0; n < 5; n++) await store.push(numbered(n));
      expect(await store.peek(3)).toEqual(await store.peek(3));
      expect(store.stats().messages).toBe(5);
      await store.ack(2);
      expect(await store.peek(10)).toEqual([2, 3, 4].map((n) => numbered(n)));
      await store.peek(1);
      await store.ack(1);
      await store.ack(1); // successive acks continue where the last one stopped
      expect(await store.peek(10)).toEqual([numbered(4)]);
    });

    it("ack beyond what is held clamps, and the queue keeps working afterwards", async () => {
      const store = await open(roomy);
      for (let n = 0; n < 3; n++) await store.push(numbered(n));
      await store.ack(10);
      expect(plainStats(store.stats())).toEqual({ messages: 0, bytes: 0, dropped: 0 });
      expect(await store.peek(5)).toEqual([]);
      await store.ack(1);
      await store.push(numbered(7));
      await store.push(numbered(8));
      expect(await store.peek(5)).toEqual([numbered(7), numbered(8)]);
      await store.ack(1);
      expect(await store.peek(5)).toEqual([numbered(8)]);
    });

    it("peek(0) and ack(0) are no-ops; negative or fractional counts are config.invalid", async () => {
      const store = await open(roomy);
      await store.push(numbered(1));
      expect(await store.peek(0)).toEqual([]);
      await store.ack(0);
      expect(store.stats().messages).toBe(1);
      for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expectTriadkitErrorAsync(() => store.peek(bad), "config.invalid");
        await expectTriadkitErrorAsync(() => store.ack(bad), "config.invalid");
      }
      expect(await store.peek(1)).toEqual([numbered(1)]);
    });

    it("refuses bad limits and malformed messages with config.invalid", async () => {
      for (const limits of [
        { maxMessages: 0, maxBytes: 10 },
        { maxMessages: 1.5, maxBytes: 10 },
        { maxMessages: 10, maxBytes: 0 },
        { maxMessages: 10, maxBytes: 10, overflow: "drop-random" as never },
      ]) {
        await expectTriadkitErrorAsync(() => make(limits), "config.invalid");
      }
      const store = await open(roomy);
      await expectTriadkitErrorAsync(() => store.push({ ...numbered(1), qos: 2 as never }), "config.invalid");
      await expectTriadkitErrorAsync(() => store.push({ ...numbered(1), payload: "x" as never }), "config.invalid");
      await expectTriadkitErrorAsync(() => store.push({ ...numbered(1), queuedAtMs: Number.NaN }), "config.invalid");
      expect(plainStats(store.stats())).toEqual({ messages: 0, bytes: 0, dropped: 0 });
    });

    it("count bound, drop-oldest: each push returns exactly the messages it dropped, and they are counted", async () => {
      const store = await open({ maxMessages: 3, maxBytes: 10_000, overflow: "drop-oldest" });
      const results = [];
      for (let n = 0; n < 6; n++) results.push((await store.push(numbered(n))).dropped);
      expect(results).toEqual([[], [], [], [numbered(0)], [numbered(1)], [numbered(2)]]);
      expect(await store.peek(10)).toEqual([3, 4, 5].map((n) => numbered(n)));
      expect(store.stats().dropped).toBe(3);
      expect(store.stats().messages).toBe(3);
    });

    it("count bound, drop-newest: the pushed message is refused, returned and counted", async () => {
      const store = await open({ maxMessages: 3, maxBytes: 10_000, overflow: "drop-newest" });
      const results = [];
      for (let n = 0; n < 6; n++) results.push((await store.push(numbered(n))).dropped);
      expect(results).toEqual([[], [], [], [numbered(3)], [numbered(4)], [numbered(5)]]);
      expect(await store.peek(10)).toEqual([0, 1, 2].map((n) => numbered(n)));
      expect(store.stats().dropped).toBe(3);
      await store.ack(1);
      expect((await store.push(numbered(9))).dropped).toEqual([]);
      expect(await store.peek(10)).toEqual([1, 2, 9].map((n) => numbered(n)));
    });

    it("byte bound, drop-oldest: drops as many oldest as needed for a large message; bytes are exact", async () => {
      // numbered(n) with 4 payload bytes and a 3-byte topic counts 7 bytes.
      const store = await open({ maxMessages: 100, maxBytes: 30, overflow: "drop-oldest" });
      for (let n = 0; n < 4; n++) await store.push(numbered(n)); // 28 bytes
      expect(store.stats().bytes).toBe(28);
      const big = msg("t/b", new Uint8Array(17)); // 20 bytes: 28 + 20 - 30 = 18 to free → 3 messages
      expect((await store.push(big)).dropped).toEqual([numbered(0), numbered(1), numbered(2)]);
      expect(plainStats(store.stats())).toEqual({ messages: 2, bytes: 27, dropped: 3 });
      const exact = msg("t/x", new Uint8Array(27)); // exactly maxBytes: empties the queue
      expect((await store.push(exact)).dropped).toEqual([numbered(3), big]);
      expect(plainStats(store.stats())).toEqual({ messages: 1, bytes: 30, dropped: 5 });
      expect(await store.peek(5)).toEqual([exact]);
    });

    it("byte bound, drop-newest: refuses only what does not fit; a smaller message later still fits", async () => {
      const store = await open({ maxMessages: 100, maxBytes: 30, overflow: "drop-newest" });
      for (let n = 0; n < 3; n++) await store.push(numbered(n)); // 21 bytes
      const big = msg("t/b", new Uint8Array(7)); // 10 bytes: 31 > 30
      expect((await store.push(big)).dropped).toEqual([big]);
      const small = msg("t/s", new Uint8Array(6)); // 9 bytes: 30, fits exactly
      expect((await store.push(small)).dropped).toEqual([]);
      expect(plainStats(store.stats())).toEqual({ messages: 4, bytes: 30, dropped: 1 });
      expect(await store.peek(10)).toEqual([numbered(0), numbered(1), numbered(2), small]);
    });

    it("counts topic bytes as UTF-8", async () => {
      const store = await open({ maxMessages: 10, maxBytes: 8, overflow: "drop-newest" });
      const m = msg("温度", new Uint8Array(2)); // 6 + 2 bytes
      expect(messageBytes(m)).toBe(8);
      expect((await store.push(m)).dropped).toEqual([]);
      expect(store.stats().bytes).toBe(8);
      await expectTriadkitErrorAsync(() => store.push(msg("温度", new Uint8Array(3))), "queue.message_too_large");
    });

    it("refuses a message larger than maxBytes with queue.message_too_large, changing nothing", async () => {
      for (const overflow of ["drop-oldest", "drop-newest"] as const) {
        const store = await open({ maxMessages: 10, maxBytes: 20, overflow });
        await store.push(numbered(1));
        await expectTriadkitErrorAsync(() => store.push(msg("t/big", new Uint8Array(16))), "queue.message_too_large");
        expect(plainStats(store.stats())).toEqual({ messages: 1, bytes: 7, dropped: 0 });
        expect(await store.peek(5)).toEqual([numbered(1)]);
      }
    });

    it("keeps binary payloads byte for byte, and copies them in and out", async () => {
      const store = await open(roomy);
      const every = Uint8Array.from({ length: 256 }, (_, i) => i);
      const zeros = new Uint8Array(33);
      const empty = new Uint8Array(0);
      const view = new Uint8Array(every.buffer, 100, 10); // a view into a larger buffer
      for (const payload of [every, zeros, empty, view]) await store.push(msg("bin", payload));
      const buffer = Uint8Array.of(1, 2, 3);
      await store.push(msg("mut", buffer));
      buffer.fill(9); // the caller reuses its buffer
      const first = await store.peek(10);
      (first[0] as QueuedMessage).payload.fill(7); // the consumer scribbles on what it got
      const again = await store.peek(10);
      expect(again.map((m) => Array.from(m.payload))).toEqual([
        Array.from(every),
        Array.from(zeros),
        [],
        Array.from({ length: 10 }, (_, i) => 100 + i),
        [1, 2, 3],
      ]);
      expect(again.every((m) => m.payload instanceof Uint8Array)).toBe(true);
    });

    it("ack after a peek does not remove newer messages when drop-oldest took the peeked ones in flight", async () => {
      const store = await open({ maxMessages: 3, maxBytes: 10_000, overflow: "drop-oldest" });
      for (let n = 0; n < 3; n++) await store.push(numbered(n));
      expect(await store.peek(2)).toEqual([numbered(0), numbered(1)]); // being sent…
      await store.push(numbered(3)); // …meanwhile 0 is dropped
      await store.ack(2); // acks 0 (gone) and 1
      expect(await store.peek(10)).toEqual([numbered(2), numbered(3)]);
      expect(await store.peek(1)).toEqual([numbered(2)]);
      await store.push(numbered(4));
      await store.push(numbered(5)); // drops 2, in flight
      await store.ack(1); // 2 is already gone: 3 stays, it was never sent
      expect(await store.peek(10)).toEqual([3, 4, 5].map((n) => numbered(n)));
      expect(store.stats().dropped).toBe(2);
    });

    it("after close every method rejects with queue.closed; close is idempotent", async () => {
      const store = await open(roomy);
      await store.push(numbered(1));
      await store.close();
      await expectTriadkitErrorAsync(() => store.push(numbered(2)), "queue.closed");
      await expectTriadkitErrorAsync(() => store.peek(1), "queue.closed");
      await expectTriadkitErrorAsync(() => store.ack(1), "queue.closed");
      expectTriadkitError(() => store.stats(), "queue.closed");
      await store.close();
    });

    it("concurrent calls behave as if made one after another", async () => {
      const store = await open({ maxMessages: 5, maxBytes: 10_000 });
      const pushes = Array.from({ length: 8 }, (_, n) => store.push(numbered(n)));
      const dropped = (await Promise.all(pushes)).flatMap((r) => r.dropped);
      expect(dropped).toEqual([0, 1, 2].map((n) => numbered(n)));
      const [peeked] = await Promise.all([store.peek(10), store.ack(0)]);
      expect(peeked).toEqual([3, 4, 5, 6, 7].map((n) => numbered(n)));
    });

    it("model: random push/peek/ack sequences match an array model, dropped count exact", async () => {
      await fc.assert(
        fc.asyncProperty(limitsArb, opsArb(false), async (limits, ops) => runModel(factory, limits, ops, false)),
        { numRuns: options.numRuns ?? 150 },
      );
    });

    describe("persistent", () => {
      it("keeps messages, acks and the dropped counter across a restart", async () => {
        const fixture = await make({ maxMessages: 3, maxBytes: 10_000, overflow: "drop-oldest" });
        if (fixture.reopen === undefined) return; // volatile store
        let store = fixture.store;
        for (let n = 0; n < 5; n++) await store.push(numbered(n));
        await store.peek(1);
        await store.ack(1);
        store = await fixture.reopen();
        expect(await store.peek(10)).toEqual([3, 4].map((n) => numbered(n)));
        expect(plainStats(store.stats())).toEqual({ messages: 2, bytes: 14, dropped: 2 });
        await store.push(numbered(5));
        await store.push(numbered(6));
        store = await fixture.reopen();
        expect(store.stats().dropped).toBe(3);
        expect(await store.peek(10)).toEqual([4, 5, 6].map((n) => numbered(n)));
      });

      it("counts drop-newest refusals across a restart", async () => {
        const fixture = await make({ maxMessages: 1, maxBytes: 10_000, overflow: "drop-newest" });
        if (fixture.reopen === undefined) return;
        await fixture.store.push(numbered(1));
        await fixture.store.push(numbered(2));
        const store = await fixture.reopen();
        expect(plainStats(store.stats())).toEqual({ messages: 1, bytes: 7, dropped: 1 });
        expect(await store.peek(2)).toEqual([numbered(1)]);
      });

      it("model: random push/peek/ack/reopen sequences match an array model", async () => {
        const probe = await make(roomy);
        if (probe.reopen === undefined) return;
        await fc.assert(
          fc.asyncProperty(limitsArb, opsArb(true), async (limits, ops) => runModel(factory, limits, ops, true)),
          { numRuns: options.numRuns ?? 150 },
        );
      });
    });
  });
}

async function runModel(
  factory: MessageStoreFactory,
  limits: MessageStoreLimits,
  ops: readonly Op[],
  withReopen: boolean,
): Promise<void> {
  const fixture = await factory(limits);
  try {
    let store = fixture.store;
    const model = new Model(limits);
    for (const op of ops) {
      switch (op.kind) {
        case "push": {
          const expected = model.push(op.message);
          if (expected === undefined) {
            await expectTriadkitErrorAsync(() => store.push(op.message), "queue.message_too_large");
          } else {
            expect((await store.push(op.message)).dropped).toEqual(expected);
          }
          break;
        }
        case "peek":
          expect(await store.peek(op.count)).toEqual(model.peek(op.count));
          break;
        case "ack":
          await store.ack(op.count);
          model.ack(op.count);
          break;
        case "reopen":
          if (withReopen && fixture.reopen !== undefined) {
            store = await fixture.reopen();
            model.reopen();
          }
          break;
      }
      expect(plainStats(store.stats())).toEqual(model.stats());
    }
    expect(await store.peek(1_000)).toEqual(model.peek(1_000));
    await store.close();
  } finally {
    await fixture.dispose();
  }
}
