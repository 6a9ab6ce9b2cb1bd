/**
 * Running the board's network tools (`nmcli`, `wpa_cli`) behind a small injected interface, so the WiFi managers
 * are tested against recorded output and never need a radio.
 *
 * Secrets: callers pass secrets only through `input` (the child's stdin, a pipe), never through `args`. Arguments
 * are visible to every local user in `ps` and `/proc/<pid>/cmdline`; a pipe's contents are not. The runner never
 * logs anything, and errors it raises name the program, never its arguments, input or output.
 */
import { spawn } from "node:child_process";
import { TriadkitError } from "@triadkit/protocol";
import { type Clock, SystemClock } from "../clock.js";

export interface RunOptions {
  /** Written to the child's stdin (then stdin is closed, unless `endInputWhen` is given). Secrets go here only. */
  readonly input?: string;
  /** Kills the child (SIGTERM, then SIGKILL after a grace period) when it runs longer; the result has `timedOut`. */
  readonly timeoutMs: number;
  /**
   * Keeps stdin open after `input` until this returns true for the stdout seen so far (or the timeout, which then
   * closes stdin and lets the program exit on its own first). For interactive tools that watch events, `wpa_cli`.
   */
  readonly endInputWhen?: (stdoutSoFar: string) => boolean;
  /** Overrides for the child's environment (merged over the parent's; `undefined` removes a variable). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
}

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Exit code; null when the child was killed by a signal. */
  readonly code: number | null;
  /** True when the timeout fired (the child was stopped, or its input was ended, by the runner). */
  readonly timedOut: boolean;
}

export interface CommandRunner {
  /**
   * Runs `file` with `args` (no shell). Resolves with the outcome whatever the exit code; rejects only when the
   * program cannot be started (`wifi.command_failed`) or `signal` aborts (with the signal's reason).
   */
  run(file: string, args: readonly string[], options: RunOptions): Promise<CommandResult>;
}

export interface NodeCommandRunnerOptions {
  /** Time for timers (timeouts, kill grace); the host clock by default. */
  readonly clock?: Clock;
  /** After SIGTERM (or after ending stdin on timeout), how long before SIGKILL. Default 2000 ms. */
  readonly killGraceMs?: number;
  /** Output beyond this many characters per stream is dropped. Default 1 MiB. */
  readonly maxOutputChars?: number;
}

/** The real runner, on `node:child_process` `spawn` (argument vector, no shell; input through a stdin pipe). */
export class NodeCommandRunner implements CommandRunner {
  private readonly clock: Clock;
  private readonly killGraceMs: number;
  private readonly maxOutputChars: number;

  constructor(options: NodeCommandRunnerOptions = {}) {
    this.clock = options.clock ?? new SystemClock();
    this.killGraceMs = options.killGraceMs ?? 2000;
    this.maxOutputChars = options.maxOutputChars ?? 1024 * 1024;
  }

  run(file: string, args: readonly string[], options: RunOptions): Promise<CommandResult> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<CommandResult>((resolve, reject) => {
      const env: Record<string, string | undefined> = { ...process.env };
      for (const [k, v] of Object.entries(options.env ?? {})) {
        if (v === undefined) delete env[k];
        else env[k] = v;
      }
      const child = spawn(file, [...args], { stdio: ["pipe", "pipe", "pipe"], env, shell: false });
      let stdout = "";
      let stderr = "";
      let timedOut = false;
      let inputEnded = false;
      let settled = false;
      let killTimer: { cancel(): void } | undefined;
      const endInput = () => {
        if (inputEnded) return;
        inputEnded = true;
        child.stdin.end();
      };
      const scheduleKill = () => {
        killTimer ??= this.clock.setTimeout(() => child.kill("SIGKILL"), this.killGraceMs);
      };
      const timer = this.clock.setTimeout(() => {
        timedOut = true;
        if (options.endInputWhen !== undefined && !inputEnded) {
          endInput();
        } else {
          child.kill("SIGTERM");
        }
        scheduleKill();
      }, options.timeoutMs);
      const onAbort = () => {
        child.kill("SIGKILL");
        finish(() => reject(signal?.reason));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const finish = (settle: () => void) => {
        if (settled) return;
        settled = true;
        timer.cancel();
        killTimer?.cancel();
        signal?.removeEventListener("abort", onAbort);
        settle();
      };
      child.stdout.setEncoding("utf8");
      child.stderr.setEncoding("utf8");
      child.stdout.on("data", (chunk: string) => {
        if (stdout.length < this.maxOutputChars) stdout += chunk.slice(0, this.maxOutputChars - stdout.length);
        if (options.endInputWhen !== undefined && !inputEnded && options.endInputWhen(stdout)) endInput();
      });
      child.stderr.on("data", (chunk: string) => {
        if (stderr.length < this.maxOutputChars) stderr += chunk.slice(0, this.maxOutputChars - stderr.length);
      });
      // EPIPE when the program exits without reading its input: not an error of ours.
      child.stdin.on("error", () => {});
      child.on("error", (err: NodeJS.ErrnoException) => {
        finish(() =>
          reject(new TriadkitError("wifi.command_failed", `could not run ${file}`, { command: file, errno: err.code })),
        );
      });
      child.on("close", (code) => {
        finish(() => resolve({ stdout, stderr, code, timedOut }));
      });
      if (options.input !== undefined) child.stdin.write(options.input);
      if (options.endInputWhen === undefined) endInput();
    });
  }
}

/** One canned answer of {@link FakeCommandRunner}. */
export interface FakeCommandResponse {
  readonly stdout?: string;
  readonly stderr?: string;
  /** Default 0. */
  readonly code?: number | null;
  /** Default: true only when the call had `endInputWhen` and it never matched this stdout. */
  readonly timedOut?: boolean;
  /** Rejects the call with this instead (a program that cannot be started). */
  readonly error?: Error;
}

/** A call as {@link FakeCommandRunner} saw it. */
export interface RecordedCommand {
  readonly file: string;
  readonly args: readonly string[];
  readonly input: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>> | undefined;
  readonly timeoutMs: number;
}

interface FakeRule {
  readonly file: string;
  readonly match: (args: readonly string[]) => boolean;
  readonly responses: FakeCommandResponse[];
}

/**
 * A runner fed with recorded output. `on(file, tokens, ...responses)` answers calls of `file` whose arguments
 * contain `tokens` in that order (a subsequence), or satisfy a predicate; successive calls take successive
 * responses and the last one repeats. Rules are tried in the order they were added. Unanswered calls reject.
 */
export class FakeCommandRunner implements CommandRunner {
  readonly calls: RecordedCommand[] = [];
  private readonly rules: FakeRule[] = [];

  on(
    file: string,
    match: readonly string[] | ((args: readonly string[]) => boolean),
    ...responses: FakeCommandResponse[]
  ): this {
    if (responses.length === 0) throw new Error("FakeCommandRunner.on needs at least one response");
    const predicate = typeof match === "function" ? match : (args: readonly string[]) => isSubsequence(match, args);
    this.rules.push({ file, match: predicate, responses: [...responses] });
    return this;
  }

  /** Every argument of every call, for assertions such as "the password never reached argv". */
  allArgs(): string[] {
    return this.calls.flatMap((c) => [c.file, ...c.args]);
  }

  async run(file: string, args: readonly string[], options: RunOptions): Promise<CommandResult> {
    if (options.signal?.aborted) throw options.signal.reason;
    this.calls.push({ file, args: [...args], input: options.input, env: options.env, timeoutMs: options.timeoutMs });
    const rule = this.rules.find((r) => r.file === file && r.match(args));
    if (rule === undefined) throw new Error(`FakeCommandRunner: no recorded output for ${file} ${args.join(" ")}`);
    const response = (rule.responses.length > 1 ? rule.responses.shift() : rule.responses[0]) as FakeCommandResponse;
    if (response.error !== undefined) throw response.error;
    const stdout = response.stdout ?? "";
    const timedOut = response.timedOut ?? (options.endInputWhen !== undefined ? !options.endInputWhen(stdout) : false);
    return { stdout, stderr: response.stderr ?? "", code: response.code === undefined ? 0 : response.code, timedOut };
  }
}

function isSubsequence(needle: readonly string[], haystack: readonly string[]): boolean {
  let i = 0;
  for (const item of haystack) {
    if (i < needle.length && item === needle[i]) i++;
  }
  return i === needle.length;
}
