import { defineRecord } from "../storage/typed-record.js";

/** The binding a device last reported, kept in its FlashStore under `binding` (version 1). */
export interface StoredBinding {
  /** Random per factory-fresh flash: a factory reset erases it, so the next boot draws a new one. */
  readonly epoch: number;
  readonly imei: string;
  readonly iccid: string;
  readonly imsi: string;
}

export const BINDING_RECORD_KEY = "binding";
/** The heartbeat sequence counter (a PersistentCounter), per epoch: erased with the binding on factory reset. */
export const BINDING_SEQ_KEY = "binding.seq";

export const bindingRecord = defineRecord<StoredBinding>({
  key: BINDING_RECORD_KEY,
  version: 1,
  schema: (value) => {
    const v = value as Partial<StoredBinding> | null;
    if (
      typeof v?.epoch !== "number" ||
      !Number.isSafeInteger(v.epoch) ||
      typeof v.imei !== "string" ||
      typeof v.iccid !== "string" ||
      typeof v.imsi !== "string"
    ) {
      throw new Error("not a binding record");
    }
    return { epoch: v.epoch, imei: v.imei, iccid: v.iccid, imsi: v.imsi };
  },
});
