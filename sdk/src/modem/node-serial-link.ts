import { TriadkitError } from "@triadkit/protocol";
import { SerialPort } from "serialport";
import type { SerialLink } from "./serial-link.js";

/** Options for {@link NodeSerialLink.open}. */
export interface NodeSerialLinkOptions {
  /** Line speed. Default 115200 (the usual default of LTE Cat-1/Cat-4 modules). */
  readonly baudRate?: number;
}

/** Default line speed of {@link NodeSerialLink.open}. */
export const DEFAULT_BAUD_RATE = 115_200;

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * A {@link SerialLink} on a real serial port (or PTY) through the `serialport` package: 8N1, no flow control,
 * exclusive lock.
 *
 * Errors: open failures reject with `serial.open_failed` (context has the path); a write error or the device
 * disappearing closes the link and close listeners get a `serial.io` error; writes after close reject with
 * `serial.closed`. Nothing throws synchronously.
 */
export class NodeSerialLink implements SerialLink {
  private readonly closeListeners = new Set<(error?: Error) => void>();
  private readonly pendingWrites = new Set<(error: Error) => void>();
  private open = true;
  private closeNotified = false;
  private closeError: Error | undefined;

  private constructor(
    private readonly port: SerialPort,
    readonly path: string,
  ) {
    port.on("error", (err: Error) => {
      // Stream-level errors (a failed write, a failed close) end the link: nothing more can be trusted.
      this.finish(
        new TriadkitError("serial.io", `serial port ${path} failed: ${err.message}`, { path }, { cause: err }),
      );
      if (port.isOpen) port.close(() => {});
    });
    port.on("close", (err?: Error | null) => {
      this.finish(
        err
          ? new TriadkitError("serial.io", `serial port ${path} disconnected: ${err.message}`, { path }, { cause: err })
          : undefined,
      );
    });
  }

  /**
   * Opens `path` (e.g. `/dev/ttyUSB2`, a PTY from `createPtyPair()`, `COM5`).
   *
   * @throws (rejects) TriadkitError `config.invalid` for a bad baud rate or empty path, `serial.open_failed`
   *   when the port cannot be opened.
   */
  static open(path: string, options: NodeSerialLinkOptions = {}): Promise<NodeSerialLink> {
    const baudRate = options.baudRate ?? DEFAULT_BAUD_RATE;
    if (typeof path !== "string" || path.length === 0) {
      return Promise.reject(new TriadkitError("config.invalid", "serial port path must be a non-empty string"));
    }
    if (!Number.isInteger(baudRate) || baudRate <= 0) {
      return Promise.reject(
        new TriadkitError("config.invalid", "baudRate must be a positive integer", { baudRate: String(baudRate) }),
      );
    }
    return new Promise((resolve, reject) => {
      let port: SerialPort;
      try {
        port = new SerialPort({ path, baudRate, autoOpen: false });
      } catch (err) {
        reject(
          new TriadkitError(
            "serial.open_failed",
            `cannot open serial port ${path}: ${errorMessage(err)}`,
            { path },
            {
              cause: err,
            },
          ),
        );
        return;
      }
      // Swallow errors until the link owns the port (its constructor installs the real handler).
      const early = () => {};
      port.on("error", early);
      port.open((err) => {
        port.off("error", early);
        if (err) {
          reject(
            new TriadkitError(
              "serial.open_failed",
              `cannot open serial port ${path}: ${err.message}`,
              { path },
              {
                cause: err,
              },
            ),
          );
          return;
        }
        resolve(new NodeSerialLink(port, path));
      });
    });
  }

  get isOpen(): boolean {
    return this.open;
  }

  write(data: Uint8Array): Promise<void> {
    if (!this.open) {
      return Promise.reject(new TriadkitError("serial.closed", `write on closed serial port ${this.path}`));
    }
    return new Promise((resolve, reject) => {
      const abort = (error: Error) => reject(error);
      this.pendingWrites.add(abort);
      try {
        this.port.write(Buffer.from(data), (err) => {
          if (!this.pendingWrites.delete(abort)) return;
          if (err) {
            reject(
              new TriadkitError("serial.io", `write to serial port ${this.path} failed: ${err.message}`, {
                path: this.path,
              }),
            );
          } else resolve();
        });
      } catch (err) {
        this.pendingWrites.delete(abort);
        reject(new TriadkitError("serial.io", `write to serial port ${this.path} failed: ${errorMessage(err)}`));
      }
    });
  }

  onData(listener: (chunk: Uint8Array) => void): () => void {
    const handler = (chunk: Buffer) => listener(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.port.on("data", handler);
    return () => {
      this.port.off("data", handler);
    };
  }

  /** A listener added after the link closed is called (asynchronously) all the same. */
  onClose(listener: (error?: Error) => void): () => void {
    if (this.closeNotified) {
      let active = true;
      queueMicrotask(() => {
        if (active) listener(this.closeError);
      });
      return () => {
        active = false;
      };
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  close(): Promise<void> {
    if (!this.open) return Promise.resolve();
    this.open = false;
    return new Promise((resolve) => {
      if (!this.port.isOpen) {
        this.finish(undefined);
        resolve();
        return;
      }
      this.port.close(() => {
        // A close error leaves nothing to do but report the link closed.
        this.finish(undefined);
        resolve();
      });
    });
  }

  private finish(error: Error | undefined): void {
    this.open = false;
    if (this.closeNotified) return;
    this.closeNotified = true;
    this.closeError = error;
    const closed = error ?? new TriadkitError("serial.closed", `serial port ${this.path} closed`);
    for (const abort of this.pendingWrites) abort(closed);
    this.pendingWrites.clear();
    const listeners = [...this.closeListeners];
    this.closeListeners.clear();
    for (const listener of listeners) listener(error);
  }
}
