/**
 * Burning over BLE across processes, as on a bench: `triadkit-sim air`, two boards `triadkit-sim device --factory-ble`
 * side by side, and `triadkit-station burn --ble <mac> --air <url>`: the scanned board ends locked and verified, its
 * neighbour stays blank; a MAC nobody advertises and a board below the RSSI floor are refused with exit 1 and the
 * code, nothing reserved; bad options exit 2; no secret in any output.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Run, startSim } from "../helpers/sim-cli.js";
import { jsonLines, lineStarting, MODEL, StationFloor } from "./station-burn-harness.js";

const MAC_A = "0a1b2c3d4e01";
const MAC_B = "0a1b2c3d4e02";

let floor: StationFloor;
let air: Run;
let url: string;
const boards: Run[] = [];

function board(name: string, mac: string): Run {
  const run = startSim([
    "device",
    "--state-dir",
    join(floor.dir, name),
    "--factory-ble",
    "--air",
    url,
    "--ble-mac",
    mac,
    "--model",
    MODEL,
    "--firmware",
    "1.3.0",
  ]);
  boards.push(run);
  return run;
}

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), "triadkit-burn-ble-"));
  floor = new StationFloor(dir, join(dir, "station.db"));
  floor.order("WO-BLE", 3);
  air = startSim(["air", "--port", "0"]);
  url = (await lineStarting(air, "READY air://", 20_000)).slice("READY ".length).trim();
  const [a, b] = [board("a", "0A:1B:2C:3D:4E:01"), board("b", MAC_B)];
  expect(await lineStarting(a, "READY factory-ble ", 20_000)).toMatch(
    new RegExp(`^READY factory-ble ${MAC_A} [0-9a-f]{16}$`),
  );
  expect(await lineStarting(b, "READY factory-ble ", 20_000)).toMatch(new RegExp(`^READY factory-ble ${MAC_B} `));
}, 90_000);

afterAll(async () => {
  // The boards first, then the air they hang on: stopping both at once lets a board see its radio vanish first.
  for (const run of boards) if (run.child.exitCode === null) run.child.kill("SIGTERM");
  const boardCodes = await Promise.all(boards.map((r) => r.exit));
  if (air !== undefined && air.child.exitCode === null) air.child.kill("SIGTERM");
  const airCode = air === undefined ? 0 : await air.exit;
  for (const r of boards) floor.outputs.push(r.stdout(), r.stderr());
  floor.expectNoSecrets();
  const stderr = boards.map((r) => r.stderr().slice(-400)).join("\n---\n");
  expect([...boardCodes, airCode], stderr).toEqual([...boards.map(() => 0), 0]);
  await rm(floor.dir, { recursive: true, force: true });
}, 60_000);

const status = () => JSON.parse(floor.run(["status", "--json"]).stdout).total as Record<string, number>;

describe("triadkit-station burn --ble (cross-process air)", () => {
  it("refuses a MAC nobody advertises and a board below the RSSI floor: exit 1, the code, nothing reserved", () => {
    const missing = floor.run([
      "burn",
      "--work-order",
      "WO-BLE",
      "--ble",
      "0a1b2c3d4e09",
      "--air",
      url,
      "--scan-timeout-ms",
      "500",
      "--json",
    ]);
    expect(missing.code, missing.stderr).toBe(1);
    expect(missing.stdout).toContain("READY burn-ble 0a1b2c3d4e09");
    expect(jsonLines(missing.stdout)).toMatchObject([
      { fixture: "ble:0a1b2c3d4e09", result: "fail", code: "station.ble_not_found" },
    ]);
    // The air's boards are at −60 dBm: a floor of −50 refuses board B.
    const weak = floor.run(["burn", "--work-order", "WO-BLE", "--ble", MAC_B, "--air", url, "--rssi-floor", "-50"]);
    expect(weak.code, weak.stderr).toBe(1);
    expect(weak.stdout).toMatch(/FAIL ble:0a1b2c3d4e02: .*-60 dBm.*\(station\.ble_rssi_low\)/);
    expect(status()).toMatchObject({ available: 3, reserved: 0, quarantined: 0 });
  });

  it("burns the scanned board over BLE (verified, locked); the neighbour stays blank", async () => {
    const r = floor.run(["burn", "--work-order", "WO-BLE", "--ble", "0A-1B-2C-3D-4E-01", "--air", url, "--json"]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const [outcome] = jsonLines(r.stdout);
    expect(outcome).toMatchObject({ fixture: `ble:${MAC_A}`, result: "pass", action: "burnt" });
    const a = await floor.show(join(floor.dir, "a"));
    const b = await floor.show(join(floor.dir, "b"));
    expect(a).toMatchObject({ state: "locked", bleMac: MAC_A, chipId: outcome?.chipId });
    expect(b).toMatchObject({ state: "blank", bleMac: MAC_B });
    expect(status()).toMatchObject({ available: 2, verified: 1, reserved: 0, quarantined: 0 });
    expect(boards[0]?.stderr()).toContain("factory state locked");
  });

  it("checks its options: --ble with --port, without a radio, a bad floor, --air with noble → exit 2", () => {
    for (const args of [
      ["--ble", MAC_A, "--air", url, "--port", "/dev/null"],
      ["--ble", MAC_A],
      ["--ble", MAC_A, "--air", url, "--rssi-floor", "-300"],
      ["--ble", MAC_A, "--air", url, "--ble-adapter", "noble"],
    ]) {
      const r = floor.run(["burn", "--work-order", "WO-BLE", ...args]);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(2);
    }
    const help = floor.run(["burn", "--help"]);
    expect(help.stdout).toContain("--ble <mac>");
    expect(help.stdout).toContain("--rssi-floor <dBm>");
  });

  it("--ble-adapter noble loads the PC's adapter only then: without Bluetooth, ble.unavailable and exit 1", () => {
    const r = floor.run([
      "burn",
      "--work-order",
      "WO-BLE",
      "--ble",
      MAC_A,
      "--ble-adapter",
      "noble",
      "--scan-timeout-ms",
      "500",
    ]);
    expect(r.code, r.stderr).toBe(1);
    // A machine with a Bluetooth adapter scans and does not find the simulated board instead.
    expect(`${r.stderr}${r.stdout}`).toMatch(/ble\.unavailable|station\.ble_not_found/);
  });
});
