/**
 * A scanned BLE MAC on the burn page burns that board over the factory BLE channel (`burnOverBle`, as the CLI's
 * `burn --ble`), for the work order being burnt. The radio is opened per scan through `openCentral` (`serve --air`:
 * a virtual air); its outcome becomes a `ble:<mac>` tile and counts in the shift counters.
 */
import { TriadkitError } from "@triadkit/protocol";
import type { BleCentral } from "@triadkit/sdk";
import { burnOverBle } from "../burn/ble-link.js";
import type { BurnContext, DeviceOutcome } from "../burn/device-steps.js";
import type { WorkOrder } from "../ledger/types.js";
import { webMessage } from "./messages.js";
import type { ScanAnswer } from "./scan.js";

export interface BleBurnDeps {
  readonly ctx: BurnContext;
  /** The work order being burnt on the burn page, if any. */
  readonly workOrder: () => WorkOrder | undefined;
  readonly openCentral: () => Promise<{ readonly central: BleCentral; close(): Promise<void> }>;
  readonly timeoutMs: number;
  readonly onStart: (fixture: string) => void;
  readonly onOutcome: (outcome: DeviceOutcome) => void;
}

export function bleBurnHandler(deps: BleBurnDeps): (mac: string) => Promise<ScanAnswer> {
  return async (mac) => {
    const order = deps.workOrder();
    if (order === undefined) {
      throw new TriadkitError("web.bad_request", "start burning a work order before scanning a BLE MAC", {
        field: "workOrder",
      });
    }
    deps.onStart(`ble:${mac}`);
    const radio = await deps.openCentral();
    let outcome: DeviceOutcome;
    try {
      outcome = await burnOverBle({
        ctx: deps.ctx,
        central: radio.central,
        mac,
        workOrder: order,
        timeoutMs: deps.timeoutMs,
      });
    } finally {
      await radio.central.close().catch(() => undefined);
      await radio.close();
    }
    deps.onOutcome(outcome);
    return {
      kind: "mac",
      ok: outcome.result === "pass",
      ...(outcome.code === undefined ? {} : { code: outcome.code }),
      ...(outcome.result === "pass"
        ? webMessage("scan.blePass", {
            mac,
            chipId: outcome.chipId ?? null,
            identity: outcome.triad?.identity ?? null,
          })
        : webMessage("scan.bleFail", { mac, detail: outcome.message ?? outcome.code ?? "failed" })),
      details: { mac, fixture: outcome.fixture, chipId: outcome.chipId ?? null },
    };
  };
}
