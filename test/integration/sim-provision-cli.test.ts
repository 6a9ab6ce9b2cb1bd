/**
 * The QA flow across processes: `triadkit-sim air`, `cloud`, a `device --air` waiting for WiFi, and `provision`
 * standing in for the phone app. Secrets come from files; none shows on any output.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { derivePopVerifier, formatPop, generatePop, parsePop } from "@triadkit/protocol";
import { CryptoRandom, SimulatedWifiManager, SoftApProvisioningService } from "@triadkit/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readyLines, root, simBin, startSim } from "../helpers/sim-cli.js";

const triad = {
  productKey: "a1SimProvTs",
  deviceName: "sim-prov-01",
  deviceSecret: "Yq9xWv8uTs7rQp6oNm5lKj4iHg3fEd2c",
};
const wifiPassword = "correct horse battery";
const pop = formatPop(generatePop(new CryptoRandom().bytes(16)));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "triadkit-prov-"));
  await writeFile(
    join(dir, "triads.csv"),
    `productKey,deviceName,deviceSecret\n${triad.productKey},${triad.deviceName},${triad.deviceSecret}\n`,
  );
  await writeFile(join(dir, "triad.json"), JSON.stringify(triad));
  await writeFile(join(dir, "wifi.tsv"), `lab-wifi\t${wifiPassword}\n`);
  await writeFile(join(dir, "pop.txt"), `${pop}\n`);
  await writeFile(join(dir, "password.txt"), `${wifiPassword}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("triadkit-sim provision", () => {
  it.each([23, 247])("provisions a device waiting on an air with MTU %i; the device then goes online", async (mtu) => {
    const air = startSim(["air", "--port", "0", "--mtu", String(mtu)]);
    const cloud = startSim(["cloud", "--port", "0", "--triads", join(dir, "triads.csv")]);
    const runs = [air, cloud];
    try {
      const airUrl = (await readyLines(air, 1))[0]!.slice("READY ".length);
      const cloudUrl = (await readyLines(cloud, 1))[0]!.slice("READY ".length);
      const device = startSim([
        "device",
        ...["--state-dir", join(dir, `state-${mtu}`), "--cloud", cloudUrl, "--triad-file", join(dir, "triad.json")],
        ...["--air", airUrl, "--wifi-file", join(dir, "wifi.tsv"), "--pop-file", join(dir, "pop.txt")],
      ]);
      runs.push(device);
      const [advertising] = await readyLines(device, 1);
      expect(advertising).toMatch(/^READY air-device [0-9a-f]{12} sim-prov-01$/);
      const provision = spawnSync(
        process.execPath,
        [
          simBin,
          "provision",
          "--device",
          triad.deviceName,
          "--pop-file",
          join(dir, "pop.txt"),
          "--ssid",
          "lab-wifi",
        ].concat(["--password-file", join(dir, "password.txt"), "--air", airUrl, "--json"]),
        { cwd: root, encoding: "utf8", timeout: 90_000 },
      );
      expect(provision.status, provision.stderr.slice(-1200)).toBe(0);
      const steps = provision.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { step: string; state?: string; roundTrips?: number; flags?: unknown });
      expect(steps.map((s) => s.step)).toEqual(["found", "session", "status"]);
      // The advertised state, decoded from the manufacturer data.
      expect(steps[0]?.flags).toEqual({
        provisioned: false,
        locked: false,
        softap: false,
        improv: false,
        wifiScan: true,
      });
      expect(steps[1]).toMatchObject({ roundTrips: 1, mtu });
      expect(steps[2]).toMatchObject({ state: "connected" });
      const lines = await readyLines(device, 2);
      expect(lines[1]).toBe(`READY device ${triad.productKey}/${triad.deviceName} ${cloudUrl}`);
      for (const secret of [pop, wifiPassword, triad.deviceSecret]) {
        expect(provision.stdout + provision.stderr).not.toContain(secret);
      }
    } finally {
      for (const run of [...runs].reverse()) run.child.kill("SIGTERM");
    }
    // Every process stops cleanly on SIGTERM (exit 0); the stderr tail says why if not.
    for (const run of runs) {
      const code = await run.exit;
      expect(`${run.child.spawnargs[2]} exited ${code}`, run.stderr().slice(-800)).toBe(
        `${run.child.spawnargs[2]} exited 0`,
      );
    }
    for (const run of runs) expect(run.stdout() + run.stderr()).not.toContain(wifiPassword);
  });

  it("provisions over SoftAP with --transport softap --url (no --air)", async () => {
    const random = new CryptoRandom();
    const service = new SoftApProvisioningService({
      host: "127.0.0.1",
      port: 0,
      wifi: new SimulatedWifiManager({ networks: [{ ssid: "lab-wifi", password: wifiPassword }], joinDelayMs: 20 }),
      verifier: derivePopVerifier(parsePop(pop), random.bytes(16)),
      info: { firmware: "demo-1.0.0", productKey: triad.productKey, deviceName: "softap-cli-01" },
    });
    await service.start();
    try {
      const args = [simBin, "provision", "--transport", "softap", "--url", service.url];
      const secrets = ["--pop-file", join(dir, "pop.txt"), "--ssid", "lab-wifi"];
      const run = await runSim([...args, ...secrets, "--password-file", join(dir, "password.txt"), "--json"]);
      expect(run.status, run.stderr).toBe(0);
      const steps = run.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(steps.map((s) => s.step)).toEqual(["found", "session", "status"]);
      expect(steps[0]).toEqual({ step: "found", url: service.url, flags: { provisioned: false, locked: false } });
      expect(steps[1]).toMatchObject({ roundTrips: 1 });
      expect(steps[2]).toMatchObject({ state: "connected" });
      expect(service.publicState()).toMatchObject({ provisioned: true });
      for (const secret of [pop, wifiPassword]) expect(run.stdout + run.stderr).not.toContain(secret);

      // The transport's required option missing is a usage error (exit 2), before any secret is read.
      const missing = await runSim([
        simBin,
        "provision",
        "--transport",
        "softap",
        ...secrets,
        "--password-file",
        join(dir, "password.txt"),
      ]);
      expect(missing.status).toBe(2);
      expect(missing.stderr).toContain("--url");
      const noAir = await runSim([simBin, "provision", "--device", "x", ...secrets, "--password-file", "-"]);
      expect(noAir.status).toBe(2);
      expect(noAir.stderr).toContain("--air");
    } finally {
      await service.stop();
    }
  });
});

/** Runs the CLI without blocking this process's event loop (the SoftAP service under test lives here). */
function runSim(args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"], timeout: 90_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.once("close", (status) => resolve({ status, stdout, stderr }));
  });
}
