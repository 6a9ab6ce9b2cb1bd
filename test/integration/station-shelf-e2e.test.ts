/**
 * The smart-shelf path end to end, with every program as people run it: `triadkit-station burn --shelf` writes the
 * store id and device code into a simulated board (PTY) → the ledger says pending_activation → the board, started
 * against the platform emulator (`triadkit-sim cloud --top-credentials`), comes online and reports its shelf tags →
 * the emulator's ISV bridge sends the signed `taobao.smartstore.device.status.feedback` ONLINE_WITH_CONTENT, which
 * its TOP gateway accepts → `triadkit-station shelf status` asks the gateway and moves the device to activated.
 * A forged credentials file is refused by the gateway. No credential or triad secret in any output.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Run, readyLines, startSim } from "../helpers/sim-cli.js";
import { jsonLines, MODEL, needSocat, PRODUCT, StationFloor } from "./station-burn-harness.js";

const CREDS = {
  format: "triadkit-top-credentials",
  version: 1,
  appKey: "25018990",
  appSecret: "e2e-isv-secret-5c5c5c",
  session: "6100e2ee2ee2ee2ee2e1",
  refreshToken: "6100e2eref00000001",
};

let floor: StationFloor;
let triadsCsv: string;
let creds: string;
const runs: Run[] = [];

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), "triadkit-shelf-e2e-"));
  floor = new StationFloor(dir, join(dir, "station.db"));
  const rows: string[] = [];
  for (let i = 0; i < 2; i++) {
    const secret = randomBytes(24).toString("base64").replace(/[+/=]/g, "x").slice(0, 32);
    floor.secrets.push(secret);
    rows.push(`${PRODUCT},e2e_shelf_${i},${secret}`);
  }
  writeFileSync(join(dir, "sheet.csv"), `ProductKey,DeviceName,DeviceSecret\n${rows.join("\n")}\n`);
  triadsCsv = join(dir, "cloud-triads.csv");
  writeFileSync(triadsCsv, `productKey,deviceName,deviceSecret\n${rows.join("\n")}\n`);
  creds = join(dir, "top.json");
  writeFileSync(creds, JSON.stringify(CREDS), { mode: 0o600 });
  floor.secrets.push(CREDS.appSecret, CREDS.session, CREDS.refreshToken);
  for (const args of [
    ["orders", "add", "WO-E2E", "--product", PRODUCT, "--model", MODEL, "--min-firmware", "1.2.0", "--brand", "友鱼"],
    ["import", join(dir, "sheet.csv"), "--work-order", "WO-E2E"],
    ["shelf", "add", "--store", "184454101", "--code", "8F6A77C73E", "--brand", "友鱼", "--name", "11111"],
  ]) {
    const r = floor.run(args);
    expect(r.code, r.stderr).toBe(0);
  }
}, 60_000);

afterAll(async () => {
  for (const r of runs) if (r.child.exitCode === null) r.child.kill("SIGTERM");
  await Promise.all(runs.map((r) => r.exit));
  for (const r of runs) floor.outputs.push(r.stdout(), r.stderr());
  await floor.close();
  await rm(floor.dir, { recursive: true, force: true });
});

const shelfDevice = () =>
  (JSON.parse(floor.run(["shelf", "list", "--json"]).stdout) as { devices: Record<string, unknown>[] }).devices[0];

describe("smart shelf end to end", () => {
  it("burn --shelf → pending_activation → online through the emulator → signed status feedback → activated", async (ctx) => {
    needSocat(ctx);
    const board = await floor.device("shelf-1");
    const burn = floor.run(["burn", "--port", board.pty, "--work-order", "WO-E2E", "--shelf", "--json"]);
    expect(burn.code, burn.stderr).toBe(0);
    expect(jsonLines(burn.stdout)[0]).toMatchObject({
      result: "pass",
      shelf: { storeId: 184454101, deviceCode: "8F6A77C73E" },
    });
    expect(shelfDevice()).toMatchObject({ status: "pending_activation", chipId: board.chipId });
    await board.stop(); // off the fixture, packed, shipped

    const cloud = startSim([
      "cloud",
      "--port",
      "0",
      "--triads",
      triadsCsv,
      "--top-credentials",
      creds,
      "--top-port",
      "0",
    ]);
    runs.push(cloud);
    const [mqttLine, topLine] = await readyLines(cloud, 2);
    const mqtt = (mqttLine as string).slice("READY ".length);
    const topUrl = (topLine as string).slice("READY top ".length);
    const status = () => floor.run(["shelf", "status", "--top-credentials", creds, "--top-url", topUrl, "--json"]);

    // Not seen yet: asked, still pending.
    const before = status();
    expect(before.code, before.stderr).toBe(0);
    expect(JSON.parse(before.stdout)).toMatchObject({ asked: 1, activated: 0, devices: [{ platformStatus: null }] });

    // A forged credentials file (another app secret): the gateway refuses the signature; nothing changes.
    const forged = join(floor.dir, "forged.json");
    writeFileSync(forged, JSON.stringify({ ...CREDS, appSecret: "not-the-isv-secret" }), { mode: 0o600 });
    const refused = floor.run(["shelf", "status", "--top-credentials", forged, "--top-url", topUrl, "--json"]);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).error.code).toMatch(/^top\./);
    expect(shelfDevice()).toMatchObject({ status: "pending_activation" });

    // In the store: the board comes online, reports its shelf tags; the bridge tells TOP it is online.
    const device = startSim(["device", "--state-dir", board.stateDir, "--cloud", mqtt]);
    runs.push(device);
    await expect
      .poll(cloud.stderr, { timeout: 20_000 })
      .toMatch(/topStatus deviceCode=8F6A77C73E status=ONLINE_WITH_CONTENT/);

    const after = status();
    expect(after.code, after.stderr).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({
      asked: 1,
      activated: 1,
      devices: [
        {
          deviceCode: "8F6A77C73E",
          before: "pending_activation",
          after: "activated",
          platformStatus: "ONLINE_WITH_CONTENT",
        },
      ],
    });
    const d = shelfDevice();
    expect(d).toMatchObject({ status: "activated", chipId: board.chipId });
    expect(d?.["activation"]).toMatchObject({ source: "top:taobao.smartstore.device.get" });
    // Nothing left to ask.
    expect(JSON.parse(status().stdout)).toMatchObject({ asked: 0 });
    expect(d?.["isvLine"]).toBe("友鱼，门店id：184454101，设备id:8F6A77C73E");
    const audit = floor.run(["audit", "verify", "--json"]);
    expect(audit.code, audit.stdout).toBe(0);

    device.child.kill("SIGTERM");
    await device.exit;
    for (const r of [cloud, device]) floor.outputs.push(r.stdout(), r.stderr());
    floor.expectNoSecrets();
  });
});
