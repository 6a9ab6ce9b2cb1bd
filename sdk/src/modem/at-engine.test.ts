import { expectTriadkitErrorAsync, isTriadkitError, TriadkitError } from "@triadkit/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { AtEngine, type AtEngineOptions, type AtResponse, defaultExpect, isEchoOf } from "./at-engine.js";
import { CME_ERRORS } from "./cme-errors.js";
import { MemorySerialLink } from "./memory-serial-link.js";
import { type AtPeerScript, atLines, ScriptedAtPeer } from "./scripted-at-peer.js";

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Advances virtual time in steps, letting promise chains and link deliveries run between steps. */
async function advance(clock: ManualClock, ms: number, step = 10): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(Math.min(step, ms - t));
    await flush();
  }
}

interface Tracked<T> {
  settled: boolean;
  value?: T;
  error?: unknown;
}

function track<T>(promise: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { settled: false };
  promise.then(
    (value) => {
      t.settled = true;
      t.value = value;
    },
    (error: unknown) => {
      t.settled = true;
      t.error = error;
    },
  );
  return t;
}

function setup(script: AtPeerScript, options: { echo?: boolean; engine?: AtEngineOptions } = {}) {
  const clock = new ManualClock();
  const [host, modem] = MemorySerialLink.pair();
  const peer = new ScriptedAtPeer(modem, { script, echo: options.echo ?? false });
  const engine = new AtEngine(host, { clock, ...options.engine });
  const urcs: string[] = [];
  engine.on("urc", (line) => urcs.push(line));
  return { clock, host, modem, peer, engine, urcs };
}

describe("AtEngine: basics and queueing", () => {
  it("returns the information lines of a command that ends in OK", async () => {
    const { engine } = setup({ "AT+CSQ": ["+CSQ: 24,99", "OK"] });
    expect(await engine.send("AT+CSQ")).toEqual({ command: "AT+CSQ", lines: ["+CSQ: 24,99"] });
    expect(engine.stats.ok).toBe(1);
  });

  it("runs one command at a time, in FIFO order", async () => {
    const { engine, peer, modem } = setup(() => undefined); // answers by hand below
    const results = [engine.send("AT+A"), engine.send("AT+B"), engine.send("AT+C")].map(track);
    await flush();
    expect(peer.commands).toEqual(["AT+A"]); // B and C wait
    const answer = async (line: string) => {
      await modem.write(new TextEncoder().encode(atLines(line, "OK")));
      await flush();
    };
    await answer("+A: 1");
    expect(peer.commands).toEqual(["AT+A", "AT+B"]);
    await answer("+B: 2");
    await answer("+C: 3");
    expect(results.map((r) => (r.value as AtResponse).lines)).toEqual([["+A: 1"], ["+B: 2"], ["+C: 3"]]);
  });

  it("accepts \\r\\n, \\r and \\n line endings, in any chunking", async () => {
    for (const reply of [
      "\r\n+CSQ: 24,99\r\n\r\nOK\r\n",
      "\r+CSQ: 24,99\r\rOK\r",
      "\n+CSQ: 24,99\nOK\n",
      "+CSQ: 24,99\r\nOK\r", // missing \n at the end
    ]) {
      const { engine, peer } = setup(() => undefined);
      const r = track(engine.send("AT+CSQ"));
      await flush();
      for (const ch of reply) await peer.write(ch); // byte by byte
      await flush();
      expect(r.value).toEqual({ command: "AT+CSQ", lines: ["+CSQ: 24,99"] });
    }
  });

  it("rejects malformed commands and options with config.invalid", async () => {
    const { engine } = setup({});
    await expectTriadkitErrorAsync(() => engine.send("AT\r+CSQ"), "config.invalid");
    await expectTriadkitErrorAsync(() => engine.send(""), "config.invalid");
    await expectTriadkitErrorAsync(() => engine.send("AT", { timeoutMs: 0 }), "config.invalid");
    await expectTriadkitErrorAsync(() => engine.send("AT", { retries: -1 }), "config.invalid");
    const [link] = MemorySerialLink.pair();
    expect(() => new AtEngine(link, { defaultTimeoutMs: -5 })).toThrow(TriadkitError);
  });

  it("derives the expected prefix from the command name", () => {
    expect(defaultExpect("AT+CSQ")).toEqual(["+CSQ:"]);
    expect(defaultExpect("AT+CPIN?")).toEqual(["+CPIN:"]);
    expect(defaultExpect("AT+qsimstat=1")).toEqual(["+QSIMSTAT:"]);
    expect(defaultExpect("AT^SYSINFO")).toEqual(["^SYSINFO:"]);
    expect(defaultExpect("ATI")).toEqual([]);
  });
});

describe("AtEngine: echo", () => {
  it("drops the echoed command with echo on", async () => {
    const { engine } = setup({ "AT+CSQ": ["+CSQ: 24,99", "OK"], ATI: ["Quectel", "EC20F", "OK"] }, { echo: true });
    expect((await engine.send("AT+CSQ")).lines).toEqual(["+CSQ: 24,99"]);
    expect((await engine.send("ATI")).lines).toEqual(["Quectel", "EC20F"]);
    expect(engine.stats.echoes).toBe(2);
  });

  it("drops partial echoes (the head or the tail of the command)", async () => {
    for (const echo of ["T+CSQ\r", "+CSQ\r", "AT+CS\r", "at+csq\r"]) {
      const { engine } = setup({ "AT+CSQ": `${echo}\r\n+CSQ: 24,99\r\n\r\nOK\r\n` });
      expect((await engine.send("AT+CSQ")).lines).toEqual(["+CSQ: 24,99"]);
      expect(engine.stats.echoes).toBe(1);
    }
  });

  it("does not take an information line for an echo once the answer has started", () => {
    expect(isEchoOf("AT+CSQ", "AT+CSQ")).toBe(true);
    expect(isEchoOf("+CSQ: 24,99", "AT+CSQ")).toBe(false);
    expect(isEchoOf("Q", "AT+CSQ")).toBe(false); // 1 character is too little to tell
  });
});

describe("AtEngine: URCs", () => {
  it("a registered URC in the middle of a command is emitted and the answer is still right", async () => {
    const { engine, urcs } = setup({
      "AT+CSQ": "\r\n+QSIMSTAT: 1,0\r\n\r\n+CSQ: 24,99\r\n\r\nOK\r\n",
    });
    expect((await engine.send("AT+CSQ")).lines).toEqual(["+CSQ: 24,99"]);
    expect(urcs).toEqual(["+QSIMSTAT: 1,0"]);
    expect(engine.stats.urcs).toBe(1);
  });

  it("the same line is an answer when the command expects it", async () => {
    const { engine, urcs } = setup({ "AT+QSIMSTAT?": ["+QSIMSTAT: 0,1", "OK"], "AT+CPIN?": ["+CPIN: READY", "OK"] });
    expect((await engine.send("AT+QSIMSTAT?")).lines).toEqual(["+QSIMSTAT: 0,1"]);
    expect((await engine.send("AT+CPIN?")).lines).toEqual(["+CPIN: READY"]);
    expect(urcs).toEqual([]);
  });

  it("lines with no command pending are URCs; a stray OK is not", async () => {
    const { engine, peer, urcs } = setup({});
    await peer.urc("+CPIN: NOT READY");
    await peer.urc("+SOMETHING: 1");
    await peer.urc("OK");
    await flush();
    expect(urcs).toEqual(["+CPIN: NOT READY", "+SOMETHING: 1"]);
    expect(engine.stats.strayLines).toBe(1);
  });

  it("registerUrcPrefix and the urcPrefixes option add URC prefixes and whole-line URCs", async () => {
    const { engine, urcs } = setup(
      { "AT+CGSN": ["+MYURC: 7", "+OTHER: 1", "490154203237518", "OK"] },
      { engine: { urcPrefixes: ["+MYURC:"] } },
    );
    engine.registerUrcPrefix("+OTHER:");
    expect((await engine.send("AT+CGSN")).lines).toEqual(["490154203237518"]);
    expect(urcs).toEqual(["+MYURC: 7", "+OTHER: 1"]);
  });

  it("whole-line URCs (RDY, SMS Ready) do not pollute bare-line answers", async () => {
    const { engine, urcs } = setup({ "AT+CIMI": ["RDY", "SMS Ready", "460040181839878", "OK"] });
    expect((await engine.send("AT+CIMI")).lines).toEqual(["460040181839878"]);
    expect(urcs).toEqual(["RDY", "SMS Ready"]);
  });

  it("a throwing URC listener does not break the engine", async () => {
    const { engine } = setup({ "AT+CSQ": ["+CPIN: READY", "+CSQ: 1,1", "OK"] });
    engine.on("urc", () => {
      throw new Error("listener bug");
    });
    expect((await engine.send("AT+CSQ")).lines).toEqual(["+CSQ: 1,1"]);
  });
});

describe("AtEngine: final result codes and CME mapping", () => {
  it("ERROR → at.error", async () => {
    const { engine } = setup({ "AT+X": ["ERROR"] });
    const err = await expectTriadkitErrorAsync(() => engine.send("AT+X"), "at.error");
    expect(err.context).toEqual({ command: "AT+X", final: "ERROR" });
    expect(engine.stats.errors).toBe(1);
  });

  it("maps the 27.007 SIM codes 10–15 (numeric and verbose) into the context", async () => {
    const sim: Record<number, string> = {
      10: "SIM not inserted",
      11: "SIM PIN required",
      12: "SIM PUK required",
      13: "SIM failure",
      14: "SIM busy",
      15: "SIM wrong",
    };
    for (const [code, meaning] of Object.entries(sim)) {
      for (const body of [code, meaning, meaning.toUpperCase()]) {
        const { engine } = setup({ "AT+CIMI": [`+CME ERROR: ${body}`] });
        const err = await expectTriadkitErrorAsync(() => engine.send("AT+CIMI"), "at.cme_error");
        expect(err.context).toEqual({ command: "AT+CIMI", cmeCode: Number(code), meaning });
      }
    }
  });

  it("maps the other common codes, tolerates no space after the colon, and keeps unknown ones", async () => {
    const { engine } = setup({
      "AT+A": ["+CME ERROR:3"],
      "AT+B": ["+CME ERROR: 9999"],
      "AT+C": ["+CME ERROR: vendor specific trouble"],
      "AT+D": ["+CMS ERROR: 500"],
      "AT+E": ["NO CARRIER"],
    });
    expect((await expectTriadkitErrorAsync(() => engine.send("AT+A"), "at.cme_error")).context).toMatchObject({
      cmeCode: 3,
      meaning: "operation not allowed",
    });
    expect((await expectTriadkitErrorAsync(() => engine.send("AT+B"), "at.cme_error")).context).toMatchObject({
      cmeCode: 9999,
      meaning: "unknown CME error 9999",
    });
    expect((await expectTriadkitErrorAsync(() => engine.send("AT+C"), "at.cme_error")).context).toEqual({
      command: "AT+C",
      meaning: "vendor specific trouble",
    });
    expect((await expectTriadkitErrorAsync(() => engine.send("AT+D"), "at.error")).context).toMatchObject({
      cmsCode: 500,
    });
    expect((await expectTriadkitErrorAsync(() => engine.send("AT+E"), "at.error")).context).toMatchObject({
      final: "NO CARRIER",
    });
    expect(CME_ERRORS[30]).toBe("no network service");
  });
});

describe("AtEngine: timeouts, resync and retries", () => {
  it("times out after the default 5 s, then resyncs with AT before the next command", async () => {
    let csqCalls = 0;
    const { engine, peer, clock } = setup({
      "AT+CSQ": () => (csqCalls++ === 0 ? undefined : ["+CSQ: 24,99", "OK"]),
      AT: ["OK"],
    });
    const first = track(engine.send("AT+CSQ", { idempotent: false }));
    await advance(clock, 4_990);
    expect(first.settled).toBe(false);
    await advance(clock, 20);
    expect(isTriadkitError(first.error, "at.timeout")).toBe(true);
    expect((first.error as TriadkitError).context).toEqual({ command: "AT+CSQ", timeoutMs: 5_000 });
    const second = track(engine.send("AT+CSQ"));
    await advance(clock, 100);
    expect(second.value).toEqual({ command: "AT+CSQ", lines: ["+CSQ: 24,99"] });
    expect(peer.commands).toEqual(["AT+CSQ", "AT", "AT+CSQ"]);
    expect(engine.stats).toMatchObject({ timeouts: 1, resyncs: 1, retries: 0 });
  });

  it("honours a per-command timeout", async () => {
    const { engine, clock } = setup({ "AT+SLOW": null });
    const r = track(engine.send("AT+SLOW", { timeoutMs: 300 }));
    await advance(clock, 290);
    expect(r.settled).toBe(false);
    await advance(clock, 20);
    expect(isTriadkitError(r.error, "at.timeout")).toBe(true);
  });

  it("a late answer to a timed-out command is not taken for the next command's", async () => {
    // A modem that works through its input in order and was stuck 5.01 s on AT+CSQ.
    const clock = new ManualClock();
    const [host, modem] = MemorySerialLink.pair();
    const replies: Record<string, string[]> = {
      "AT+CSQ": ["+CSQ: 24,99", "OK"],
      AT: ["OK"],
      "AT+CGSN": ["490154203237518", "OK"],
    };
    let busyUntil = 0;
    const seen: string[] = [];
    let buf = "";
    modem.onData((chunk) => {
      for (const b of chunk) {
        if (b !== 13) {
          buf += String.fromCharCode(b);
          continue;
        }
        const cmd = buf;
        buf = "";
        seen.push(cmd);
        const start = Math.max(clock.monotonicMs(), busyUntil);
        busyUntil = start + (cmd === "AT+CSQ" ? 5_010 : 5);
        clock.setTimeout(() => {
          void modem.write(new TextEncoder().encode(atLines(...(replies[cmd] ?? ["ERROR"]))));
        }, busyUntil - clock.monotonicMs());
      }
    });
    const engine = new AtEngine(host, { clock });
    const csq = track(engine.send("AT+CSQ", { idempotent: false }));
    const cgsn = track(engine.send("AT+CGSN"));
    await advance(clock, 6_000);
    expect(isTriadkitError(csq.error, "at.timeout")).toBe(true);
    expect(cgsn.value).toEqual({ command: "AT+CGSN", lines: ["490154203237518"] });
    expect(seen).toEqual(["AT+CSQ", "AT", "AT", "AT+CGSN"]); // the first AT got the late OK, so once more
    expect(engine.stats.strayLines).toBeGreaterThanOrEqual(1);
  });

  it("retries an idempotent query once by default and then gives up (bounded)", async () => {
    const { engine, peer, clock } = setup({ "AT+CSQ": null, AT: null });
    const r = track(engine.send("AT+CSQ"));
    await advance(clock, 5_000 + 3 * 1_000 + 4_990);
    expect(r.settled).toBe(false);
    await advance(clock, 20);
    expect(isTriadkitError(r.error, "at.timeout")).toBe(true);
    expect(peer.commands).toEqual(["AT+CSQ", "AT", "AT", "AT", "AT+CSQ"]);
    expect(engine.stats).toMatchObject({ timeouts: 2, retries: 1, resyncs: 0, resyncFailures: 1 });
    await advance(clock, 60_000);
    expect(peer.commands).toHaveLength(5); // nothing more is sent
  });

  it("a retry that gets an answer resolves; non-idempotent commands are never retried", async () => {
    let calls = 0;
    const { engine, peer, clock } = setup({
      "AT+CSQ": () => (calls++ === 0 ? null : ["+CSQ: 5,0", "OK"]),
      "AT+CFUN=1": null,
      AT: ["OK"],
    });
    const q = track(engine.send("AT+CSQ", { timeoutMs: 100 }));
    await advance(clock, 400);
    expect(q.value).toEqual({ command: "AT+CSQ", lines: ["+CSQ: 5,0"] });
    const set = track(engine.send("AT+CFUN=1", { timeoutMs: 100 }));
    await advance(clock, 400);
    expect(isTriadkitError(set.error, "at.timeout")).toBe(true);
    expect(peer.commands.filter((c) => c === "AT+CFUN=1")).toHaveLength(1);
    expect(engine.stats.retries).toBe(1);
  });

  it("retries: n is configurable per engine and per command", async () => {
    const { engine, peer, clock } = setup({ "AT+Q?": null, AT: ["OK"] }, { engine: { defaultRetries: 3 } });
    const r = track(engine.send("AT+Q?", { timeoutMs: 100 }));
    await advance(clock, 2_000);
    expect(isTriadkitError(r.error, "at.timeout")).toBe(true);
    expect(peer.commands.filter((c) => c === "AT+Q?")).toHaveLength(4);
    const r2 = track(engine.send("AT+Q?", { timeoutMs: 100, retries: 0 }));
    await advance(clock, 2_000);
    expect(isTriadkitError(r2.error, "at.timeout")).toBe(true);
    expect(peer.commands.filter((c) => c === "AT+Q?")).toHaveLength(5);
  });
});

describe("AtEngine: garbage", () => {
  it("drops non-printable bytes before a line and counts them", async () => {
    const { engine } = setup({ "AT+CSQ": "\x00\xff\xfe\r\n+CSQ: 24,99\r\n\x00OK\r\n" });
    expect((await engine.send("AT+CSQ")).lines).toEqual(["+CSQ: 24,99"]);
    expect(engine.stats.garbageBytes).toBe(4);
    expect(engine.stats.garbageLines).toBe(0);
  });

  it("discards a line with non-printable bytes inside", async () => {
    const { engine } = setup({ "AT+CSQ": "\r\n+CS\x07Q: 24,99\r\n\r\nOK\r\n" });
    expect((await engine.send("AT+CSQ")).lines).toEqual([]);
    expect(engine.stats.garbageLines).toBe(1);
  });

  it("discards lines longer than 1 KiB up to their terminator", async () => {
    const { engine } = setup({ "AT+CSQ": `\r\n${"A".repeat(5_000)}\r\n+CSQ: 24,99\r\nOK\r\n` });
    expect((await engine.send("AT+CSQ")).lines).toEqual(["+CSQ: 24,99"]);
    expect(engine.stats.overlongLines).toBe(1);
    const ok = setup({ "AT+CSQ": `\r\n${"B".repeat(1_024)}\r\nOK\r\n` });
    expect((await ok.engine.send("AT+CSQ")).lines).toEqual(["B".repeat(1_024)]);
  });

  it("garbage that swallows the final OK ends in a timeout, and the engine recovers", async () => {
    let calls = 0;
    const { engine, clock } = setup({
      "AT+CSQ": () => (calls++ === 0 ? "\r\n+CSQ: 24,99\r\nO\x00K\r\n" : ["+CSQ: 24,99", "OK"]),
      AT: ["OK"],
    });
    const r = track(engine.send("AT+CSQ", { timeoutMs: 200 }));
    await advance(clock, 600);
    expect(r.value).toEqual({ command: "AT+CSQ", lines: ["+CSQ: 24,99"] });
    expect(engine.stats).toMatchObject({ garbageLines: 1, timeouts: 1, retries: 1, resyncs: 1 });
  });
});

describe("AtEngine: close", () => {
  it("close() rejects the pending and the queued commands with at.closed and closes the link", async () => {
    const { engine, host } = setup({ "AT+CSQ": null });
    const a = expectTriadkitErrorAsync(() => engine.send("AT+CSQ"), "at.closed");
    const b = expectTriadkitErrorAsync(() => engine.send("AT+CGSN"), "at.closed");
    await flush();
    await engine.close();
    await Promise.all([a, b]);
    await expectTriadkitErrorAsync(() => engine.send("AT"), "at.closed");
    expect(host.isOpen).toBe(false);
    expect(engine.isClosed).toBe(true);
  });

  it("the link closing (either end, or failing) closes the engine", async () => {
    for (const how of ["peer", "fail"] as const) {
      const { engine, modem } = setup({ "AT+CSQ": null });
      const a = expectTriadkitErrorAsync(() => engine.send("AT+CSQ"), "at.closed");
      await flush();
      if (how === "peer") await modem.close();
      else modem.fail();
      await a;
      expect(engine.isClosed).toBe(true);
    }
  });

  it("closing during a resync settles everything", async () => {
    const { engine, clock } = setup({ "AT+CSQ": null, AT: null });
    const a = track(engine.send("AT+CSQ", { timeoutMs: 100 }));
    await advance(clock, 150); // first attempt timed out, resync AT in flight
    await engine.close();
    await flush();
    expect(isTriadkitError(a.error, "at.closed")).toBe(true);
  });

  it("detach() stops the engine but leaves the link open", async () => {
    const { engine, host } = setup({});
    engine.detach();
    expect(host.isOpen).toBe(true);
    await expectTriadkitErrorAsync(() => engine.send("AT"), "at.closed");
  });
});

describe("AtEngine: fuzz", () => {
  const TIMEOUT = 100;
  const OPTS: AtEngineOptions = {
    defaultTimeoutMs: TIMEOUT,
    resyncTimeoutMs: 50,
    resyncQuietMs: 10,
    resyncAttempts: 2,
  };
  /** Worst case for one command at the head of the queue: 2 attempts, 2 resync ATs + quiet windows each. */
  const BOUND = 2 * TIMEOUT + 2 * 2 * (50 + 10) + 20;

  const lineArb = fc.oneof(
    fc.constantFrom(
      "OK",
      "ERROR",
      "+CME ERROR: 10",
      "+CME ERROR: SIM busy",
      "+CMS ERROR: 300",
      "+CSQ: 24,99",
      "+QSIMSTAT: 1,0",
      "+CPIN: READY",
      "AT+CSQ",
      "T+CSQ",
      "RDY",
      "NO CARRIER",
      "",
    ),
    fc.string({ maxLength: 40 }),
    fc.string({ unit: "binary", maxLength: 40 }),
  );
  const replyArb = fc
    .array(fc.tuple(lineArb, fc.constantFrom("\r\n", "\r", "\n", "")), { maxLength: 8 })
    .map((parts) => parts.map(([l, t]) => l + t).join(""));
  const bytesArb = fc.uint8Array({ maxLength: 300 });

  async function settlesWithin(replies: (string | Uint8Array)[]): Promise<void> {
    const clock = new ManualClock();
    const [host, modem] = MemorySerialLink.pair();
    let i = 0;
    modem.onData(() => {
      const reply = replies[i++ % Math.max(replies.length, 1)];
      if (reply !== undefined) void modem.write(typeof reply === "string" ? new TextEncoder().encode(reply) : reply);
    });
    const engine = new AtEngine(host, { clock, ...OPTS });
    for (const command of ["AT+CSQ", "AT+CPIN?", "ATI"]) {
      const r = track(engine.send(command));
      await advance(clock, BOUND, 5);
      expect(r.settled).toBe(true);
      if (r.error !== undefined) {
        expect(r.error).toBeInstanceOf(TriadkitError);
        expect((r.error as TriadkitError).code).toMatch(/^(at|modem)\./);
      } else {
        for (const line of (r.value as AtResponse).lines) expect(line).toMatch(/^[\t\x20-\x7e]+$/);
      }
    }
    await engine.close();
  }

  it("random lines as replies: every command settles within its bound with a result or an at.* error", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(replyArb, { minLength: 1, maxLength: 4 }), (replies) => settlesWithin(replies)),
      { numRuns: 60 },
    );
  });

  it("random bytes as replies: the same", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(bytesArb, { minLength: 1, maxLength: 4 }), (replies) => settlesWithin(replies)),
      { numRuns: 60 },
    );
  });
});
