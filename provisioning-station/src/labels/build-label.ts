/**
 * One device's label, built from the ledger: identity, the PoP (unsealed through the pool keyring; device label
 * only) and the smart-shelf device code. Only for a device whose triad is `verified` or `registered` and whose
 * device link is active: a label printed before the device holds a verified triad could end up on a board that is
 * reworked or scrapped (`label.not_verified`).
 */
import {
  encodeLabelPayload,
  type LabelIdentity,
  type LabelKind,
  type LabelPayload,
  labelTextLines,
  TriadkitError,
} from "@triadkit/protocol";
import type { PoolKeyring } from "../keys/pool-keyring.js";
import { describeIdentity } from "../ledger/identity.js";
import type { DeviceLink, Ledger, TriadIdentity, TriadRecord } from "../ledger/types.js";

/** Which device: by its chip (what the fixture reads) or by its triad id. */
export type LabelTarget = { readonly chipId: string } | { readonly triadId: string };

/** States a device may have a label printed in. */
export const LABEL_STATES = ["verified", "registered"] as const;

/** A built label. `payload` and `lines` of a device label hold the PoP: never log, audit or echo them. */
export interface Label {
  readonly kind: LabelKind;
  readonly triadId: string;
  readonly chipId: string;
  /** Public identity as text (describeIdentity), for audit entries. */
  readonly identity: string;
  readonly shelfCode?: string;
  /** The QR code's text (protocol `encodeLabelPayload`). */
  readonly payload: string;
  /** The human-readable lines beside the QR. */
  readonly lines: readonly string[];
}

export function labelIdentity(identity: TriadIdentity): LabelIdentity {
  return identity.family === "alibaba"
    ? { family: "alibaba", productKey: identity.productKey, deviceName: identity.deviceName }
    : { family: "genie", productId: identity.productId, mac: identity.mac.toLowerCase() };
}

/** The triad and its active link for a target; `ledger.unknown_triad` when the chip or triad has no link at all. */
export async function findLabelDevice(
  ledger: Ledger,
  target: LabelTarget,
): Promise<{ triad: TriadRecord; link: DeviceLink }> {
  let link: DeviceLink | undefined;
  if ("chipId" in target) {
    const links = await ledger.deviceLinksByChip(target.chipId.toLowerCase());
    link = links.find((l) => l.status === "active") ?? links.at(-1);
  } else {
    link = await ledger.deviceLink(target.triadId);
  }
  const triad = link === undefined ? undefined : await ledger.getTriad(link.triadId);
  if (link === undefined || triad === undefined) {
    throw new TriadkitError("ledger.unknown_triad", "no device in the ledger for this chip or triad", { ...target });
  }
  return { triad, link };
}

/** Builds the label, refusing (`label.not_verified`) unless the triad is verified/registered and linked. */
export async function buildLabel(
  ledger: Ledger,
  keyring: PoolKeyring,
  target: LabelTarget,
  kind: LabelKind,
): Promise<Label> {
  const { triad, link } = await findLabelDevice(ledger, target);
  if (!(LABEL_STATES as readonly string[]).includes(triad.state) || link.status !== "active") {
    throw new TriadkitError(
      "label.not_verified",
      `no label before the device is verified: triad ${triad.id} is ${triad.state}, its device link ${link.status}`,
      { triadId: triad.id, state: triad.state, linkStatus: link.status },
    );
  }
  const shelf = await ledger.shelfDeviceOfChip(link.chipId);
  const shelfCode = shelf !== undefined && (shelf.triadId ?? triad.id) === triad.id ? shelf.deviceCode : undefined;
  const identity = labelIdentity(triad.identity);
  const code = shelfCode === undefined ? {} : { shelfCode };
  const payload: LabelPayload =
    kind === "device"
      ? { kind, identity, pop: keyring.openPop(triad.id, link.sealedPop), ...code }
      : { kind, identity, ...code };
  return {
    kind,
    triadId: triad.id,
    chipId: link.chipId,
    identity: describeIdentity(triad.identity),
    ...code,
    payload: encodeLabelPayload(payload),
    lines: labelTextLines(payload),
  };
}
