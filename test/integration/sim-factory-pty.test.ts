/**
 * `triadkit-sim device --factory-pty` across processes: a station-side client burns the simulated device through
 * the real `serialport` package on the PTY (hello → write_record → verify → lock), a locked device refuses a
 * rewrite and a wrongly signed unlock, `--show` reports the burn, and the burnt device goes online against
 * `triadkit-sim cloud` with the burnt triad, while the verify answer is refused as a login. No secret on any output.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  checkVerifyMac,
  type FactoryRecord,
  factoryRecordHash,
  formatPop,
  signConnect,
  toHex,
} from "@triadkit/protocol";
import { NodeSerialLink } from "@triadkit/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectType,
  FactoryTestClient,
  OTHER_SEED,
  signAuth,
  TEST_POP,
  TEST_SECRET,
  testRecord,
} from "../../sdk/src/factory/__tests__/factory-test-client.js";
import { firstLine, type Run, readyLines, root, simBin, startSim } from "../helpers/sim-cli.js";
import { ClientPool } from "./emulator-harness.js";

const hasSocat = spawnSync("socat", ["-V"]).status === 0;
const record: FactoryRecord = testRecord({
  triad: { family: "alibaba", productKey: "a1SimFactry", deviceName: "sim-factory-01", deviceSecret: TEST_SECRET },
});
const popKeyHex = toHex(record.pop.key);
const popText = formatPop(TEST_POP); // the label's PoP; the record holds only its verifier
const wifiPassword = "factory lab wifi";
const nonce = (seed: number) => Uint8Array.from({ length: 16 }, (_, i) => seed + i);
const pool = new ClientPool();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "triadkit-factory-"));
  const t = record.triad as Extract<FactoryRecord["triad"], { family: "alibaba" }>;
  await writeFile(
    join(dir, "triads.csv"),
    `productKey,deviceName,deviceSecret\n${t.productKey},${t.deviceName},${t.deviceSecret}\n`,
  );
  await writeFile(join(dir, "pop.txt"), `${popText}\n`);
  await writeFile(join(dir, "wifi.tsv"), `lab-wifi\t${wifiPassword}\n`);
  await writeFile(join(dir, "password.txt"), `${wifiPassword}\n`);
});
afterAll(async () => {
  await pool.endAll();
  await rm(dir, { recursive: true, force: true });
});

function needSocat(ctx: { skip: () => void }) {
  if (hasSocat) return;
  if (process.env.TRIADKIT_REQUIRE_SERVICES === "1") throw new Error("socat is missing");
  ctx.skip();
}

/** Opens the printed PTY with serialport (through NodeSerialLink) and a station-side client on it. */
async function station(run: Run) {
  const path = (await firstLine(run, "PTY factory ")).slice("PTY factory ".length);
  expect(path).toMatch(/^\/dev\/\S+$/);
  const link = await NodeSerialLink.open(path);
  const client = new FactoryTestClient(link);
  return {
    client,
    close: async () => {
      client.close();
      await link.close();
    },
  };
}

async function stop(run: Run): Promise<void> {
  run.child.kill("SIGTERM");
  const code = await run.exit;
  expect(`exited ${code}`, run.stderr().slice(-800)).toBe("exited 0");
}

function expectNoSecrets(...runs: Run[]) {
  for (const run of runs) {
    const all = run.stdout() + run.stderr();
    expect(all).not.toContain(TEST_SECRET);
    expect(all).not.toContain(popKeyHex);
    expect(all).not.toContain(popText);
    expect(all).not.toContain(wifiPassword);
  }
}

describe("triadkit-sim device --factory-pty", () => {
  it("is burnt, verified and locked over the PTY with serialport; --show reports it; the chip id is stable", async (ctx) => {
    needSocat(ctx);
    const stateDir = join(dir, "burn");
    const runs: Run[] = [];
    const device = startSim([
      "device",
      "--state-dir",
      stateDir,
      "--factory-pty",
      "--model",
      "lamp-v2",
      "--firmware",
      "1.4.0",
    ]);
    runs.push(device);
    let chipId: string;
    let s = await station(device);
    try {
      const h = expectType(await s.client.request({ t: "hello", stationNonce: nonce(1) }), "hello");
      expect(h).toMatchObject({ state: "blank", model: "lamp-v2", firmware: "1.4.0" });
      expect(h.chipId).toMatch(/^[0-9a-f]{16}$/);
      expect(h.wifiMac).toMatch(/^[0-9a-f]{12}$/);
      chipId = h.chipId;
      const written = expectType(await s.client.request({ t: "write_record", record }), "written");
      expect(written.recordHash).toEqual(factoryRecordHash(record));
      const stationNonce = nonce(9);
      const v = expectType(await s.client.request({ t: "verify", stationNonce }), "verified");
      expect(checkVerifyMac(TEST_SECRET, v.deviceNonce, stationNonce, chipId, v.recordHash, v.mac)).toBe(true);
      expect(await s.client.request({ t: "lock" })).toEqual({ t: "ok", state: "locked" });
      expect(await s.client.request({ t: "write_record", record: testRecord({ triadId: "x" }) })).toMatchObject({
        code: "locked",
      });
      const h2 = expectType(await s.client.request({ t: "hello", stationNonce: nonce(2) }), "hello");
      const forged = signAuth("unlock", chipId, h2.challenge, OTHER_SEED);
      expect(await s.client.request({ t: "unlock", signature: forged })).toMatchObject({ code: "bad_signature" });
      await expect.poll(device.stderr).toContain("factory state locked");
    } finally {
      await s.close();
      await stop(device);
    }

    const show = startSim(["device", "--state-dir", stateDir, "--show"]);
    runs.push(show);
    expect(await show.exit).toBe(0);
    const shown = JSON.parse(show.stdout().trim()) as Record<string, unknown>;
    expect(shown).toEqual({
      state: "locked",
      credentials: "factory",
      identity: { family: "alibaba", productKey: "a1SimFactry", deviceName: "sim-factory-01" },
      chipId,
      wifiMac: expect.stringMatching(/^[0-9a-f]{12}$/),
      bleMac: expect.stringMatching(/^[0-9a-f]{12}$/),
      model: "lamp-v2",
      firmware: "1.4.0",
      shelf: { storeId: 4201, deviceCode: "SHELF-0001" },
      workOrderId: "WO-1",
      triadId: "triad-1",
      stationId: "station-1",
      poolId: "pool-1",
      writtenAt: record.writtenAt,
      recordHash: toHex(factoryRecordHash(record)),
      popVerifier: true,
    });

    // Restarted: same chip, still locked, the record survives.
    const again = startSim(["device", "--state-dir", stateDir, "--factory-pty"]);
    runs.push(again);
    s = await station(again);
    try {
      const h = expectType(await s.client.request({ t: "hello", stationNonce: nonce(3) }), "hello");
      expect(h).toMatchObject({ state: "locked", chipId, model: "lamp-v2", triadId: "triad-1" });
      // Rework: the anchor's signature unlocks, then resets.
      const unlock = signAuth("unlock", chipId, h.challenge);
      expect(await s.client.request({ t: "unlock", signature: unlock })).toEqual({ t: "ok", state: "provisioned" });
      const h2 = expectType(await s.client.request({ t: "hello", stationNonce: nonce(4) }), "hello");
      const reset = signAuth("factory_reset", chipId, h2.challenge);
      expect(await s.client.request({ t: "factory_reset", signature: reset })).toEqual({ t: "ok", state: "blank" });
    } finally {
      await s.close();
      await stop(again);
    }
    expectNoSecrets(...runs);
  });

  it("goes online against triadkit-sim cloud with the burnt triad; the verify MAC is refused as a password", async (ctx) => {
    needSocat(ctx);
    const cloud = startSim(["cloud", "--port", "0", "--triads", join(dir, "triads.csv")]);
    const runs: Run[] = [cloud];
    try {
      const cloudUrl = (await readyLines(cloud, 1))[0]!.slice("READY ".length);
      const device = startSim(["device", "--state-dir", join(dir, "online"), "--factory-pty", "--cloud", cloudUrl]);
      runs.push(device);
      const s = await station(device);
      let mac: Uint8Array;
      try {
        expectType(await s.client.request({ t: "hello", stationNonce: nonce(1) }), "hello");
        await expect.poll(device.stderr).toContain("waiting for the factory station");
        expect(device.stdout()).not.toContain("READY device");
        expectType(await s.client.request({ t: "write_record", record }), "written");
        mac = expectType(await s.client.request({ t: "verify", stationNonce: nonce(5) }), "verified").mac;
        expectType(await s.client.request({ t: "lock" }), "ok");
      } finally {
        await s.close();
      }
      expect(await readyLines(device, 1)).toContain(`READY device a1SimFactry/sim-factory-01 ${cloudUrl}`);

      // The verify answer as an MQTT password (hex and upper-case hex, both wire styles): refused.
      const triad = { productKey: "a1SimFactry", deviceName: "sim-factory-01", deviceSecret: TEST_SECRET };
      for (const style of ["c", "node"] as const) {
        const login = signConnect({ triad, style, timestampMs: Date.now() });
        for (const password of [toHex(mac), toHex(mac, true)]) {
          expect(await pool.refusal(cloudUrl, { ...login, password })).toBe(5);
        }
      }
    } finally {
      await pool.endAll();
      for (const run of [...runs].reverse()) {
        run.child.kill("SIGTERM");
        await run.exit;
      }
    }
    for (const run of runs) expect(await run.exit, run.stderr().slice(-800)).toBe(0);
    expectNoSecrets(...runs);
  });

  it("a burnt device is provisioned over BLE with the PoP whose verifier the station burnt", async (ctx) => {
    needSocat(ctx);
    const air = startSim(["air", "--port", "0"]);
    const cloud = startSim(["cloud", "--port", "0", "--triads", join(dir, "triads.csv")]);
    const runs: Run[] = [air, cloud];
    try {
      const airUrl = (await readyLines(air, 1))[0]!.slice("READY ".length);
      const cloudUrl = (await readyLines(cloud, 1))[0]!.slice("READY ".length);
      const device = startSim([
        "device",
        ...["--state-dir", join(dir, "ble"), "--factory-pty", "--cloud", cloudUrl],
        ...["--air", airUrl, "--wifi-file", join(dir, "wifi.tsv")],
      ]);
      runs.push(device);
      const s = await station(device);
      try {
        expectType(await s.client.request({ t: "write_record", record }), "written");
        expectType(await s.client.request({ t: "lock" }), "ok");
      } finally {
        await s.close();
      }
      const advertising = (await readyLines(device, 1)).find((l) => l.startsWith("READY "));
      expect(advertising).toMatch(/^READY air-device [0-9a-f]{12} sim-factory-01$/);
      const provision = spawnSync(
        process.execPath,
        [
          simBin,
          "provision",
          "--device",
          "sim-factory-01",
          "--pop-file",
          join(dir, "pop.txt"),
          "--ssid",
          "lab-wifi",
        ].concat(["--password-file", join(dir, "password.txt"), "--air", airUrl, "--json"]),
        { cwd: root, encoding: "utf8", timeout: 15_000 },
      );
      expect(provision.status, provision.stderr.slice(-1200)).toBe(0);
      const ready = (await readyLines(device, 2)).filter((l) => l.startsWith("READY "));
      expect(ready[1]).toBe(`READY device a1SimFactry/sim-factory-01 ${cloudUrl}`);
      expect(provision.stdout + provision.stderr).not.toContain(popText);
    } finally {
      for (const run of [...runs].reverse()) {
        run.child.kill("SIGTERM");
        await run.exit;
      }
    }
    for (const run of runs) expect(await run.exit, run.stderr().slice(-800)).toBe(0);
    expectNoSecrets(...runs);
  });

  it("usage errors exit 2: no --cloud, --factory-pty with --triad-file or --improv-pty, a changed chip id", async () => {
    const stateDir = join(dir, "usage");
    const first = startSim(["device", "--state-dir", stateDir, "--show", "--chip-id", "00112233aabbccdd"]);
    expect(await first.exit).toBe(0);
    expect(JSON.parse(first.stdout())).toMatchObject({
      chipId: "00112233aabbccdd",
      state: "blank",
      credentials: "none",
    });
    const cases: [string[], RegExp][] = [
      [[], /--cloud <url> is required/],
      [["--factory-pty", "--triad-file", join(dir, "triads.csv")], /cannot be combined/],
      [["--factory-pty", "--improv-pty"], /cannot be combined/],
      [["--show", "--chip-id", "ffffffffffffffff"], /chip id never changes/],
      [["--show", "--chip-id", "xyz"], /--chip-id must be/],
    ];
    for (const [args, message] of cases) {
      const run = startSim(["device", "--state-dir", stateDir, ...args]);
      expect(await run.exit, args.join(" ")).toBe(2);
      expect(run.stderr()).toMatch(message);
    }
  });
});
