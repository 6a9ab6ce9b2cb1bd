/**
 * One end of an air link: requests with ids and responses, events, over {@link encodeFrame} frames on a socket.
 * Both the server and the client use it; either side may send requests (the server asks a client's peripheral to
 * handle a GATT write or read).
 */
import type { Socket } from "node:net";
import { isErrorCode, TriadkitError } from "@triadkit/protocol";
import { encodeFrame, type Frame, FrameKind, FrameReader } from "./frames.js";

export interface Reply {
  readonly header?: Record<string, unknown>;
  readonly data?: Uint8Array;
}

export type RequestHandler = (op: string, header: Record<string, unknown>, data: Uint8Array) => Promise<Reply>;
export type EventHandler = (op: string, header: Record<string, unknown>, data: Uint8Array) => void;

interface Waiting {
  resolve(frame: Frame): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout | undefined;
}

const EMPTY = new Uint8Array(0);

/** The wire form of an error; a TriadkitError keeps its code across the link. */
export function errorHeader(error: unknown): Record<string, unknown> {
  if (error instanceof TriadkitError) {
    const suffix = ` (${error.code})`;
    const message = error.message.endsWith(suffix) ? error.message.slice(0, -suffix.length) : error.message;
    return { code: error.code, message, ...(error.context === undefined ? {} : { context: error.context }) };
  }
  return { code: "internal.unexpected", message: error instanceof Error ? error.message : String(error) };
}

export function errorFromHeader(header: Record<string, unknown>): TriadkitError {
  const code = isErrorCode(header.code) ? header.code : "internal.unexpected";
  const context =
    header.context !== null && typeof header.context === "object"
      ? (header.context as Record<string, unknown>)
      : undefined;
  return new TriadkitError(code, typeof header.message === "string" ? header.message : "remote error", context);
}

export class AirPeer {
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  private readonly reader = new FrameReader();
  private closedWith: TriadkitError | undefined;
  private readonly closeListeners = new Set<(reason: TriadkitError) => void>();

  constructor(
    private readonly socket: Socket,
    private readonly handlers: { request: RequestHandler; event: EventHandler },
  ) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = this.reader.push(chunk);
      } catch (err) {
        this.shutdown(err instanceof TriadkitError ? err : new TriadkitError("ble.bad_frame", String(err)));
        return;
      }
      for (const frame of frames) this.dispatch(frame);
    });
    socket.on("error", () => {}); // 'close' follows
    socket.on("close", () => this.shutdown(new TriadkitError("ble.not_connected", "the air link closed")));
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  onClose(listener: (reason: TriadkitError) => void): void {
    if (this.closedWith !== undefined) listener(this.closedWith);
    else this.closeListeners.add(listener);
  }

  private write(frame: Frame): void {
    if (this.closedWith !== undefined) return;
    this.socket.write(encodeFrame(frame));
  }

  private dispatch(frame: Frame): void {
    const op = typeof frame.header.op === "string" ? frame.header.op : "";
    switch (frame.kind) {
      case FrameKind.request:
        this.handlers.request(op, frame.header, frame.data).then(
          (reply) =>
            this.write({
              kind: FrameKind.response,
              id: frame.id,
              header: reply.header ?? {},
              data: reply.data ?? EMPTY,
            }),
          (error: unknown) =>
            this.write({ kind: FrameKind.error, id: frame.id, header: errorHeader(error), data: EMPTY }),
        );
        return;
      case FrameKind.event:
        try {
          this.handlers.event(op, frame.header, frame.data);
        } catch {
          // an event handler's failure stays on this side
        }
        return;
      default: {
        const w = this.waiting.get(frame.id);
        if (w === undefined) return; // a late answer to a request that timed out
        this.waiting.delete(frame.id);
        if (w.timer !== undefined) clearTimeout(w.timer);
        if (frame.kind === FrameKind.response) w.resolve(frame);
        else w.reject(errorFromHeader(frame.header));
      }
    }
  }

  /** Sends a request; resolves with the response frame, rejects with the remote error (same code). */
  request(op: string, header: Record<string, unknown>, data: Uint8Array = EMPTY, timeoutMs?: number): Promise<Frame> {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith);
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffff_fffe ? 1 : this.nextId + 1;
    return new Promise<Frame>((resolve, reject) => {
      const w: Waiting = { resolve, reject, timer: undefined };
      if (timeoutMs !== undefined) {
        w.timer = setTimeout(() => {
          this.waiting.delete(id);
          reject(new TriadkitError("ble.timeout", "the other end of the air link did not answer", { op, timeoutMs }));
        }, timeoutMs);
      }
      this.waiting.set(id, w);
      try {
        this.write({ kind: FrameKind.request, id, header: { ...header, op }, data });
      } catch (err) {
        this.waiting.delete(id);
        if (w.timer !== undefined) clearTimeout(w.timer);
        reject(err);
      }
    });
  }

  event(op: string, header: Record<string, unknown>, data: Uint8Array = EMPTY): void {
    this.write({ kind: FrameKind.event, id: 0, header: { ...header, op }, data });
  }

  private shutdown(reason: TriadkitError): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = reason;
    for (const [, w] of this.waiting) {
      if (w.timer !== undefined) clearTimeout(w.timer);
      w.reject(reason);
    }
    this.waiting.clear();
    this.socket.destroy();
    for (const l of [...this.closeListeners]) {
      try {
        l(reason);
      } catch {
        // listeners clean up their own state
      }
    }
    this.closeListeners.clear();
  }

  close(): void {
    this.shutdown(new TriadkitError("ble.not_connected", "the air link was closed"));
  }
}
