/**
 * Server-sent events for the burn page: every client gets a `snapshot` event on connect (so a reconnect, with or
 * without Last-Event-ID, always starts from the current state), then each change as it happens, with increasing
 * ids. A comment line every `keepAliveMs` keeps proxies from closing an idle stream.
 */
import type { ServerResponse } from "node:http";

export interface SseHubOptions {
  /** The current state, sent to each new client as `snapshot`. */
  readonly snapshot: () => unknown;
  readonly keepAliveMs?: number;
}

export class SseHub {
  private readonly clients = new Set<ServerResponse>();
  private nextId = 1;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: SseHubOptions) {
    this.timer = setInterval(() => {
      for (const c of this.clients) c.write(": keep-alive\n\n");
    }, options.keepAliveMs ?? 15_000);
    this.timer.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Takes over `res` as an event stream until the client goes away or the hub closes. */
  attach(res: ServerResponse): void {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.write("retry: 1000\n\n");
    this.clients.add(res);
    res.on("close", () => this.clients.delete(res));
    this.send(res, "snapshot", this.options.snapshot(), this.nextId - 1);
  }

  publish(event: string, data: unknown): void {
    const id = this.nextId++;
    for (const c of this.clients) this.send(c, event, data, id);
  }

  close(): void {
    clearInterval(this.timer);
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  private send(res: ServerResponse, event: string, data: unknown, id: number): void {
    res.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }
}
