/** Test helpers shared by the ledger contract suite and the SQLite tests: rows with known secrets, a clock. */
import { createHash } from "node:crypto";
import { CryptoRandom } from "@triadkit/sdk";
import type { SecretSealer } from "../../keys/pool-keyring.js";
import { createTriadId } from "../identity.js";
import type { Actor, NewWorkOrder, SealedRow, TriadIdentity } from "../types.js";

export const GENIE_PRODUCT = "4455667";
export const ALIBABA_PRODUCT = "a1B2c3D4e5F";

/** A deterministic secret per tag and index: 32 lower hex (valid for both families). */
export function knownSecret(tag: string, i: number): string {
  return createHash("sha256").update(`secret:${tag}:${i}`).digest("hex").slice(0, 32);
}

/** A unicast, globally administered WiFi MAC per index. */
export function macFor(i: number, prefix = 0x0c): string {
  return (prefix * 2 ** 40 + i).toString(16).padStart(12, "0");
}

export function genieIdentity(i: number, opts: { productId?: number; ble?: string | false } = {}): TriadIdentity {
  const ble = opts.ble === false ? undefined : (opts.ble ?? macFor(i, 0x1c));
  return {
    family: "genie",
    productId: opts.productId ?? Number(GENIE_PRODUCT),
    mac: macFor(i),
    ...(ble === undefined ? {} : { bleMac: ble }),
    md5: createHash("md5").update(`md5:${i}`).digest("hex"),
  };
}

export function alibabaIdentity(i: number, productKey = ALIBABA_PRODUCT): TriadIdentity {
  return { family: "alibaba", productKey, deviceName: `dev_${String(i).padStart(6, "0")}` };
}

const random = new CryptoRandom();

export function sealedRow(
  sealer: SecretSealer,
  identity: TriadIdentity,
  secret: string,
  sourceRow: number,
  id = createTriadId(random),
): SealedRow {
  return {
    id,
    sourceRow,
    identity,
    sealedSecret: sealer.seal(id, secret),
    secretFingerprint: sealer.fingerprint(secret),
  };
}

/** `count` Genie rows from index `from`, secrets knownSecret(tag, i). */
export function genieRows(sealer: SecretSealer, tag: string, from: number, count: number): SealedRow[] {
  const rows: SealedRow[] = [];
  for (let i = from; i < from + count; i++) rows.push(sealedRow(sealer, genieIdentity(i), knownSecret(tag, i), i + 2));
  return rows;
}

export function alibabaRows(sealer: SecretSealer, tag: string, from: number, count: number): SealedRow[] {
  const rows: SealedRow[] = [];
  for (let i = from; i < from + count; i++) {
    rows.push(sealedRow(sealer, alibabaIdentity(i), knownSecret(tag, i), i + 2));
  }
  return rows;
}

export function genieOrder(id: string, extra: Partial<NewWorkOrder> = {}): NewWorkOrder {
  return { id, product: GENIE_PRODUCT, model: "TK-SPK-1", minFirmware: "1.2.0", ...extra };
}

export function alibabaOrder(id: string, extra: Partial<NewWorkOrder> = {}): NewWorkOrder {
  return { id, product: ALIBABA_PRODUCT, model: "TK-PLUG-2", minFirmware: "2.0.1", ...extra };
}

export const SOURCE = { fileName: "triads.xlsx", sha256: "ab".repeat(32) } as const;

/** A clock that moves one millisecond per reading. */
export function testClock(start = 1_790_000_000_000): () => number {
  let t = start;
  return () => ++t;
}

export function actorOf(stationId: string, operator = "alice", fixture?: string): Actor {
  return { stationId, operator, ...(fixture === undefined ? {} : { fixture }) };
}
