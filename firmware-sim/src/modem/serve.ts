/** Ways to put a {@link VirtualModem} on a line: an in-memory pair, or a real PTY for other processes. */
import { MemorySerialLink, NodeSerialLink, type SerialLink } from "@triadkit/sdk";
import { createPtyPair } from "../pty/pty-pair.js";
import type { VirtualModemOptions } from "./types.js";
import { VirtualModem } from "./virtual-modem.js";

export interface VirtualModemPair {
  readonly modem: VirtualModem;
  /** The host side (an SDK `MemorySerialLink`): give it to `createAtModem({ link })`, or write raw AT to it. */
  readonly hostLink: SerialLink;
}

/** A modem on the device end of an in-memory link pair (the SDK's `MemorySerialLink.pair()`). */
export function createVirtualModemPair(options: VirtualModemOptions): VirtualModemPair {
  const [deviceLink, hostLink] = MemorySerialLink.pair();
  return { modem: new VirtualModem(deviceLink, options), hostLink };
}

export interface ServedModem {
  /** The host-side PTY, e.g. `/dev/pts/4`: open it with serialport (any baud rate), the SDK or the station. */
  readonly path: string;
  readonly modem: VirtualModem;
  /** Stops the modem, closes its PTY end and stops socat. */
  close(): Promise<void>;
}

/**
 * Serves a modem on a socat PTY pair: the modem holds one end through the real `serialport` package (the SDK's
 * `NodeSerialLink`), the host opens `path`. The host may close and reopen `path`; the modem keeps its state.
 *
 * @throws TriadkitError `serial.open_failed` when socat is missing or the PTY cannot be opened.
 */
export async function serveModemOnPty(
  options: VirtualModemOptions & { readonly ptyTimeoutMs?: number },
): Promise<ServedModem> {
  const pair = await createPtyPair(options.ptyTimeoutMs === undefined ? {} : { timeoutMs: options.ptyTimeoutMs });
  let link: SerialLink;
  try {
    link = await NodeSerialLink.open(pair.a);
  } catch (err) {
    await pair.close();
    throw err;
  }
  const modem = new VirtualModem(link, options);
  let closing: Promise<void> | undefined;
  return {
    path: pair.b,
    modem,
    close: () => {
      closing ??= (async () => {
        await modem.close();
        await pair.close();
      })();
      return closing;
    },
  };
}
