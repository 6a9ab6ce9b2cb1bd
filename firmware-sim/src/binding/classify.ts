/**
 * The binding monitor's judgement, as pure functions: the precedence of the identity states, and the sequence rules
 * of heartbeats (deduplication, replay, factory reset). docs/binding.md states the same rules for operators.
 *
 * Precedence (first match wins, so one message yields one state and at most one alert):
 *
 * | # | state            | when                                                                                  |
 * | - | ---------------- | ------------------------------------------------------------------------------------- |
 * | 1 | `replayed`       | (heartbeats) seq not above the last one of the epoch, or an epoch the device left     |
 * | 2 | `duplicate_imei` | another device reported this IMEI first and still reports it                          |
 * | 3 | `mismatch`       | the IMEI is expected with another ICCID or IMSI (covers "card X belongs elsewhere")   |
 * | 4 | `card_elsewhere` | the IMEI is not expected; the ICCID or IMSI is, under another IMEI                    |
 * | 5 | `unregistered`   | neither the IMEI nor the card is expected                                             |
 * | 6 | `bound`          | IMEI, ICCID and IMSI equal one expected binding                                       |
 *
 * `silent` is not a message verdict: only the silence check sets it, and any accepted heartbeat ends it.
 */
import type { DeviceIdentity } from "@triadkit/protocol";
import type { BindingState, SimTriple } from "./types.js";

/** What the monitor looked up about a reported triple. */
export interface ClassifyFacts {
  /** The expected binding of the reported IMEI. */
  readonly byImei: SimTriple | undefined;
  /** The expected binding of the reported ICCID. */
  readonly byIccid: SimTriple | undefined;
  /** The expected binding of the reported IMSI. */
  readonly byImsi: SimTriple | undefined;
  /** Another device that reported this IMEI before this one and still reports it. */
  readonly imeiHolder: DeviceIdentity | undefined;
}

export interface Classification {
  readonly state: Exclude<BindingState, "silent" | "replayed" | "sim_removed">;
  readonly reason: string;
  readonly expected?: SimTriple;
  readonly cardBoundImei?: string;
  readonly otherDevice?: DeviceIdentity;
}

function differing(reported: SimTriple, expected: SimTriple): string[] {
  const out: string[] = [];
  if (reported.iccid !== expected.iccid) out.push(`ICCID ${reported.iccid} (expected ${expected.iccid})`);
  if (reported.imsi !== expected.imsi) out.push(`IMSI ${reported.imsi} (expected ${expected.imsi})`);
  return out;
}

/** Applies the precedence to one reported triple (already normalised). */
export function classify(reported: SimTriple, facts: ClassifyFacts): Classification {
  const { byImei, imeiHolder } = facts;
  const cardHome = facts.byIccid ?? facts.byImsi;
  const cardBoundImei = cardHome !== undefined && cardHome.imei !== reported.imei ? cardHome.imei : undefined;
  if (imeiHolder !== undefined) {
    return {
      state: "duplicate_imei",
      reason: `IMEI ${reported.imei} is already reported by ${imeiHolder.productKey}/${imeiHolder.deviceName}`,
      otherDevice: { productKey: imeiHolder.productKey, deviceName: imeiHolder.deviceName },
    };
  }
  if (byImei !== undefined) {
    const diff = differing(reported, byImei);
    if (diff.length === 0) return { state: "bound", reason: "IMEI, ICCID and IMSI match the expected binding" };
    const elsewhere = cardBoundImei === undefined ? "" : `; this card is bound to IMEI ${cardBoundImei}`;
    return {
      state: "mismatch",
      reason: `IMEI ${reported.imei} is bound to another card: ${diff.join(", ")}${elsewhere}`,
      expected: { imei: byImei.imei, iccid: byImei.iccid, imsi: byImei.imsi },
      ...(cardBoundImei === undefined ? {} : { cardBoundImei }),
    };
  }
  if (cardHome !== undefined && cardBoundImei !== undefined) {
    const which = facts.byIccid !== undefined ? `ICCID ${reported.iccid}` : `IMSI ${reported.imsi}`;
    return {
      state: "card_elsewhere",
      reason: `${which} is bound to IMEI ${cardBoundImei} but is in unregistered IMEI ${reported.imei}`,
      cardBoundImei,
    };
  }
  return { state: "unregistered", reason: `neither IMEI ${reported.imei} nor ICCID ${reported.iccid} is expected` };
}

/** The last accepted heartbeat position of a device. */
export interface SequencePosition {
  readonly epoch: number;
  readonly bootId: string;
  readonly seq: number;
}

export type SequenceVerdict =
  | { readonly kind: "duplicate" }
  | { readonly kind: "replayed"; readonly reason: string }
  | { readonly kind: "accepted"; readonly newEpoch: boolean };

/**
 * The heartbeat sequence rules:
 *
 * 1. The same (epoch, bootId, seq) as a recent heartbeat: a redelivery (at-least-once), ignored.
 * 2. The current epoch and `seq` not above the last accepted one: `replayed`. Judged across boots: `seq` is
 *    persisted and never repeats within an epoch, so a new bootId does not reset it.
 * 3. An epoch the device already left: `replayed` (a factory reset moves to a new epoch; epochs do not come back).
 * 4. A new epoch: a factory reset. Accepted, whatever its `seq` (counters restart).
 */
export function judgeHeartbeat(
  last: SequencePosition | undefined,
  heartbeat: SequencePosition,
  seen: { readonly recently: boolean; readonly retiredEpoch: boolean },
): SequenceVerdict {
  if (seen.recently) return { kind: "duplicate" };
  if (last === undefined) return { kind: "accepted", newEpoch: true };
  if (heartbeat.epoch === last.epoch) {
    if (heartbeat.seq > last.seq) return { kind: "accepted", newEpoch: false };
    return {
      kind: "replayed",
      reason: `seq ${heartbeat.seq} is not above ${last.seq}, the last seq of epoch ${last.epoch}`,
    };
  }
  if (seen.retiredEpoch) {
    return { kind: "replayed", reason: `epoch ${heartbeat.epoch} was left earlier (the device is in ${last.epoch})` };
  }
  return { kind: "accepted", newEpoch: true };
}
