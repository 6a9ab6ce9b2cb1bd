/**
 * Types of the virtual modem: its state, its behaviours (how it answers one AT command) and its options.
 *
 * A behaviour is a plain object, as in zwave-js's MockController: `{ command, respond(ctx) }`. The modem asks
 * the newest behaviour first; a test overrides a default answer, or injects a fault, by adding one.
 */
import type { Clock, ModemDialect } from "@triadkit/sdk";

/** Every dialect of the SDK's `ModemDialect`, in the order the docs list them. */
export const MODEM_DIALECTS: readonly ModemDialect[] = ["generic", "quectel", "simcom", "sim800", "ml307"];

/** PIN lock of the inserted card: `ready` (no PIN needed or entered), `pin` (SIM PIN), `puk` (SIM PUK). */
export type SimLock = "ready" | "pin" | "puk";

/** A SIM card the modem can hold. Identifiers are served exactly as given (upper-cased), never validated. */
export interface SimCard {
  /** ICCID, 18–20 characters; hex letters are served as they are. */
  readonly iccid: string;
  readonly imsi: string;
  /** Lock state when the card is inserted (default `ready`). */
  readonly lock?: SimLock;
  /** PIN that `AT+CPIN="<pin>"` accepts (default `1234`; a test value, not a secret). */
  readonly pin?: string;
  /** PUK that `AT+CPIN="<puk>","<new pin>"` accepts (default `12345678`). */
  readonly puk?: string;
}

/** The card slot. */
export interface SimSlot {
  present: boolean;
  /** The card in the slot, or the one last removed (what `insertSim()` without a card puts back). */
  card: Required<SimCard>;
  lock: SimLock;
  /** Wrong PIN entries left before the card asks for its PUK (3 after a good entry). */
  pinAttemptsLeft: number;
}

/** Everything the modem answers from. Behaviours may read and change it (`ctx.state`). */
export interface VirtualModemState {
  readonly dialect: ModemDialect;
  imei: string;
  /** `AT+CGMI`, first `ATI` line on most dialects. */
  manufacturer: string;
  /** `AT+CGMM`. */
  model: string;
  /** `AT+CGMR`. */
  revision: string;
  sim: SimSlot;
  /** CSQ rssi: 0–31, or 99 (unknown). */
  rssi: number;
  /** CSQ bit error rate: 0–7, or 99 (unknown). */
  ber: number;
  /** `ATE1` / `ATE0`. */
  echo: boolean;
  /** `AT+CMEE`: 0 plain `ERROR`, 1 `+CME ERROR: <n>`, 2 `+CME ERROR: <text>`. */
  cmee: 0 | 1 | 2;
  /** Quectel `AT+QSIMSTAT=1`: report SIM insertion and removal with `+QSIMSTAT: 1,<inserted>`. */
  qsimstatUrc: boolean;
  /** Extra delay before every answer (fault `slow(ms)`). */
  slowMs: number;
  /** Fault `silent(true)`: the modem neither echoes, answers nor sends URCs. */
  silent: boolean;
}

/**
 * What a behaviour answers:
 * - `{ reply }`: information lines, each framed `\r\n…\r\n`, then the final result code `final` (default `OK`;
 *   `null` sends none, e.g. when the behaviour sends it later with `modem.sendUrc`);
 * - `{ error: n }`: a CME error, sent as `+CME ERROR: n`, `+CME ERROR: <text>` or `ERROR` according to `AT+CMEE`;
 * - `{ timeout: true }`: no answer at all (the host times out);
 * - `{ garble }`: these raw bytes instead of an answer;
 * - `{ delayMs, then }`: wait (on the modem's clock), then answer `then`.
 */
export type BehaviourResult =
  | { readonly reply: readonly string[]; readonly final?: string | null }
  | { readonly error: number }
  | { readonly timeout: true }
  | { readonly garble: Uint8Array }
  | { readonly delayMs: number; readonly then: BehaviourResult };

/** What a behaviour sees. */
export interface BehaviourContext {
  /** The command, normalised: `AT` prefix, upper case outside quotes, no spaces outside quotes (`AT+CMEE=1`). */
  readonly command: string;
  /** The whole command line as received (one line may hold several commands: `AT+CMEE=1;+CGSN`). */
  readonly line: string;
  /** The match when the behaviour's `command` is a RegExp. */
  readonly match: RegExpExecArray | undefined;
  /** Parameters after `=`, split on commas outside quotes, quotes removed (`AT+CPIN="1234"` → `["1234"]`). */
  readonly params: readonly string[];
  readonly state: VirtualModemState;
  /** The modem, for faults (`ctx.modem.removeSim()`, `ctx.modem.sendUrc(…)`). */
  readonly modem: VirtualModemHandle;
}

/** The part of the modem a behaviour may drive (the faults API). */
export interface VirtualModemHandle {
  sendUrc(line: string): Promise<void>;
  injectGarbage(bytes: Uint8Array): Promise<void>;
  removeSim(): Promise<void>;
  insertSim(card?: SimCard): Promise<void>;
  swapSim(card: SimCard, options?: { gapMs?: number }): Promise<void>;
  setSignal(rssi: number, ber?: number): void;
  slow(ms: number): void;
  silent(on?: boolean): void;
  /** What `ATZ` and `AT&F` do: echo and CMEE back to the modem's initial settings, QSIMSTAT reports off. */
  restoreSettings(): void;
}

/** How the modem answers one AT command. */
export interface ModemBehaviour {
  /**
   * Which commands: a string matches the normalised command exactly (case-insensitive, e.g. `"AT+CGSN"`,
   * `"AT+CPIN?"`); a RegExp is tested against it (e.g. `/^AT\+CPIN=/`).
   */
  readonly command: string | RegExp;
  /** The answer, or `undefined` to let the next (older) behaviour answer. May be async. */
  respond(ctx: BehaviourContext): BehaviourResult | undefined | Promise<BehaviourResult | undefined>;
  /** Answer this many times, then step aside (default: always). Handy for a one-off fault. */
  readonly times?: number;
}

/** Direction of logged traffic: `in` = host → modem, `out` = modem → host. */
export type TrafficDirection = "in" | "out";

export interface VirtualModemOptions {
  readonly dialect: ModemDialect;
  readonly imei: string;
  readonly iccid: string;
  readonly imsi: string;
  /** Whether the card is in the slot at power-on (default true). */
  readonly simPresent?: boolean;
  /** Lock state of the card at power-on (default `ready`). */
  readonly simLock?: SimLock;
  readonly simPin?: string;
  readonly simPuk?: string;
  /** CSQ rssi (default 20 ≈ −73 dBm). */
  readonly csq?: number;
  /** CSQ ber (default 99). */
  readonly ber?: number;
  /** Defaults per dialect (see `DIALECT_PROFILES`). */
  readonly manufacturer?: string;
  readonly model?: string;
  readonly revision?: string;
  /** Echo at power-on (default true, as V.250 modems start). */
  readonly echo?: boolean;
  /** AT+CMEE at power-on (default 1). */
  readonly cmee?: 0 | 1 | 2;
  /** Quectel QSIMSTAT reports at power-on (default false: the host enables them with `AT+QSIMSTAT=1`). */
  readonly qsimstatUrc?: boolean;
  /** Overrides present from the start; the first one is asked first (as with `addBehaviour`). */
  readonly behaviours?: readonly ModemBehaviour[];
  /** Clock for delays and `slow` (default: the system clock). */
  readonly clock?: Clock;
  /** Every byte in and out, e.g. for `--verbose` logging. */
  readonly onTraffic?: (direction: TrafficDirection, data: Uint8Array) => void;
  /** A behaviour threw (the modem answered `ERROR`). Default: ignored. */
  readonly onBehaviourError?: (error: unknown, command: string) => void;
}
