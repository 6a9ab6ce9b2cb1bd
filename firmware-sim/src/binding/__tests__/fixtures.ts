/** Shared pieces of the binding monitor's unit tests: a fleet, its sheet, messages, and a recording host. */
import type { BindingEvent, DeviceIdentity, IdentityReport } from "@triadkit/protocol";
import { ManualClock, SeededRandom } from "@triadkit/sdk";
import { createVirtualIdentity, type VirtualIdentity } from "../../identity.js";
import { BindingMonitor } from "../monitor.js";
import type { BindingOptions } from "../options.js";
import type { BindingAlert, BindingRecovery, SimTriple } from "../types.js";

export const PK = "a1BindTst0K";
export const START_MS = 1_700_000_000_000;

/** `count` devices with valid, distinct identities (deterministic for a seed). */
export function fleet(count: number, seed = 7): VirtualIdentity[] {
  const random = new SeededRandom(seed);
  return Array.from({ length: count }, (_, i) =>
    createVirtualIdentity(random, { productKey: PK, deviceName: `dev-${seed}-${i}` }),
  );
}

export const who = (v: VirtualIdentity): DeviceIdentity => ({
  productKey: v.triad.productKey,
  deviceName: v.triad.deviceName,
});
export const simOf = (v: VirtualIdentity): SimTriple => ({ imei: v.imei, iccid: v.iccid, imsi: v.imsi });

export function sheet(devices: readonly VirtualIdentity[], header = "IMEI,ICCID,IMSI"): string {
  return [header, ...devices.map((d) => `${d.imei},${d.iccid},${d.imsi}`)].join("\n");
}

export function report(sim: SimTriple, modem = "Quectel EC200U-CN"): IdentityReport {
  return { ...sim, modem };
}

export function heartbeat(
  sim: SimTriple,
  seq: number,
  over: { epoch?: number; bootId?: string } = {},
): Extract<BindingEvent, { kind: "BindingHeartbeat" }> {
  return {
    kind: "BindingHeartbeat",
    ...sim,
    epoch: over.epoch ?? 1,
    bootId: over.bootId ?? "boot-1",
    seq,
    uptimeS: seq * 300,
    ts: 0, // device time is deliberately useless: the monitor must not read it
  };
}

export function changed(old: SimTriple, next: SimTriple, bootId = "boot-2"): BindingEvent {
  return { kind: "BindingChanged", old, new: next, epoch: 1, bootId, ts: 0 };
}

export function simRemoved(imei: string, lastIccid: string, bootId = "boot-1"): BindingEvent {
  return { kind: "SimRemoved", imei, lastIccid, epoch: 1, bootId, ts: 0 };
}

/** A platform stand-in that records what the monitor publishes, calls and announces. */
export class RecordingHost {
  readonly published: { topic: string; message: Record<string, unknown> }[] = [];
  readonly calls: { identity: DeviceIdentity; name: string; params: Record<string, unknown> }[] = [];
  readonly alerts: BindingAlert[] = [];
  readonly recoveries: BindingRecovery[] = [];
  /** What `invokeService` does; default: resolves. */
  answer: () => Promise<unknown> = () => Promise.resolve({ code: 200 });

  publish(topic: string, payload: Uint8Array): void {
    this.published.push({ topic, message: JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown> });
  }
  invokeService(identity: DeviceIdentity, name: string, params: Record<string, unknown>): Promise<unknown> {
    this.calls.push({ identity, name, params });
    return this.answer();
  }
  onAlert(alert: BindingAlert): void {
    this.alerts.push(alert);
  }
  onRecovered(recovery: BindingRecovery): void {
    this.recoveries.push(recovery);
  }
}

export interface Rig {
  readonly clock: ManualClock;
  readonly host: RecordingHost;
  readonly monitor: BindingMonitor;
}

/** A monitor on virtual time (the silence timer off unless asked) with a recording host. */
export function rig(options: BindingOptions = {}, clock = new ManualClock({ wallStartMs: START_MS })): Rig {
  const host = new RecordingHost();
  const monitor = new BindingMonitor(
    { silenceCheckMs: 0, ...options },
    {
      clock,
      host: {
        publish: (t, p) => host.publish(t, p),
        invokeService: (i, n, p) => host.invokeService(i, n, p),
        onAlert: (a) => host.onAlert(a),
        onRecovered: (r) => host.onRecovered(r),
      },
    },
  );
  return { clock, host, monitor };
}
