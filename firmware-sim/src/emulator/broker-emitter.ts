import mqemitter from "mqemitter";

type Message = mqemitter.Message;
type Listener = (message: Message, done: () => void) => void;
type Callback = (error?: Error) => void;

/** aedes' own default for how many messages its emitter delivers at once. */
export const BROKER_EMITTER_CONCURRENCY = 100;

/**
 * The message bus of the emulator's aedes broker (aedes' `mq` option): mqemitter's topic matching, with the
 * concurrency limit kept here and the queue drained in a loop.
 *
 * Why: mqemitter (7.1.0 and earlier) drains its queue recursively — when a message's last listener finishes, the
 * next queued message is dispatched on the same stack, and listeners that finish synchronously (aedes'
 * `closeSameClients` on `$SYS/+/new/clients`, its `published` chain) keep it going. With thousands of devices
 * reconnecting at once more than `concurrency` messages are in flight, the queue grows to thousands, and the broker
 * dies with `RangeError: Maximum call stack size exceeded` (mcollina/mqemitter#204, open). Here the inner emitter
 * runs without a limit (it never queues), and this class queues: a message finishing inside the drain loop only
 * lowers the count, the loop dispatches the next one, so the stack stays flat whatever the queue length.
 */
export class BrokerEmitter {
  private readonly inner: mqemitter.MQEmitter;
  /** Waiting messages from `head` on (`shift()` would make a long queue quadratic). */
  private queue: { message: Message; callback: Callback }[] = [];
  private head = 0;
  private inFlight = 0;
  private draining = false;
  private closed = false;

  constructor(readonly concurrency: number = BROKER_EMITTER_CONCURRENCY) {
    // matchEmptyLevels: MQTT-4.7.1-3, as aedes builds its own.
    this.inner = mqemitter({ concurrency: 0, matchEmptyLevels: true });
  }

  /** Messages waiting for a free slot. */
  get length(): number {
    return this.queue.length - this.head;
  }

  /** Messages whose listeners have not all finished. */
  get current(): number {
    return this.inFlight;
  }

  on(topic: string, listener: Listener, done?: () => void): this {
    this.inner.on(topic, listener, done);
    return this;
  }

  removeListener(topic: string, listener: Listener, done?: () => void): this {
    this.inner.removeListener(topic, listener, done);
    return this;
  }

  emit(message: Message, callback: Callback = () => {}): this {
    if (this.closed) {
      callback(new Error("mqemitter is closed"));
      return this;
    }
    this.queue.push({ message, callback });
    this.drain();
    return this;
  }

  close(callback: () => void): this {
    this.closed = true;
    this.inner.close(callback);
    return this;
  }

  private drain(): void {
    if (this.draining) return; // the loop below is already running further up this stack
    this.draining = true;
    try {
      while (this.head < this.queue.length && (this.concurrency <= 0 || this.inFlight < this.concurrency)) {
        const next = this.queue[this.head] as { message: Message; callback: Callback };
        this.head++;
        this.dispatch(next.message, next.callback);
      }
    } finally {
      this.draining = false;
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
    }
  }

  private dispatch(message: Message, callback: Callback): void {
    this.inFlight++;
    this.inner.emit(message, (err) => {
      this.inFlight--;
      callback(err);
      this.drain();
    });
  }
}
