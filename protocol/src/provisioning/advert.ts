/**
 * The provisioning advertisement: manufacturer data telling a scanning provisioner the device's public state before
 * it connects. Layout (4 bytes, version 1):
 *
 * | byte | value                                                                                        |
 * | ---- | -------------------------------------------------------------------------------------------- |
 * | 0–1  | company id, little-endian; default `0xFFFF` (the Bluetooth SIG id reserved for tests)         |
 * | 2    | version, 1                                                                                   |
 * | 3    | flags: bit0 provisioned, bit1 PoP-locked (back-off active), bit2 SoftAP available,           |
 * |      | bit3 Improv available, bit4 WiFi scan; bits 5–7 reserved (sent 0, ignored when read)          |
 *
 * Never a secret. A shipping product replaces `0xFFFF` with its own assigned company id. Pure: no I/O.
 */
import { TriadkitError } from "../errors.js";

/** The Bluetooth SIG company id reserved for internal use and testing; a product uses its own. */
export const PROV_ADVERT_COMPANY_ID = 0xffff;
export const PROV_ADVERT_VERSION = 1;
/** Length of a version-1 advertisement payload (manufacturer data, company id included). */
export const PROV_ADVERT_BYTES = 4;

export interface ProvisioningAdvert {
  /** WiFi is joined. */
  readonly provisioned: boolean;
  /** The PoP back-off is active: new sessions are refused for now. */
  readonly locked: boolean;
  readonly softap: boolean;
  readonly improv: boolean;
  readonly wifiScan: boolean;
}

const BITS = { provisioned: 0x01, locked: 0x02, softap: 0x04, improv: 0x08, wifiScan: 0x10 } as const;

export function encodeProvisioningAdvert(
  advert: ProvisioningAdvert,
  companyId: number = PROV_ADVERT_COMPANY_ID,
): Uint8Array {
  if (!Number.isInteger(companyId) || companyId < 0 || companyId > 0xffff) {
    throw new TriadkitError("prov.bad_message", "company id must be a 16-bit unsigned integer", {
      reason: "company_id",
    });
  }
  let flags = 0;
  for (const [key, bit] of Object.entries(BITS) as [keyof ProvisioningAdvert, number][]) {
    if (advert[key]) flags |= bit;
  }
  return new Uint8Array([companyId & 0xff, companyId >> 8, PROV_ADVERT_VERSION, flags]);
}

/**
 * Decodes manufacturer data from a provisioning advertisement. `prov.bad_message` (context `reason`: `length`,
 * `company_id`) if it is not one; `prov.version_unsupported` for another version. Reserved flag bits are ignored.
 */
export function decodeProvisioningAdvert(
  data: Uint8Array,
  companyId: number = PROV_ADVERT_COMPANY_ID,
): ProvisioningAdvert {
  if (data.length < 3) {
    throw new TriadkitError("prov.bad_message", "provisioning advertisement too short", { reason: "length" });
  }
  const company = (data[0] as number) | ((data[1] as number) << 8);
  if (company !== companyId) {
    throw new TriadkitError("prov.bad_message", "manufacturer data from another company id", {
      reason: "company_id",
      companyId: company,
    });
  }
  const version = data[2] as number;
  if (version !== PROV_ADVERT_VERSION) {
    throw new TriadkitError("prov.version_unsupported", "unknown provisioning advertisement version", { version });
  }
  if (data.length !== PROV_ADVERT_BYTES) {
    throw new TriadkitError("prov.bad_message", "a version-1 provisioning advertisement has 4 bytes", {
      reason: "length",
    });
  }
  const flags = data[3] as number;
  return {
    provisioned: (flags & BITS.provisioned) !== 0,
    locked: (flags & BITS.locked) !== 0,
    softap: (flags & BITS.softap) !== 0,
    improv: (flags & BITS.improv) !== 0,
    wifiScan: (flags & BITS.wifiScan) !== 0,
  };
}
