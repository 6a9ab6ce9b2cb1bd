/**
 * Does this device fit the work order? The hardware model must be equal (exact text); the firmware must be at
 * least the work order's minimum, compared numerically part by part ("1.10.0" > "1.9.3"; missing parts count as
 * 0, so "1.4" = "1.4.0"). A suffix after the numbers ("1.4.0-rc1", "v1.4") is ignored for the comparison; a
 * version with no leading number cannot be compared and is refused as too old.
 */
import { type FactoryHello, TriadkitError } from "@triadkit/protocol";
import type { WorkOrder } from "../ledger/types.js";

function numericParts(version: string): number[] | undefined {
  const m = /^v?(\d+(?:\.\d+)*)/i.exec(version.trim());
  if (m === null) return undefined;
  return (m[1] as string).split(".").map((p) => Number(p));
}

/** −1, 0, 1 as `a` is older than, equal to or newer than `b`; undefined when either has no leading number. */
export function compareFirmware(a: string, b: string): -1 | 0 | 1 | undefined {
  const x = numericParts(a);
  const y = numericParts(b);
  if (x === undefined || y === undefined) return undefined;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Throws `factory.model_mismatch` or `factory.firmware_too_old`: then nothing is reserved for this device. */
export function checkDeviceFitsOrder(
  order: WorkOrder,
  hello: Pick<FactoryHello, "model" | "firmware" | "chipId">,
): void {
  const context = { workOrderId: order.id, chipId: hello.chipId, model: hello.model, firmware: hello.firmware };
  if (hello.model !== order.model) {
    throw new TriadkitError(
      "factory.model_mismatch",
      `device model ${hello.model} is not work order ${order.id}'s model ${order.model}: not burnt`,
      { ...context, expectedModel: order.model },
    );
  }
  const cmp = compareFirmware(hello.firmware, order.minFirmware);
  if (cmp === undefined || cmp < 0) {
    throw new TriadkitError(
      "factory.firmware_too_old",
      `device firmware ${hello.firmware} is older than work order ${order.id}'s minimum ${order.minFirmware}: flash newer firmware first`,
      { ...context, minFirmware: order.minFirmware },
    );
  }
}
