/**
 * The public Improv serial client (`improv-wifi-serial-sdk`, the peer judge) on Node 20, and the smallest port
 * adapters it needs.
 *
 * The client takes a Web Serial-like port: it only touches `port.readable` (a ReadableStream of bytes, read with
 * `getReader()`) and `port.writable` (a WritableStream, written with `getWriter()`). Node 20 has both, and
 * `EventTarget`/`CustomEvent`, as globals.
 *
 * Snag (docs/reference provisioning.md §2.4): `dist/serial.js` imports `"./util/hex-formatter"` without an
 * extension, which plain Node ESM refuses (`ERR_MODULE_NOT_FOUND`). Vitest resolves it on its own; to stay
 * correct under plain Node too we register a 5-line resolve hook that retries such relative imports with `.js`.
 */
import { register } from "node:module";
import { Readable, Writable } from "node:stream";
import type { SerialLink } from "@triadkit/sdk";
import type { SerialPort } from "serialport";

const RESOLVE_HOOK = `export async function resolve(specifier, context, next) {
  try { return await next(specifier, context); } catch (err) {
    const retry = err?.code === "ERR_MODULE_NOT_FOUND" && specifier.startsWith(".") && !specifier.endsWith(".js")
      && String(context.parentURL).includes("/improv-wifi-serial-sdk/");
    if (retry) return next(specifier + ".js", context);
    throw err;
  }
}`;

let hookRegistered = false;

/** Loads the client class (`ImprovSerial`) with the resolve hook in place. */
export async function loadImprovSerial() {
  if (!hookRegistered) {
    register(`data:text/javascript,${encodeURIComponent(RESOLVE_HOOK)}`);
    hookRegistered = true;
  }
  const mod = await import("improv-wifi-serial-sdk/dist/serial.js");
  return mod.ImprovSerial;
}

/** What the client needs of a port. */
export interface WebSerialLikePort {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
}

/** Adapter 1: one end of an in-process {@link SerialLink} (e.g. `MemorySerialLink.pair()`). */
export function portFromLink(link: SerialLink): WebSerialLikePort {
  let unsubscribe: (() => void) | undefined;
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      unsubscribe = link.onData((chunk) => controller.enqueue(chunk));
      link.onClose(() => {
        try {
          controller.close();
        } catch {
          // already cancelled
        }
      });
    },
    cancel() {
      unsubscribe?.();
    },
  });
  const writable = new WritableStream<Uint8Array>({ write: (chunk) => link.write(chunk) });
  return { readable, writable };
}

/** Adapter 2: a real `serialport` SerialPort (a Node Duplex), through Node's web-stream bridges. */
export function portFromSerialPort(port: SerialPort): WebSerialLikePort {
  return {
    readable: Readable.toWeb(port) as unknown as ReadableStream<Uint8Array>,
    writable: Writable.toWeb(port) as WritableStream<Uint8Array>,
  };
}

/** Wraps a port so every byte the client writes is also handed to `tap` (to count its requests). */
export function tapWrites(port: WebSerialLikePort, tap: (bytes: Uint8Array) => void): WebSerialLikePort {
  const writer = () => port.writable.getWriter();
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      tap(chunk);
      const w = writer();
      try {
        await w.write(chunk);
      } finally {
        w.releaseLock();
      }
    },
  });
  return { readable: port.readable, writable };
}
