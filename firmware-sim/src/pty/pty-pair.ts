import { type ChildProcess, spawn } from "node:child_process";
import { TriadkitError } from "@triadkit/protocol";

/** Two connected pseudo-terminals made by `socat`: what one side writes, the other reads, as on a serial cable. */
export interface PtyPair {
  /** Path of the first end, e.g. `/dev/pts/3` (give it to the device side). */
  readonly a: string;
  /** Path of the second end (give it to the host side: the SDK, the station). */
  readonly b: string;
  close(): Promise<void>;
}

/**
 * Spawns `socat -d -d pty,raw,echo=0 pty,raw,echo=0` and resolves with the two PTY paths once socat reports them.
 * Needs Debian's `socat` (`.ci/run` installs it). Fails with `serial.open_failed` when socat is missing.
 */
export async function createPtyPair(options: { timeoutMs?: number } = {}): Promise<PtyPair> {
  const child: ChildProcess = spawn("socat", ["-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const paths = await new Promise<string[]>((resolve, reject) => {
    let err = "";
    const found: string[] = [];
    const timer = setTimeout(() => {
      child.kill();
      reject(new TriadkitError("serial.open_failed", "socat did not report two PTYs in time"));
    }, options.timeoutMs ?? 5_000);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(new TriadkitError("serial.open_failed", `cannot run socat (is it installed?): ${e.message}`));
    });
    child.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
      for (const m of err.matchAll(/PTY is (\/dev\/\S+)/g))
        if (!found.includes(m[1] as string)) found.push(m[1] as string);
      if (found.length === 2) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (found.length < 2)
        reject(new TriadkitError("serial.open_failed", `socat exited (${code}) before making PTYs`));
    });
  });
  return {
    a: paths[0] as string,
    b: paths[1] as string,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
