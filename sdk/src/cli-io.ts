/**
 * Shared by the command lines (`triadkit-sim`, `triadkit-station`).
 * What every subcommand gets: where to write, and how it is told to stop. Conventions:
 * - stdout carries only machine-readable lines (`READY …`, results); logs and events go to stderr;
 * - throw {@link CliUsageError} for a usage problem (exit 2), anything else for a failure (exit 1);
 * - never write a secret (device/product secret, password, token) anywhere, and never take one on the command line.
 */

export interface CliIo {
  /** One line to stdout (a newline is added). */
  out(line: string): void;
  /** One line to stderr (a newline is added). */
  err(line: string): void;
  /** Resolves on the first SIGINT or SIGTERM (long-running commands stop cleanly, then exit 0). */
  shutdownSignal(): Promise<NodeJS.Signals>;
}

/** A usage error found by a command's own checks (exit code 2, like commander's own). */
export class CliUsageError extends Error {
  override readonly name = "CliUsageError";
}

export function processIo(): CliIo {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    shutdownSignal: () =>
      new Promise((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          resolve(signal);
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      }),
  };
}
