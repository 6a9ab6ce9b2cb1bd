/**
 * A byte pipe to a device on a serial line (a cellular modem, a factory fixture). Small on purpose, like
 * serialport's binding: real implementation on the `serialport` package (`NodeSerialLink`), and an in-memory
 * pair for tests and simulations (`MemorySerialLink.pair()`).
 */
export interface SerialLink {
  /** Resolves when the bytes were handed to the OS (or the peer); rejects with `serial.closed` after close. */
  write(data: Uint8Array): Promise<void>;
  /** Subscribes to incoming bytes, in order, in chunks of any size. Returns the unsubscribe function. */
  onData(listener: (chunk: Uint8Array) => void): () => void;
  /** Called once when the link closes (by either side, or an I/O error). Returns the unsubscribe function. */
  onClose(listener: (error?: Error) => void): () => void;
  readonly isOpen: boolean;
  close(): Promise<void>;
}
