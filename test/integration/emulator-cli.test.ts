/**
 * `triadkit-sim` as a user runs it: `node firmware-sim/bin/triadkit-sim.js` from a clean tree (no build), READY lines
 * on stdout, a device logging in, SIGTERM → exit 0, `--help` → 0, usage errors → 2. No secret on stdout or stderr.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { signConnect } from "@triadkit/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readyLines, startSim as start } from "../helpers/sim-cli.js";
import { ClientPool, newTriad } from "./emulator-harness.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const bin = join(root, "firmware-sim/bin/triadkit-sim.js");
const device = newTriad();
const pool = new ClientPool();
let dir: string;
let csv: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "triadkit-cli-"));
  csv = join(dir, "triads.csv");
  await writeFile(
    csv,
    [
      "Product_Key,DEVICENAME,device secret",
      `${device.productKey},${device.deviceName},${device.deviceSecret}`,
      `${device.productKey},no,${device.deviceSecret}`,
      "",
    ].join("\n"),
  );
});
afterAll(async () => {
  await pool.endAll();
  await rm(dir, { recursive: true, force: true });
});

describe("triadkit-sim cloud", () => {
  it("prints READY, accepts an imported device, reports the bad row by line, exits 0 on SIGTERM", async () => {
    const run = start(["cloud", "--port", "0", "--triads", csv, "--http-port", "0"]);
    try {
      const lines = await readyLines(run, 2);
      expect(lines[0]).toMatch(/^READY mqtt:\/\/127\.0\.0\.1:\d+$/);
      expect(lines[1]).toMatch(/^READY http:\/\/127\.0\.0\.1:\d+$/);
      expect(lines).toHaveLength(2);
      const url = (lines[0] as string).slice("READY ".length);
      expect(url).not.toMatch(/:1883$/);
      await pool.connect(url, signConnect({ triad: device, timestampMs: Date.now() }));
      await expect.poll(run.stderr).toContain(`online productKey=${device.productKey} deviceName=${device.deviceName}`);
      expect(run.stderr()).toContain("line 3:");
      expect(run.stderr()).toContain("triad.bad_device_name");
      await pool.endAll();
    } finally {
      run.child.kill("SIGTERM");
    }
    expect(await run.exit).toBe(0);
    expect(run.stdout() + run.stderr()).not.toContain(device.deviceSecret);
  });

  it("logs JSON lines with --json", async () => {
    const run = start(["cloud", "--triads", csv, "--json"]);
    try {
      const [ready] = await readyLines(run, 1);
      const url = (ready as string).slice("READY ".length);
      const wrong = { ...device, deviceSecret: "0".repeat(32) };
      expect(await pool.refusal(url, signConnect({ triad: wrong, style: "c" }))).toBe(5);
      await expect.poll(run.stderr).toContain('"event":"rejected"');
      const event = run
        .stderr()
        .split("\n")
        .find((l) => l.includes('"event":"rejected"'));
      expect(JSON.parse(event as string)).toMatchObject({
        event: "rejected",
        code: "triad.bad_signature",
        returnCode: 5,
      });
    } finally {
      run.child.kill("SIGINT");
    }
    expect(await run.exit).toBe(0);
  });

  it("--help exits 0; a bad option, a bad port and TLS without a certificate exit 2; a missing file exits 1", () => {
    const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: "utf8" });
    const help = cli("cloud", "--help");
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("--tls-cert <file>");
    expect(cli("--help").status).toBe(0);
    expect(cli("cloud", "--no-such-option").status).toBe(2);
    expect(cli("cloud", "--port", "70000").status).toBe(2);
    expect(cli("cloud", "--tls-port", "0").status).toBe(2);
    const missing = cli("cloud", "--triads", join(dir, "nope.csv"));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("ENOENT");
  });
});
