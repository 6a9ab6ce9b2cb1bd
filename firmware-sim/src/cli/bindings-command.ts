/**
 * `triadkit-sim bindings --db <file>`: lists what the binding monitor persisted (run `cloud --db <file> --bindings …`
 * first): one row per device with its binding state, or with `--alerts` the alerts. A table on stdout, or JSON lines
 * with `--json`. Opens the database read-only, so it can run beside a live `cloud`. Exit 0 (also when nothing matches),
 * 1 when the file cannot be read or has no binding tables, 2 for usage errors.
 */
import { isTriadkitError } from "@triadkit/protocol";
import { type Command, Option } from "commander";
import { BindingStore } from "../binding/store.js";
import { BINDING_STATES, type BindingAlert, type BindingState, type DeviceBindingState } from "../binding/types.js";
import type { CliIo } from "./io.js";

export interface BindingsOptions {
  readonly db: string;
  readonly state?: BindingState;
  readonly alerts?: boolean;
  readonly open?: boolean;
  readonly json?: boolean;
}

const iso = (ms: number | undefined) => (ms === undefined ? "-" : new Date(ms).toISOString());

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

function deviceRows(devices: readonly DeviceBindingState[]): string[] {
  const header = ["PRODUCT_KEY", "DEVICE_NAME", "STATE", "IMEI", "ICCID", "IMSI", "LAST_HEARTBEAT", "SUSPENDED"];
  const rows = devices.map((d) => [
    d.productKey,
    d.deviceName,
    d.state,
    d.imei || "-",
    d.iccid || "-",
    d.imsi || "-",
    iso(d.lastHeartbeatMs),
    d.suspended ? "yes" : "no",
  ]);
  return formatTable(
    [...header, "REASON"],
    rows.map((r, i) => [...r, devices[i]?.reason ?? ""]),
  );
}

function alertRows(alerts: readonly BindingAlert[]): string[] {
  const header = ["ID", "PRODUCT_KEY", "DEVICE_NAME", "STATE", "IMEI", "ICCID", "COUNT", "FIRST_SEEN", "CLOSED"];
  const rows = alerts.map((a) => [
    String(a.id),
    a.productKey,
    a.deviceName,
    a.state,
    a.imei || "-",
    a.iccid || "-",
    String(a.count),
    iso(a.firstSeenMs),
    a.closedBy === undefined ? "open" : a.closedBy,
    a.reason,
  ]);
  return formatTable([...header, "REASON"], rows);
}

export function runBindings(opts: BindingsOptions, io: CliIo): void {
  let store: BindingStore;
  try {
    store = new BindingStore(opts.db, { readonly: true });
  } catch (err) {
    if (isTriadkitError(err)) throw new Error(`${opts.db}: ${err.message}`);
    throw new Error(`cannot open ${opts.db}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    if (opts.alerts) {
      const alerts = store.alerts({
        ...(opts.state === undefined ? {} : { state: opts.state }),
        ...(opts.open ? { open: true } : {}),
      });
      if (opts.json) for (const a of alerts) io.out(JSON.stringify(a));
      else for (const line of alertRows(alerts)) io.out(line);
      return;
    }
    const devices = store.devices(opts.state === undefined ? {} : { state: opts.state }).map((d) => {
      const { imeiSinceMs: _, ...rest } = d;
      return rest;
    });
    if (opts.json) for (const d of devices) io.out(JSON.stringify(d));
    else for (const line of deviceRows(devices)) io.out(line);
  } finally {
    store.close();
  }
}

export function registerBindingsCommand(program: Command, io: CliIo): void {
  program
    .command("bindings")
    .description("list the binding monitor's device states (or alerts) persisted in a cloud --db file")
    .requiredOption("--db <file>", "the SQLite file `triadkit-sim cloud --db` wrote")
    .addOption(new Option("--state <state>", "only this state").choices(BINDING_STATES))
    .option("--alerts", "list alerts instead of devices")
    .option("--open", "with --alerts: only alerts still open")
    .option("--json", "JSON lines instead of a table")
    .action((opts: BindingsOptions) => runBindings(opts, io));
}
