/**
 * The parts of the smart-shelf store every SQL backend shares: row ↔ record mapping, the all-or-nothing check of an
 * import (given lookups into the ledger), and the refusals the writers raise. The SQL itself is per backend.
 */
import { TriadkitError } from "@triadkit/protocol";
import type { AuditDetails, AuditEvent } from "../audit/types.js";
import {
  checkNewShelfDevice,
  describeShelf,
  type NewShelfDevice,
  type ShelfActivation,
  type ShelfCodeRecord,
  type ShelfCodeSource,
  type ShelfDevice,
  type ShelfImportRow,
  type ShelfRowIssue,
  type ShelfSelector,
  type ShelfSource,
  type ShelfStore,
} from "./shelf.js";
import type { HumanDecision } from "./types.js";

export interface DeviceRow {
  seq: number;
  store_id: number;
  code: string;
  name: string | null;
  status: ShelfDevice["status"];
  chip_id: string | null;
  triad_id: string | null;
  assigned_at: number | null;
  activated_at: number | null;
  evidence: string | null;
  created_at: number;
  updated_at: number;
  brand: string;
  store_name: string | null;
}

export interface CodeRow {
  code: string;
  source: ShelfCodeSource;
  valid_from: number;
  valid_to: number | null;
  note: string | null;
}

export interface StoreRow {
  store_id: number;
  brand: string;
  name: string | null;
  created_at: number;
  updated_at: number;
}

export const SELECT_DEVICE = `SELECT d.*, s.brand AS brand, s.name AS store_name
  FROM shelf_devices d JOIN shelf_stores s ON s.store_id = d.store_id`;

export function deviceFromRow(r: DeviceRow): ShelfDevice {
  return {
    seq: r.seq,
    brand: r.brand,
    storeId: r.store_id,
    ...(r.store_name === null ? {} : { storeName: r.store_name }),
    deviceCode: r.code,
    ...(r.name === null ? {} : { deviceName: r.name }),
    status: r.status,
    ...(r.chip_id === null ? {} : { chipId: r.chip_id }),
    ...(r.triad_id === null ? {} : { triadId: r.triad_id }),
    ...(r.assigned_at === null ? {} : { assignedAt: r.assigned_at }),
    ...(r.activated_at === null ? {} : { activatedAt: r.activated_at }),
    ...(r.evidence === null ? {} : { activation: JSON.parse(r.evidence) as ShelfActivation }),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function codeFromRow(r: CodeRow): ShelfCodeRecord {
  return {
    code: r.code,
    source: r.source,
    validFrom: r.valid_from,
    ...(r.valid_to === null ? {} : { validTo: r.valid_to }),
    ...(r.note === null ? {} : { note: r.note }),
  };
}

export function storeFromRow(r: StoreRow): ShelfStore {
  return {
    storeId: r.store_id,
    brand: r.brand,
    ...(r.name === null ? {} : { name: r.name }),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function selectorText(selector: ShelfSelector): string {
  return "brand" in selector ? `brand ${selector.brand}` : `store ${selector.storeId}`;
}

export function matchesSelector(d: ShelfDevice, selector: ShelfSelector): boolean {
  return "brand" in selector ? d.brand === selector.brand : d.storeId === selector.storeId;
}

type Field = ShelfRowIssue["field"];

function fieldOf(err: TriadkitError): Field {
  const f = String(err.context?.["field"] ?? "");
  if (f === "brand") return "brand";
  if (f === "store id") return "storeId";
  if (f === "store name") return "storeName";
  if (f === "device name") return "deviceName";
  return "deviceCode";
}

/** What the check needs to know of the ledger. */
export interface ShelfLookups {
  codeKnown(code: string): boolean;
  storeBrand(storeId: number): string | undefined;
}

/** The device codes and store ids of the rows that pass the value checks (what a backend prefetches). */
export function shelfRowKeys(rows: readonly ShelfImportRow[]): { codes: string[]; storeIds: number[] } {
  const codes: string[] = [];
  const storeIds: number[] = [];
  for (const r of rows) {
    try {
      const d = checkNewShelfDevice(r);
      codes.push(d.deviceCode);
      storeIds.push(d.storeId);
    } catch {
      // reported by checkShelfImport
    }
  }
  return { codes, storeIds };
}

/** Checks every row against the sheet itself and the ledger; writes nothing. */
export function checkShelfImport(
  rows: readonly ShelfImportRow[],
  ledger: ShelfLookups,
): { issues: ShelfRowIssue[]; good: { row: number; device: NewShelfDevice }[] } {
  const issues: ShelfRowIssue[] = [];
  const good: { row: number; device: NewShelfDevice }[] = [];
  const codeRows = new Map<string, number>();
  const storeBrands = new Map<number, { brand: string; row: number }>();
  for (const r of rows) {
    let device: NewShelfDevice;
    try {
      device = checkNewShelfDevice(r);
    } catch (err) {
      if (!(err instanceof TriadkitError)) throw err;
      const message = err.message.replace(/ \(shelf\.bad_value\)$/, "");
      issues.push({ row: r.row, field: fieldOf(err), code: "shelf.bad_value", message });
      continue;
    }
    let ok = true;
    const first = codeRows.get(device.deviceCode);
    if (first !== undefined) {
      issues.push({
        row: r.row,
        field: "deviceCode",
        code: "shelf.duplicate_code",
        message: `device code ${device.deviceCode} is also on row ${first}`,
      });
      ok = false;
    } else {
      codeRows.set(device.deviceCode, r.row);
      if (ledger.codeKnown(device.deviceCode)) {
        issues.push({
          row: r.row,
          field: "deviceCode",
          code: "shelf.code_exists",
          message: `device code ${device.deviceCode} is already in the ledger (codes are never given to two devices)`,
        });
        ok = false;
      }
    }
    const stored = ledger.storeBrand(device.storeId);
    const seen = storeBrands.get(device.storeId);
    if (stored !== undefined && stored !== device.brand) {
      issues.push({
        row: r.row,
        field: "storeId",
        code: "shelf.store_conflict",
        message: `store ${device.storeId} belongs to brand ${stored} in the ledger, not ${device.brand}`,
      });
      ok = false;
    } else if (seen !== undefined && seen.brand !== device.brand) {
      issues.push({
        row: r.row,
        field: "storeId",
        code: "shelf.store_conflict",
        message: `store ${device.storeId} is given brand ${seen.brand} on row ${seen.row}, not ${device.brand}`,
      });
      ok = false;
    } else if (seen === undefined) {
      storeBrands.set(device.storeId, { brand: device.brand, row: r.row });
    }
    if (ok) good.push({ row: r.row, device });
  }
  return { issues, good };
}

/** The chip already holds a code of another brand or store. */
export function chipAssignedError(chipId: string, held: ShelfDevice, selector: ShelfSelector): TriadkitError {
  return new TriadkitError(
    "shelf.chip_assigned",
    `chip ${chipId} already holds device code ${held.deviceCode} of store ${held.storeId} (brand ${held.brand}), ` +
      `not of ${selectorText(selector)}: release it first (triadkit-station shelf release)`,
    { chipId, deviceCode: held.deviceCode, storeId: held.storeId, brand: held.brand },
  );
}

export function noCodeError(selector: ShelfSelector): TriadkitError {
  return new TriadkitError(
    "shelf.no_code",
    `${selectorText(selector)} has no unassigned device code left: import the brand's next sheet or add codes with \`shelf add\``,
    "brand" in selector ? { brand: selector.brand } : { storeId: selector.storeId },
  );
}

/** `linkDevice` names a shelf device: it must be the one this chip holds (returned). */
export function checkAttach(
  device: ShelfDevice | undefined,
  chipId: string,
  shelf: { readonly storeId: number; readonly deviceCode: string },
): ShelfDevice {
  if (device === undefined || device.deviceCode !== shelf.deviceCode) {
    throw new TriadkitError("shelf.unknown_code", `no shelf device has the current code ${shelf.deviceCode}`, {
      deviceCode: shelf.deviceCode,
    });
  }
  if (device.chipId !== chipId || device.storeId !== shelf.storeId) {
    throw new TriadkitError(
      "shelf.chip_assigned",
      `device code ${shelf.deviceCode} (store ${device.storeId}) is held by ${device.chipId === undefined ? "no chip" : `chip ${device.chipId}`}, ` +
        `not given to chip ${chipId} for store ${shelf.storeId}`,
      { chipId, deviceCode: shelf.deviceCode, storeId: shelf.storeId },
    );
  }
  return device;
}

/** The audit details of attaching the chip's shelf device to the triad being written. */
export function attachDetails(device: ShelfDevice, triadId: string): AuditDetails {
  return {
    brand: device.brand,
    storeId: device.storeId,
    deviceCode: device.deviceCode,
    status: device.status,
    ...(device.triadId === undefined || device.triadId === triadId ? {} : { previousTriadId: device.triadId }),
  };
}

export function unknownCodeError(code: string): TriadkitError {
  return new TriadkitError("shelf.unknown_code", `no shelf device has device code ${code}`, { deviceCode: code });
}

/** The activation evidence as stored (`config.invalid` when it is not usable). */
export function activationEvidence(activation: ShelfActivation): ShelfActivation {
  if (!Number.isSafeInteger(activation.observedAt) || activation.observedAt < 0) {
    throw new TriadkitError("config.invalid", "activation: observedAt must be a time in ms");
  }
  if (activation.source.trim() === "") throw new TriadkitError("config.invalid", "activation: a source is required");
  return {
    source: activation.source,
    observedAt: activation.observedAt,
    ...(activation.details === undefined ? {} : { details: activation.details }),
  };
}

/** A code change names an earlier code of the device, not its current one. */
export function notCurrentCodeError(code: string, device: ShelfDevice): TriadkitError {
  return new TriadkitError(
    "shelf.unknown_code",
    `${code} is an earlier code of the device whose code is now ${device.deviceCode}`,
    { deviceCode: code, current: device.deviceCode },
  );
}

export function codeExistsError(code: string): TriadkitError {
  return new TriadkitError("shelf.code_exists", `device code ${code} is already in the ledger`, { deviceCode: code });
}

/** Why a held code may not go back to the unassigned ones now (undefined: it may). */
export function releaseRefusal(device: ShelfDevice, linkStatus: string | undefined): TriadkitError | undefined {
  if (device.status === "activated") {
    return new TriadkitError(
      "ledger.bad_transition",
      `device code ${device.deviceCode} is activated: it stays with chip ${device.chipId}`,
      { deviceCode: device.deviceCode },
    );
  }
  if (device.triadId !== undefined && linkStatus === "active") {
    return new TriadkitError(
      "ledger.bad_transition",
      `device code ${device.deviceCode} may be on chip ${device.chipId} (triad ${device.triadId} is linked to it): ` +
        "rework it with --revoke, or scrap it, first",
      { deviceCode: device.deviceCode, chipId: device.chipId, triadId: device.triadId },
    );
  }
  return undefined;
}

/** The one audit entry of a shelf import. */
export function shelfImportEvent(
  devices: readonly ShelfDevice[],
  source: ShelfSource,
  newBrands: readonly string[],
  newStores: readonly number[],
): AuditEvent {
  return {
    action: "shelf.import",
    ...(devices.length === 1 ? { identity: describeShelf(devices[0] as ShelfDevice) } : {}),
    details: {
      ...source.details,
      via: source.via,
      ...(source.via === "import" ? { fileName: source.fileName, sha256: source.sha256 } : {}),
      rows: devices.length,
      brands: [...new Set(devices.map((d) => d.brand))].sort(),
      stores: [...new Set(devices.map((d) => d.storeId))].sort((a, b) => a - b),
      newBrands: [...newBrands],
      newStores: [...newStores],
      deviceCodes: devices.map((d) => d.deviceCode),
    },
  };
}

export function shelfAssignEvent(chipId: string, device: ShelfDevice, selector: ShelfSelector): AuditEvent {
  return {
    action: "shelf.assign",
    identity: describeShelf(device),
    details: {
      chipId,
      brand: device.brand,
      storeId: device.storeId,
      deviceCode: device.deviceCode,
      to: selectorText(selector),
    },
  };
}

export function shelfActivateEvent(device: ShelfDevice, evidence: ShelfActivation): AuditEvent {
  return {
    action: "shelf.activate",
    ...(device.triadId === undefined ? {} : { triadId: device.triadId }),
    identity: describeShelf(device),
    details: {
      from: "pending_activation",
      to: "activated",
      storeId: device.storeId,
      deviceCode: device.deviceCode,
      chipId: device.chipId ?? null,
      evidence: { ...evidence },
    },
  };
}

export function shelfCodeChangeEvent(
  device: ShelfDevice,
  after: ShelfDevice,
  code: string,
  newCode: string,
  source: ShelfCodeSource,
  note: string | undefined,
): AuditEvent {
  return {
    action: "shelf.code_change",
    ...(device.triadId === undefined ? {} : { triadId: device.triadId }),
    identity: describeShelf(after),
    details: {
      storeId: device.storeId,
      from: code,
      to: newCode,
      source,
      status: device.status,
      chipId: device.chipId ?? null,
      ...(note === undefined || note === "" ? {} : { note }),
    },
  };
}

export function shelfReleaseEvent(device: ShelfDevice, decision: HumanDecision): AuditEvent {
  return {
    action: "shelf.release",
    ...(device.triadId === undefined ? {} : { triadId: device.triadId }),
    identity: describeShelf(device),
    details: {
      storeId: device.storeId,
      deviceCode: device.deviceCode,
      chipId: device.chipId ?? null,
      humanDecision: { operator: decision.operator.trim(), reason: decision.reason.trim() },
    },
  };
}
