/** Stations and wrapped pool keys in SQLite; called inside the ledger's write transactions. */
import { TriadkitError } from "@triadkit/protocol";
import type Database from "better-sqlite3";
import type { AuditEvent } from "../../audit/types.js";
import type { ResealedSecret, StationRecord, WrappedPoolKey } from "../types.js";

const u8 = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export function readStations(db: Database.Database): StationRecord[] {
  const rows = db.prepare("SELECT * FROM stations ORDER BY created_at, station_id").all() as {
    station_id: string;
    public_key: Buffer;
    created_at: number;
  }[];
  return rows.map((r) => ({ stationId: r.station_id, publicKey: u8(r.public_key), createdAt: r.created_at }));
}

export function readPoolKeys(db: Database.Database): WrappedPoolKey[] {
  const rows = db.prepare("SELECT * FROM pool_keys ORDER BY version, station_id").all() as {
    version: number;
    station_id: string;
    wrapped: Buffer;
    created_at: number;
  }[];
  return rows.map((r) => ({
    version: r.version,
    stationId: r.station_id,
    wrapped: u8(r.wrapped),
    createdAt: r.created_at,
  }));
}

export function latestKeyVersion(db: Database.Database): number {
  return (db.prepare("SELECT coalesce(max(version), 0) AS v FROM pool_keys").get() as { v: number }).v;
}

export function storeWrap(db: Database.Database, w: WrappedPoolKey): void {
  db.prepare("INSERT OR REPLACE INTO pool_keys (version, station_id, wrapped, created_at) VALUES (?, ?, ?, ?)").run(
    w.version,
    w.stationId,
    Buffer.from(w.wrapped),
    w.createdAt,
  );
}

/**
 * Registers a station, or checks that the registered one has this public key (`keys.wrong_key` if not). With
 * `onlyFirst`, a station may register itself only on a pool that has no station yet: others are granted.
 * Returns true when it was inserted now.
 */
export function registerStation(db: Database.Database, station: StationRecord, onlyFirst: boolean): boolean {
  const row = db.prepare("SELECT public_key FROM stations WHERE station_id = ?").get(station.stationId) as
    | { public_key: Buffer }
    | undefined;
  if (row !== undefined) {
    if (!row.public_key.equals(Buffer.from(station.publicKey))) {
      throw new TriadkitError("keys.wrong_key", `another key is registered for station ${station.stationId}`, {
        stationId: station.stationId,
      });
    }
    return false;
  }
  if (onlyFirst && db.prepare("SELECT 1 FROM stations LIMIT 1").get() !== undefined) {
    throw new TriadkitError(
      "keys.wrong_key",
      `station ${station.stationId} is not a member of this pool: another station's key file, or never granted`,
      { stationId: station.stationId },
    );
  }
  db.prepare("INSERT INTO stations (station_id, public_key, created_at) VALUES (?, ?, ?)").run(
    station.stationId,
    Buffer.from(station.publicKey),
    station.createdAt,
  );
  return true;
}

/** Re-seals every stored secret (pages of 1000, inside the caller's transaction); returns how many. */
export function resealAll(
  db: Database.Database,
  reseal: (triadId: string, sealedSecret: Uint8Array) => ResealedSecret,
): number {
  const page = db.prepare("SELECT seq, id, sealed_secret FROM triads WHERE seq > ? ORDER BY seq LIMIT 1000");
  const update = db.prepare("UPDATE triads SET sealed_secret = ?, secret_fp = ? WHERE seq = ?");
  let resealed = 0;
  for (let after = 0; ; ) {
    const rows = page.all(after) as { seq: number; id: string; sealed_secret: Buffer }[];
    for (const r of rows) {
      const s = reseal(r.id, u8(r.sealed_secret));
      update.run(Buffer.from(s.sealedSecret), Buffer.from(s.secretFingerprint, "hex"), r.seq);
      resealed++;
      after = r.seq;
    }
    if (rows.length < 1000) return resealed;
  }
}

/** The first pool key is version 1, wrapped for the station storing it. */
export function checkFirstPoolKey(wrapped: WrappedPoolKey, stationId: string): void {
  if (wrapped.version !== 1 || wrapped.stationId !== stationId) {
    throw new TriadkitError("config.invalid", "the first pool key is version 1, wrapped for this station");
  }
}

/** A rotation stores the next version, wrapped for the rotating station. */
export function checkNextPoolKey(next: WrappedPoolKey, current: number, stationId: string): void {
  if (next.version !== current + 1 || next.stationId !== stationId) {
    throw new TriadkitError("keys.stale_key_version", `the next pool key version must be ${current + 1}`, {
      keyVersion: next.version,
    });
  }
}

/** The `keys.grant` entry; refuses a wrap for another station than the one granted. */
export function grantEvent(station: StationRecord, wrapped: readonly WrappedPoolKey[], line?: string): AuditEvent {
  for (const w of wrapped) {
    if (w.stationId !== station.stationId) throw new TriadkitError("config.invalid", "wrap for another station");
  }
  return {
    action: "keys.grant",
    details: {
      stationId: station.stationId,
      keyVersions: wrapped.map((w) => w.version),
      ...(line === undefined ? {} : { line }),
    },
  };
}

/** The `keys.revoke` entry, after checking the station revoked is another one that holds a wrap. */
export function revokeEvent(stationId: string, self: string, versions: readonly number[]): AuditEvent {
  if (stationId === self) {
    throw new TriadkitError("config.invalid", "a station cannot revoke itself: revoke it from another station", {
      stationId,
    });
  }
  if (versions.length === 0) {
    throw new TriadkitError("keys.wrong_key", `station ${stationId} holds no key of this pool`, { stationId });
  }
  return { action: "keys.revoke", details: { stationId, keyVersions: [...versions] } };
}

/** The stations other than `stationId` holding a wrap before a rotation: they need a new grant after it. */
export function stationsToRegrant(keys: readonly WrappedPoolKey[], stationId: string): string[] {
  return [...new Set(keys.map((w) => w.stationId))].filter((id) => id !== stationId).sort();
}
