import { sha256 } from "@noble/hashes/sha2.js";
import { fail } from "../errors.js";
import { fromHex, toHex, utf8 } from "../util/bytes.js";

/**
 * A Tmall Genie triad: Product ID (u32), MAC (12 hex) and a 16-byte secret (32 hex).
 * It is burned in the factory and used for BLE-mesh provisioning (static OOB). Tmall Genie documents
 * no MQTT login for it, so triadkit does not invent one.
 */
export interface GenieTriad {
  readonly productId: number;
  /** 12 lowercase hex digits, natural (display) order. */
  readonly mac: string;
  /** 32 lowercase hex digits. Secret. */
  readonly secret: string;
}

const MAX_U32 = 0xffff_ffff;

export function parseGenieProductId(input: number | string): number {
  const text = typeof input === "number" ? String(input) : input.trim();
  if (!/^\d{1,10}$/.test(text) || Number(text) > MAX_U32) {
    return fail("triad.bad_product_id", "Tmall Genie Product ID must be a decimal integer from 0 to 4294967295", {
      productId: text.slice(0, 16),
    });
  }
  return Number(text);
}

export function parseGenieTriad(input: { productId: number | string; mac: string; secret: string }): GenieTriad {
  const productId = parseGenieProductId(input.productId);
  const mac = input.mac.trim().replace(/[:-]/g, "").toLowerCase();
  if (!/^[0-9a-f]{12}$/.test(mac)) {
    return fail("id.bad_mac", "Tmall Genie MAC must be 12 hex digits (':' or '-' separators allowed)", {
      length: mac.length,
    });
  }
  const secret = input.secret.trim().toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(secret)) {
    return fail("triad.bad_genie_secret", "Tmall Genie device secret must be 32 hex digits (16 bytes)", {
      length: secret.length,
    });
  }
  return { productId, mac, secret };
}

/** The ASCII string hashed for the static OOB value: `%08x,<mac>,<secret>` (all lowercase hex, 54 chars). */
export function genieAuthString(triad: GenieTriad, provisioningRandom?: Uint8Array): string {
  const base = `${triad.productId.toString(16).padStart(8, "0")},${triad.mac},${triad.secret}`;
  return provisioningRandom === undefined ? base : `${base},${toHex(provisioningRandom)}`;
}

/**
 * BLE-mesh static OOB AuthValue: first 16 bytes of SHA-256 of {@link genieAuthString}
 * (`GENIE_OLD_AUTH`; pass the 16-byte provisioning random for the newer variant).
 */
export function genieAuthValue(triad: GenieTriad, provisioningRandom?: Uint8Array): Uint8Array {
  if (provisioningRandom !== undefined && provisioningRandom.length !== 16) {
    return fail("config.invalid", "provisioning random must be 16 bytes", { length: provisioningRandom.length });
  }
  return sha256(utf8(genieAuthString(triad, provisioningRandom))).slice(0, 16);
}

export interface GenieUuidOptions {
  /** Byte 2: bits 0–3 adv version, bit 4 per-device secret, bit 5 OTA, bits 6–7 BLE version. Default 0x71. */
  readonly versionFlags?: number;
  /** Byte 13: 0x02 auto-bind model subscription, 0x01 silent adv. Default 0x02. */
  readonly feature?: number;
  /** Byte 14: 0x10 genie-stack flag | 0x03 ultra-prov. Default 0x10. */
  readonly stackFlags?: number;
}

/**
 * The 16-byte BLE-mesh device UUID: CID 0x01A8 LE, flags, PID LE, MAC reversed, feature, stack flags, 0.
 */
export function genieDeviceUuid(triad: GenieTriad, options: GenieUuidOptions = {}): Uint8Array {
  const uuid = new Uint8Array(16);
  uuid[0] = 0xa8;
  uuid[1] = 0x01;
  uuid[2] = options.versionFlags ?? 0x71;
  new DataView(uuid.buffer).setUint32(3, triad.productId, true);
  uuid.set(fromHex(triad.mac).reverse(), 7);
  uuid[13] = options.feature ?? 0x02;
  uuid[14] = options.stackFlags ?? 0x10;
  uuid[15] = 0;
  return uuid;
}
