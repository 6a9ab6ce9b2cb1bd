/**
 * `triadkit-station serve [--port 8080] [--host 127.0.0.1] [--db <file>] [--key-file <file>]`: the web UI for the
 * factory floor. It owns the fixtures (the fixtures lock) for its whole life, so the CLI's `burn` and `rework` are
 * refused while it runs, naming it. Prints `READY http://<host>:<port>` once listening; SIGINT/SIGTERM stop the
 * burns, release the lock and exit 0.
 */
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type CliIo, CliUsageError, CryptoRandom, NodeSerialLink } from "@triadkit/sdk";
import type { Command } from "commander";
import { restoredDatabaseError } from "../burn/restore-guard.js";
import { loadStationConfig } from "../burn/station-config.js";
import { type PrinterAddress, parsePrinterAddress } from "../labels/index.js";
import { createStationWeb } from "../web/server.js";
import { type BleAdapter, chooseBleAdapter, openBleRadio, parseBleAdapter } from "./ble-radio.js";
import { localBaseOf, parsePositiveInt, type StationCliOptions, stationOptions, withStation } from "./common.js";
import { lockFixtures, stationBurnContext } from "./fixture-ports.js";

interface ServeOptions extends StationCliOptions {
  readonly port: number;
  readonly host: string;
  readonly config?: string;
  readonly exportsDir?: string;
  readonly printer?: PrinterAddress;
  readonly air?: string;
  readonly bleAdapter?: BleAdapter;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly pollMs: number;
}

function portNumber(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535) throw new CliUsageError(`--port must be 0–65535: ${value}`);
  return Number(value);
}

function printerAddress(value: string): PrinterAddress {
  try {
    return parsePrinterAddress(value);
  } catch (err) {
    throw new CliUsageError(`--printer: ${(err as Error).message}`);
  }
}

function retriesNumber(value: string): number {
  if (!/^\d{1,2}$/.test(value) || Number(value) > 10) throw new CliUsageError("--retries must be 0–10");
  return Number(value);
}

export function registerServeCommand(
  program: Command,
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
): void {
  const cmd = program
    .command("serve")
    .description("the web UI for the factory floor (burn page, work orders and pool, shelf, exports, audit)")
    .option("--port <n>", "TCP port (0: any free port)", portNumber, 8080)
    .option(
      "--host <address>",
      "address to listen on (keep 127.0.0.1 unless the line PC is another machine)",
      "127.0.0.1",
    )
    .option("--config <file>", "station config (fixtures → ports); default <db>.fixtures.json")
    .option("--exports-dir <dir>", "where exports and import reports are written; default <db folder>/exports")
    .option(
      "--printer <host[:port]>",
      "label printer (raw TCP, ZPL; default port 9100) for label reprints",
      printerAddress,
    )
    .option("--air <url>", "BLE radio for scanned BLE MACs: a virtual air (air://host:port, triadkit-sim air)")
    .option(
      "--ble-adapter <name>",
      "BLE radio for scanned BLE MACs: air (default with --air), noble or node-ble (the PC's adapter)",
      parseBleAdapter,
    )
    .option("--timeout-ms <n>", "how long to wait for each answer from a device", parsePositiveInt, 2000)
    .option("--retries <n>", "extra attempts of hello/verify/lock after a timeout", retriesNumber, 2)
    .option("--poll-ms <n>", "how often an idle fixture is asked for a device", parsePositiveInt, 500);
  stationOptions(cmd, { json: false }).action(async (options: ServeOptions) => {
    const adapter = chooseBleAdapter(options);
    const dbPath = localBaseOf(options, env);
    const config = loadStationConfig({
      ...(options.config === undefined ? {} : { explicitPath: options.config }),
      dbPath,
    });
    const lock = lockFixtures(dbPath, "triadkit-station serve (web UI)");
    try {
      await withStation(options, io, env, async (station, actor) => {
        const burnCtx = await stationBurnContext(station, actor.operator, io, {
          retries: options.retries,
          createAnchor: true,
        });
        const hold = await restoredDatabaseError(station.ledger, station.stationId, station.headFile);
        if (hold !== undefined) io.err(`ALERT ${hold.code}: ${hold.message}`);
        const ctx = hold === undefined ? burnCtx : { ...burnCtx, holdReservations: hold };
        const air = options.air;
        const uploadDir = join(tmpdir(), `triadkit-station-upload-${process.pid}`);
        const web = createStationWeb({
          station,
          operator: actor.operator,
          ctx,
          fixtures: config.fixtures.map((f) => ({
            name: f.name,
            open: () => NodeSerialLink.open(f.port, { baudRate: f.baudRate }),
          })),
          timeoutMs: options.timeoutMs,
          pollMs: options.pollMs,
          exportsDir: options.exportsDir ?? join(dirname(dbPath), "exports"),
          uploadDir,
          random: new CryptoRandom(),
          scan: {},
          ...(options.printer === undefined ? {} : { printer: options.printer }),
          ...(adapter === undefined ? {} : { openCentral: () => openBleRadio(adapter, air, options.timeoutMs) }),
          lockOwner: `pid ${lock.owner.pid} on ${lock.owner.host}`,
        });
        try {
          const address = await web.app.listen({ port: options.port, host: options.host });
          const port = (web.app.server.address() as { port: number }).port;
          const host = options.host.includes(":") ? `[${options.host}]` : options.host;
          void address;
          io.out(`READY http://${host}:${port}`);
          await io.shutdownSignal();
        } finally {
          await web.close();
          await rm(uploadDir, { recursive: true, force: true });
        }
      });
    } finally {
      lock.release();
    }
  });
}
