/**
 * `triadkit-station burn` over real PTYs to simulated boards (`triadkit-sim device --factory-pty`), through the
 * real `serialport` package: several fixtures in parallel, a work-order mismatch refused with nothing reserved, a
 * locked board refusing writes and unsigned unlocks, the fixtures lock, rework and scrap end to end, and no secret
 * or PoP in any output.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FactoryRecord, formatPop, toHex } from "@triadkit/protocol";
import { FactoryClient, type FactoryClientOptions, openStation } from "@triadkit/provisioning-station";
import { CryptoRandom, NodeSerialLink } from "@triadkit/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasSocat, jsonLines, MODEL, needSocat, type SimBoard, StationFloor } from "./station-burn-harness.js";

let floor: StationFloor;
const boards: SimBoard[] = [];

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), "triadkit-burn-"));
  floor = new StationFloor(dir, join(dir, "station.db"));
  if (!hasSocat) return;
  floor.order("WO-P", 8);
  boards.push(
    ...(await Promise.all([
      floor.device("b1"),
      floor.device("b2"),
      floor.device("b3"),
      floor.device("odd", "TK-OTHER-9"),
      floor.device("old", MODEL, "1.1.0"),
    ])),
  );
  const fixtures = Object.fromEntries(boards.slice(0, 3).map((b, i) => [`F${i + 1}`, { port: b.pty }]));
  await writeFile(`${floor.db}.fixtures.json`, JSON.stringify({ fixtures }));
}, 60_000);

afterAll(async () => {
  await floor.close();
  await rm(floor.dir, { recursive: true, force: true });
});

const status = () => JSON.parse(floor.run(["status", "--json"]).stdout).total as Record<string, number>;

describe("triadkit-station burn (PTYs, simulated boards)", () => {
  it("lists the fixtures and every new command has --help", (ctx) => {
    needSocat(ctx);
    const list = floor.run(["fixtures", "--json"]);
    expect(list.code, list.stderr).toBe(0);
    const j = JSON.parse(list.stdout) as { fixtures: { name: string; exists: boolean }[] };
    expect(j.fixtures.map((f) => [f.name, f.exists])).toEqual([
      ["F1", true],
      ["F2", true],
      ["F3", true],
    ]);
    for (const cmd of [["burn"], ["rework"], ["scrap"], ["fixtures"], ["audit", "accept-head"]]) {
      const help = floor.run([...cmd, "--help"]);
      expect(help.code, cmd.join(" ")).toBe(0);
      expect(help.stdout).toContain("Usage: triadkit-station");
    }
    expect(floor.run(["burn", "--work-order", "WO-P"]).code).toBe(2); // no fixture, no port
  });

  it("burns three boards in parallel, each its own triad, verified and locked", async (ctx) => {
    needSocat(ctx);
    const r = floor.run([
      "burn",
      "--fixture",
      "F1",
      "--fixture",
      "F2",
      "--fixture",
      "F3",
      "--work-order",
      "WO-P",
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe("READY burn 3");
    const lines = jsonLines(r.stdout);
    expect(lines.map((l) => [l.fixture, l.result]).sort()).toEqual([
      ["F1", "pass"],
      ["F2", "pass"],
      ["F3", "pass"],
    ]);
    expect(new Set(lines.map((l) => (l.triad as { id: string }).id)).size).toBe(3);
    for (const [i, b] of boards.slice(0, 3).entries()) {
      const shown = await b.show();
      const line = lines.find((l) => l.fixture === `F${i + 1}`) as Record<string, unknown>;
      expect(shown).toMatchObject({ state: "locked", chipId: line.chipId, triadId: (line.triad as { id: string }).id });
    }
    expect(status()).toMatchObject({ verified: 3, available: 5, reserved: 0, written: 0 });
  });

  it("refuses boards of another model or older firmware and reserves nothing", (ctx) => {
    needSocat(ctx);
    const [, , , odd, old] = boards as [SimBoard, SimBoard, SimBoard, SimBoard, SimBoard];
    const r = floor.run(["burn", "--port", odd.pty, "--port", old.pty, "--work-order", "WO-P", "--json"]);
    expect(r.code).toBe(1);
    expect(
      jsonLines(r.stdout)
        .map((l) => l.code)
        .sort(),
    ).toEqual(["factory.firmware_too_old", "factory.model_mismatch"]);
    expect(status()).toMatchObject({ verified: 3, available: 5, reserved: 0, quarantined: 0 });
  });

  it("a locked board refuses a write and unsigned unlocks", async (ctx) => {
    needSocat(ctx);
    const b1 = boards[0] as SimBoard;
    const link = await NodeSerialLink.open(b1.pty);
    const options: FactoryClientOptions = { link, random: new CryptoRandom(), timeoutMs: 2000, where: "test" };
    const client = new FactoryClient(options);
    try {
      const hello = await client.hello();
      expect(hello.state).toBe("locked");
      const record: FactoryRecord = {
        v: 1,
        triad: { family: "genie", productId: 4455667, mac: "0c0000000099", secret: "0".repeat(32) },
        pop: { v: 1, salt: new Uint8Array(16), key: new Uint8Array(32) },
        anchor: { poolId: "p", publicKey: new Uint8Array(32) },
        stationId: "st-x",
        workOrderId: "WO-X",
        triadId: "t-x",
        writtenAt: 1,
      };
      const write = await client.writeRecord(record).catch((e: { context?: Record<string, unknown> }) => e);
      expect((write as { context?: Record<string, unknown> }).context?.deviceCode).toBe("locked");
      const unsigned = await client.unlock(new Uint8Array(64)).catch((e: { context?: Record<string, unknown> }) => e);
      expect((unsigned as { context?: Record<string, unknown> }).context?.deviceCode).toMatch(
        /bad_signature|no_challenge/,
      );
      expect((await client.hello()).state).toBe("locked");
    } finally {
      client.close();
      await link.close();
    }
  });

  it("one process owns the fixtures: a second burn is refused naming the owner's pid", async (ctx) => {
    needSocat(ctx);
    const watcher = floor.start(["burn", "--fixture", "F2", "--work-order", "WO-P", "--watch", "--poll-ms", "100"]);
    await expect.poll(() => watcher.stdout(), { timeout: 20_000 }).toContain("READY burn 1");
    const second = floor.run(["burn", "--fixture", "F3", "--work-order", "WO-P", "--json"]);
    expect(second.code).toBe(1);
    const err = JSON.parse(second.stdout.trim().split("\n").at(-1) as string).error;
    expect(err.code).toBe("station.fixture_locked");
    expect(err.message).toContain(`pid ${watcher.child.pid}`);
    watcher.child.kill("SIGTERM");
    expect(await watcher.exit).toBe(0);
    expect(watcher.stdout()).toMatch(/PASS F2 .*\(already\)/); // the watcher saw the board it had burnt, burnt nothing
  });

  it("rework: revoke (void, signed reset, fresh burn), reverify, scrap; every step audited", async (ctx) => {
    needSocat(ctx);
    const b2 = boards[1] as SimBoard;
    const before = await b2.show();
    const chip = before.chipId as string;
    const wrong = floor.run([
      "rework",
      "--chip",
      "00ff00ff00ff",
      "--reason",
      "x",
      "--fixture",
      "F2",
      "--revoke",
      "--json",
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toContain("station.wrong_device");
    const revoke = floor.run(["rework", "--chip", chip, "--reason", "wrong enclosure", "--fixture", "F2", "--revoke"]);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect((await b2.show()).state).toBe("blank");
    const again = floor.run(["burn", "--fixture", "F2", "--work-order", "WO-P", "--json"]);
    expect(again.code, again.stderr).toBe(0);
    const fresh = jsonLines(again.stdout)[0] as Record<string, { id: string }>;
    expect(fresh.triad?.id).not.toBe(before.triadId);
    const reverify = floor.run([
      "rework",
      "--chip",
      chip,
      "--reason",
      "relabel",
      "--fixture",
      "F2",
      "--reverify",
      "--json",
    ]);
    expect(reverify.code, reverify.stderr).toBe(0);
    expect((await b2.show()).state).toBe("locked");
    const scrap = floor.run(["scrap", "--chip", chip, "--reason", "cracked PCB", "--json"]);
    expect(scrap.code, scrap.stderr).toBe(0);
    expect(JSON.parse(scrap.stdout)).toMatchObject({ ok: true, triad: { id: fresh.triad?.id, state: "void" } });
    expect(floor.run(["scrap", "--chip", chip, "--reason", "again"]).code).toBe(1); // nothing active left
    expect(status()).toMatchObject({ void: 2, verified: 2 });
    const shown = JSON.parse(floor.run(["audit", "show", "--last", "40", "--json"]).stdout).entries as {
      action: string;
      details: Record<string, unknown>;
    }[];
    expect(shown.filter((e) => e.action === "rework").map((e) => e.details.step)).toEqual([
      "start",
      "unlock",
      "factory_reset",
      "start",
      "unlock",
      "reverified",
    ]);
    expect(floor.run(["audit", "verify"]).code).toBe(0);
  });

  it("no device secret or PoP on any output", async (ctx) => {
    needSocat(ctx);
    const station = await openStation({ dbPath: floor.db });
    const pops: string[] = [];
    try {
      for (const t of await station.ledger.listTriads({ limit: 100 })) {
        const link = await station.ledger.deviceLink(t.id);
        if (link === undefined) continue;
        const pop = station.keyring.openPop(t.id, link.sealedPop);
        pops.push(toHex(pop), formatPop(pop), formatPop(pop).replace(/-/g, ""));
      }
    } finally {
      await station.close();
    }
    expect(pops.length).toBeGreaterThanOrEqual(12);
    floor.expectNoSecrets(pops);
  });
});
