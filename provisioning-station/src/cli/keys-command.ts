/**
 * `triadkit-station keys [show]`, `keys rotate`, `keys grant` and `keys revoke`: the pool data key versions and who
 * may unwrap them.
 *
 * A grant wraps the pool key with the other station's wrap key, which is derived from its key file's root: so the
 * granting station needs that key file (`--station-key`), or creates it here for a new station (then carried to
 * that station's PC). A revoke drops the station's wraps; it may have kept the key it unwrapped, so it is told to
 * rotate for forward secrecy.
 */
import { existsSync } from "node:fs";
import { toHex } from "@triadkit/protocol";
import { type CliIo, CliUsageError, CryptoRandom } from "@triadkit/sdk";
import type { Command } from "commander";
import { createStationKeyFile, loadStationKeyFile, type StationKey } from "../keys/station-key.js";
import { type StationCliOptions, stationOptions, withStation } from "./common.js";

interface GrantOptions extends StationCliOptions {
  readonly station: string;
  readonly stationKey: string;
  readonly line?: string;
}

interface RevokeOptions extends StationCliOptions {
  readonly station: string;
}

/** The granted station's key: its key file, or a new one created for it (with --station as its id). */
function grantedStationKey(options: GrantOptions): { key: StationKey; created: boolean } {
  if (!existsSync(options.stationKey)) {
    const key = createStationKeyFile(options.stationKey, {
      random: new CryptoRandom(),
      now: Date.now,
      stationId: options.station,
    });
    return { key, created: true };
  }
  const key = loadStationKeyFile(options.stationKey);
  if (key.stationId !== options.station) {
    throw new CliUsageError(
      `${options.stationKey} is the key file of station ${key.stationId}, not ${options.station}`,
    );
  }
  return { key, created: false };
}

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

  stationOptions(
    keys
      .command("grant")
      .description("let another station of this pool unwrap its data key (needs that station's key file)")
      .requiredOption("--station <id>", "the station granted")
      .requiredOption(
        "--station-key <file>",
        "that station's key file; created (mode 0600) with --station as its id when missing: carry it to that station",
      )
      .option("--line <name>", "the production line of that station (recorded in the audit entry)"),
  ).action(async (options: GrantOptions) => {
    if (options.line !== undefined && (options.line.trim() === "" || options.line.length > 64)) {
      throw new CliUsageError("--line must be 1–64 characters");
    }
    await withStation(options, io, env, async (station, actor) => {
      if (options.station === station.stationId) throw new CliUsageError("a station cannot grant itself");
      const other = grantedStationKey(options);
      if (other.created) {
        io.err(
          `triadkit-station: created the station key file ${options.stationKey} for ${options.station} (mode 0600): ` +
            "move it to that station's PC and keep no copy here; whoever holds it can decrypt the pool",
        );
      }
      await station.grant(other.key, actor, options.line === undefined ? {} : { line: options.line.trim() });
      const versions = (await station.ledger.poolKeys())
        .filter((w) => w.stationId === options.station)
        .map((w) => w.version);
      const json = {
        ok: true,
        stationId: options.station,
        ...(options.line === undefined ? {} : { line: options.line.trim() }),
        keyVersions: versions,
        keyFileCreated: other.created,
      };
      if (options.json) {
        io.out(JSON.stringify(json));
        return;
      }
      io.out(`station ${json.stationId} granted pool ${station.poolId}: key versions ${versions.join(", ")}`);
    });
  });

  stationOptions(
    keys
      .command("revoke")
      .description("drop another station's wraps of the pool data key (then rotate: it may have kept the key)")
      .requiredOption("--station <id>", "the station revoked"),
  ).action(async (options: RevokeOptions) => {
    await withStation(options, io, env, async (station, actor) => {
      const versions = await station.ledger.revokeStation(options.station, actor);
      const json = { ok: true, stationId: options.station, keyVersions: versions, rotateAdvised: true };
      if (options.json) {
        io.out(JSON.stringify(json));
        return;
      }
      io.out(`station ${json.stationId} revoked: its wraps of key versions ${versions.join(", ")} dropped`);
      io.out(
        "it may have kept the data key it unwrapped before: run `triadkit-station keys rotate` so every secret is " +
          "re-encrypted under a key it never held",
      );
    });
  });
}
