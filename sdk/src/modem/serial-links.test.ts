import { expectTriadkitErrorAsync, TriadkitError } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { MemorySerialLink } from "./memory-serial-link.js";
import { NodeSerialLink } from "./node-serial-link.js";

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const text = (chunks: Uint8Array[]) => chunks.map((c) => new TextDecoder().decode(c)).join("");
const bytes = (s: string) => new TextEncoder().encode(s);

describe("MemorySerialLink", () => {
  it("delivers asynchronously, in order, as copies", async () => {
    const [a, b] = MemorySerialLink.pair();
    const got: Uint8Array[] = [];
    b.onData((c) => got.push(c));
    const data = bytes("AT\r");
    const w1 = a.write(data);
    const w2 = a.write(bytes("AT+CSQ\r"));
    expect(got).toEqual([]); // not synchronous
    data[0] = 0; // the caller reusing its buffer does not change what was sent
    await Promise.all([w1, w2]);
    await flush();
    expect(text(got)).toBe("AT\rAT+CSQ\r");
    const back: Uint8Array[] = [];
    a.onData((c) => back.push(c));
    await b.write(bytes("OK"));
    await flush();
    expect(text(back)).toBe("OK");
  });

  it("unsubscribes", async () => {
    const [a, b] = MemorySerialLink.pair();
    const got: Uint8Array[] = [];
    const off = b.onData((c) => got.push(c));
    off();
    await a.write(bytes("x"));
    await flush();
    expect(got).toEqual([]);
  });

  it("close on one end closes both; writes after close reject with serial.closed", async () => {
    const [a, b] = MemorySerialLink.pair();
    const closes: string[] = [];
    a.onClose((e) => closes.push(`a:${e?.message ?? "-"}`));
    b.onClose((e) => closes.push(`b:${e?.message ?? "-"}`));
    await b.close();
    expect(a.isOpen).toBe(false);
    expect(b.isOpen).toBe(false);
    await expectTriadkitErrorAsync(() => a.write(bytes("x")), "serial.closed");
    await expectTriadkitErrorAsync(() => b.write(bytes("x")), "serial.closed");
    await flush();
    expect(closes.sort()).toEqual(["a:-", "b:-"]);
    await a.close(); // idempotent
    await flush();
    expect(closes).toHaveLength(2);
  });

  it("bytes written before the close arrive before the close notification", async () => {
    const [a, b] = MemorySerialLink.pair();
    const events: string[] = [];
    b.onData((c) => events.push(`data:${text([c])}`));
    b.onClose(() => events.push("close"));
    await a.write(bytes("OK"));
    await a.close();
    await flush();
    expect(events).toEqual(["data:OK", "close"]);
  });

  it("fail() closes both ends with a serial.io error; late onClose listeners still hear about it", async () => {
    const [a, b] = MemorySerialLink.pair();
    const errors: (Error | undefined)[] = [];
    b.onClose((e) => errors.push(e));
    a.fail("cable yanked");
    await flush();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TriadkitError);
    expect((errors[0] as TriadkitError).code).toBe("serial.io");
    const late: (Error | undefined)[] = [];
    a.onClose((e) => late.push(e));
    await flush();
    expect((late[0] as TriadkitError).code).toBe("serial.io");
  });
});

describe("NodeSerialLink (no hardware: error paths; the PTY round trip is in test/integration/modem-pty.test.ts)", () => {
  it("a missing device rejects with serial.open_failed and the path in the context", async () => {
    const err = await expectTriadkitErrorAsync(
      () => NodeSerialLink.open("/dev/triadkit-no-such-tty"),
      "serial.open_failed",
    );
    expect(err.context).toEqual({ path: "/dev/triadkit-no-such-tty" });
  });

  it("bad options reject (never throw synchronously)", async () => {
    let promise: Promise<unknown> | undefined;
    expect(() => {
      promise = NodeSerialLink.open("/dev/null", { baudRate: -1 });
    }).not.toThrow();
    await expectTriadkitErrorAsync(() => promise as Promise<unknown>, "config.invalid");
    await expectTriadkitErrorAsync(() => NodeSerialLink.open(""), "config.invalid");
    await expectTriadkitErrorAsync(() => NodeSerialLink.open(undefined as unknown as string), "config.invalid");
  });

  it("a path that is not a tty rejects with serial.open_failed", async () => {
    await expectTriadkitErrorAsync(() => NodeSerialLink.open("/dev/null"), "serial.open_failed");
  });
});
