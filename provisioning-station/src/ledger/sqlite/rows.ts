/** Row ↔ record mapping of the SQLite ledger. */
import type { TriadIdentity, TriadRecord, TriadState, WorkOrder } from "../types.js";

export interface TriadRow {
  seq: number;
  id: string;
  work_order_id: string;
  source_row: number;
  family: "alibaba" | "genie";
  product_key: string | null;
  device_name: string | null;
  product_id: number | null;
  mac: string | null;
  ble_mac: string | null;
  md5: string | null;
  sealed_secret: Buffer;
  state: TriadState;
  reason: string | null;
  holder_station: string | null;
  holder_fixture: string | null;
  updated_at: number;
}

export interface WorkOrderRow {
  id: string;
  product: string;
  family: "alibaba" | "genie";
  model: string;
  min_firmware: string;
  quantity: number | null;
  line: string | null;
  brand: string | null;
  created_at: number;
}

export function identityFromRow(r: TriadRow): TriadIdentity {
  if (r.family === "alibaba") {
    return { family: "alibaba", productKey: r.product_key ?? "", deviceName: r.device_name ?? "" };
  }
  return {
    family: "genie",
    productId: r.product_id ?? 0,
    mac: r.mac ?? "",
    ...(r.ble_mac === null ? {} : { bleMac: r.ble_mac }),
    ...(r.md5 === null ? {} : { md5: r.md5 }),
  };
}

/** The identity columns, in the order product_key, device_name, product_id, mac, ble_mac, md5. */
export function identityColumns(identity: TriadIdentity): (string | number | null)[] {
  if (identity.family === "alibaba") return [identity.productKey, identity.deviceName, null, null, null, null];
  const ble = identity.bleMac === undefined || identity.bleMac === "" ? null : identity.bleMac.toLowerCase();
  return [null, null, identity.productId, identity.mac.toLowerCase(), ble, identity.md5 ?? null];
}

export function triadFromRow(r: TriadRow): TriadRecord {
  return {
    id: r.id,
    workOrderId: r.work_order_id,
    identity: identityFromRow(r),
    state: r.state,
    ...(r.reason === null ? {} : { reason: r.reason }),
    sealedSecret: new Uint8Array(r.sealed_secret),
    updatedAt: r.updated_at,
    sourceRow: r.source_row,
    ...(r.holder_station === null
      ? {}
      : {
          holder: {
            stationId: r.holder_station,
            ...(r.holder_fixture === null ? {} : { fixture: r.holder_fixture }),
          },
        }),
  };
}

export function workOrderFromRow(r: WorkOrderRow): WorkOrder {
  return {
    id: r.id,
    product: r.product,
    family: r.family,
    model: r.model,
    minFirmware: r.min_firmware,
    createdAt: r.created_at,
    ...(r.quantity === null ? {} : { quantity: r.quantity }),
    ...(r.line === null ? {} : { line: r.line }),
    ...(r.brand === null ? {} : { brand: r.brand }),
  };
}
