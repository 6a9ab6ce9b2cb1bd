/** The JSON form of a signed checkpoint that goes into reports, exports and `--json` output. */
import { toHex } from "@triadkit/protocol";
import type { AuditCheckpoint } from "./types.js";

/** A signed checkpoint as JSON (hex), as it goes into reports: verifiable with the station's public key. */
export function checkpointJson(c: AuditCheckpoint, publicKey: Uint8Array) {
  return {
    stationId: c.stationId,
    seq: c.seq,
    headMac: toHex(c.headMac),
    time: new Date(c.time).toISOString(),
    signature: toHex(c.signature),
    publicKey: toHex(publicKey),
  };
}
