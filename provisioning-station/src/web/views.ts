/**
 * What the web API returns about ledger records: public fields only. A TriadRecord carries its sealed secret and a
 * DeviceLink its sealed PoP; neither is ever put in a response, so every record goes through one of these.
 */
import { isTriadkitError } from "@triadkit/protocol";
import { describeIdentity } from "../ledger/identity.js";
import type { ShelfDevice } from "../ledger/shelf.js";
import type { DeviceLink, TriadRecord, WorkOrder } from "../ledger/types.js";

export function triadView(t: TriadRecord, link?: DeviceLink) {
  return {
    id: t.id,
    workOrderId: t.workOrderId,
    identity: describeIdentity(t.identity),
    state: t.state,
    reason: t.reason ?? null,
    updatedAt: t.updatedAt,
    sourceRow: t.sourceRow,
    fixture: t.holder?.fixture ?? null,
    chipId: link?.chipId ?? null,
    linkStatus: link?.status ?? null,
  };
}

export function orderView(o: WorkOrder) {
  return {
    id: o.id,
    product: o.product,
    model: o.model,
    minFirmware: o.minFirmware,
    family: o.family,
    quantity: o.quantity ?? null,
    line: o.line ?? null,
    brand: o.brand ?? null,
    createdAt: o.createdAt,
  };
}

export function shelfView(d: ShelfDevice) {
  return {
    deviceCode: d.deviceCode,
    brand: d.brand,
    storeId: d.storeId,
    storeName: d.storeName ?? null,
    deviceName: d.deviceName ?? null,
    status: d.status,
    chipId: d.chipId ?? null,
    triadId: d.triadId ?? null,
    assignedAt: d.assignedAt ?? null,
    activatedAt: d.activatedAt ?? null,
  };
}

/** `{ ok: false, error: { code, message } }` and the HTTP status for an error. */
export function errorView(err: unknown): {
  status: number;
  body: { ok: false; error: { code: string; message: string } };
} {
  if (isTriadkitError(err)) {
    const status =
      err.code === "web.bad_request" || err.code.startsWith("import.") || err.code === "ledger.bad_transition"
        ? 400
        : err.code === "ledger.unknown_work_order" ||
            err.code === "ledger.unknown_triad" ||
            err.code === "station.unknown_device"
          ? 404
          : err.code === "web.burn_running" ||
              err.code === "station.fixture_locked" ||
              err.code === "export.file_exists"
            ? 409
            : 422;
    return { status, body: { ok: false, error: { code: err.code, message: err.message } } };
  }
  return {
    status: 500,
    body: {
      ok: false,
      error: { code: "internal.unexpected", message: err instanceof Error ? err.message : String(err) },
    },
  };
}
