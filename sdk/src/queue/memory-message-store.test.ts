import { describe, expect, it } from "vitest";
import { MemoryMessageStore } from "./memory-message-store.js";
import { msg, runMessageStoreContract } from "./message-store.contract.js";

runMessageStoreContract("MemoryMessageStore", async (limits) => ({
  store: new MemoryMessageStore(limits),
  dispose: async () => {},
}));

describe("MemoryMessageStore", () => {
  it("defaults to drop-oldest", async () => {
    const store = new MemoryMessageStore({ maxMessages: 1, maxBytes: 100 });
    await store.push(msg("a", "1"));
    expect((await store.push(msg("a", "2"))).dropped).toEqual([msg("a", "1")]);
  });

  it("streams 200k messages through push/ack(1) (no quadratic shifting)", async () => {
    const store = new MemoryMessageStore({ maxMessages: 300_000, maxBytes: 100_000_000 });
    const payload = new Uint8Array(8);
    for (let i = 0; i < 100_000; i++) await store.push({ topic: "t", payload, qos: 0, queuedAtMs: i });
    for (let i = 0; i < 100_000; i++) {
      await store.push({ topic: "t", payload, qos: 0, queuedAtMs: 100_000 + i });
      await store.ack(1);
    }
    expect(store.stats().messages).toBe(100_000);
    expect((await store.peek(1))[0]?.queuedAtMs).toBe(100_000);
  });
});
