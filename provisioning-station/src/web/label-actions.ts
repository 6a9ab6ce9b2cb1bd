/**
 * The web UI's label actions, over the labels module: a label scanned back on the burn page is checked against the
 * board on a fixture whose tile holds the label's identity (`checkLabelScan`, audited), and a label is reprinted
 * for a chip to the printer `serve --printer` names (`printLabel`, audited with its reason). Neither answer carries
 * the label's payload or PoP.
 */
import { isTriadkitError, parseLabelPayload, TriadkitError } from "@triadkit/protocol";
import type { PoolKeyring } from "../keys/pool-keyring.js";
import {
  checkLabelScan,
  labelIdentity,
  type PrinterAddress,
  type PrintLabelResult,
  printLabel,
} from "../labels/index.js";
import type { Actor, Ledger } from "../ledger/types.js";
import type { FixtureTile } from "./burn-supervisor.js";
import { webMessage } from "./messages.js";
import type { ScanAnswer } from "./scan.js";

export interface LabelActionDeps {
  readonly ledger: Ledger;
  readonly keyring: PoolKeyring;
  readonly actor: () => Actor;
  /** The burn page's tiles: the boards on the fixtures now. */
  readonly tiles: () => readonly FixtureTile[];
}

function failed(err: unknown): ScanAnswer {
  if (!isTriadkitError(err)) throw err;
  return { kind: "label", ok: false, code: err.code, message: err.message };
}

/** The scan handler for a label scanned back (any text that is not an IMEI, a MAC or a known shelf code). */
export function labelScanHandler(deps: LabelActionDeps): (text: string) => Promise<ScanAnswer> {
  return async (text) => {
    let identity: string;
    let kind: "device" | "carton";
    try {
      const payload = parseLabelPayload(text);
      identity = JSON.stringify(payload.identity);
      kind = payload.kind;
    } catch (err) {
      return failed(err);
    }
    for (const tile of deps.tiles()) {
      if (tile.state !== "pass" || tile.chipId === undefined || tile.triad === undefined) continue;
      const triad = await deps.ledger.getTriad(tile.triad.id);
      if (triad === undefined || JSON.stringify(labelIdentity(triad.identity)) !== identity) continue;
      try {
        const r = await checkLabelScan(deps.ledger, deps.keyring, deps.actor(), tile.chipId, text, { kind });
        const details = { fixture: tile.fixture, chipId: r.chipId, identity: r.identity, auditSeq: r.auditSeq };
        const key = kind === "carton" ? "scan.cartonLabel" : "scan.deviceLabel";
        return { kind: "label", ok: true, ...webMessage(key, details), details };
      } catch (err) {
        return failed(err);
      }
    }
    return {
      kind: "label",
      ok: false,
      code: "label.scan_mismatch",
      ...webMessage("scan.labelNoBoard", {}),
    };
  };
}

/** Prints (or, with a reason, reprints) a chip's device label on the configured printer. */
export async function printDeviceLabel(
  deps: LabelActionDeps,
  printer: PrinterAddress | undefined,
  chipId: string,
  reason: string | undefined,
): Promise<PrintLabelResult> {
  if (printer === undefined) {
    throw new TriadkitError("web.not_available", "no label printer: start serve with --printer <host[:port]>", {
      kind: "label",
    });
  }
  return printLabel(
    deps.ledger,
    deps.keyring,
    deps.actor(),
    { chipId },
    {
      kind: "device",
      format: "zpl",
      destination: { printer },
      ...(reason === undefined || reason.trim() === "" ? {} : { reprintReason: reason }),
    },
  );
}
