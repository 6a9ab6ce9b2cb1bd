/**
 * A SerialLink that paces what it writes like a UART at `baud` (8N1: 10 bit times a byte) and counts it: each write
 * reaches the peer once the bytes before it and its own have had their wire time. Reading is the inner link's.
 */
import type { SerialLink } from "@triadkit/sdk";

export class PacedSerialLink implements SerialLink {
  bytesWritten = 0;
  writes = 0;
  private freeAtMs = 0;

  constructor(
    private readonly inner: SerialLink,
    /** Bits per second; 0: no pacing (counting only). */
    private readonly baud: number,
  ) {}

  get isOpen(): boolean {
    return this.inner.isOpen;
  }

  write(data: Uint8Array): Promise<void> {
    this.bytesWritten += data.length;
    this.writes++;
    if (this.baud === 0) return this.inner.write(data);
    const now = performance.now();
    this.freeAtMs = Math.max(now, this.freeAtMs) + (data.length * 10 * 1000) / this.baud;
    const copy = Uint8Array.from(data);
    return new Promise((resolve, reject) => {
      setTimeout(() => this.inner.write(copy).then(resolve, reject), this.freeAtMs - now);
    });
  }

  onData(listener: (chunk: Uint8Array) => void): () => void {
    return this.inner.onData(listener);
  }

  onClose(listener: (error?: Error) => void): () => void {
    return this.inner.onClose(listener);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
