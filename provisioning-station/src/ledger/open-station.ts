/**
 * Opening a station on a SQLite ledger: resolve and load (or, beside a new database, create) the station key,
 * open the ledger as that station, load the pool keyring (creating the pool's first data key on a new pool).
 */
import { statSync } from "node:fs";
import { CryptoRandom, type Random } from "@triadkit/sdk";
import type { AuditVerification } from "../audit/types.js";
import { verifyAudit } from "../audit/verify.js";
import type { PoolKeyring } from "../keys/pool-keyring.js";
import { grantStation, openPoolKeyring, type RotationResult, rotatePoolKey } from "../keys/pool-keys.js";
import { obtainStationKey, type StationKey } from "../keys/station-key.js";
import { probeLedgerFile } from "./sqlite/schema.js";
import { openSqliteLedger, type SqliteLedger } from "./sqlite/sqlite-ledger.js";
import type { Actor } from "./types.js";

export interface OpenStationOptions {
  readonly dbPath: string;
  /** `--key-file`; else `env.TRIADKIT_STATION_KEY_FILE`; else `<dbPath>.key`. */
  readonly keyFile?: string | undefined;
  /** The environment to read TRIADKIT_STATION_KEY_FILE from (the CLI passes process.env); default none. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly now?: () => number;
  readonly random?: Random;
  /** Recorded for what opening does on a new pool (`station.add`, `keys.create`); default "station". */
  readonly operator?: string;
  /** Station id for a key file created now; default random "st-…". */
  readonly stationId?: string;
  readonly busyTimeoutMs?: number;
  readonly checkpointEvery?: number;
  readonly onHeadError?: (err: unknown) => void;
}

export interface Station {
  readonly ledger: SqliteLedger;
  /** Seals, opens and fingerprints secrets; replaced by `rotateKeys`. */
  readonly keyring: PoolKeyring;
  readonly stationKey: StationKey;
  readonly stationId: string;
  readonly poolId: string;
  readonly keyFile: { readonly path: string; readonly source: "option" | "env" | "default" };
  readonly headFile: string;
  /** What this open created: the CLI warns about a new key file (back it up; it guards this database). */
  readonly created: { readonly database: boolean; readonly keyFile: boolean };
  actor(operator: string, fixture?: string): Actor;
  verifyAudit(): Promise<AuditVerification>;
  rotateKeys(actor: Actor): Promise<RotationResult>;
  /** Grants another station (its key loaded from its key file) this pool's keys. */
  grant(other: StationKey, actor: Actor): Promise<void>;
  close(): Promise<void>;
}

function databaseExists(path: string): boolean {
  try {
    return statSync(path).size > 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

export async function openStation(options: OpenStationOptions): Promise<Station> {
  const now = options.now ?? Date.now;
  const random = options.random ?? new CryptoRandom();
  const exists = databaseExists(options.dbPath);
  if (exists) probeLedgerFile(options.dbPath); // a foreign or too-new file is reported before any key lookup
  const obtained = obtainStationKey({
    dbPath: options.dbPath,
    keyFile: options.keyFile,
    ...(options.env === undefined ? {} : { env: options.env }),
    databaseExists: exists,
    random,
    now,
    ...(options.stationId === undefined ? {} : { stationId: options.stationId }),
  });
  const stationKey = obtained.key;
  const operator = options.operator ?? "station";
  const ledger = await openSqliteLedger({
    path: options.dbPath,
    keys: stationKey,
    now,
    random,
    operator,
    ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }),
    ...(options.checkpointEvery === undefined ? {} : { checkpointEvery: options.checkpointEvery }),
    ...(options.onHeadError === undefined ? {} : { onHeadError: options.onHeadError }),
  });
  const actor = (op: string, fixture?: string): Actor => ({
    stationId: stationKey.stationId,
    operator: op,
    ...(fixture === undefined ? {} : { fixture }),
  });
  let keyring: PoolKeyring;
  try {
    keyring = await openPoolKeyring(ledger, stationKey, actor(operator), { random, now });
  } catch (err) {
    await ledger.close();
    throw err;
  }
  return {
    ledger,
    get keyring() {
      return keyring;
    },
    stationKey,
    stationId: stationKey.stationId,
    poolId: ledger.poolId,
    keyFile: { path: obtained.path, source: obtained.source },
    headFile: ledger.headFile,
    created: { database: !exists, keyFile: obtained.created },
    actor,
    verifyAudit: () => verifyAudit({ source: ledger, keys: stationKey, headFile: ledger.headFile }),
    async rotateKeys(a: Actor) {
      const result = await rotatePoolKey(ledger, keyring, stationKey, a, { random, now });
      keyring = result.keyring;
      return result;
    },
    grant: (other: StationKey, a: Actor) => grantStation(ledger, keyring, other, a, { now }),
    close: () => ledger.close(),
  };
}
