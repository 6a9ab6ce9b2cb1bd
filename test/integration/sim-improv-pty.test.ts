/**
 * `triadkit-sim device --improv-pty` across processes: the device serves Improv serial on a PTY, the public
 * `improv-wifi-serial-sdk` client provisions it over that PTY, the device stores the WiFi and goes online.
 * No secret shows on any output.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ImprovState } from "@triadkit/protocol";
import { SerialPort } from "serialport";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadImprovSerial, portFromSerialPort } from "../helpers/improv-client.js";
import { firstLine, readyLines, startSim } from "../helpers/sim-cli.js";

const triad = {
  productKey: "a1SimImprov",
  deviceName: "sim-improv-01",
  deviceSecret: "Zq9xWv8uTs7rQp6oNm5lKj4iHg3fEd2c",
};
const wifiPassword = "correct horse improv";
const hasSocat = spawnSync("socat", ["-V"]).status === 0;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "triadkit-improv-"));
  await writeFile(
    join(dir, "triads.csv"),
    `productKey,deviceName,deviceSecret\n${triad.productKey},${triad.deviceName},${triad.deviceSecret}\n`,
  );
  await writeFile(join(dir, "triad.json"), JSON.stringify(triad));
  await writeFile(join(dir, "wifi.tsv"), `lab-wifi\t${wifiPassword}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("triadkit-sim device --improv-pty", () => {
  it("is provisioned by the public Improv serial client over its PTY, then goes online", async (ctx) => {
    if (!hasSocat) {
      if (process.env.TRIADKIT_REQUIRE_SERVICES === "1") throw new Error("socat is missing");
      ctx.skip();
    }
    const cloud = startSim(["cloud", "--port", "0", "--triads", join(dir, "triads.csv")]);
    const runs = [cloud];
    try {
      const cloudUrl = (await readyLines(cloud, 1))[0]!.slice("READY ".length);
      const device = startSim([
        "device",
        ...["--state-dir", join(dir, "state"), "--cloud", cloudUrl, "--triad-file", join(dir, "triad.json")],
        ...["--improv-pty", "--wifi-file", join(dir, "wifi.tsv")],
      ]);
      runs.push(device);
      const ptyLine = await firstLine(device, "PTY improv ");
      expect(ptyLine).toMatch(/^PTY improv \/\S+$/);
      const path = ptyLine.slice("PTY improv ".length);

      const port = new SerialPort({ path, baudRate: 115_200, autoOpen: false });
      await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
      const ImprovSerial = await loadImprovSerial();
      const errors: unknown[] = [];
      const client = new ImprovSerial(portFromSerialPort(port), {
        log() {},
        debug() {},
        error: (...args: unknown[]) => errors.push(args),
      });
      try {
        const info = await client.initialize(5_000);
        expect(info).toMatchObject({ firmware: "triadkit-sim", name: triad.deviceName });
        expect(client.state).toBe(ImprovState.Authorized);
        await client.provision("lab-wifi", wifiPassword, 15_000);
        expect(client.state).toBe(ImprovState.Provisioned);
        expect(errors).toEqual([]);
      } finally {
        await client.close().catch(() => undefined);
        await new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
      }
      const lines = await readyLines(device, 1);
      expect(lines).toContain(`READY device ${triad.productKey}/${triad.deviceName} ${cloudUrl}`);
    } finally {
      for (const run of [...runs].reverse()) run.child.kill("SIGTERM");
    }
    for (const run of runs) {
      const code = await run.exit;
      expect(`${run.child.spawnargs[2]} exited ${code}`, run.stderr().slice(-800)).toBe(
        `${run.child.spawnargs[2]} exited 0`,
      );
    }
    for (const run of runs) {
      for (const secret of [wifiPassword, triad.deviceSecret]) {
        expect(run.stdout() + run.stderr()).not.toContain(secret);
      }
    }
  });

  it("`triadkit-sim provision --transport improv-serial` provisions the same device over the PTY", async (ctx) => {
    if (!hasSocat) {
      if (process.env.TRIADKIT_REQUIRE_SERVICES === "1") throw new Error("socat is missing");
      ctx.skip();
    }
    await writeFile(join(dir, "password.txt"), `${wifiPassword}\n`);
    const device = startSim([
      "device",
      ...[
        "--state-dir",
        join(dir, "state-cli"),
        "--cloud",
        "mqtt://127.0.0.1:9",
        "--triad-file",
        join(dir, "triad.json"),
      ],
      ...["--improv-pty", "--wifi-file", join(dir, "wifi.tsv")],
    ]);
    try {
      const path = (await firstLine(device, "PTY improv ")).slice("PTY improv ".length);
      const provision = startSim(
        ["provision", "--transport", "improv-serial", "--port", path, "--ssid", "lab-wifi"].concat([
          "--password-file",
          join(dir, "password.txt"),
          "--json",
        ]),
      );
      expect(await provision.exit).toBe(0);
      const steps = provision
        .stdout()
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { step: string; state?: string });
      expect(steps.map((s) => s.step)).toEqual(["found", "status"]);
      expect(steps[1]).toMatchObject({ state: "connected" });
      expect(provision.stdout() + provision.stderr()).not.toContain(wifiPassword);
    } finally {
      device.child.kill("SIGTERM");
      await device.exit;
    }
  });
});
