/**
 * `export shelf`: the smart-shelf registration list (brand, store id, device code, device name, the chip and triad
 * identity it went to, status) and, per device, the line the ISV asks for (`isvLine`, seed 001). Written through
 * the shared audited export (../exports/audited-export.ts): an `export` audit entry and a signed checkpoint. No
 * secret is in any field: identities only.
 */
import { describeIdentity } from "../ledger/identity.js";
import { isvLine, type ShelfDevice } from "../ledger/shelf.js";
import type { Ledger } from "../ledger/types.js";

export const SHELF_EXPORT_KIND = "shelf";

/** The fields a `shelf` template may name. */
export const SHELF_FIELDS: Readonly<Record<string, string>> = {
  brand: "品牌: the brand",
  storeId: "门店id: the store id (integer)",
  storeName: "门店名称: the store name, when known",
  deviceCode: "设备id / 设备码: the device code now",
  deviceName: "设备名称: the device name in the console",
  chipId: "the chip id of the board the code was burnt into (empty: not yet)",
  triadId: "the ledger's triad id burnt with it",
  identity: "the triad's public identity (alibaba:<ProductKey>/<DeviceName> or genie:<Product ID>/<MAC>)",
  triadState: "the triad's state (verified, quarantined, …)",
  status: "pending_activation (待激活) or activated",
  activatedAt: "when it was seen online (ISO 8601, UTC)",
  isvLine: "the ISV's line: <品牌>，门店id：<store id>，设备id:<device code>",
};

export interface ShelfExportQuery {
  readonly brand?: string;
  readonly storeId?: number;
  /** Only codes already burnt into a board. */
  readonly assignedOnly?: boolean;
}

/** Every device of the query, in ledger order. */
export async function* shelfDevicesOf(ledger: Ledger, query: ShelfExportQuery): AsyncGenerator<ShelfDevice> {
  for (let afterSeq = 0; ; ) {
    const page = await ledger.listShelfDevices({
      afterSeq,
      limit: 500,
      ...(query.brand === undefined ? {} : { brand: query.brand }),
      ...(query.storeId === undefined ? {} : { storeId: query.storeId }),
      ...(query.assignedOnly === true ? { assigned: true } : {}),
    });
    yield* page;
    if (page.length < 500) return;
    afterSeq = page[page.length - 1]?.seq ?? afterSeq;
  }
}

/** One device's fields, as text. */
export async function shelfExportRow(ledger: Ledger, d: ShelfDevice): Promise<Record<string, string>> {
  const triad = d.triadId === undefined ? undefined : await ledger.getTriad(d.triadId);
  return {
    brand: d.brand,
    storeId: String(d.storeId),
    storeName: d.storeName ?? "",
    deviceCode: d.deviceCode,
    deviceName: d.deviceName ?? "",
    chipId: d.chipId ?? "",
    triadId: d.triadId ?? "",
    identity: triad === undefined ? "" : describeIdentity(triad.identity),
    triadState: triad?.state ?? "",
    status: d.status,
    activatedAt: d.activatedAt === undefined ? "" : new Date(d.activatedAt).toISOString(),
    isvLine: isvLine(d),
  };
}
