/**
 * The host side at its rawest: write a command line, read back bytes until a final result code. For tests and
 * transcripts of the virtual modem (the SDK's AT engine is the real host); it knows nothing about dialects.
 */
import { TriadkitError } from "@triadkit/protocol";
import type { SerialLink } from "@triadkit/sdk";

/** Final result codes (V.250 and 27.007) that end an answer. */
const FINAL = /(?:^|\r\n)(OK|ERROR|\+CME ERROR: [^\r\n]*|\+CMS ERROR: [^\r\n]*|NO CARRIER)\r\n/;

export class RawAtHost {
  private text = "";
  private readonly waiters = new Set<() => void>();
  private readonly off: () => void;

  constructor(private readonly link: SerialLink) {
    this.off = link.onData((chunk) => {
      this.text += Buffer.from(chunk).toString("latin1");
      for (const wake of [...this.waiters]) wake();
    });
  }

  /** Everything received and not yet consumed. */
  get pending(): string {
    return this.text;
  }

  /** Discards what was received so far. */
  clear(): void {
    this.text = "";
  }

  /** Writes raw text (latin1). */
  async write(text: string | Uint8Array): Promise<void> {
    await this.link.write(typeof text === "string" ? new Uint8Array(Buffer.from(text, "latin1")) : text);
  }

  /**
   * Sends `line\r` and resolves with the raw answer up to and including the final result code (echo included
   * when the modem echoes). Bytes received before the command are dropped.
   * @throws TriadkitError `at.timeout` after `timeoutMs` (default 2000) without a final result code.
   */
  async command(line: string, timeoutMs = 2_000): Promise<string> {
    this.clear();
    await this.write(`${line}\r`);
    return this.until(FINAL, timeoutMs);
  }

  /**
   * Resolves with (and consumes) the received text up to the end of the first match of `pattern`.
   * @throws TriadkitError `at.timeout` when it does not arrive within `timeoutMs`.
   */
  until(pattern: RegExp, timeoutMs = 2_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = pattern.exec(this.text);
        if (m === null) return false;
        const end = m.index + m[0].length;
        const out = this.text.slice(0, end);
        this.text = this.text.slice(end);
        this.waiters.delete(wake);
        clearTimeout(timer);
        resolve(out);
        return true;
      };
      const wake = () => void check();
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        reject(
          new TriadkitError("at.timeout", `no ${pattern} within ${timeoutMs} ms; got ${JSON.stringify(this.text)}`),
        );
      }, timeoutMs);
      if (!check()) this.waiters.add(wake);
    });
  }

  /** Waits `ms` and returns what arrived meanwhile (consumed). */
  async collect(ms: number): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    const out = this.text;
    this.text = "";
    return out;
  }

  /** Stops listening (the link stays open). */
  dispose(): void {
    this.off();
  }
}
