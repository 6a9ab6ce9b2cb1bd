/**
 * Where label bytes go: a network label printer over raw TCP (port 9100, "JetDirect"), or a file. Files are
 * written with mode 0600: a device label holds the PoP.
 */
import { chmodSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { TriadkitError } from "@triadkit/protocol";

export const RAW_PRINTER_PORT = 9100;

export interface PrinterAddress {
  readonly host: string;
  readonly port: number;
}

export interface PrinterTimeouts {
  /** Default 5000. */
  readonly connectTimeoutMs?: number;
  /** From connected until the printer has taken every byte and the connection is closed; default 10000. */
  readonly writeTimeoutMs?: number;
}

/** `host`, `host:port` or `[v6]:port`; `config.invalid` otherwise. */
export function parsePrinterAddress(text: string): PrinterAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]{1,253}))(?::([0-9]{1,5}))?$/.exec(text.trim());
  const port = m?.[3] === undefined ? RAW_PRINTER_PORT : Number(m[3]);
  if (m === null || port < 1 || port > 65535) {
    throw new TriadkitError("config.invalid", "a printer is host or host:port (port 1–65535, default 9100)", {
      printer: text.slice(0, 64),
    });
  }
  return { host: (m[1] ?? m[2]) as string, port };
}

/**
 * Sends the bytes over one TCP connection and closes it. `label.printer_unreachable` when the connection is refused
 * or fails, `label.printer_timeout` when connecting or sending takes too long (context `phase`).
 */
export function sendToPrinter(
  printer: PrinterAddress,
  bytes: Uint8Array,
  timeouts: PrinterTimeouts = {},
): Promise<void> {
  const connectMs = timeouts.connectTimeoutMs ?? 5000;
  const writeMs = timeouts.writeTimeoutMs ?? 10_000;
  const where = { host: printer.host, port: printer.port };
  return new Promise((resolve, reject) => {
    let phase: "connect" | "write" = "connect";
    let settled = false;
    const socket = connect({ host: printer.host, port: printer.port });
    const finish = (err?: TriadkitError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err === undefined) {
        resolve();
      } else {
        socket.destroy();
        reject(err);
      }
    };
    let timer = setTimeout(() => {
      finish(
        new TriadkitError("label.printer_timeout", `the label printer did not answer within ${connectMs} ms`, {
          ...where,
          phase,
        }),
      );
    }, connectMs);
    socket.once("connect", () => {
      phase = "write";
      clearTimeout(timer);
      timer = setTimeout(() => {
        finish(
          new TriadkitError("label.printer_timeout", `the label printer did not take the label within ${writeMs} ms`, {
            ...where,
            phase,
          }),
        );
      }, writeMs);
      // Resolved once every byte is handed to the OS and our FIN is sent; raw-port printers rarely close first.
      socket.end(bytes, () => {
        finish();
        socket.destroy();
      });
    });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      finish(
        new TriadkitError(
          "label.printer_unreachable",
          `cannot reach the label printer ${printer.host}:${printer.port}`,
          {
            ...where,
            phase,
            cause: err.code ?? "error",
          },
        ),
      );
    });
  });
}

/** Writes a label file with mode 0600 (also when it replaces an older file). */
export function saveLabelFile(path: string, bytes: Uint8Array): void {
  writeFileSync(path, bytes, { mode: 0o600 });
  chmodSync(path, 0o600);
}
