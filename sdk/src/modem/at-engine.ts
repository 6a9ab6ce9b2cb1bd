import { EventEmitter } from "node:events";
import { type ErrorContext, isTriadkitError, TriadkitError } from "@triadkit/protocol";
import { type Clock, SystemClock, type TimerHandle } from "../clock.js";
import { silentLogger } from "../logging/index.js";
import type { Logger } from "../logging/logger.js";
import { parseCmeError } from "./cme-errors.js";
import type { SerialLink } from "./serial-link.js";

/**
 * Prefixes (or whole lines, when they do not end in `:`) that are unsolicited result codes whenever the
 * pending command does not expect them. Matching is case-insensitive.
 */
export const DEFAULT_URC_PREFIXES: readonly string[] = Object.freeze([
  "+QSIMSTAT:",
  "+CPIN:",
  "+CREG:",
  "+CGREG:",
  "+CEREG:",
  "+C5GREG:",
  "+CMTI:",
  "+CMT:",
  "+CDS:",
  "+CBM:",
  "+CRING:",
  "+CLIP:",
  "+CUSD:",
  "+CTZV:",
  "+CTZE:",
  "+CFUN:",
  "+QIND:",
  "+QIURC:",
  "+QUSIM:",
  "RING",
  "RDY",
  "SMS Ready",
  "Call Ready",
  "PB DONE",
]);

/** Options for {@link AtEngine}. Every number has a safe default. */
export interface AtEngineOptions {
  /** Timers (command timeouts, resync quiet time). Default {@link SystemClock}. */
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Per-attempt timeout of a command. Default 5000 ms. */
  readonly defaultTimeoutMs?: number;
  /** Retries of an idempotent command after a timeout. Default 1. */
  readonly defaultRetries?: number;
  /** Longest line kept; longer lines are discarded up to their terminator. Default 1024 bytes. */
  readonly maxLineBytes?: number;
  /** Information lines kept per command; more are dropped (counted as garbage lines). Default 256. */
  readonly maxInfoLines?: number;
  /** Extra URC prefixes on top of {@link DEFAULT_URC_PREFIXES}. */
  readonly urcPrefixes?: readonly string[];
  /** Timeout of each `AT` sent while resynchronising. Default 1000 ms. */
  readonly resyncTimeoutMs?: number;
  /** After the `OK` of a resync `AT`, the line must stay quiet this long. Default 50 ms. */
  readonly resyncQuietMs?: number;
  /** `AT` attempts per resynchronisation. Default 3. */
  readonly resyncAttempts?: number;
  /** Close the link when the engine is closed. Default true. */
  readonly ownsLink?: boolean;
}

/** Options of one command. */
export interface AtCommandOptions {
  /** Per-attempt timeout. Default: the engine's `defaultTimeoutMs`. */
  readonly timeoutMs?: number;
  /**
   * Safe to send again after a timeout (a query, or a setting that does not change with repetition).
   * Default: true for read and test commands (ending in `?`) and for the identity and signal queries
   * (`AT`, `ATI`, `ATE0/1`, `AT+CMEE=1/2`, `AT+CSQ`, `AT+CGSN`, `AT+CIMI`, the ICCID commands, `AT+CGMI/CGMM/CGMR`);
   * false otherwise.
   */
  readonly idempotent?: boolean;
  /** Retries after a timeout when idempotent. Default: the engine's `defaultRetries`. */
  readonly retries?: number;
  /**
   * Prefixes of the information lines this command answers with. Default: `+NAME:` derived from
   * `AT+NAME…` (also for `^`, `$`, `%` extensions). Needed when the answer's prefix differs from the
   * command (`AT+CICCID` → `+ICCID:`) and it could also be a URC.
   */
  readonly expect?: readonly string[];
}

/** The answer to a command that ended in `OK`. */
export interface AtResponse {
  readonly command: string;
  /** Information lines, in order, trimmed; echo and URCs removed. */
  readonly lines: readonly string[];
}

/** Counters for tests and diagnostics. */
export interface AtEngineStats {
  /** Commands accepted by `send()`. */
  readonly commands: number;
  /** Commands that ended in `OK`. */
  readonly ok: number;
  /** Commands that ended in an error result (`ERROR`, `+CME ERROR`, …). */
  readonly errors: number;
  /** Command attempts that timed out (resync `AT`s not included). */
  readonly timeouts: number;
  /** Attempts repeated after a timeout. */
  readonly retries: number;
  /** Successful resynchronisations. */
  readonly resyncs: number;
  /** Resynchronisations that gave up after their attempts. */
  readonly resyncFailures: number;
  /** Echo lines dropped. */
  readonly echoes: number;
  /** URC lines emitted. */
  readonly urcs: number;
  /** Non-printable bytes discarded. */
  readonly garbageBytes: number;
  /** Lines discarded because they had non-printable bytes inside (or the command had too many lines). */
  readonly garbageLines: number;
  /** Lines discarded for being longer than `maxLineBytes`. */
  readonly overlongLines: number;
  /** Result codes and unknown lines that arrived with no command pending after a timeout (late answers). */
  readonly strayLines: number;
}

/** Events of {@link AtEngine}. */
export interface AtEngineEvents {
  /** An unsolicited result code, one line, trimmed. */
  urc: [line: string];
}

interface Job {
  readonly command: string;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly expect: readonly string[];
  readonly resolve: (response: AtResponse) => void;
  readonly reject: (error: Error) => void;
}

interface Attempt {
  readonly command: string;
  readonly expect: readonly string[];
  readonly lines: string[];
  /** An information line has arrived (echo detection stops). */
  answered: boolean;
  settle(error: Error | undefined): void;
}

type Final = { kind: "ok" } | { kind: "error"; code: "at.error" | "at.cme_error"; context: ErrorContext };

const PRINTABLE_MIN = 0x20;
const PRINTABLE_MAX = 0x7e;
const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;

const COMMAND_RE = /^[\x20-\x7e]+$/;
const EXTENDED_NAME_RE = /^AT([+^$%][A-Z0-9_]+)/i;
const DIAL_FINALS = new Set(["NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE"]);

function positiveInt(value: number | undefined, fallback: number, name: string, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) {
    throw new TriadkitError("config.invalid", `${name} must be an integer >= ${min}`, { [name]: String(v) });
  }
  return v;
}

const normalise = (s: string) => s.toUpperCase().replace(/\s+/g, "");

/** True when `line` is the echo of `command`, whole or in part (a prefix or suffix of at least 2 characters). */
export function isEchoOf(line: string, command: string): boolean {
  const l = normalise(line);
  const c = normalise(command);
  if (l === c) return true;
  return l.length >= 2 && l.length < c.length && (c.startsWith(l) || c.endsWith(l));
}

/** The default `expect` prefixes of a command: `AT+CSQ` → `["+CSQ:"]`. */
export function defaultExpect(command: string): string[] {
  const m = EXTENDED_NAME_RE.exec(command.trim());
  return m ? [`${(m[1] as string).toUpperCase()}:`] : [];
}

/** Execution commands that only read (or set a fixed value) and are therefore safe to repeat. */
const IDEMPOTENT_COMMANDS: ReadonlySet<string> = new Set([
  "AT",
  "ATI",
  "ATE0",
  "ATE1",
  "AT+CMEE=1",
  "AT+CMEE=2",
  "AT+CSQ",
  "AT+CGSN",
  "AT+CGSN=1",
  "AT+GSN",
  "AT+CIMI",
  "AT+CCID",
  "AT+ICCID",
  "AT+QCCID",
  "AT+CICCID",
  "AT+MCCID",
  "AT+NCCID",
  "AT+CGMI",
  "AT+CGMM",
  "AT+CGMR",
  "AT+GMR",
]);

function defaultIdempotent(command: string): boolean {
  const c = normalise(command);
  return c.endsWith("?") || IDEMPOTENT_COMMANDS.has(c);
}

function prefixMatches(line: string, prefix: string): boolean {
  const l = line.toUpperCase();
  const p = prefix.toUpperCase();
  return p.endsWith(":") ? l.startsWith(p) || l.startsWith(`${p.slice(0, -1)} :`) : l === p;
}

/** Classifies a final result code line, or returns undefined for any other line. */
function parseFinal(line: string, command: string): Final | undefined {
  const upper = line.toUpperCase();
  if (upper === "OK") return { kind: "ok" };
  if (upper === "ERROR") return { kind: "error", code: "at.error", context: { command, final: line } };
  if (/^\+CME ERROR\s*:/.test(upper)) {
    const cme = parseCmeError(line);
    return {
      kind: "error",
      code: "at.cme_error",
      context:
        cme.code === undefined
          ? { command, meaning: cme.meaning }
          : { command, cmeCode: cme.code, meaning: cme.meaning },
    };
  }
  if (/^\+CMS ERROR\s*:/.test(upper)) {
    const body = line.replace(/^\+CMS ERROR\s*:\s*/i, "");
    const context: ErrorContext = /^\d+$/.test(body)
      ? { command, final: line, cmsCode: Number(body) }
      : { command, final: line };
    return { kind: "error", code: "at.error", context };
  }
  if (DIAL_FINALS.has(upper)) return { kind: "error", code: "at.error", context: { command, final: line } };
  return undefined;
}

function isPlainFinal(line: string): boolean {
  const upper = line.toUpperCase();
  return upper === "OK" || upper === "ERROR" || /^\+CM[ES] ERROR\s*:/.test(upper);
}

/**
 * The AT command engine: one command at a time over a {@link SerialLink}, FIFO.
 *
 * Rules (docs/modem.md has the full text):
 * - Lines end at `\r\n`, `\r` or `\n`; empty lines are skipped. Non-printable bytes before a line's text are
 *   dropped; a line with a non-printable byte inside its text, or longer than `maxLineBytes`, is discarded
 *   whole. Both are counted in {@link AtEngine.stats}.
 * - Echo: until the first information line of a command, a line equal to the command, or a prefix or suffix
 *   of it (ATE1 echoes cut short), is dropped.
 * - Final result codes: `OK`; `ERROR` → `at.error`; `+CME ERROR: <n|text>` → `at.cme_error` with `cmeCode` and
 *   `meaning` in the context; `+CMS ERROR`, `NO CARRIER`, `BUSY`, `NO ANSWER`, `NO DIALTONE` → `at.error`.
 * - URCs: a line is a URC when no command is pending, or when it matches a registered URC prefix that the
 *   pending command does not expect. URCs are emitted as `urc` events and never mixed into a response.
 *   After a timeout, until resynchronised, result codes and unregistered lines arriving with no command
 *   pending are late answers: counted as `strayLines`, not emitted.
 * - Timeouts: each attempt has its own timeout (`at.timeout`). Idempotent commands are retried up to
 *   `retries` times after a timeout. After any timeout the engine resynchronises before the next write:
 *   it sends `AT`, waits for `OK`, and requires `resyncQuietMs` of silence afterwards (so a late `OK` cannot
 *   be taken for the next command's), repeating up to `resyncAttempts` times.
 * - `close()` (or the link closing) rejects the pending and queued commands with `at.closed`.
 */
export class AtEngine extends EventEmitter<AtEngineEvents> {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly defaultTimeoutMs: number;
  private readonly defaultRetries: number;
  private readonly maxLineBytes: number;
  private readonly maxInfoLines: number;
  private readonly resyncTimeoutMs: number;
  private readonly resyncQuietMs: number;
  private readonly resyncAttempts: number;
  private readonly ownsLink: boolean;
  private readonly urcPrefixes: string[];
  private readonly counters = {
    commands: 0,
    ok: 0,
    errors: 0,
    timeouts: 0,
    retries: 0,
    resyncs: 0,
    resyncFailures: 0,
    echoes: 0,
    urcs: 0,
    garbageBytes: 0,
    garbageLines: 0,
    overlongLines: 0,
    strayLines: 0,
  };

  private readonly queue: Job[] = [];
  private current: Attempt | undefined;
  private running = false;
  private closed = false;
  private needsResync = false;
  private readonly sleepers = new Set<() => void>();
  private readonly unsubscribe: (() => void)[] = [];

  // line assembly
  private lineText = "";
  private lineTainted = false;
  private lineOverlong = false;
  private lastWasCr = false;

  constructor(
    private readonly link: SerialLink,
    options: AtEngineOptions = {},
  ) {
    super();
    this.clock = options.clock ?? new SystemClock();
    this.logger = options.logger ?? silentLogger;
    this.defaultTimeoutMs = positiveInt(options.defaultTimeoutMs, 5_000, "defaultTimeoutMs");
    this.defaultRetries = positiveInt(options.defaultRetries, 1, "defaultRetries", 0);
    this.maxLineBytes = positiveInt(options.maxLineBytes, 1_024, "maxLineBytes");
    this.maxInfoLines = positiveInt(options.maxInfoLines, 256, "maxInfoLines");
    this.resyncTimeoutMs = positiveInt(options.resyncTimeoutMs, 1_000, "resyncTimeoutMs");
    this.resyncQuietMs = positiveInt(options.resyncQuietMs, 50, "resyncQuietMs", 0);
    this.resyncAttempts = positiveInt(options.resyncAttempts, 3, "resyncAttempts");
    this.ownsLink = options.ownsLink ?? true;
    this.urcPrefixes = [...DEFAULT_URC_PREFIXES, ...(options.urcPrefixes ?? [])];
    this.unsubscribe.push(link.onData((chunk) => this.onChunk(chunk)));
    this.unsubscribe.push(
      link.onClose((error) => {
        this.logger.debug({ error: error?.message }, "at: link closed");
        this.shutdown(error);
      }),
    );
    if (!link.isOpen) this.shutdown(undefined);
  }

  /** A snapshot of the counters. */
  get stats(): AtEngineStats {
    return { ...this.counters };
  }

  /** True after `close()` or once the link closed. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Adds a URC prefix (e.g. `+QSIMSTAT:`) or a whole-line URC (e.g. `RDY`). */
  registerUrcPrefix(prefix: string): void {
    if (!this.urcPrefixes.some((p) => p.toUpperCase() === prefix.toUpperCase())) this.urcPrefixes.push(prefix);
  }

  /**
   * Queues `command` (without the trailing `\r`) and resolves with its information lines once the modem
   * answers `OK`.
   *
   * @throws (rejects) `at.error`, `at.cme_error`, `at.timeout`, `at.closed`; `config.invalid` for a command
   *   with control characters or bad options; `serial.io` when the link fails to write.
   */
  send(command: string, options: AtCommandOptions = {}): Promise<AtResponse> {
    if (this.closed) return Promise.reject(this.closedError());
    let job: Omit<Job, "resolve" | "reject">;
    try {
      if (typeof command !== "string" || !COMMAND_RE.test(command)) {
        throw new TriadkitError("config.invalid", "an AT command must be printable ASCII without CR/LF");
      }
      const timeoutMs = positiveInt(options.timeoutMs, this.defaultTimeoutMs, "timeoutMs");
      const retries = positiveInt(options.retries, this.defaultRetries, "retries", 0);
      const idempotent = options.idempotent ?? defaultIdempotent(command);
      job = {
        command,
        timeoutMs,
        maxAttempts: idempotent ? 1 + retries : 1,
        expect: options.expect ?? defaultExpect(command),
      };
    } catch (err) {
      return Promise.reject(err);
    }
    this.counters.commands++;
    return new Promise<AtResponse>((resolve, reject) => {
      this.queue.push({ ...job, resolve, reject });
      void this.pump();
    });
  }

  /** Rejects the pending and queued commands with `at.closed`, stops listening and (by default) closes the link. */
  async close(): Promise<void> {
    this.shutdown(undefined);
    if (this.ownsLink) await this.link.close();
  }

  /** Stops the engine without closing the link (the caller keeps it). */
  detach(): void {
    this.shutdown(undefined);
  }

  // --- queue ---------------------------------------------------------------------------------------------

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let job = this.queue.shift(); job !== undefined; job = this.queue.shift()) {
        await this.runJob(job);
      }
    } finally {
      this.running = false;
    }
  }

  private async runJob(job: Job): Promise<void> {
    let lastError: Error = this.closedError();
    for (let attempt = 1; attempt <= job.maxAttempts && !this.closed; attempt++) {
      if (attempt > 1) this.counters.retries++;
      if (this.needsResync) await this.resync();
      if (this.closed) break;
      try {
        const lines = await this.attempt(job.command, job.timeoutMs, job.expect, true);
        this.counters.ok++;
        job.resolve({ command: job.command, lines });
        return;
      } catch (err) {
        lastError = err instanceof Error ? err : new Error(String(err));
        if (!isTriadkitError(err, "at.timeout")) break;
      }
    }
    if (this.closed) lastError = this.closedError();
    else if (isTriadkitError(lastError, "at.error") || isTriadkitError(lastError, "at.cme_error"))
      this.counters.errors++;
    job.reject(lastError);
  }

  /** Writes one command and waits for its final result code. Resolves with the information lines. */
  private attempt(command: string, timeoutMs: number, expect: readonly string[], counted: boolean): Promise<string[]> {
    return new Promise<string[]>((resolve, reject) => {
      let timer: TimerHandle | undefined;
      let done = false;
      const lines: string[] = [];
      const state: Attempt = {
        command,
        expect,
        lines,
        answered: false,
        settle: (error) => {
          if (done) return;
          done = true;
          timer?.cancel();
          if (this.current === state) this.current = undefined;
          if (error) reject(error);
          else resolve(lines);
        },
      };
      this.current = state;
      timer = this.clock.setTimeout(() => {
        if (done) return;
        this.needsResync = true;
        if (counted) this.counters.timeouts++;
        this.logger.warn({ command, timeoutMs }, "at: command timed out");
        state.settle(
          new TriadkitError("at.timeout", `no final result code for ${command} within ${timeoutMs} ms`, {
            command,
            timeoutMs,
          }),
        );
      }, timeoutMs);
      this.logger.debug({ command }, "at: send");
      this.link.write(new TextEncoder().encode(`${command}\r`)).catch((err: unknown) => {
        if (!this.link.isOpen || isTriadkitError(err, "serial.closed")) state.settle(this.closedError());
        else
          state.settle(
            err instanceof TriadkitError
              ? err
              : new TriadkitError("serial.io", `writing ${command} failed`, { command }, { cause: err }),
          );
      });
    });
  }

  // --- resynchronisation ---------------------------------------------------------------------------------

  private async resync(): Promise<void> {
    for (let i = 0; i < this.resyncAttempts && !this.closed; i++) {
      try {
        await this.attempt("AT", this.resyncTimeoutMs, [], false);
      } catch {
        continue;
      }
      const mark = this.counters.strayLines;
      await this.sleep(this.resyncQuietMs);
      if (this.closed) return;
      if (this.counters.strayLines === mark) {
        this.needsResync = false;
        this.counters.resyncs++;
        this.logger.debug("at: resynchronised");
        return;
      }
    }
    if (!this.closed) {
      this.counters.resyncFailures++;
      this.logger.warn({ attempts: this.resyncAttempts }, "at: resynchronisation failed");
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.sleepers.delete(wake);
        handle.cancel();
        resolve();
      };
      const handle = this.clock.setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  // --- input ---------------------------------------------------------------------------------------------

  private onChunk(chunk: Uint8Array): void {
    if (this.closed) return;
    for (const byte of chunk) {
      if (byte === LF && this.lastWasCr) {
        this.lastWasCr = false;
        continue;
      }
      this.lastWasCr = byte === CR;
      if (byte === CR || byte === LF) {
        this.endLine();
        continue;
      }
      if (this.lineOverlong) continue;
      if ((byte < PRINTABLE_MIN || byte > PRINTABLE_MAX) && byte !== TAB) {
        this.counters.garbageBytes++;
        if (this.lineText.trim().length > 0) this.lineTainted = true;
        continue;
      }
      if (this.lineText.length >= this.maxLineBytes) {
        this.lineOverlong = true;
        this.lineText = "";
        continue;
      }
      this.lineText += String.fromCharCode(byte);
    }
  }

  private endLine(): void {
    const text = this.lineText.trim();
    const tainted = this.lineTainted;
    const overlong = this.lineOverlong;
    this.lineText = "";
    this.lineTainted = false;
    this.lineOverlong = false;
    if (overlong) {
      this.counters.overlongLines++;
      this.logger.warn({ maxLineBytes: this.maxLineBytes }, "at: overlong line discarded");
      return;
    }
    if (tainted) {
      this.counters.garbageLines++;
      this.logger.debug("at: line with non-printable bytes discarded");
      return;
    }
    if (text.length > 0) this.onLine(text);
  }

  private isRegisteredUrc(line: string): boolean {
    return this.urcPrefixes.some((p) => prefixMatches(line, p));
  }

  private onLine(line: string): void {
    const cmd = this.current;
    if (cmd === undefined) {
      if (isPlainFinal(line) || (this.needsResync && !this.isRegisteredUrc(line))) {
        this.counters.strayLines++;
        this.logger.debug({ line }, "at: stray line with no command pending");
        return;
      }
      this.emitUrc(line);
      return;
    }
    if (!cmd.answered && isEchoOf(line, cmd.command)) {
      this.counters.echoes++;
      return;
    }
    if (this.isRegisteredUrc(line) && !cmd.expect.some((p) => prefixMatches(line, p))) {
      this.emitUrc(line);
      return;
    }
    const final = parseFinal(line, cmd.command);
    if (final === undefined) {
      cmd.answered = true;
      if (cmd.lines.length < this.maxInfoLines) cmd.lines.push(line);
      else this.counters.garbageLines++;
      return;
    }
    if (final.kind === "ok") {
      cmd.settle(undefined);
      return;
    }
    const message =
      final.code === "at.cme_error"
        ? `${cmd.command} failed: +CME ERROR ${String(final.context["cmeCode"] ?? "")} (${String(final.context["meaning"])})`
        : `${cmd.command} failed: ${line}`;
    cmd.settle(new TriadkitError(final.code, message, final.context));
  }

  private emitUrc(line: string): void {
    this.counters.urcs++;
    this.logger.debug({ line }, "at: urc");
    try {
      this.emit("urc", line);
    } catch (err) {
      this.logger.error({ error: err instanceof Error ? err.message : String(err) }, "at: urc listener threw");
    }
  }

  // --- shutdown ------------------------------------------------------------------------------------------

  private closedError(cause?: Error): TriadkitError {
    return new TriadkitError("at.closed", "the AT engine is closed", undefined, cause ? { cause } : undefined);
  }

  private shutdown(cause: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.unsubscribe.splice(0)) off();
    const error = this.closedError(cause);
    this.current?.settle(error);
    for (const job of this.queue.splice(0)) job.reject(error);
    for (const wake of [...this.sleepers]) wake();
  }
}
