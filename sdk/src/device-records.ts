import { type AlibabaTriad, parseAlibabaTriad } from "@triadkit/protocol";
import { defineRecord } from "./storage/typed-record.js";

/**
 * The records a device keeps in its FlashStore, by key. Later features add theirs here so every key and
 * version is in one place (see docs/storage.md).
 */
export const RECORD_KEYS = {
  triad: "triad",
  properties: "properties",
} as const;

/** The device's Alibaba triad (secret inside; the flash is the only place it lives). */
export const triadRecord = defineRecord<AlibabaTriad>({
  key: RECORD_KEYS.triad,
  version: 1,
  schema: (value) => {
    const v = value as Partial<AlibabaTriad> | null;
    if (typeof v?.productKey !== "string" || typeof v.deviceName !== "string" || typeof v.deviceSecret !== "string") {
      throw new Error("not a triad");
    }
    return parseAlibabaTriad({ productKey: v.productKey, deviceName: v.deviceName, deviceSecret: v.deviceSecret })
      .value;
  },
});

/** Last property values set by the platform (a simulated device keeps them across reboots). */
export const propertiesRecord = defineRecord<Record<string, unknown>>({
  key: RECORD_KEYS.properties,
  version: 1,
  schema: (value) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not an object");
    return value as Record<string, unknown>;
  },
});

/** The PoP verifier (salt + derived key; never the PoP text), written at burn time. Key `pop`, version 1. */
export const popVerifierRecord = defineRecord<{ salt: string; key: string }>({
  key: "pop",
  version: 1,
  schema: (value) => {
    const v = value as { salt?: unknown; key?: unknown } | null;
    if (
      typeof v?.salt !== "string" ||
      typeof v.key !== "string" ||
      !/^[0-9a-f]{32}$/.test(v.salt) ||
      !/^[0-9a-f]{64}$/.test(v.key)
    ) {
      throw new Error("not a PoP verifier");
    }
    return { salt: v.salt, key: v.key };
  },
});

/** WiFi credentials given by provisioning (secret: the password). Key `wifi`, version 1. */
export const wifiRecord = defineRecord<{ ssid: string; password: string }>({
  key: "wifi",
  version: 1,
  schema: (value) => {
    const v = value as { ssid?: unknown; password?: unknown } | null;
    if (typeof v?.ssid !== "string" || typeof v.password !== "string") throw new Error("not WiFi credentials");
    return { ssid: v.ssid, password: v.password };
  },
});
