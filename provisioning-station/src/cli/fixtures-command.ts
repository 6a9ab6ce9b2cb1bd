/**
 * `triadkit-station fixtures [list]`: the fixtures of the station config, their ports, and whether each port is
 * there now (a by-path/by-id link resolves to a tty). Reads only the config: no database or key needed.
 */
import { realpathSync, statSync } from "node:fs";
import type { CliIo } from "@triadkit/sdk";
import type { Command } from "commander";
import { isUnstablePort, loadStationConfig, stationConfigPathFor } from "../burn/station-config.js";
import { localBaseOf, stationOptions, table } from "./common.js";

interface FixturesOptions {
  readonly db?: string;
  readonly config?: string;
  readonly json?: boolean;
}

function portState(path: string): { exists: boolean; device?: string } {
  try {
    const device = realpathSync(path);
    return { exists: statSync(device).isCharacterDevice(), device };
  } catch {
    return { exists: false };
  }
}

export function registerFixturesCommand(
  program: Command,
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
): void {
  const fixtures = program.command("fixtures").description("the fixtures of the station config and their serial ports");
  stationOptions(
    fixtures
      .command("list", { isDefault: true })
      .description("list the fixtures: name, port, baud rate, and whether the port is there now (opens no database)")
      .option("--config <file>", "station config; default <db>.fixtures.json"),
  ).action((options: FixturesOptions) => {
    const dbPath = localBaseOf(options, env);
    const config = loadStationConfig({
      ...(options.config === undefined ? {} : { explicitPath: options.config }),
      dbPath,
    });
    const rows = config.fixtures.map((f) => ({
      name: f.name,
      port: f.port,
      baudRate: f.baudRate,
      ...(f.description === undefined ? {} : { description: f.description }),
      ...portState(f.port),
      stablePath: !isUnstablePort(f.port),
    }));
    const configPath = config.path ?? null;
    if (options.json) {
      io.out(JSON.stringify({ config: configPath, fixtures: rows }));
      return;
    }
    if (rows.length === 0) {
      io.out(`no fixtures (write ${options.config ?? stationConfigPathFor(dbPath)}; see docs/station.md)`);
      return;
    }
    io.out(`station config ${configPath}`);
    const lines = rows.map((r) => [
      r.name,
      r.port,
      String(r.baudRate),
      r.exists ? `present${r.device === r.port ? "" : ` (${r.device})`}` : "MISSING",
      r.stablePath ? "" : "unstable name: use /dev/serial/by-path or by-id",
    ]);
    for (const line of table([["fixture", "port", "baud", "port now", "note"], ...lines])) io.out(line.trimEnd());
  });
}
