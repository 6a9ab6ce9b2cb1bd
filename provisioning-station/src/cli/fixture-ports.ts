/**
 * What `burn` and `rework` share: `--fixture`/`--port`/`--config`, the fixtures lock, opening the ports with the
 * real `serialport` package (sdk's NodeSerialLink), and the burn context over the opened station.
 */
import { TriadkitError } from "@triadkit/protocol";
import { type CliIo, CliUsageError, CryptoRandom, NodeSerialLink, type SerialLink } from "@triadkit/sdk";
import type { Command } from "commander";
import type { BurnContext } from "../burn/device-steps.js";
import { acquireFixtureLock, type FixtureLock, fixtureLockPathFor } from "../burn/fixture-lock.js";
import { loadStationConfig, pickFixtures } from "../burn/station-config.js";
import { obtainFactoryAnchor } from "../keys/factory-anchor.js";
import type { Station } from "../ledger/open-station.js";
import { localBaseOf, parsePositiveInt, type StationCliOptions, withStation } from "./common.js";

export interface PortCliOptions extends StationCliOptions {
  readonly fixture?: string[];
  readonly port?: string[];
  readonly config?: string;
  readonly baud?: number;
  readonly timeoutMs: number;
  readonly retries: number;
}

export interface PortSpec {
  readonly fixture: string;
  readonly path: string;
  readonly baudRate: number;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Adds --fixture, --port, --config, --baud, --timeout-ms, --retries. */
export function portOptions(cmd: Command, many: boolean): Command {
  const more = many ? " (repeat for several)" : "";
  return cmd
    .option("--fixture <name>", `a fixture named in the station config${more}`, collect)
    .option("--port <path>", `a serial port path instead of a named fixture${more}`, collect)
    .option("--config <file>", "station config (fixtures → ports); default <db>.fixtures.json")
    .option("--baud <n>", "line speed for --port (fixtures carry their own); default 115200", parsePositiveInt)
    .option("--timeout-ms <n>", "how long to wait for each answer from a device", parsePositiveInt, 2000)
    .option("--retries <n>", "extra attempts of hello/verify/lock after a timeout", (v) => Number(v), 2);
}

export function portSpecs(options: PortCliOptions, dbPath: string, many: boolean): PortSpec[] {
  const names = options.fixture ?? [];
  const paths = options.port ?? [];
  if (names.length + paths.length === 0) throw new CliUsageError("give --fixture <name> or --port <path>");
  if (!many && names.length + paths.length > 1) throw new CliUsageError("give one --fixture or one --port");
  if (!Number.isInteger(options.retries) || options.retries < 0 || options.retries > 10) {
    throw new CliUsageError("--retries must be 0–10");
  }
  const specs: PortSpec[] = [];
  if (names.length > 0) {
    const config = loadStationConfig({
      ...(options.config === undefined ? {} : { explicitPath: options.config }),
      dbPath,
    });
    for (const f of pickFixtures(config, names)) specs.push({ fixture: f.name, path: f.port, baudRate: f.baudRate });
  }
  for (const path of paths) specs.push({ fixture: path, path, baudRate: options.baud ?? 115_200 });
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.path)) throw new CliUsageError(`port ${s.path} is named twice`);
    seen.add(s.path);
  }
  return specs;
}

/** The fixtures lock, or `station.fixture_locked` naming the owner. */
export function lockFixtures(dbPath: string, command: string): FixtureLock {
  return acquireFixtureLock(fixtureLockPathFor(dbPath), command);
}

export interface OpenedPort {
  readonly spec: PortSpec;
  readonly link: SerialLink;
}

export async function openPorts(
  specs: readonly PortSpec[],
): Promise<{ opened: OpenedPort[]; failed: { spec: PortSpec; error: TriadkitError }[] }> {
  const results = await Promise.all(
    specs.map(async (spec) => {
      try {
        return { spec, link: (await NodeSerialLink.open(spec.path, { baudRate: spec.baudRate })) as SerialLink };
      } catch (err) {
        const error = new TriadkitError(
          "station.port_failed",
          `cannot open ${spec.fixture === spec.path ? spec.path : `fixture ${spec.fixture} (${spec.path})`}: ${(err as Error).message}`,
          { fixture: spec.fixture, path: spec.path },
        );
        return { spec, error };
      }
    }),
  );
  return {
    opened: results.flatMap((r) => ("link" in r ? [r as OpenedPort] : [])),
    failed: results.flatMap((r) => ("error" in r && r.error !== undefined ? [{ spec: r.spec, error: r.error }] : [])),
  };
}

/** The context burning and rework run in: the station's ledger and keyring, the pool's anchor, alerts on stderr. */
export async function stationBurnContext(
  station: Station,
  operator: string,
  io: CliIo,
  options: { readonly retries: number; readonly createAnchor: boolean },
): Promise<BurnContext> {
  const random = new CryptoRandom();
  const anchor = await obtainFactoryAnchor(station.ledger, station.keyring, station.actor(operator), {
    random,
    now: Date.now,
    create: options.createAnchor,
  });
  return {
    ledger: station.ledger,
    keyring: station.keyring,
    anchor,
    stationId: station.stationId,
    operator,
    random,
    now: Date.now,
    retries: options.retries,
    alert: (code, message) => io.err(`ALERT ${code}: ${message}`),
  };
}

/**
 * Runs `run` with the fixtures locked, the station open and the burn context ready: what `burn` and `rework`
 * do around their own work. The lock is taken before anything else and released last.
 */
export async function withFixtures<T>(
  options: PortCliOptions,
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
  how: { readonly command: string; readonly many: boolean; readonly createAnchor: boolean; readonly ble?: boolean },
  run: (station: Station, ctx: BurnContext, specs: readonly PortSpec[]) => Promise<T>,
): Promise<T> {
  const dbPath = localBaseOf(options, env);
  // A BLE burn has no serial ports; it still holds the fixtures lock (one process drives the bench).
  const specs = how.ble === true ? [] : portSpecs(options, dbPath, how.many);
  const lock = lockFixtures(dbPath, `triadkit-station ${how.command}`);
  try {
    return await withStation(options, io, env, async (station, actor) => {
      const ctx = await stationBurnContext(station, actor.operator, io, {
        retries: options.retries,
        createAnchor: how.createAnchor,
      });
      return run(station, ctx, specs);
    });
  } finally {
    lock.release();
  }
}
