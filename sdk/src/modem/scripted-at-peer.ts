import type { SerialLink } from "./serial-link.js";

/**
 * What a {@link ScriptedAtPeer} answers to one command:
 * - a string: written verbatim, one byte per character (Latin-1: `"\xff"` is the byte 0xFF), so tests control
 *   the exact bytes;
 * - an array of lines: each framed as 27.007 verbose responses are, `\r\n<line>\r\n`;
 * - `undefined` / `null`: silence (the host's command times out).
 */
export type AtPeerReply = string | readonly string[] | undefined | null;

/** The script: a reply per command (exact text, case-insensitive), or a function of the command. */
export type AtPeerScript =
  | Readonly<Record<string, AtPeerReply | ((command: string) => AtPeerReply)>>
  | ((command: string) => AtPeerReply);

/** Options for {@link ScriptedAtPeer}. */
export interface ScriptedAtPeerOptions {
  readonly script: AtPeerScript;
  /** Echo each command back (ATE1) before the reply; `ATE0`/`ATE1` commands switch it. Default false. */
  readonly echo?: boolean;
  /** Reply to commands the script does not know. Default `["ERROR"]`. */
  readonly unknown?: AtPeerReply;
}

/** Formats response lines the 27.007 way: `\r\n<line>\r\n` each. */
export function atLines(...lines: readonly string[]): string {
  return lines.map((l) => `\r\n${l}\r\n`).join("");
}

/** One byte per character code (Latin-1); code points above 0xFF are reduced to their low byte. */
function latin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/**
 * A tiny scripted modem for tests: reads commands (terminated by `\r`) from its end of a {@link SerialLink}
 * and writes the scripted reply. Not a modem simulator (firmware-sim has one): it knows nothing but its script.
 */
export class ScriptedAtPeer {
  /** Every command received, in order. */
  readonly commands: string[] = [];
  private echo: boolean;
  private buffer = "";
  private readonly off: () => void;

  constructor(
    private readonly link: SerialLink,
    private readonly options: ScriptedAtPeerOptions,
  ) {
    this.echo = options.echo ?? false;
    this.off = link.onData((chunk) => this.onData(chunk));
  }

  /** Writes raw text (a URC, garbage; Latin-1, see {@link AtPeerReply}) or bytes to the host. */
  async write(text: string | Uint8Array): Promise<void> {
    await this.link.write(typeof text === "string" ? latin1(text) : text);
  }

  /** Writes a URC line framed as `\r\n<line>\r\n`. */
  urc(line: string): Promise<void> {
    return this.write(atLines(line));
  }

  /** Stops answering (the link stays open). */
  stop(): void {
    this.off();
  }

  private onData(chunk: Uint8Array): void {
    for (const byte of chunk) {
      if (byte === 0x0d) {
        const command = this.buffer.trim();
        this.buffer = "";
        if (command.length > 0) void this.answer(command);
      } else if (byte !== 0x0a) {
        this.buffer += String.fromCharCode(byte);
      }
    }
  }

  private lookup(command: string): AtPeerReply {
    const script = this.options.script;
    if (typeof script === "function") return script(command);
    const key = Object.keys(script).find((k) => k.toUpperCase() === command.toUpperCase());
    if (key === undefined) return this.options.unknown === undefined ? ["ERROR"] : this.options.unknown;
    const entry = script[key];
    return typeof entry === "function" ? entry(command) : entry;
  }

  private async answer(command: string): Promise<void> {
    this.commands.push(command);
    let out = this.echo ? `${command}\r` : "";
    const upper = command.toUpperCase();
    if (upper === "ATE0") this.echo = false;
    if (upper === "ATE1") this.echo = true;
    const reply = this.lookup(command);
    if (reply !== undefined && reply !== null) out += typeof reply === "string" ? reply : atLines(...reply);
    if (out.length > 0 && this.link.isOpen) {
      await this.link.write(latin1(out)).catch(() => {});
    }
  }
}
