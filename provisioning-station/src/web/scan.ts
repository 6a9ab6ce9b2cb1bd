/**
 * The burn page's scan field (a keyboard-wedge barcode reader types a code and Enter). What was scanned decides
 * where it goes: an IMEI (15 digits) looks up the device whose modem reported it; a MAC (12 hex digits, with or
 * without `:`/`-`) is a BLE burn request; a code the ledger knows as a smart-shelf device code shows that device;
 * anything else is a label scanned back. BLE burning and label scan-back are handler functions given to the server
 * (wired to their modules where this build has them); without one, the answer is `web.not_available`.
 */
import { TriadkitError } from "@triadkit/protocol";
import { linkedDevices } from "../exports/devices.js";
import { describeIdentity } from "../ledger/identity.js";
import type { Ledger } from "../ledger/types.js";
import { type WebMessageKey, type WebMessageParams, webMessage } from "./messages.js";

export type ScanKind = "imei" | "mac" | "shelf" | "label";

/**
 * What the page shows for a scan: ok or an error code, and public facts only. `message` is English; the page shows
 * `messageKey` with `params` in its own language when there is one (./messages).
 */
export interface ScanAnswer {
  readonly kind: ScanKind;
  readonly ok: boolean;
  readonly code?: string;
  readonly message: string;
  readonly messageKey?: WebMessageKey;
  readonly params?: WebMessageParams;
  readonly details?: Readonly<Record<string, string | number | null>>;
}

export interface ScanHandlers {
  /** A scanned BLE MAC (12 lower-case hex digits): burn the board advertising it. */
  readonly bleMac?: (mac: string) => Promise<ScanAnswer>;
  /** A label scanned back (the raw text): check it against the device it was printed for. */
  readonly label?: (text: string) => Promise<ScanAnswer>;
}

export const MAX_SCAN_LENGTH = 512;

export function classifyScan(text: string): { kind: Exclude<ScanKind, "shelf" | "label">; value: string } | undefined {
  const t = text.trim();
  if (/^\d{15}$/.test(t)) return { kind: "imei", value: t };
  if (/^[0-9A-Fa-f]{2}([:-]?[0-9A-Fa-f]{2}){5}$/.test(t)) {
    return { kind: "mac", value: t.replace(/[:-]/g, "").toLowerCase() };
  }
  return undefined;
}

function notAvailable(kind: "mac" | "label"): ScanAnswer {
  const key = kind === "mac" ? "scan.bleNotAvailable" : "scan.labelNotAvailable";
  return { kind, ok: false, code: "web.not_available", ...webMessage(key, {}) };
}

async function byImei(ledger: Ledger, imei: string): Promise<ScanAnswer> {
  // The ledger has no IMEI index: walk the devices with an active link (as the exports do), a page at a time.
  for await (const { triad, link } of linkedDevices(ledger, { states: ["verified", "registered", "quarantined"] })) {
    if (link.modem?.imei !== imei) continue;
    const identity = describeIdentity(triad.identity);
    return {
      kind: "imei",
      ok: true,
      ...webMessage("scan.imei", { imei, chipId: link.chipId, identity, state: triad.state }),
      details: { chipId: link.chipId, triadId: triad.id, identity, state: triad.state },
    };
  }
  return { kind: "imei", ok: false, code: "web.not_available", ...webMessage("scan.imeiUnknown", { imei }) };
}

/** Answers one scan. Never throws for a code it does not know; a bad input is `web.bad_request`. */
export async function answerScan(ledger: Ledger, handlers: ScanHandlers, text: string): Promise<ScanAnswer> {
  const t = text.trim();
  if (t === "" || t.length > MAX_SCAN_LENGTH) {
    throw new TriadkitError("web.bad_request", `a scan is 1–${MAX_SCAN_LENGTH} characters`, { field: "text" });
  }
  const c = classifyScan(t);
  if (c?.kind === "imei") return byImei(ledger, c.value);
  if (c?.kind === "mac") {
    return handlers.bleMac === undefined ? notAvailable("mac") : handlers.bleMac(c.value);
  }
  const shelf = /^[\x21-\x7e]{1,64}$/.test(t) ? await ledger.shelfDevice(t) : undefined;
  if (shelf !== undefined) {
    const details = {
      deviceCode: shelf.deviceCode,
      storeId: shelf.storeId,
      status: shelf.status,
      chipId: shelf.chipId ?? null,
    };
    return { kind: "shelf", ok: true, ...webMessage(shelf.chipId ? "scan.shelfChip" : "scan.shelf", details), details };
  }
  return handlers.label === undefined ? notAvailable("label") : handlers.label(t);
}
