import { TriadkitError } from "@triadkit/protocol";
import type { SerialLink } from "./serial-link.js";

/** State shared by the two ends of a pair. */
interface Wire {
  open: boolean;
  /** Set once the close notification has been delivered; later deliveries are dropped. */
  finished: boolean;
  closeError: Error | undefined;
}

/**
 * One end of an in-memory serial cable (see {@link MemorySerialLink.pair}).
 *
 * - Delivery is asynchronous (a microtask per write) and in order; each write arrives as one chunk, a copy of
 *   the caller's bytes.
 * - Closing either end closes both: `isOpen` turns false at once and writes reject with `serial.closed`; bytes
 *   written before the close are still delivered, then every `onClose` listener of both ends runs once.
 * - {@link MemorySerialLink.fail} closes the pair with an error (a yanked USB cable): listeners get a
 *   `serial.io` error.
 */
export class MemorySerialLink implements SerialLink {
  private readonly dataListeners = new Set<(chunk: Uint8Array) => void>();
  private readonly closeListeners = new Set<(error?: Error) => void>();
  private peer!: MemorySerialLink;

  private constructor(private readonly wire: Wire) {}

  /** Two connected ends: what one writes, the other reads. */
  static pair(): [MemorySerialLink, MemorySerialLink] {
    const wire: Wire = { open: true, finished: false, closeError: undefined };
    const a = new MemorySerialLink(wire);
    const b = new MemorySerialLink(wire);
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  get isOpen(): boolean {
    return this.wire.open;
  }

  write(data: Uint8Array): Promise<void> {
    if (!this.wire.open) {
      return Promise.reject(new TriadkitError("serial.closed", "write on a closed serial link"));
    }
    const copy = Uint8Array.from(data);
    const peer = this.peer;
    queueMicrotask(() => {
      if (this.wire.finished) return;
      for (const listener of [...peer.dataListeners]) listener(copy);
    });
    return Promise.resolve();
  }

  onData(listener: (chunk: Uint8Array) => void): () => void {
    this.dataListeners.add(listener);
    return () => this.dataListeners.delete(listener);
  }

  /** A listener added after the pair has closed is called (asynchronously) all the same. */
  onClose(listener: (error?: Error) => void): () => void {
    if (this.wire.finished) {
      let active = true;
      queueMicrotask(() => {
        if (active) listener(this.wire.closeError);
      });
      return () => {
        active = false;
      };
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  close(): Promise<void> {
    this.shutdown(undefined);
    return Promise.resolve();
  }

  /** Closes both ends as an I/O failure would: close listeners receive a `serial.io` error. */
  fail(reason = "simulated I/O failure"): void {
    this.shutdown(new TriadkitError("serial.io", reason));
  }

  private shutdown(error: Error | undefined): void {
    if (!this.wire.open) return;
    this.wire.open = false;
    this.wire.closeError = error;
    // Queued after every delivery already scheduled, so those bytes arrive first.
    queueMicrotask(() => {
      this.wire.finished = true;
      for (const end of [this, this.peer]) {
        const listeners = [...end.closeListeners];
        end.closeListeners.clear();
        for (const listener of listeners) listener(error);
      }
    });
  }
}
