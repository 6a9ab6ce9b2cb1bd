/**
 * A virtual cellular modem on the device side of a {@link SerialLink}: it reads the host's AT command lines
 * (terminated by `\r`), echoes them while `ATE1`, asks its behaviours (newest first, then its dialect's table)
 * for each command, and writes V.250-framed answers (`\r\n<info>\r\n` … `\r\nOK\r\n`). Faults — a swapped SIM,
 * a slow or dead modem, line noise — are methods here, or behaviours a test adds.
 */
import { TriadkitError } from "@triadkit/protocol";
import { type Clock, type SerialLink, SystemClock, type TimerHandle } from "@triadkit/sdk";
import { commandParams, parseCommandLine } from "./at-line.js";
import { cmeErrorLine } from "./cme.js";
import { DIALECT_PROFILES, type DialectProfile, dialectBehaviours } from "./dialects.js";
import type {
  BehaviourResult,
  ModemBehaviour,
  SimCard,
  VirtualModemHandle,
  VirtualModemOptions,
  VirtualModemState,
} from "./types.js";

/** Longest command line kept (V.250 asks for at least 40 characters); longer lines are answered `ERROR`. */
export const MAX_COMMAND_LINE = 1024;
/** How many received command lines {@link VirtualModem.received} keeps. */
const RECEIVED_KEPT = 1000;

const CR = 0x0d;
const LF = 0x0a;
const BACKSPACE = 0x08;

const DEFAULT_PIN = "1234";
const DEFAULT_PUK = "12345678";

interface Override {
  readonly behaviour: ModemBehaviour;
  used: number;
}

/** A behaviour's answer once its delays have run out. */
type Settled = Exclude<BehaviourResult, { delayMs: number }>;

const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("latin1");
const bytesOf = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "latin1"));

function fullCard(card: SimCard): Required<SimCard> {
  return {
    iccid: card.iccid.trim().toUpperCase(),
    imsi: card.imsi.trim(),
    lock: card.lock ?? "ready",
    pin: card.pin ?? DEFAULT_PIN,
    puk: card.puk ?? DEFAULT_PUK,
  };
}

function checkInteger(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 255) {
    throw new TriadkitError("config.invalid", `${what} must be an integer 0–255 (CSQ uses 0–31 and 99)`, { value });
  }
}

export class VirtualModem implements VirtualModemHandle {
  /** Everything the modem answers from; behaviours and tests may change it. */
  readonly state: VirtualModemState;
  /** Command lines received (as sent, without the `\r`), oldest first; the last 1000. */
  readonly received: string[] = [];

  private readonly link: SerialLink;
  private readonly clock: Clock;
  private readonly profile: DialectProfile;
  private readonly table: readonly ModemBehaviour[];
  private readonly overrides: Override[] = [];
  private readonly initial: { echo: boolean; cmee: 0 | 1 | 2; qsimstatUrc: boolean };
  private readonly timers = new Set<TimerHandle>();
  private readonly unsubscribe: (() => void)[];
  private buffer = "";
  private overflow = false;
  private queue: Promise<void> = Promise.resolve();
  private attached = true;

  constructor(
    link: SerialLink,
    private readonly options: VirtualModemOptions,
  ) {
    this.link = link;
    this.clock = options.clock ?? new SystemClock();
    this.profile = DIALECT_PROFILES[options.dialect];
    if (this.profile === undefined) {
      throw new TriadkitError("config.invalid", `unknown modem dialect ${JSON.stringify(options.dialect)}`);
    }
    this.table = dialectBehaviours(options.dialect);
    const card = fullCard({
      iccid: options.iccid,
      imsi: options.imsi,
      ...(options.simLock === undefined ? {} : { lock: options.simLock }),
      ...(options.simPin === undefined ? {} : { pin: options.simPin }),
      ...(options.simPuk === undefined ? {} : { puk: options.simPuk }),
    });
    const rssi = options.csq ?? 20;
    const ber = options.ber ?? 99;
    checkInteger(rssi, "csq");
    checkInteger(ber, "ber");
    this.initial = { echo: options.echo ?? true, cmee: options.cmee ?? 1, qsimstatUrc: options.qsimstatUrc ?? false };
    this.state = {
      dialect: options.dialect,
      imei: options.imei.trim(),
      manufacturer: options.manufacturer ?? this.profile.manufacturer,
      model: options.model ?? this.profile.model,
      revision: options.revision ?? this.profile.revision,
      sim: { present: options.simPresent ?? true, card, lock: card.lock, pinAttemptsLeft: 3 },
      rssi,
      ber,
      ...this.initial,
      slowMs: 0,
      silent: false,
    };
    if (options.behaviours !== undefined) this.addBehaviour(...options.behaviours);
    this.unsubscribe = [link.onData((chunk) => this.receive(chunk)), link.onClose(() => this.detach())];
  }

  /**
   * Adds behaviours ahead of every existing one (newest first; within one call, the first argument is asked
   * first). Returns a function that removes them again.
   */
  addBehaviour(...behaviours: ModemBehaviour[]): () => void {
    const added = behaviours.map((behaviour) => ({ behaviour, used: 0 }));
    this.overrides.unshift(...added);
    return () => {
      for (const entry of added) {
        const i = this.overrides.indexOf(entry);
        if (i >= 0) this.overrides.splice(i, 1);
      }
    };
  }

  /** Resolves once every command line received so far has been answered (or timed out). */
  async idle(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.queue;
      await seen;
    } while (seen !== this.queue);
  }

  // ── faults ──

  /** Sends one unsolicited result code, framed `\r\n<line>\r\n`. */
  async sendUrc(line: string): Promise<void> {
    await this.send(`\r\n${line}\r\n`);
  }

  /** Writes raw bytes to the host now (line noise, a half-sent answer, a boot banner). */
  async injectGarbage(bytes: Uint8Array): Promise<void> {
    await this.send(bytes);
  }

  /** Pulls the card out and sends the dialect's removal URCs. No-op without a card. */
  async removeSim(): Promise<void> {
    if (!this.state.sim.present) return;
    this.state.sim.present = false;
    for (const urc of this.profile.simRemovedUrcs(this.state)) await this.sendUrc(urc);
  }

  /**
   * Pushes a card in (`card`, or the one last removed) and sends the dialect's insertion URCs.
   * @throws TriadkitError `config.invalid` when a card is already in the slot (use {@link swapSim}).
   */
  async insertSim(card?: SimCard): Promise<void> {
    const sim = this.state.sim;
    if (sim.present) throw new TriadkitError("config.invalid", "a SIM is already inserted: removeSim() or swapSim()");
    if (card !== undefined) sim.card = fullCard(card);
    sim.present = true;
    sim.lock = sim.card.lock;
    sim.pinAttemptsLeft = 3;
    for (const urc of this.profile.simInsertedUrcs(this.state)) await this.sendUrc(urc);
  }

  /** A different card: removal URCs, `gapMs` on the modem's clock (default 0), then insertion URCs. */
  async swapSim(card: SimCard, options: { gapMs?: number } = {}): Promise<void> {
    await this.removeSim();
    if ((options.gapMs ?? 0) > 0) await this.sleep(options.gapMs ?? 0);
    await this.insertSim(card);
  }

  /** Changes what `AT+CSQ` reports. */
  setSignal(rssi: number, ber: number = this.state.ber): void {
    checkInteger(rssi, "rssi");
    checkInteger(ber, "ber");
    this.state.rssi = rssi;
    this.state.ber = ber;
  }

  /** Delays every answer by `ms` (0: off). The echo still comes at once, as on hardware. */
  slow(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new TriadkitError("config.invalid", "slow(ms) needs ms ≥ 0", { ms });
    this.state.slowMs = ms;
  }

  /** A dead modem: while on, nothing is echoed, answered or reported; lines received meanwhile are lost. */
  silent(on = true): void {
    this.state.silent = on;
    if (on) this.buffer = "";
  }

  restoreSettings(): void {
    Object.assign(this.state, this.initial);
  }

  /** Stops listening to the link and cancels pending delays; the link stays open. */
  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    for (const off of this.unsubscribe) off();
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
  }

  /** {@link detach}, then closes the link. */
  async close(): Promise<void> {
    this.detach();
    if (this.link.isOpen) await this.link.close();
  }

  // ── input ──

  private receive(chunk: Uint8Array): void {
    this.options.onTraffic?.("in", chunk);
    if (this.state.silent) return;
    for (const byte of chunk) {
      if (byte === CR) {
        const line = this.buffer;
        const overflow = this.overflow;
        this.buffer = "";
        this.overflow = false;
        this.enqueue(line, overflow);
      } else if (byte === LF) {
        // hosts often end lines with \r\n: the \n starts no command
      } else if (byte === BACKSPACE) {
        this.buffer = this.buffer.slice(0, -1);
      } else if (this.buffer.length >= MAX_COMMAND_LINE) {
        this.overflow = true;
      } else {
        this.buffer += String.fromCharCode(byte);
      }
    }
  }

  private enqueue(line: string, overflow: boolean): void {
    if (line.trim().length === 0 && !overflow) return;
    this.received.push(line);
    if (this.received.length > RECEIVED_KEPT) this.received.splice(0, this.received.length - RECEIVED_KEPT);
    this.queue = this.queue.then(() => this.execute(line, overflow)).catch(() => undefined);
  }

  // ── execution ──

  private async execute(line: string, overflow: boolean): Promise<void> {
    if (!this.attached) return;
    if (this.state.echo) await this.send(`${line}\r`);
    const parsed = overflow ? ({ kind: "invalid" } as const) : parseCommandLine(line);
    if (parsed.kind === "ignored") return;
    if (this.state.slowMs > 0) await this.sleep(this.state.slowMs);
    if (parsed.kind === "invalid") return this.send("\r\nERROR\r\n");
    let out = "";
    for (const command of parsed.commands) {
      const result = await this.settle(await this.dispatch(command, line));
      if ("timeout" in result) return this.send(out);
      if ("garble" in result) {
        await this.send(out);
        return this.send(result.garble);
      }
      if ("error" in result) return this.send(`${out}\r\n${cmeErrorLine(result.error, this.state.cmee)}\r\n`);
      if (result.reply.length > 0) out += `\r\n${result.reply.join("\r\n")}\r\n`;
      const final = result.final === undefined ? "OK" : result.final;
      if (final === null) return this.send(out);
      if (final !== "OK") return this.send(`${out}\r\n${final}\r\n`);
    }
    await this.send(`${out}\r\nOK\r\n`);
  }

  private async dispatch(command: string, line: string): Promise<BehaviourResult> {
    const candidates: { behaviour: ModemBehaviour; override?: Override }[] = [
      ...this.overrides.map((override) => ({ behaviour: override.behaviour, override })),
      ...this.table.map((behaviour) => ({ behaviour })),
    ];
    for (const { behaviour, override } of candidates) {
      if (override !== undefined && behaviour.times !== undefined && override.used >= behaviour.times) continue;
      let match: RegExpExecArray | undefined;
      if (typeof behaviour.command === "string") {
        if (behaviour.command.toUpperCase() !== command) continue;
      } else {
        behaviour.command.lastIndex = 0;
        const m = behaviour.command.exec(command);
        if (m === null) continue;
        match = m;
      }
      let result: BehaviourResult | undefined;
      try {
        result = await behaviour.respond({
          command,
          line,
          match,
          params: commandParams(command),
          state: this.state,
          modem: this,
        });
      } catch (error) {
        this.options.onBehaviourError?.(error, command);
        return { reply: [], final: "ERROR" };
      }
      if (result === undefined) continue;
      if (override !== undefined) override.used++;
      return result;
    }
    return { reply: [], final: "ERROR" }; // unknown command
  }

  private async settle(result: BehaviourResult): Promise<Settled> {
    let current = result;
    while ("delayMs" in current) {
      await this.sleep(current.delayMs);
      current = current.then;
    }
    return current;
  }

  // ── output ──

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? bytesOf(data) : data;
    if (bytes.length === 0 || !this.attached || this.state.silent || !this.link.isOpen) return;
    this.options.onTraffic?.("out", bytes);
    try {
      await this.link.write(bytes);
    } catch {
      // the host side went away mid-answer; the link's close handler detaches the modem
    }
  }
}

/** The text of raw bytes as the modem reads them (latin1, one char per byte), for logs. */
export function trafficText(bytes: Uint8Array): string {
  return latin1(bytes);
}
