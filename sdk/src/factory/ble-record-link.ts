/**
 * A {@link SerialLink} over an established factory BLE channel (docs/factory-protocol.md, "Over BLE"): bytes written
 * are sealed into records (at most 2048 bytes each) and sent as BLE framing messages; messages received are opened
 * and delivered as data. Both ends use it: the device's factory service and the station's BLE link. A record that
 * fails to open (tampered, replayed) closes the link with that error and drops the BLE connection.
 */
import {
  FACTORY_BLE_MAX_RECORD_PLAINTEXT,
  type FactoryBleRecords,
  fragment,
  isTriadkitError,
  Reassembler,
  TriadkitError,
} from "@triadkit/protocol";
import type { SerialLink } from "../modem/serial-link.js";

/** Sends whole messages as BLE framing fragments, one message at a time, numbering them modulo 64. */
export class BleMessageSender {
  private seq = 0;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly mtu: () => number,
    private readonly writeFragment: (fragment: Uint8Array) => Promise<void>,
  ) {}

  send(message: Uint8Array): Promise<void> {
    const seq = this.seq;
    this.seq = (this.seq + 1) % 64;
    const turn = this.queue.then(async () => {
      for (const f of fragment(message, this.mtu(), { seq })) await this.writeFragment(f);
    });
    this.queue = turn.catch(() => undefined);
    return turn;
  }
}

/** Collects fragments into messages; a refused fragment is reported and the partial message dropped. */
export function messageReceiver(
  now: () => number,
  onMessage: (message: Uint8Array) => void,
  onError: (error: TriadkitError) => void,
): { push(fragment: Uint8Array): void; reset(): void } {
  const reassembler = new Reassembler({ now });
  return {
    push(data) {
      try {
        const done = reassembler.push(data);
        if (done !== undefined) onMessage(done.message);
      } catch (err) {
        onError(isTriadkitError(err) ? err : new TriadkitError("internal.unexpected", String(err)));
      }
    },
    reset: () => reassembler.reset(),
  };
}

export class BleRecordLink implements SerialLink {
  private readonly dataListeners = new Set<(chunk: Uint8Array) => void>();
  private readonly closeListeners = new Set<(error?: Error) => void>();
  private open = true;
  private closedWith: { error: Error | undefined } | undefined;
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly records: FactoryBleRecords,
    private readonly sendMessage: (message: Uint8Array) => Promise<void>,
    private readonly disconnect: () => Promise<void>,
  ) {}

  get isOpen(): boolean {
    return this.open;
  }

  write(data: Uint8Array): Promise<void> {
    if (!this.open) return Promise.reject(new TriadkitError("serial.closed", "write on a closed factory BLE link"));
    const sealed: Uint8Array[] = [];
    let offset = 0;
    do {
      sealed.push(this.records.seal(data.subarray(offset, offset + FACTORY_BLE_MAX_RECORD_PLAINTEXT)));
      offset += FACTORY_BLE_MAX_RECORD_PLAINTEXT;
    } while (offset < data.length);
    const turn = this.sending.then(async () => {
      for (const record of sealed) await this.sendMessage(record);
    });
    this.sending = turn.catch(() => undefined);
    return turn.catch((err: unknown) => {
      throw isTriadkitError(err) ? err : new TriadkitError("serial.io", "the factory BLE link failed to send");
    });
  }

  /** A whole message from the peer (a record). */
  deliver(message: Uint8Array): void {
    if (!this.open) return;
    let plaintext: Uint8Array;
    try {
      plaintext = this.records.open(message);
    } catch (err) {
      this.end(isTriadkitError(err) ? err : new TriadkitError("internal.unexpected", String(err)));
      void this.disconnect().catch(() => undefined);
      return;
    }
    for (const listener of [...this.dataListeners]) listener(plaintext);
  }

  onData(listener: (chunk: Uint8Array) => void): () => void {
    this.dataListeners.add(listener);
    return () => this.dataListeners.delete(listener);
  }

  onClose(listener: (error?: Error) => void): () => void {
    const closed = this.closedWith;
    if (closed !== undefined) {
      queueMicrotask(() => listener(closed.error));
      return () => undefined;
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.end(undefined);
    await this.disconnect().catch(() => undefined);
  }

  /** The BLE connection ended (or a record failed): the link closes, listeners hear it once. */
  end(error: Error | undefined): void {
    if (this.closedWith !== undefined) return;
    this.open = false;
    this.closedWith = { error };
    const listeners = [...this.closeListeners];
    this.closeListeners.clear();
    for (const listener of listeners) listener(error);
  }
}
