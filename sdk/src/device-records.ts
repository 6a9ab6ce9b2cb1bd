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
