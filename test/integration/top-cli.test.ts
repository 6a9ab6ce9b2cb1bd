/**
 * `triadkit-sim cloud --top-credentials` as a user runs it: an extra `READY top …/router/rest` line after the
 * existing ones, a gateway that accepts the ISV's app, and a `triadkit-sim device` whose factory record carries
 * shelf codes reporting them, so the bridge's ONLINE_WITH_CONTENT / OFFLINE reach the gateway. Usage errors exit 2;
 * a group-readable credentials file is refused; no credential on stdout or stderr.
 */
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimulatedDeviceState } from "@triadkit/firmware-sim";
import { FactoryCredentialStore, getShelfDeviceState, loadTopCredentials, TopClient } from "@triadkit/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VECTOR_RECORD, VECTOR_TRIAD } from "../../protocol/src/factory/__tests__/fixtures.js";
import { readyLines, startSim } from "../helpers/sim-cli.js";

const CREDS = {
  format: "triadkit-top-credentials",
  version: 1,
  appKey: "25018990",
  appSecret: "cli-isv-secret-7f7f7f",
  session: "6100a192feee65091a49",
  refreshToken: "610091912fe98b82e",
};
let dir: string;
let csv: string;
let creds: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "triadkit-top-cli-"));
  csv = join(dir, "triads.csv");
  const { productKey, deviceName, deviceSecret } = VECTOR_TRIAD;
  await writeFile(csv, `productKey,deviceName,deviceSecret\n${productKey},${deviceName},${deviceSecret}\n`);
  creds = join(dir, "top.json");
  await writeFile(creds, JSON.stringify(CREDS), { mode: 0o600 });
  // A board the station burnt with shelf codes (the factory record carries them).
  const state = await SimulatedDeviceState.open(join(dir, "board"));
  const written = await (await FactoryCredentialStore.open(state.store)).write(VECTOR_RECORD);
  expect(written.ok).toBe(true);
  await state.close();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("triadkit-sim cloud --top-credentials", () => {
  it("serves the gateway, and a shelf device's online/offline reach it under its device code", async () => {
    const cloud = startSim(["cloud", "--triads", csv, "--top-credentials", creds, "--top-port", "0"]);
    let device: ReturnType<typeof startSim> | undefined;
    try {
      const lines = await readyLines(cloud, 2);
      expect(lines[0]).toMatch(/^READY mqtt:\/\/127\.0\.0\.1:\d+$/);
      expect(lines[1]).toMatch(/^READY top http:\/\/127\.0\.0\.1:\d+\/router\/rest$/);
      const mqtt = (lines[0] as string).slice("READY ".length);
      const endpoint = (lines[1] as string).slice("READY top ".length);
      const client = new TopClient({ endpoint, ...loadTopCredentials(creds) });
      expect(await client.call("taobao.time.get")).toHaveProperty("time");

      device = startSim(["device", "--state-dir", join(dir, "board"), "--cloud", mqtt]);
      await expect
        .poll(cloud.stderr, { timeout: 15_000 })
        .toMatch(/topStatus deviceCode=8F6A77C73E status=ONLINE_WITH_CONTENT statusTime=\d{4}-/);
      expect((await getShelfDeviceState(client, "8F6A77C73E")).status).toBe("ONLINE_WITH_CONTENT");
      device.child.kill("SIGTERM");
      expect(await device.exit).toBe(0);
      await expect.poll(cloud.stderr, { timeout: 15_000 }).toContain("topStatus deviceCode=8F6A77C73E status=OFFLINE");
    } finally {
      device?.child.kill("SIGTERM");
      cloud.child.kill("SIGTERM");
    }
    expect(await cloud.exit).toBe(0);
    const output = cloud.stdout() + cloud.stderr() + (device?.stdout() ?? "") + (device?.stderr() ?? "");
    for (const secret of [CREDS.appSecret, CREDS.session, CREDS.refreshToken, VECTOR_TRIAD.deviceSecret]) {
      expect(output).not.toContain(secret);
    }
  });

  it("refuses --top-port without credentials (2) and a group-readable credentials file (1)", async () => {
    const usage = startSim(["cloud", "--top-port", "0"]);
    expect(await usage.exit).toBe(2);
    expect(usage.stderr()).toContain("--top-credentials");
    const open = join(dir, "open.json");
    await writeFile(open, JSON.stringify(CREDS));
    await chmod(open, 0o644);
    const refused = startSim(["cloud", "--top-credentials", open]);
    expect(await refused.exit).toBe(1);
    expect(refused.stderr()).toContain("top.bad_credentials");
    expect(refused.stderr()).not.toContain(CREDS.appSecret);
  });
});
