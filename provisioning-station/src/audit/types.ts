/**
 * The audit trail's shapes. One append-only chain per station: entry `seq` n carries the MAC of entry n−1
 * (`prevMac`), and its own MAC is HMAC-SHA256 under the station's audit key over every field (see ./encoding.ts).
 * Signed checkpoints bind (station id, seq, head MAC, time) with the station's Ed25519 key; the same signed record,
 * kept in a file outside the database, is the head counter that makes a deleted tail visible.
 */

/** What happened. Later parts add their own (rework, scrap, reconcile, …). */
export type AuditAction =
  | "work_order.add"
  | "import"
  | "import.rejected"
  | "reserve"
  | "write"
  | "verify"
  | "register"
  | "quarantine"
  | "void"
  | "release"
  | "export"
  | "report"
  | "keys.create"
  | "keys.rotate"
  | "keys.grant"
  | "keys.revoke"
  | "station.add"
  | "device.link"
  | "anchor.create"
  | "rework"
  | "audit.accept_head"
  | "shelf.import"
  | "shelf.assign"
  | "shelf.activate"
  | "shelf.code_change"
  | "shelf.release"
  | "products.import"
  | "products.push"
  | "products.ack"
  | "label.print"
  | "label.reprint"
  | "label.scan";

/** Plain JSON for the `details` of an entry. Never a secret: keys that name one are refused. */
export type AuditDetails = Readonly<Record<string, unknown>>;

/** What a caller asks to record; the ledger adds the actor (station, operator, fixture), seq, time and the MACs. */
export interface AuditEvent {
  readonly action: AuditAction;
  readonly triadId?: string;
  /** Public identity as text (see describeIdentity), never the secret. */
  readonly identity?: string;
  readonly details?: AuditDetails;
}

/** One stored entry, exactly as MACed. Absent optional fields are stored as "". */
export interface AuditEntry {
  readonly stationId: string;
  readonly seq: number;
  /** Milliseconds since the epoch. */
  readonly time: number;
  readonly operator: string;
  readonly fixture: string;
  readonly action: string;
  readonly triadId: string;
  readonly identity: string;
  /** Canonical JSON text (keys sorted); the MAC covers these exact bytes. */
  readonly details: string;
  /** 32 bytes; all zero for seq 1. */
  readonly prevMac: Uint8Array;
  /** 32 bytes: HMAC-SHA256(audit key, encodeAuditEntry(entry)). */
  readonly mac: Uint8Array;
}

/** A signed statement "station S's chain had head MAC M at seq N at time T". */
export interface AuditCheckpoint {
  readonly stationId: string;
  readonly seq: number;
  readonly headMac: Uint8Array;
  readonly time: number;
  /** 64-byte Ed25519 signature over encodeCheckpoint(...). */
  readonly signature: Uint8Array;
}

/** The keys a station uses for its own chain (derived from the station key file, see ../keys). */
export interface AuditKeys {
  readonly stationId: string;
  /** 32-byte HMAC-SHA256 key. */
  readonly auditMacKey: Uint8Array;
  /** 32-byte Ed25519 seed. */
  readonly signingSeed: Uint8Array;
  /** 32-byte Ed25519 public key of signingSeed. */
  readonly publicKey: Uint8Array;
}

export type AuditProblemCode =
  | "audit.entry_modified"
  | "audit.entry_missing"
  | "audit.entry_reordered"
  | "audit.truncated"
  | "audit.bad_checkpoint"
  | "audit.head_missing";

export interface AuditProblem {
  readonly code: AuditProblemCode;
  /** Where: the entry's seq (for a missing range, the first missing seq). */
  readonly seq: number;
  /** For a missing range: the last missing seq. */
  readonly lastSeq?: number;
  readonly message: string;
}

export interface AuditVerification {
  readonly ok: boolean;
  readonly stationId: string;
  /** Entries read from the database for this station. */
  readonly entries: number;
  /** Checkpoints read from the database for this station. */
  readonly checkpoints: number;
  /** Highest seq in the database (0 when empty). */
  readonly lastSeq: number;
  /** The head counter file's seq, when it was readable. */
  readonly headSeq?: number;
  readonly problems: readonly AuditProblem[];
  /** Problems not listed because the list is capped. */
  readonly moreProblems: number;
}

/** Read side of the audit trail, implemented by every ledger backend. */
export interface AuditSource {
  /** Entries of one station's chain with seq > afterSeq, ascending, at most `limit`. */
  auditEntries(stationId: string, afterSeq: number, limit: number): Promise<readonly AuditEntry[]>;
  /** Every checkpoint of one station's chain, ascending by seq. */
  auditCheckpoints(stationId: string): Promise<readonly AuditCheckpoint[]>;
}
