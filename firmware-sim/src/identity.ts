import { type AlibabaTriad, iccidCheckDigit, imeiCheckDigit, toHex } from "@triadkit/protocol";
import type { Random } from "@triadkit/sdk";

/** Everything a virtual device is born with: its triad and the identifiers of its modem, SIM and radio. */
export interface VirtualIdentity {
  readonly triad: AlibabaTriad;
  readonly imei: string;
  readonly iccid: string;
  readonly imsi: string;
  readonly wifiMac: string;
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function pick(random: Random, alphabet: string, length: number): string {
  // Rejection sampling keeps the distribution uniform.
  const limit = 256 - (256 % alphabet.length);
  let out = "";
  while (out.length < length) {
    for (const b of random.bytes(length)) {
      if (b < limit && out.length < length) out += alphabet[b % alphabet.length];
    }
  }
  return out;
}

/**
 * Creates a plausible, valid identity: an IMEI with TAC prefix 86 (TAF China) and a correct check digit,
 * a China Unicom ICCID (898606…, Luhn-valid like real Unicom cards) and a matching IMSI (46006…),
 * a locally administered unicast WiFi MAC, and a triad with the usual shapes (11-char ProductKey,
 * 32-char DeviceSecret). With a seeded `random` the same seed gives the same fleet.
 */
export function createVirtualIdentity(
  random: Random,
  options: { productKey: string; deviceName?: string },
): VirtualIdentity {
  const imei14 = `86${pick(random, "0123456789", 12)}`;
  const iccid19 = `898606${pick(random, "0123456789", 13)}`;
  const macBytes = random.bytes(6);
  macBytes[0] = ((macBytes[0] as number) & 0xfc) | 0x02; // unicast, locally administered
  return {
    triad: {
      productKey: options.productKey,
      deviceName: options.deviceName ?? `sim-${pick(random, "0123456789abcdef", 12)}`,
      deviceSecret: pick(random, ALNUM, 32),
    },
    imei: imei14 + imeiCheckDigit(imei14),
    iccid: iccid19 + iccidCheckDigit(iccid19),
    imsi: `46006${pick(random, "0123456789", 10)}`,
    wifiMac: toHex(macBytes),
  };
}
