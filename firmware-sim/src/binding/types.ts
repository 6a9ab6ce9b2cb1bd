/**
 * The binding monitor's vocabulary: the states a device can be in, the alerts it raises, and what it stores.
 * See docs/binding.md for what each state means to an operator.
 */
import type { DeviceIdentity, ErrorCode, WarningCode } from "@triadkit/protocol";

/**
 * A device's binding state.
 *
 * - `bound`: the reported IMEI, ICCID and IMSI equal one expected binding.
 * - `mismatch`: the device's IMEI is expected with another card (机卡分离).
 * - `card_elsewhere`: the IMEI is not expected, but the card (ICCID or IMSI) is, under another IMEI.
 * - `duplicate_imei`: another device (another productKey/deviceName) reported this IMEI first and still does.
 * - `unregistered`: neither the IMEI nor the card is expected.
 * - `silent`: no heartbeat for `silentAfterIntervals` heartbeat intervals, on the server's clock.
 * - `replayed`: a heartbeat with a sequence number the device already went past (or from a retired epoch).
 * - `sim_removed`: the device reported its SIM gone (`SimRemoved`). Informational: no alert.
 */
export type BindingState =
  | "bound"
  | "mismatch"
  | "card_elsewhere"
  | "duplicate_imei"
  | "unregistered"
  | "silent"
  | "replayed"
  | "sim_removed";

export const BINDING_STATES: readonly BindingState[] = [
  "bound",
  "mismatch",
  "card_elsewhere",
  "duplicate_imei",
  "unregistered",
  "silent",
  "replayed",
  "sim_removed",
];

/** States that raise an alert when a device enters them. */
export const ALERT_STATES: ReadonlySet<BindingState> = new Set<BindingState>([
  "mismatch",
  "card_elsewhere",
  "duplicate_imei",
  "unregistered",
  "silent",
  "replayed",
]);

/** An IMEI with its card. */
export interface SimTriple {
  readonly imei: string;
  readonly iccid: string;
  readonly imsi: string;
}

/** One row of the expected-binding sheet (normalised by protocol's parsers). */
export interface ExpectedBinding extends SimTriple {
  readonly importedAtMs: number;
}

/** What a message told the monitor, before the precedence is applied. */
export type BindingSource = "identity" | "heartbeat" | "changed" | "sim_removed" | "silence";

/** What the monitor knows about one device (productKey/deviceName). Times are server times (ms). */
export interface DeviceBindingState extends DeviceIdentity {
  readonly state: BindingState;
  /** The last accepted report (empty strings when only `SimRemoved` was ever seen). */
  readonly imei: string;
  readonly iccid: string;
  readonly imsi: string;
  readonly modem: string | undefined;
  /** Why the device is in its state, for humans. */
  readonly reason: string;
  readonly stateSinceMs: number;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly lastHeartbeatMs: number | undefined;
  readonly epoch: number | undefined;
  readonly bootId: string | undefined;
  readonly seq: number | undefined;
  /** Set by `SimRemoved`, cleared by the next report that carries a card. */
  readonly simRemovedMs: number | undefined;
  readonly lastIccid: string | undefined;
  /** The card the device reports was suspended by the `suspend` policy. */
  readonly suspended: boolean;
}

/** Why an alert stopped being open. */
export type AlertClosure = "recovered" | "superseded" | "sim_removed" | "forgotten";

/** An alert: one per transition of a device into an alert state (repeats only raise `count`). */
export interface BindingAlert extends DeviceIdentity, SimTriple {
  readonly id: number;
  readonly state: BindingState;
  readonly reason: string;
  /** Which message (or the silence check) raised it. */
  readonly source: BindingSource;
  /** For `mismatch`: the card expected in this IMEI. */
  readonly expected?: SimTriple;
  /** For `mismatch` and `card_elsewhere`: the IMEI the reported card is bound to, when the card is expected. */
  readonly cardBoundImei?: string;
  /** For `duplicate_imei`: the device that reported the IMEI first. */
  readonly otherDevice?: DeviceIdentity;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  /** Messages that confirmed this alert (1 when raised). */
  readonly count: number;
  readonly closedMs?: number;
  readonly closedBy?: AlertClosure;
  /** The `suspend` policy suspended the reported card. */
  readonly suspended?: boolean;
}

/** A device that went back to `bound` from an alert state. */
export interface BindingRecovery extends DeviceIdentity, SimTriple {
  /** The alert that was closed. */
  readonly alertId: number;
  readonly previousState: BindingState;
  readonly recoveredMs: number;
}

/** A card stopped by the `suspend` policy. */
export interface SuspendedCard extends DeviceIdentity {
  readonly iccid: string;
  readonly imei: string;
  readonly reason: string;
  readonly suspendedMs: number;
}

export interface AlertFilter {
  readonly productKey?: string;
  readonly deviceName?: string;
  readonly state?: BindingState;
  /** `true`: only open alerts; `false`: only closed ones. */
  readonly open?: boolean;
  /** Only alerts with a larger id. */
  readonly afterId?: number;
}

export interface BindingDeviceFilter {
  readonly state?: BindingState;
  readonly productKey?: string;
}

/** What handling one message did. */
export interface BindingOutcome {
  /**
   * `duplicate`: a redelivered heartbeat (same epoch, bootId, seq), ignored. `ignored`: nothing to judge
   * (e.g. `SimRemoved` while the SIM was already reported gone). Otherwise the device's state after the message.
   */
  readonly result: BindingState | "duplicate" | "ignored";
  /** The alert raised by this message (a transition into an alert state). */
  readonly alert?: BindingAlert;
  /** The device went back to `bound` from an alert state. */
  readonly recovered?: BindingRecovery;
}

/** Row errors and warnings of an expected-binding import. `message` names the problem and the line. */
export interface ExpectedRowIssue {
  readonly line: number;
  readonly code: ErrorCode | WarningCode;
  readonly message: string;
}

export interface ExpectedImportReport {
  /** Rows added. */
  readonly added: number;
  /** Rows already imported with the same IMEI, ICCID and IMSI (re-importing a sheet is harmless). */
  readonly unchanged: number;
  /** Rows replaced (with `replace: true`): expected bindings that conflicted were removed first. */
  readonly replaced: number;
  readonly errors: readonly ExpectedRowIssue[];
  readonly warnings: readonly ExpectedRowIssue[];
}
