/**
 * The devices an export reads, from the ledger only: triads in the wanted states (in import order, a page at a time)
 * whose device link is `active`, each with what the device reported at `hello` (the link), its work order and, when a
 * template asks for them, who burnt it and when it was verified (from the audit trail). Never a sealed value: a row is
 * built from public fields only.
 */
import { TriadkitError, toHex } from "@triadkit/protocol";
import { describeIdentity } from "../ledger/identity.js";
import type { DeviceLink, Ledger, TriadRecord, TriadState, WorkOrder } from "../ledger/types.js";
import type { DeviceRow } from "./fields.js";

export interface DeviceQuery {
  /** Only this work order (`ledger.unknown_work_order` when there is none). */
  readonly workOrderId?: string;
  readonly states: readonly TriadState[];
}

/** Who burnt a triad's current record and when it was last verified, from the audit trail. */
export interface BurnFacts {
  readonly operator: (triadId: string, recordHash: string) => string;
  readonly verifiedAt: (triadId: string) => number | undefined;
}

const PAGE = 500;

/** Triads in `query.states` with an active device link, in import order. */
export async function* linkedDevices(
  ledger: Ledger,
  query: DeviceQuery,
): AsyncGenerator<{ readonly triad: TriadRecord; readonly link: DeviceLink; readonly order: WorkOrder }> {
  const orders = new Map((await ledger.listWorkOrders()).map((o) => [o.id, o]));
  if (query.workOrderId !== undefined && !orders.has(query.workOrderId)) {
    throw new TriadkitError("ledger.unknown_work_order", `no work order ${query.workOrderId}`, {
      workOrderId: query.workOrderId,
    });
  }
  let afterId: string | undefined;
  for (;;) {
    const page = await ledger.listTriads({
      ...(query.workOrderId === undefined ? {} : { workOrderId: query.workOrderId }),
      states: query.states,
      ...(afterId === undefined ? {} : { afterId }),
      limit: PAGE,
    });
    for (const triad of page) {
      afterId = triad.id;
      const link = await ledger.deviceLink(triad.id);
      if (link === undefined || link.status !== "active") continue;
      const order = orders.get(triad.workOrderId);
      if (order === undefined) continue; // a triad always has its work order; never export a half row
      yield { triad, link, order };
    }
    if (page.length < PAGE) return;
  }
}

/**
 * Reads every station's audit chain once: the operator of each `device.link` entry that linked a record (by triad and
 * record hash) and the time of each triad's last `verify`. Memory grows with the links in the trail (a few dozen bytes
 * each); only the burn report's `operator` and `verifiedAt` fields need it.
 */
export async function readBurnFacts(ledger: Ledger): Promise<BurnFacts> {
  const linkedBy = new Map<string, string>(); // `${triadId}/${recordHash}` → operator
  const verified = new Map<string, number>();
  for (const station of await ledger.stations()) {
    let after = 0;
    for (;;) {
      const entries = await ledger.auditEntries(station.stationId, after, 1000);
      for (const e of entries) {
        after = e.seq;
        if (e.triadId === "") continue;
        if (e.action === "verify") {
          verified.set(e.triadId, Math.max(e.time, verified.get(e.triadId) ?? 0));
        } else if (e.action === "device.link") {
          const hash = recordHashOf(e.details);
          if (hash !== undefined) linkedBy.set(`${e.triadId}/${hash}`, e.operator);
        }
      }
      if (entries.length < 1000) break;
    }
  }
  return {
    operator: (triadId, recordHash) => linkedBy.get(`${triadId}/${recordHash}`) ?? "",
    verifiedAt: (triadId) => verified.get(triadId),
  };
}

function recordHashOf(details: string): string | undefined {
  if (!details.includes('"recordHash"')) return undefined;
  try {
    const parsed = JSON.parse(details) as { recordHash?: unknown };
    return typeof parsed.recordHash === "string" ? parsed.recordHash : undefined;
  } catch {
    return undefined;
  }
}

const iso = (ms: number | undefined) => (ms === undefined ? "" : new Date(ms).toISOString());

/** One device as text fields (see ./fields.ts). The triad's sealed secret and the link's sealed PoP are not read. */
export function deviceRow(triad: TriadRecord, link: DeviceLink, order: WorkOrder, facts?: BurnFacts): DeviceRow {
  const id = triad.identity;
  const recordHash = toHex(link.recordHash);
  return {
    imei: link.modem?.imei ?? "",
    iccid: link.modem?.iccid ?? "",
    imsi: link.modem?.imsi ?? "",
    chipId: link.chipId,
    wifiMac: link.wifiMac,
    bleMac: link.bleMac ?? "",
    model: link.model,
    firmware: link.firmware,
    workOrderId: triad.workOrderId,
    brand: order.brand ?? "",
    line: order.line ?? "",
    product: order.product,
    family: id.family,
    productKey: id.family === "alibaba" ? id.productKey : "",
    deviceName: id.family === "alibaba" ? id.deviceName : "",
    productId: id.family === "genie" ? String(id.productId) : "",
    triadMac: id.family === "genie" ? id.mac : "",
    triadBleMac: id.family === "genie" ? (id.bleMac ?? "") : "",
    identity: describeIdentity(id),
    triadId: triad.id,
    state: triad.state,
    linkStatus: link.status,
    fixture: link.fixture ?? "",
    stationId: link.stationId,
    operator: facts?.operator(triad.id, recordHash) ?? "",
    burntAt: iso(link.writtenAt),
    verifiedAt: iso(facts?.verifiedAt(triad.id)),
    recordHash,
    problems: "",
  };
}
