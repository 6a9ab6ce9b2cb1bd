/** `triadkit-station keys [show]` and `keys rotate`: the pool data key versions and who may unwrap them. */
import { toHex } from "@triadkit/protocol";
import type { CliIo } from "@triadkit/sdk";
import type { Command } from "commander";
import { type StationCliOptions, stationOptions, withStation } from "./common.js";

export function registerKeysCommand(
  program: Command,
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
): void {
  const keys = program
    .command("keys")
    .description("the pool data key and the station keys that wrap it (never printed)");

  stationOptions(
    keys.command("show", { isDefault: true }).description("key versions, stations and the key file in use"),
  ).action(async (options: StationCliOptions) => {
    await withStation(options, io, env, async (station) => {
      const wrapped = await station.ledger.poolKeys();
      const stations = await station.ledger.stations();
      const report = {
        stationId: station.stationId,
        poolId: station.poolId,
        keyFile: station.keyFile,
        keyVersion: station.keyring.keyVersion,
        poolKeys: wrapped.map((w) => ({
          version: w.version,
          stationId: w.stationId,
          createdAt: new Date(w.createdAt).toISOString(),
        })),
        stations: stations.map((s) => ({
          stationId: s.stationId,
          // The checkpoint verification key: public, and what an auditor needs to check exports.
          publicKey: toHex(s.publicKey),
          createdAt: new Date(s.createdAt).toISOString(),
        })),
      };
      if (options.json) {
        io.out(JSON.stringify(report));
        return;
      }
      io.out(`station ${report.stationId} (key file ${report.keyFile.path}, from ${report.keyFile.source})`);
      io.out(`pool ${report.poolId}: data key version ${report.keyVersion}`);
      for (const w of report.poolKeys) io.out(`  version ${w.version} wrapped for ${w.stationId} (${w.createdAt})`);
      for (const s of report.stations) io.out(`  station ${s.stationId} checkpoint key ${s.publicKey}`);
    });
  });

  stationOptions(
    keys
      .command("rotate")
      .description("new pool data key version: re-encrypt every secret under it and re-wrap it for this station"),
  ).action(async (options: StationCliOptions) => {
    await withStation(options, io, env, async (station, actor) => {
      const result = await station.rotateKeys(actor);
      const json = {
        ok: true,
        keyVersion: result.keyring.keyVersion,
        resealed: result.resealed,
        stationsToRegrant: result.stationsToRegrant,
      };
      if (options.json) {
        io.out(JSON.stringify(json));
        return;
      }
      io.out(`pool data key version ${json.keyVersion}: ${json.resealed} secrets re-encrypted`);
      if (json.stationsToRegrant.length > 0) {
        io.out(`stations that must be granted again: ${json.stationsToRegrant.join(", ")}`);
      }
    });
  });
}
