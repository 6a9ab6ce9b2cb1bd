/**
 * The factory credentials of a device (issue 7): the {@link FactoryRecord} the station burnt and the lock flag, kept
 * under ONE FlashStore key so that every state change is one atomic `write` or `delete`. A power cut at any point
 * leaves the previous state or the new one (blank, provisioned, locked), never half a record.
 *
 * Flash key `factory.record`, value = envelope (version 1):
 *
 * ```
 * offset size field
 *      0    1 envelope version, 01
 *      1    1 flags: bit 0 = locked; bits 1–7 zero (a reader refuses others)
 *      2    …  the record exactly as `encodeFactoryRecord` wrote it (deterministic CBOR), to the end of the value
 * ```
 *
 * No key = blank. The FlashStore's own record format adds the CRCs and the two slots (docs/storage.md).
 * This class is the mechanism; authorisation (the anchor's signature for unlock and reset) is the responder's job.
 */
import {
  checkFactoryRecord,
  type DeviceFactoryState,
  decodeFactoryRecord,
  encodeFactoryRecord,
  type FactoryErrorCode,
  type FactoryRecord,
  factoryRecordHash,
  TriadkitError,
} from "@triadkit/protocol";
import type { FlashStore } from "../storage/flash-store.js";

/** The FlashStore key of the factory record envelope. */
export const FACTORY_RECORD_KEY = "factory.record";
export const FACTORY_ENVELOPE_VERSION = 1;
const FLAG_LOCKED = 0x01;
const ENVELOPE_HEADER_BYTES = 2;

/** What the flash holds, read in one go (so state, record and hash always agree). */
export interface FactoryCredentialSnapshot {
  readonly state: DeviceFactoryState;
  /** Present unless blank. Holds the secret and the PoP verifier: never log it. */
  readonly record?: FactoryRecord;
  /** SHA-256 of the encoded record (`factoryRecordHash`); present unless blank. */
  readonly recordHash?: Uint8Array;
}

/** A refusal, with the factory protocol's error code; storage failures throw instead (`store.*`). */
export interface FactoryRefusal {
  readonly ok: false;
  readonly code: FactoryErrorCode;
  readonly message: string;
}
export type FactoryStoreResult<T> = ({ readonly ok: true } & T) | FactoryRefusal;

const refuse = (code: FactoryErrorCode, message: string): FactoryRefusal => ({ ok: false, code, message });

/**
 * Encodes the envelope. Throws `config.invalid` when `encodeFactoryRecord` refuses the record.
 */
export function encodeFactoryEnvelope(record: FactoryRecord, locked: boolean): Uint8Array {
  const body = encodeFactoryRecord(record);
  const out = new Uint8Array(ENVELOPE_HEADER_BYTES + body.length);
  out[0] = FACTORY_ENVELOPE_VERSION;
  out[1] = locked ? FLAG_LOCKED : 0;
  out.set(body, ENVELOPE_HEADER_BYTES);
  return out;
}

/**
 * Decodes the envelope. Throws `store.unsupported_version` (a newer envelope or flag bit: newer firmware) or
 * `store.corrupt_record` (anything else that is not an envelope with a valid record).
 */
export function decodeFactoryEnvelope(bytes: Uint8Array): { record: FactoryRecord; locked: boolean } {
  const version = bytes[0];
  if (bytes.length < ENVELOPE_HEADER_BYTES + 1 || version === undefined || version === 0) {
    throw new TriadkitError("store.corrupt_record", "factory record: not an envelope", { key: FACTORY_RECORD_KEY });
  }
  const flags = bytes[1] as number;
  if (version > FACTORY_ENVELOPE_VERSION || (flags & ~FLAG_LOCKED) !== 0) {
    throw new TriadkitError("store.unsupported_version", "factory record: written by newer firmware", {
      key: FACTORY_RECORD_KEY,
      version,
      flags,
    });
  }
  let record: FactoryRecord;
  try {
    record = decodeFactoryRecord(bytes.subarray(ENVELOPE_HEADER_BYTES));
  } catch (err) {
    throw new TriadkitError(
      "store.corrupt_record",
      "factory record: the record does not decode",
      {
        key: FACTORY_RECORD_KEY,
      },
      { cause: err },
    );
  }
  return { record, locked: (flags & FLAG_LOCKED) !== 0 };
}

/**
 * Why `record` may not be burnt, or `undefined` when it may: the codec's validation (`checkFactoryRecord`: format
 * version, triad, PoP verifier, anchor, ids, `writtenAt`, shelf) plus an anchor key that is not blank (all `00` or
 * all `FF`: an unset key would make the device impossible to rework). The reason names fields, never values.
 */
export function factoryRecordProblem(record: FactoryRecord): string | undefined {
  try {
    checkFactoryRecord(record);
  } catch (err) {
    return err instanceof Error ? err.message : "not a factory record";
  }
  const key = record.anchor.publicKey;
  if (key.every((b) => b === 0) || key.every((b) => b === 0xff)) return "factory record: the anchor key is missing";
  return undefined;
}

/**
 * The factory credentials on a FlashStore. Every method reads the flash afresh (nothing cached), so after a
 * power cut and a reopen of the store a new instance sees exactly what survived.
 */
export class FactoryCredentialStore {
  /** Wraps `store` without reading it (see {@link open}). */
  constructor(readonly store: FlashStore) {}

  /** Wraps `store` and reads it once, so a damaged record is reported here (`store.corrupt_record`, …). */
  static async open(store: FlashStore): Promise<FactoryCredentialStore> {
    const credentials = new FactoryCredentialStore(store);
    await credentials.snapshot();
    return credentials;
  }

  /** State, record and record hash from one read. */
  async snapshot(): Promise<FactoryCredentialSnapshot> {
    const bytes = await this.store.read(FACTORY_RECORD_KEY);
    if (bytes === undefined) return { state: "blank" };
    const { record, locked } = decodeFactoryEnvelope(bytes);
    return { state: locked ? "locked" : "provisioned", record, recordHash: factoryRecordHash(record) };
  }

  async state(): Promise<DeviceFactoryState> {
    return (await this.snapshot()).state;
  }

  /** The record (secret inside: never log it), or `undefined` when blank. */
  async record(): Promise<FactoryRecord | undefined> {
    return (await this.snapshot()).record;
  }

  /**
   * Burns `record` into a blank device (one atomic write, unlocked). Refuses `locked` (locked device),
   * `not_blank` (a different record is held: rework goes through unlock + factory reset), `bad_record`
   * ({@link factoryRecordProblem}, or too large for the store). Writing the record the device already holds, while
   * unlocked, succeeds without touching the flash (`unchanged: true`): a station retrying a write whose answer
   * was lost gets the same answer.
   */
  async write(record: FactoryRecord): Promise<FactoryStoreResult<{ recordHash: Uint8Array; unchanged: boolean }>> {
    const current = await this.snapshot();
    if (current.state === "locked") return refuse("locked", "the device is locked");
    const problem = factoryRecordProblem(record);
    if (problem !== undefined) return refuse("bad_record", problem);
    let envelope: Uint8Array;
    try {
      envelope = encodeFactoryEnvelope(record, false);
    } catch {
      return refuse("bad_record", "the record does not encode");
    }
    const recordHash = factoryRecordHash(record);
    if (current.state === "provisioned") {
      if (current.recordHash !== undefined && equalBytes(current.recordHash, recordHash)) {
        return { ok: true, recordHash, unchanged: true };
      }
      return refuse("not_blank", "the device already holds a different record");
    }
    if (envelope.length > this.store.maxValueBytes)
      return refuse("bad_record", "the record is too large for the flash");
    await this.store.write(FACTORY_RECORD_KEY, envelope);
    return { ok: true, recordHash, unchanged: false };
  }

  /** Locks a provisioned device (one atomic write); `no_record` when blank; a locked device stays locked. */
  async lock(): Promise<FactoryStoreResult<{ state: DeviceFactoryState }>> {
    return this.setLocked(true);
  }

  /**
   * Unlocks (one atomic write); `no_record` when blank. Not authorised here: the caller checks the anchor's
   * signature first (see the factory responder).
   */
  async unlock(): Promise<FactoryStoreResult<{ state: DeviceFactoryState }>> {
    return this.setLocked(false);
  }

  /** Removes the record (one atomic delete): the device is blank again. Authorisation is the caller's. */
  async clear(): Promise<void> {
    await this.store.delete(FACTORY_RECORD_KEY);
  }

  private async setLocked(locked: boolean): Promise<FactoryStoreResult<{ state: DeviceFactoryState }>> {
    const bytes = await this.store.read(FACTORY_RECORD_KEY);
    if (bytes === undefined) return refuse("no_record", "the device holds no record");
    const current = decodeFactoryEnvelope(bytes);
    const target: DeviceFactoryState = locked ? "locked" : "provisioned";
    if (current.locked !== locked) {
      // The same record bytes with the flag changed: the record hash cannot drift.
      const next = Uint8Array.from(bytes);
      next[1] = locked ? FLAG_LOCKED : 0;
      await this.store.write(FACTORY_RECORD_KEY, next);
    }
    return { ok: true, state: target };
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
