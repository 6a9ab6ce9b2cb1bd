/**
 * A burn run over several ports in parallel: reconcile what this station left unfinished, then on every port the
 * device once (or, watching, each next device) until stopped. The CLI and tests drive it with real serial links or
 * in-memory ones alike.
 */

import { type FactoryHello, TriadkitError } from "@triadkit/protocol";
import type { SerialLink } from "@triadkit/sdk";
import type { WorkOrder } from "../ledger/types.js";
import { processDevice } from "./burn-device.js";
import { type BurnContext, type DeviceOutcome, deviceOf, failure, retrying } from "./device-steps.js";
import { FactoryClient } from "./factory-client.js";
import { type PortHandle, reconcileOnStart, type StartReconcileEntry } from "./reconcile.js";

export interface BurnPort {
  readonly fixture: string;
  readonly link: SerialLink;
  /**
   * A BLE burn: the board's scanned BLE MAC. Its `hello` must report the same `bleMac`, else the device is refused
   * `station.ble_wrong_device` before anything is reserved (the channel's handshake already checked it once).
   */
  readonly expectedBleMac?: string;
}

export interface BurnSessionOptions {
  readonly ctx: BurnContext;
  readonly ports: readonly BurnPort[];
  /** Needed to burn blank devices; without it devices holding records are still reconciled. */
  readonly workOrder?: WorkOrder;
  /** Each next device on every port until `signal` aborts; otherwise each port's device once. */
  readonly watch: boolean;
  /** Per request. */
  readonly timeoutMs: number;
  /** Watch mode: how often an idle port is asked `hello`; default 500 ms. */
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
  readonly onOutcome: (outcome: DeviceOutcome) => void;
  readonly onReconcile?: (entry: StartReconcileEntry) => void;
}

export interface BurnSessionResult {
  readonly outcomes: readonly DeviceOutcome[];
  readonly reconciled: readonly StartReconcileEntry[];
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

export async function runBurnSession(options: BurnSessionOptions): Promise<BurnSessionResult> {
  const { ctx } = options;
  const outcomes: DeviceOutcome[] = [];
  const report = (o: DeviceOutcome) => {
    outcomes.push(o);
    options.onOutcome(o);
  };
  const handles: (PortHandle & { readonly expectedBleMac?: string })[] = options.ports.map((p) => ({
    fixture: p.fixture,
    client: new FactoryClient({ link: p.link, random: ctx.random, timeoutMs: options.timeoutMs, where: p.fixture }),
    ...(p.expectedBleMac === undefined ? {} : { expectedBleMac: p.expectedBleMac }),
  }));
  try {
    const reconciled = await reconcileOnStart(ctx, handles);
    for (const e of reconciled) options.onReconcile?.(e);
    await Promise.all(
      handles.map((h) => (options.watch ? watchPort(options, h, report) : onceOnPort(options, h, report))),
    );
    return { outcomes, reconciled };
  } finally {
    for (const h of handles) h.client.close();
  }
}

async function onceOnPort(
  options: BurnSessionOptions,
  h: PortHandle & { readonly expectedBleMac?: string },
  report: (o: DeviceOutcome) => void,
): Promise<void> {
  if (h.expectedBleMac === undefined) {
    report(await processDevice(options.ctx, h.client, h.fixture, options.workOrder));
    return;
  }
  let hello: FactoryHello;
  try {
    hello = await retrying(options.ctx, () => h.client.hello());
  } catch (err) {
    report(failure(h.fixture, err));
    return;
  }
  if (hello.bleMac !== h.expectedBleMac) {
    const error = new TriadkitError(
      "station.ble_wrong_device",
      `the board's hello reports BLE MAC ${hello.bleMac ?? "(none)"}, not the scanned ${h.expectedBleMac}`,
      { expectedMac: h.expectedBleMac, chipId: hello.chipId },
    );
    report(failure(h.fixture, error, deviceOf(hello)));
    return;
  }
  report(await processDevice(options.ctx, h.client, h.fixture, options.workOrder, hello));
}

/**
 * The next device: one that answers with another chip id than the last one handled, or any device after the
 * port went quiet (the board was taken off; the same board put back is tried again).
 */
async function watchPort(
  options: BurnSessionOptions,
  h: PortHandle,
  report: (o: DeviceOutcome) => void,
): Promise<void> {
  const pollMs = options.pollMs ?? 500;
  let last: string | undefined;
  let wentAway = true;
  const stopped = () => options.signal?.aborted === true;
  while (!stopped()) {
    const hello = await h.client.hello().catch(() => undefined);
    if (stopped()) return;
    if (hello === undefined) {
      wentAway = true;
    } else if (wentAway || hello.chipId !== last) {
      report(await processDevice(options.ctx, h.client, h.fixture, options.workOrder, hello));
      last = hello.chipId;
      wentAway = false;
      continue;
    }
    await sleep(pollMs, options.signal);
  }
}
