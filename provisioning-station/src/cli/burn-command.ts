/**
 * `triadkit-station burn --fixture <name>… | --port <path>… --work-order <id> [--shelf [--store <id>]] [--watch]`:
 * one triad (and with `--shelf` a smart-shelf store id and device code) into each device, proved by read-back
 * verify, then locked. Prints `READY burn <n>` once the ports are open, then one line
 * per device (with `--json`, one JSON object per line: fixture, result, code, chip id, device, triad identity;
 * never a secret or PoP). Reconcile notes and alerts go to stderr. Exit 1 if any device failed (without --watch);
 * with --watch it runs until SIGINT/SIGTERM and exits 0.
 *
 * `burn --ble <mac> (--air <url> | --ble-adapter noble|node-ble) [--rssi-floor <dBm>]`: one board, found by its
 * scanned BLE MAC, over the factory BLE channel (burn/ble-link.ts); `READY burn-ble <mac>`, then its one line; exit 1
 * when refused or failed.
 */
import { TriadkitError } from "@triadkit/protocol";
import { type CliIo, CliUsageError } from "@triadkit/sdk";
import type { Command } from "commander";
import { burnOverBle, DEFAULT_RSSI_FLOOR_DBM, parseScannedMac } from "../burn/ble-link.js";
import { runBurnSession } from "../burn/burn-session.js";
import type { DeviceOutcome } from "../burn/device-steps.js";
import type { StartReconcileEntry } from "../burn/reconcile.js";
import { restoredDatabaseError } from "../burn/restore-guard.js";
import { parseStoreId, type ShelfSelector } from "../ledger/shelf.js";
import type { WorkOrder } from "../ledger/types.js";
import { type BleAdapter, chooseBleAdapter, openBleRadio, parseBleAdapter } from "./ble-radio.js";
import { errorText, parsePositiveInt, ReportedFailure, stationOptions } from "./common.js";
import { openPorts, type PortCliOptions, portOptions, withFixtures } from "./fixture-ports.js";

interface BurnOptions extends PortCliOptions {
  readonly workOrder: string;
  readonly ble?: string;
  readonly rssiFloor?: number;
  readonly air?: string;
  readonly bleAdapter?: BleAdapter;
  readonly scanTimeoutMs?: number;
  readonly shelf?: boolean;
  readonly store?: number;
  readonly watch?: boolean;
  readonly pollMs: number;
}

export function outcomeJson(o: DeviceOutcome): Record<string, unknown> {
  return {
    fixture: o.fixture,
    result: o.result,
    action: o.action,
    ...(o.code === undefined ? {} : { code: o.code }),
    ...(o.message === undefined ? {} : { message: o.message }),
    chipId: o.chipId ?? null,
    device: o.device ?? null,
    triad: o.triad ?? null,
    ...(o.shelf === undefined ? {} : { shelf: o.shelf }),
  };
}

export function outcomeText(o: DeviceOutcome): string {
  const who = [o.chipId === undefined ? undefined : `chip ${o.chipId}`, o.triad?.identity].filter(Boolean).join(" ");
  const head = `${o.result === "pass" ? "PASS" : "FAIL"} ${o.fixture}${who === "" ? "" : ` ${who}`}`;
  if (o.result === "pass") {
    return `${head}${o.shelf === undefined ? "" : ` store ${o.shelf.storeId} code ${o.shelf.deviceCode}`} (${o.action})`;
  }
  const code = o.code ?? "internal.unexpected";
  const message = o.message ?? code;
  return `${head}: ${message.endsWith(`(${code})`) ? message : `${message} (${code})`}`;
}

function parseStoreOption(value: string): number {
  try {
    return parseStoreId(value, "--store");
  } catch (err) {
    throw new CliUsageError(errorText(err));
  }
}

/** `--shelf`: the work order's brand, or `--store`; `--store` alone is a usage error. */
function shelfSelector(options: BurnOptions, order: WorkOrder): ShelfSelector | undefined {
  if (options.shelf !== true) {
    if (options.store !== undefined) throw new CliUsageError("--store goes with --shelf");
    return undefined;
  }
  if (options.store !== undefined) return { storeId: options.store };
  if (order.brand === undefined) {
    throw new CliUsageError(`--shelf needs --store <id>: work order ${order.id} has no brand`);
  }
  return { brand: order.brand };
}

function reconcileText(e: StartReconcileEntry): string {
  return `triadkit-station: reconcile: triad ${e.triadId} ${e.outcome}: ${e.reason}`;
}

export function registerBurnCommand(
  program: Command,
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
): void {
  const cmd = program
    .command("burn")
    .description("burn one triad into the device on each fixture, verify it by read-back, lock it")
    .requiredOption("--work-order <id>", "the work order whose triads are burnt (model and minimum firmware checked)")
    .option("--shelf", "also give each device a smart-shelf device code of the work order's brand (or --store)")
    .option("--store <id>", "--shelf: take device codes of this store (门店id) only", parseStoreOption)
    .option("--watch", "keep going: burn each next device put on a fixture, until SIGINT/SIGTERM")
    .option("--poll-ms <n>", "--watch: how often an idle fixture is asked for a device", parsePositiveInt, 500)
    .option("--ble <mac>", "burn the board advertising this BLE MAC (its barcode) over BLE instead of a serial port")
    .option(
      "--rssi-floor <dBm>",
      `--ble: refuse a board weaker than this (default ${DEFAULT_RSSI_FLOOR_DBM})`,
      parseRssi,
    )
    .option("--ble-adapter <name>", "--ble: the radio: air (default with --air), noble or node-ble", parseBleAdapter)
    .option("--air <url>", "--ble: a virtual air as the radio (air://host:port, triadkit-sim air)")
    .option("--scan-timeout-ms <n>", "--ble: how long to look for the board", parsePositiveInt);
  stationOptions(portOptions(cmd, true), {
    json: "print one JSON object per device and line on stdout instead of text (never a secret or PoP)",
  }).action(async (options: BurnOptions) => {
    if (options.ble !== undefined) {
      await burnBle(options, io, env);
      return;
    }
    if (
      options.rssiFloor !== undefined ||
      options.air !== undefined ||
      options.bleAdapter !== undefined ||
      options.scanTimeoutMs !== undefined
    ) {
      throw new CliUsageError("--rssi-floor, --ble-adapter, --air and --scan-timeout-ms go with --ble <mac>");
    }
    let failed = 0;
    const how = { command: "burn", many: true, createAnchor: true };
    await withFixtures(options, io, env, how, async (station, ctx, specs) => {
      const order = await station.ledger.getWorkOrder(options.workOrder);
      if (order === undefined) {
        throw new TriadkitError("ledger.unknown_work_order", `no work order ${options.workOrder}`, {
          workOrderId: options.workOrder,
        });
      }
      const shelf = shelfSelector(options, order);
      const hold = await restoredDatabaseError(station.ledger, station.stationId, station.headFile);
      if (hold !== undefined) io.err(`ALERT ${hold.code}: ${hold.message}`);
      const report = (o: DeviceOutcome) => {
        if (o.result === "fail") failed++;
        io.out(options.json ? JSON.stringify(outcomeJson(o)) : outcomeText(o));
      };
      const { opened, failed: unopened } = await openPorts(specs);
      io.out(`READY burn ${opened.length}`);
      for (const u of unopened) {
        report({
          fixture: u.spec.fixture,
          result: "fail",
          action: "refused",
          code: u.error.code,
          message: u.error.message,
        });
      }
      const stop = new AbortController();
      void io.shutdownSignal().then(() => stop.abort());
      try {
        await runBurnSession({
          ctx: {
            ...ctx,
            ...(hold === undefined ? {} : { holdReservations: hold }),
            ...(shelf === undefined ? {} : { shelf }),
          },
          ports: opened.map((p) => ({ fixture: p.spec.fixture, link: p.link })),
          workOrder: order,
          watch: options.watch === true,
          timeoutMs: options.timeoutMs,
          pollMs: options.pollMs,
          signal: stop.signal,
          onOutcome: report,
          onReconcile: (e) => io.err(reconcileText(e)),
        });
      } finally {
        await Promise.all(opened.map((p) => p.link.close()));
      }
    });
    if (failed > 0 && options.watch !== true) throw new ReportedFailure(`${failed} device(s) failed`);
  });
}

function parseRssi(value: string): number {
  if (!/^-?\d{1,3}$/.test(value) || Number(value) < -127 || Number(value) > 0) {
    throw new CliUsageError(`--rssi-floor must be a whole number of dBm in -127–0: ${value}`);
  }
  return Number(value);
}

/**
 * `burn --ble <mac> --air <url>`: one board, found by its scanned BLE MAC, burnt over the factory BLE channel. The
 * fixtures lock is held as for a serial burn; `READY burn-ble <mac>` once the station is open and the radio up.
 */
async function burnBle(
  options: BurnOptions,
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
): Promise<void> {
  if ((options.fixture ?? []).length + (options.port ?? []).length > 0) {
    throw new CliUsageError("give --ble <mac> or --fixture/--port, not both");
  }
  if (options.watch === true) throw new CliUsageError("--ble burns one board per scan: no --watch");
  if (options.shelf === true || options.store !== undefined)
    throw new CliUsageError("--shelf is not supported with --ble yet");
  const adapter = chooseBleAdapter(options);
  if (adapter === undefined)
    throw new CliUsageError("--ble needs a radio: --air <url> or --ble-adapter noble|node-ble");
  let mac: string;
  try {
    mac = parseScannedMac(options.ble as string);
  } catch (err) {
    throw new CliUsageError(`--ble: ${errorText(err)}`);
  }
  let outcome: DeviceOutcome | undefined;
  const how = { command: "burn", many: false, createAnchor: true, ble: true };
  await withFixtures(options, io, env, how, async (station, ctx) => {
    const order = await station.ledger.getWorkOrder(options.workOrder);
    if (order === undefined) {
      throw new TriadkitError("ledger.unknown_work_order", `no work order ${options.workOrder}`, {
        workOrderId: options.workOrder,
      });
    }
    const hold = await restoredDatabaseError(station.ledger, station.stationId, station.headFile);
    if (hold !== undefined) io.err(`ALERT ${hold.code}: ${hold.message}`);
    const radio = await openBleRadio(adapter, options.air, options.timeoutMs);
    const central = radio.central;
    try {
      io.out(`READY burn-ble ${mac}`);
      outcome = await burnOverBle({
        ctx: { ...ctx, ...(hold === undefined ? {} : { holdReservations: hold }) },
        central,
        mac,
        workOrder: order,
        timeoutMs: options.timeoutMs,
        ...(options.rssiFloor === undefined ? {} : { rssiFloorDbm: options.rssiFloor }),
        ...(options.scanTimeoutMs === undefined ? {} : { scanTimeoutMs: options.scanTimeoutMs }),
        onReconcile: (e) => io.err(reconcileText(e)),
      });
    } finally {
      await central.close().catch(() => undefined);
      await radio.close();
    }
    io.out(options.json ? JSON.stringify(outcomeJson(outcome)) : outcomeText(outcome));
  });
  if (outcome?.result !== "pass") throw new ReportedFailure("the board failed");
}
