import { EF_ICCID_BYTES, TriadkitError } from "@triadkit/protocol";

/**
 * The inverse of protocol's `decodeEfIccid`: the 20 hex characters of EF_ICCID (file 0x2FE2) for an ICCID, as an
 * `AT+CRSM=176,12258,0,0,10` answer carries them: padded with `F` to 20 nibbles, the two nibbles of each byte
 * swapped. `89860318640220133897` → `98683081462002318379`.
 *
 * @throws TriadkitError `id.bad_iccid` when the ICCID is longer than 20 characters or not hex.
 */
export function encodeEfIccid(iccid: string): string {
  const text = iccid.trim().toUpperCase();
  if (!/^[0-9A-F]{0,20}$/.test(text)) {
    throw new TriadkitError("id.bad_iccid", `EF_ICCID holds at most ${EF_ICCID_BYTES * 2} hex nibbles`, {
      length: text.length,
    });
  }
  const padded = text.padEnd(EF_ICCID_BYTES * 2, "F");
  let out = "";
  for (let i = 0; i < padded.length; i += 2) out += (padded[i + 1] as string) + (padded[i] as string);
  return out;
}
