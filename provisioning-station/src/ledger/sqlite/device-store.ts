/**
 * Schema v2 in SQLite: device links (which chip a triad went to, with its sealed PoP) and the pool's factory
 * anchor. Writers are called inside the ledger's write transactions.
 */
import { TriadkitError, toHex } from "@triadkit/protocol";
import type Database from "better-sqlite3";
import type { AuditDetails, AuditEvent } from "../../audit/types.js";
import { describeIdentity } from "../identity.js";
import type {
  DeviceLink,
  DeviceLinkStatus,
  FactoryAnchorRecord,
  NewDeviceLink,
  Resealer,
  TriadRecord,
} from "../types.js";

export interface LinkRow {
  triad_id: string;
  chip_id: string;
  wifi_mac: string;
  ble_mac: string | null;
  model: string;
  firmware: string;
  fixture: string | null;
  station_id: string;
  record_hash: Buffer;
  written_at: number;
  sealed_pop: Buffer;
  pop_salt: Buffer;
  imei: string | null;
  iccid: string | null;
  imsi: string | null;
  status: DeviceLinkStatus;
  linked_at: number;
  updated_at: number;
}

const u8 = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength).slice();
const CHIP_ID = /^[0-9a-f]{1,64}$/;
const MAC = /^[0-9a-f]{12}$/;
const TEXT = /^[\x20-\x7e]{1,64}$/;

export function linkFromRow(r: LinkRow): DeviceLink {
  const modem = {
    ...(r.imei === null ? {} : { imei: r.imei }),
    ...(r.iccid === null ? {} : { iccid: r.iccid }),
    ...(r.imsi === null ? {} : { imsi: r.imsi }),
  };
  return {
    triadId: r.triad_id,
    chipId: r.chip_id,
    wifiMac: r.wifi_mac,
    ...(r.ble_mac === null ? {} : { bleMac: r.ble_mac }),
    model: r.model,
    firmware: r.firmware,
    ...(r.fixture === null ? {} : { fixture: r.fixture }),
    stationId: r.station_id,
    recordHash: u8(r.record_hash),
    writtenAt: r.written_at,
    ...(Object.keys(modem).length === 0 ? {} : { modem }),
    sealedPop: u8(r.sealed_pop),
    popSalt: u8(r.pop_salt),
    status: r.status,
    linkedAt: r.linked_at,
    updatedAt: r.updated_at,
  };
}

/** Refuses a link whose fields a device could not have reported (`config.invalid`, naming the field). */
export function checkNewLink(link: NewDeviceLink): void {
  const bad = (field: string, why: string): never => {
    throw new TriadkitError("config.invalid", `device link: ${field} ${why}`, { field });
  };
  if (!CHIP_ID.test(link.chipId)) bad("chipId", "must be 1–64 lower-case hex digits");
  if (!MAC.test(link.wifiMac)) bad("wifiMac", "must be 12 lower-case hex digits");
  if (link.bleMac !== undefined && !MAC.test(link.bleMac)) bad("bleMac", "must be 12 lower-case hex digits");
  if (!TEXT.test(link.model)) bad("model", "must be 1–64 printable ASCII characters");
  if (!TEXT.test(link.firmware)) bad("firmware", "must be 1–64 printable ASCII characters");
  if (link.recordHash.length !== 32) bad("recordHash", "must be 32 bytes");
  if (link.popSalt.length !== 16) bad("popSalt", "must be 16 bytes");
  if (!Number.isSafeInteger(link.writtenAt) || link.writtenAt < 0) bad("writtenAt", "must be a time in ms");
}

export function readLink(db: Database.Database, triadId: string): DeviceLink | undefined {
  const row = db.prepare("SELECT * FROM device_links WHERE triad_id = ?").get(triadId) as LinkRow | undefined;
  return row === undefined ? undefined : linkFromRow(row);
}

export function readLinksByChip(db: Database.Database, chipId: string): DeviceLink[] {
  const rows = db
    .prepare("SELECT * FROM device_links WHERE chip_id = ? ORDER BY linked_at, triad_id")
    .all(chipId) as LinkRow[];
  return rows.map(linkFromRow);
}

/** A triad keeps the chip it was linked to (linking it again to the same, still active chip replaces the link). */
export function checkRelink(triadId: string, link: NewDeviceLink, existing: DeviceLink | undefined): void {
  if (existing !== undefined && (existing.chipId !== link.chipId || existing.status !== "active")) {
    throw new TriadkitError(
      "factory.record_mismatch",
      `triad ${triadId} is linked to chip ${existing.chipId} (${existing.status}); it is never given to another`,
      { triadId, chipId: link.chipId, linkedChipId: existing.chipId },
    );
  }
}

/** A chip holds one active triad: `otherTriadId` is another triad actively linked to it, if any. */
export function checkChipFree(triadId: string, link: NewDeviceLink, otherTriadId: string | undefined): void {
  if (otherTriadId !== undefined) {
    throw new TriadkitError(
      "factory.record_mismatch",
      `chip ${link.chipId} already has triad ${otherTriadId} in the ledger: rework it before burning another`,
      { triadId, chipId: link.chipId, linkedTriadId: otherTriadId },
    );
  }
}

/**
 * The column values of a link row, in the order triad_id, chip_id, wifi_mac, ble_mac, model, firmware, fixture,
 * station_id, record_hash, written_at, sealed_pop, pop_salt, imei, iccid, imsi, linked_at, updated_at.
 */
export function linkValues(
  triadId: string,
  link: NewDeviceLink,
  stationId: string,
  linkedAt: number,
  now: number,
): unknown[] {
  return [
    triadId,
    link.chipId,
    link.wifiMac,
    link.bleMac ?? null,
    link.model,
    link.firmware,
    link.fixture ?? null,
    stationId,
    Buffer.from(link.recordHash),
    link.writtenAt,
    Buffer.from(link.sealedPop),
    Buffer.from(link.popSalt),
    link.modem?.imei ?? null,
    link.modem?.iccid ?? null,
    link.modem?.imsi ?? null,
    linkedAt,
    now,
  ];
}

/** Inserts or (same chip, still active) replaces the link of a triad. The caller has checked the triad. */
export function storeLink(
  db: Database.Database,
  triadId: string,
  link: NewDeviceLink,
  stationId: string,
  now: number,
): DeviceLink {
  const existing = readLink(db, triadId);
  checkRelink(triadId, link, existing);
  const other = db
    .prepare("SELECT triad_id FROM device_links WHERE chip_id = ? AND status = 'active' AND triad_id <> ?")
    .get(link.chipId, triadId) as { triad_id: string } | undefined;
  checkChipFree(triadId, link, other?.triad_id);
  db.prepare(
    `INSERT OR REPLACE INTO device_links (triad_id, chip_id, wifi_mac, ble_mac, model, firmware, fixture, station_id,
       record_hash, written_at, sealed_pop, pop_salt, imei, iccid, imsi, status, linked_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)`,
  ).run(...linkValues(triadId, link, stationId, existing?.linkedAt ?? now, now));
  return readLink(db, triadId) as DeviceLink;
}

/** The audit entry of a link marked off its device (`setDeviceLinkStatus`). */
export function linkStatusEvent(
  triad: TriadRecord,
  before: DeviceLink,
  status: DeviceLinkStatus,
  reason: string,
  shelf: AuditDetails | undefined,
): AuditEvent {
  return {
    action: "device.link",
    triadId: triad.id,
    identity: describeIdentity(triad.identity),
    details: {
      chipId: before.chipId,
      from: before.status,
      status,
      reason: reason.trim(),
      state: triad.state,
      ...(shelf === undefined ? {} : { shelf }),
    },
  };
}

/** Audit details of a link: identity, never the PoP. */
export function linkDetails(link: NewDeviceLink): Record<string, unknown> {
  return {
    chipId: link.chipId,
    wifiMac: link.wifiMac,
    ...(link.bleMac === undefined ? {} : { bleMac: link.bleMac }),
    model: link.model,
    firmware: link.firmware,
    recordHash: toHex(link.recordHash),
    ...(link.modem === undefined ? {} : { modem: { ...link.modem } }),
  };
}

/** Marks a triad's link (if it has one); returns the chip id it named. */
export function setLinkStatus(
  db: Database.Database,
  triadId: string,
  status: DeviceLinkStatus,
  now: number,
): string | undefined {
  const link = readLink(db, triadId);
  if (link === undefined) return undefined;
  db.prepare("UPDATE device_links SET status = ?, updated_at = ? WHERE triad_id = ?").run(status, now, triadId);
  return link.chipId;
}

export function readAnchor(db: Database.Database): FactoryAnchorRecord | undefined {
  const row = db.prepare("SELECT * FROM factory_anchor WHERE singleton = 1").get() as
    | { public_key: Buffer; sealed_seed: Buffer; created_at: number }
    | undefined;
  return row === undefined
    ? undefined
    : { publicKey: u8(row.public_key), sealedSeed: u8(row.sealed_seed), createdAt: row.created_at };
}

export function insertAnchor(db: Database.Database, anchor: FactoryAnchorRecord): boolean {
  if (anchor.publicKey.length !== 32) throw new TriadkitError("config.invalid", "the anchor public key is 32 bytes");
  if (readAnchor(db) !== undefined) return false;
  db.prepare("INSERT INTO factory_anchor (singleton, public_key, sealed_seed, created_at) VALUES (1, ?, ?, ?)").run(
    Buffer.from(anchor.publicKey),
    Buffer.from(anchor.sealedSeed),
    anchor.createdAt,
  );
  return true;
}

/** Re-seals every PoP and the anchor seed (inside the rekey transaction); returns the PoPs re-sealed. */
export function resealDeviceSecrets(db: Database.Database, reseal: Resealer): number {
  const page = db.prepare(
    "SELECT triad_id, sealed_pop FROM device_links WHERE triad_id > ? ORDER BY triad_id LIMIT 1000",
  );
  const update = db.prepare("UPDATE device_links SET sealed_pop = ? WHERE triad_id = ?");
  let count = 0;
  for (let after = ""; ; ) {
    const rows = page.all(after) as { triad_id: string; sealed_pop: Buffer }[];
    for (const r of rows) {
      update.run(Buffer.from(reseal.pop(r.triad_id, u8(r.sealed_pop))), r.triad_id);
      count++;
      after = r.triad_id;
    }
    if (rows.length < 1000) break;
  }
  const anchor = readAnchor(db);
  if (anchor !== undefined) {
    db.prepare("UPDATE factory_anchor SET sealed_seed = ? WHERE singleton = 1").run(
      Buffer.from(reseal.anchorSeed(anchor.sealedSeed)),
    );
  }
  return count;
}
