/**
 * `triadkit-sim device` with `triadkit-sim cloud`, both as child processes the way QA runs them: the triad is
 * burned into the simulated flash once, survives a restart of the device process, and never shows on any output.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readyLines, root, simBin, startSim } from "../helpers/sim-cli.js";

const triad = { productKey: "a1SimDevCli", deviceName: "sim-cli-01", deviceSecret: "Zq9xWv8uTs7rQp6oNm5lKj4iHg3fEd2c" };
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "triadkit-simdev-"));
  await writeFile(
    join(dir, "triads.csv"),
    `ProductKey,DeviceName,DeviceSecret\n${triad.productKey},${triad.deviceName},${triad.deviceSecret}\n`,
  );
  await writeFile(join(dir, "triad.json"), JSON.stringify(triad));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("triadkit-sim device", () => {
  it("burns the triad into flash, comes online, restarts from its flash, exits 0 on SIGTERM", async () => {
    const cloud = startSim(["cloud", "--port", "0", "--triads", join(dir, "triads.csv")]);
    const stateDir = join(dir, "state");
    try {
      const [ready] = await readyLines(cloud, 1);
      const url = ready!.slice("READY ".length);
      for (const extra of [["--triad-file", join(dir, "triad.json")], []]) {
        const device = startSim(["device", "--state-dir", stateDir, "--cloud", url, ...extra]);
        const [line] = await readyLines(device, 1);
        expect(line).toBe(`READY device ${triad.productKey}/${triad.deviceName} ${url}`);
        device.child.kill("SIGTERM");
        expect(await device.exit).toBe(0);
        expect(device.stdout() + device.stderr()).not.toContain(triad.deviceSecret);
      }
      await expect.poll(cloud.stderr).toContain(`deviceName=${triad.deviceName}`);
      // The secret lives only inside the flash image, not in the readable metadata.
      expect(await readFile(join(stateDir, "device.json"), "utf8")).not.toContain(triad.deviceSecret);
    } finally {
      cloud.child.kill("SIGTERM");
      expect(await cloud.exit).toBe(0);
    }
    expect(cloud.stdout() + cloud.stderr()).not.toContain(triad.deviceSecret);
  });

  it("with --modem the device reports its binding; a SIM swap shows as mismatch in `triadkit-sim bindings`", async () => {
    const A = { imei: "490154203237518", iccid: "89860621330066521767", imsi: "460060086257148" };
    const spare = { iccid: "89860620040007789511", imsi: "460060086257999" };
    await writeFile(join(dir, "bindings.csv"), `imei,iccid,imsi\n${A.imei},${A.iccid},${A.imsi}\n`);
    const db = join(dir, "cloud.sqlite");
    const cloud = startSim([
      "cloud",
      "--port",
      "0",
      "--triads",
      join(dir, "triads.csv"),
      "--bindings",
      join(dir, "bindings.csv"),
      "--db",
      db,
    ]);
    const stateDir = join(dir, "state-modem");
    const states = () => {
      const r = spawnSync(process.execPath, [simBin, "bindings", "--db", db, "--json"], {
        cwd: root,
        encoding: "utf8",
      });
      return r.stdout
        .split("\n")
        .filter((l) => l.trim().startsWith("{"))
        .map((l) => JSON.parse(l) as { deviceName?: string; state?: string });
    };
    try {
      const [ready] = await readyLines(cloud, 1);
      const url = ready!.slice("READY ".length);
      const cards = [A, { ...A, ...spare }];
      for (const [i, card] of cards.entries()) {
        const args = ["device", "--state-dir", stateDir, "--cloud", url, "--modem", "quectel", "--imei", card.imei];
        args.push(
          "--iccid",
          card.iccid,
          "--imsi",
          card.imsi,
          ...(i === 0 ? ["--triad-file", join(dir, "triad.json")] : []),
        );
        const device = startSim(args);
        await readyLines(device, 1);
        const expected = i === 0 ? "bound" : "mismatch";
        await expect
          .poll(() => states().find((s) => s.deviceName === triad.deviceName)?.state, { timeout: 15_000 })
          .toBe(expected);
        device.child.kill("SIGTERM");
        expect(await device.exit).toBe(0);
      }
    } finally {
      cloud.child.kill("SIGTERM");
      expect(await cloud.exit).toBe(0);
    }
  });

  it("refuses to start with a blank flash and no triad (usage error, exit 2); --help exits 0", () => {
    const blank = spawnSync(
      process.execPath,
      [simBin, "device", "--state-dir", join(dir, "blank"), "--cloud", "mqtt://127.0.0.1:9"],
      {
        cwd: root,
        encoding: "utf8",
      },
    );
    expect(blank.status).toBe(2);
    expect(blank.stderr).toContain("holds no triad");
    const help = spawnSync(process.execPath, [simBin, "device", "--help"], { cwd: root, encoding: "utf8" });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("--state-dir");
  });
});
