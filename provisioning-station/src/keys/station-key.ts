/**
 * The station key file: 32 random bytes of root material and the station id, from which HKDF-SHA256 derives the
 * station's separate keys. It protects copies of the database (secrets, audit MACs); it does not protect against
 * someone holding both the database and this file.
 *
 * File (JSON, mode 0600):
 *   {"format":"triadkit-station-key","version":1,"stationId":"st-…","root":"<64 hex>","createdAt":"<ISO time>"}
 *
 * Derivation: HKDF-SHA256(ikm = root, salt = "triadkit/station/v1:" + stationId, info, 32 bytes) with info
 *   "triadkit/station/wrap/v1"        pool data key wrapping key (AES-256-GCM)
 *   "triadkit/station/audit-mac/v1"   audit chain HMAC-SHA256 key
 *   "triadkit/station/checkpoint/v1"  Ed25519 checkpoint signing seed
 */
import { hkdfSync } from "node:crypto";
import { closeSync, fchmodSync, fsyncSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { ed25519 } from "@noble/curves/ed25519.js";
import { TriadkitError } from "@triadkit/protocol";
import type { Random } from "@triadkit/sdk";
import type { AuditKeys } from "../audit/types.js";

const FORMAT = "triadkit-station-key";
const ROOT_BYTES = 32;
const STATION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const STATION_KEY_ENV = "TRIADKIT_STATION_KEY_FILE";

export interface StationKey extends AuditKeys {
  readonly version: 1;
  readonly stationId: string;
  /** AES-256-GCM key that wraps the pool data key for this station. */
  readonly wrapKey: Uint8Array;
}

function derive(root: Uint8Array, stationId: string, info: string): Uint8Array {
  return new Uint8Array(hkdfSync("sha256", root, `triadkit/station/v1:${stationId}`, info, 32));
}

export function deriveStationKey(stationId: string, root: Uint8Array): StationKey {
  if (!STATION_ID.test(stationId)) {
    throw new TriadkitError("keys.bad_key_file", "station id must be 1–64 letters, digits, '.', '_' or '-'");
  }
  if (root.length !== ROOT_BYTES) {
    throw new TriadkitError("keys.bad_key_file", `station key root material must be ${ROOT_BYTES} bytes`);
  }
  const signingSeed = derive(root, stationId, "triadkit/station/checkpoint/v1");
  return {
    version: 1,
    stationId,
    wrapKey: derive(root, stationId, "triadkit/station/wrap/v1"),
    auditMacKey: derive(root, stationId, "triadkit/station/audit-mac/v1"),
    signingSeed,
    publicKey: ed25519.getPublicKey(signingSeed),
  };
}

export interface CreateStationKeyOptions {
  readonly random: Random;
  readonly now: () => number;
  /** Default: "st-" and 16 random hex digits. */
  readonly stationId?: string;
}

/** Creates a new key file (never overwrites one) with mode 0600 and returns the derived keys. */
export function createStationKeyFile(path: string, options: CreateStationKeyOptions): StationKey {
  const stationId = options.stationId ?? `st-${Buffer.from(options.random.bytes(8)).toString("hex")}`;
  const root = options.random.bytes(ROOT_BYTES);
  const key = deriveStationKey(stationId, root);
  const text = JSON.stringify({
    format: FORMAT,
    version: 1,
    stationId,
    root: Buffer.from(root).toString("hex"),
    createdAt: new Date(options.now()).toISOString(),
  });
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o600);
  } catch (err) {
    throw new TriadkitError("keys.bad_key_file", "cannot create the station key file", {
      path,
      errno: (err as NodeJS.ErrnoException).code,
    });
  }
  try {
    if (process.platform !== "win32") fchmodSync(fd, 0o600);
    writeSync(fd, `${text}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return key;
}

/** Loads a key file; refuses one that group or others can read or write. */
export function loadStationKeyFile(path: string): StationKey {
  let mode: number;
  let text: string;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new TriadkitError("keys.missing_key_file", "the station key file does not exist", { path });
    }
    throw new TriadkitError("keys.bad_key_file", "cannot read the station key file", {
      path,
      errno: (err as NodeJS.ErrnoException).code,
    });
  }
  if (process.platform !== "win32" && (mode & 0o077) !== 0) {
    throw new TriadkitError(
      "keys.bad_key_file",
      `the station key file is accessible to group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`,
      { path },
    );
  }
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new TriadkitError("keys.bad_key_file", "the station key file is not JSON", { path });
  }
  const { format, version, stationId, root } = j;
  if (format !== FORMAT || version !== 1) {
    throw new TriadkitError("keys.bad_key_file", "not a version 1 triadkit station key file", { path });
  }
  if (typeof stationId !== "string" || typeof root !== "string" || !/^[0-9a-f]{64}$/.test(root)) {
    throw new TriadkitError("keys.bad_key_file", "the station key file lacks a station id or 32 bytes of root", {
      path,
    });
  }
  return deriveStationKey(stationId, new Uint8Array(Buffer.from(root, "hex")));
}

export interface KeyFileResolution {
  readonly path: string;
  /** Where the path came from. */
  readonly source: "option" | "env" | "default";
}

/** `--key-file`, else `TRIADKIT_STATION_KEY_FILE`, else `<db path>.key` beside the database. */
export function resolveStationKeyFile(options: {
  readonly keyFile?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly dbPath: string;
}): KeyFileResolution {
  if (options.keyFile !== undefined && options.keyFile !== "") return { path: options.keyFile, source: "option" };
  const fromEnv = options.env?.[STATION_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return { path: fromEnv, source: "env" };
  return { path: `${options.dbPath}.key`, source: "default" };
}

export interface ObtainedStationKey extends KeyFileResolution {
  readonly key: StationKey;
  /** True when the file was created now (the CLI warns: back it up, it guards this database's secrets). */
  readonly created: boolean;
}

/**
 * Resolves and loads the station key. A missing file is created (0600) only when the database is new as well;
 * for an existing ledger it is `keys.missing_key_file`.
 */
export function obtainStationKey(options: {
  readonly keyFile?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly dbPath: string;
  readonly databaseExists: boolean;
  readonly random: Random;
  readonly now: () => number;
  readonly stationId?: string;
}): ObtainedStationKey {
  const where = resolveStationKeyFile(options);
  let exists = true;
  try {
    statSync(where.path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    exists = false;
  }
  if (exists) return { ...where, key: loadStationKeyFile(where.path), created: false };
  if (options.databaseExists) {
    throw new TriadkitError(
      "keys.missing_key_file",
      `no station key file at ${where.path} for an existing ledger: give --key-file or ${STATION_KEY_ENV}`,
      { path: where.path, source: where.source },
    );
  }
  const key = createStationKeyFile(where.path, {
    random: options.random,
    now: options.now,
    ...(options.stationId === undefined ? {} : { stationId: options.stationId }),
  });
  return { ...where, key, created: true };
}
