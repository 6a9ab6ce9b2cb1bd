import { copyFileSync, rmSync } from "node:fs";
import { MemorySerialLink } from "@triadkit/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { acceptRestoredHead } from "../ledger/accept-head.js";
import { FakeDevice } from "./__tests__/fake-device.js";
import { type BurnHarness, burnHarness, plug } from "./__tests__/harness.js";
import { KillSwitch } from "./__tests__/kill-switch.js";
import { processDevice } from "./burn-device.js";
import { runBurnSession } from "./burn-session.js";
import type { DeviceOutcome } from "./device-steps.js";
import { FactoryClient } from "./factory-client.js";
import { restoredDatabaseError } from "./restore-guard.js";
import { reworkDevice, scrapChip } from "./rework.js";

let h: BurnHarness;
afterEach(async () => {
  await h?.close();
});

const chip = (i: number) => `c0ffee${String(i).padStart(4, "0")}`;

async function burnOnce(devices: readonly FakeDevice[]): Promise<DeviceOutcome[]> {
  const { outcomes } = await runBurnSession({
    ctx: h.ctx,
    ports: devices.map((d, i) => ({ fixture: `F${i + 1}`, link: plug(d) })),
    workOrder: h.order,
    watch: false,
    timeoutMs: 150,
    onOutcome: () => {},
  });
  return [...outcomes].sort((a, b) => a.fixture.localeCompare(b.fixture));
}

describe("burn sessions", () => {
  it("burns several ports in parallel, one distinct triad each", async () => {
    h = await burnHarness(5);
    const devices = [1, 2, 3].map((i) => new FakeDevice({ chipId: chip(i) }));
    const outcomes = await burnOnce(devices);
    expect(outcomes.map((o) => o.result)).toEqual(["pass", "pass", "pass"]);
    expect(new Set(outcomes.map((o) => o.triad?.id)).size).toBe(3);
    expect(devices.map((d) => d.state)).toEqual(["locked", "locked", "locked"]);
    expect((await h.station.ledger.counts()).total).toMatchObject({ available: 2, verified: 3 });
  });

  it("watches a port: each next board once, the same board only after it went away", async () => {
    h = await burnHarness(5);
    const [station, deviceEnd] = MemorySerialLink.pair();
    const boards = [1, 2, 3].map((i) => new FakeDevice({ chipId: chip(10 + i) }));
    // The fixture: a board answers only while "seated"; each one is swapped for the next after it is locked.
    let seated = 0;
    const line = new FakeDevice({ chipId: "ffffffff" }).behave((req) => {
      const b = boards[seated];
      if (b === undefined) return "silent";
      const reply = b.standard(req);
      if (req.t === "lock") seated++;
      return reply;
    });
    line.attach(deviceEnd);
    const stop = new AbortController();
    const seen: DeviceOutcome[] = [];
    const run = runBurnSession({
      ctx: h.ctx,
      ports: [{ fixture: "W1", link: station }],
      workOrder: h.order,
      watch: true,
      timeoutMs: 80,
      pollMs: 10,
      signal: stop.signal,
      onOutcome: (o) => {
        seen.push(o);
        if (seen.length === 3) setTimeout(() => stop.abort(), 200);
      },
    });
    await run;
    expect(seen.map((o) => [o.chipId, o.result])).toEqual([
      [chip(11), "pass"],
      [chip(12), "pass"],
      [chip(13), "pass"],
    ]);
  });

  it("reconciles on start: settles a written triad on its device, quarantines what no device shows", async () => {
    h = await burnHarness(5);
    const actor = h.station.actor("tester", "F9");
    const orphan = await h.station.ledger.reserve(h.order.id, actor); // the station stopped before linking
    const b = new FakeDevice({ chipId: chip(22) });
    // A burn that dies right after committing "written" (before verify).
    const kill = new KillSwitch(
      1,
      true,
      (m, args) => m === "transition" && (args[1] as { to: string }).to === "written",
    );
    const dying = { ...h.ctx, ledger: kill.ledger(h.station.ledger), retries: 0 };
    await processDevice(
      dying,
      new FactoryClient({ link: kill.link(plug(b)), random: h.ctx.random, timeoutMs: 50 }),
      "F2",
      h.order,
    );
    expect(kill.killed).toBe(true);
    const t = (await h.station.ledger.listTriads({ states: ["written"] }))[0];
    expect(t).toBeDefined();
    expect(b.state).toBe("provisioned");
    const entries: string[] = [];
    const { outcomes } = await runBurnSession({
      ctx: h.ctx,
      ports: [{ fixture: "F2", link: plug(b) }],
      workOrder: h.order,
      watch: false,
      timeoutMs: 150,
      onOutcome: () => {},
      onReconcile: (e) => entries.push(`${e.triadId}:${e.outcome}`),
    });
    expect(entries.sort()).toEqual([`${orphan.id}:quarantined`, `${t?.id}:settled`].sort());
    expect((await h.station.ledger.getTriad(orphan.id))?.reason).toContain("never linked");
    expect((await h.station.ledger.getTriad(t?.id as string))?.state).toBe("verified");
    expect(b.state).toBe("locked");
    expect(outcomes[0]).toMatchObject({ result: "pass", action: "already", chipId: chip(22) });
  });

  it("a database restored from an older copy: triads found on devices are quarantined, none reissued", async () => {
    h = await burnHarness(20);
    const a = new FakeDevice({ chipId: chip(31) });
    await burnOnce([a]);
    await h.station.close();
    copyFileSync(h.dbPath, `${h.dbPath}.bak`);
    await h.reopen();
    const b = new FakeDevice({ chipId: chip(32) });
    const c = new FakeDevice({ chipId: chip(33) });
    const later = await burnOnce([b, c]);
    const lost = later.map((o) => o.triad?.id as string);
    const nothing = await acceptRestoredHead(h.station, h.station.actor("lead"), { reason: "x" }).catch((e) => e);
    expect(nothing.code).toBe("config.invalid"); // head and database agree: nothing to accept
    await h.station.close();
    copyFileSync(`${h.dbPath}.bak`, h.dbPath);
    rmSync(`${h.dbPath}-wal`, { force: true });
    rmSync(`${h.dbPath}-shm`, { force: true });
    await h.reopen();
    const hold = await restoredDatabaseError(h.station.ledger, h.station.stationId, h.station.headFile);
    expect(hold?.code).toBe("audit.truncated");
    h.ctx = { ...h.ctx, holdReservations: hold };
    const d = new FakeDevice({ chipId: chip(34) });
    const seen = await burnOnce([b, c, d]);
    expect(seen.map((o) => [o.result, o.code])).toEqual([
      ["fail", "factory.record_mismatch"],
      ["fail", "factory.record_mismatch"],
      ["fail", "audit.truncated"],
    ]);
    for (const id of lost) expect((await h.station.ledger.getTriad(id))?.state).toBe("quarantined");
    expect(h.alerts.filter((x) => x.code === "factory.record_mismatch")).toHaveLength(2);
    expect((await h.station.verifyAudit()).problems.map((p) => p.code)).toContain("audit.truncated");
    const accepted = await acceptRestoredHead(h.station, h.station.actor("lead"), {
      reason: "restored after disk failure",
    });
    expect(accepted.fence).toBeGreaterThanOrEqual(2); // at least the two lost burns
    expect(accepted.restoredSeq).toBeLessThan(accepted.lastSeq); // the quarantines came after the restore
    expect(accepted.fenced).toHaveLength(accepted.fence);
    expect((await h.station.verifyAudit()).ok).toBe(true);
    expect(await restoredDatabaseError(h.station.ledger, h.station.stationId, h.station.headFile)).toBeUndefined();
    h.ctx = { ...h.ctx, holdReservations: undefined } as typeof h.ctx;
    const [fresh] = await burnOnce([d]);
    expect(fresh?.result).toBe("pass");
    expect(lost).not.toContain(fresh?.triad?.id);

    // A deleted head file holds issuing too (a deleted tail cannot be ruled out) until accept-head with a fence.
    rmSync(h.station.headFile as string);
    expect((await restoredDatabaseError(h.station.ledger, h.station.stationId, h.station.headFile))?.code).toBe(
      "audit.head_missing",
    );
    await acceptRestoredHead(h.station, h.station.actor("lead"), { reason: "head file lost", fence: 0 });
    expect(await restoredDatabaseError(h.station.ledger, h.station.stationId, h.station.headFile)).toBeUndefined();
  });
});

describe("rework and scrap", () => {
  it("reverifies a quarantined board, revokes another (void + signed reset), scraps a third", async () => {
    h = await burnHarness(6);
    const boards = [41, 42, 43].map((i) => new FakeDevice({ chipId: chip(i) }));
    const first = await burnOnce(boards);
    const [t1, t2, t3] = first.map((o) => o.triad?.id as string);
    const actor = h.station.actor("tester", "F1");
    await h.station.ledger.transition(t1 as string, { to: "quarantined", actor, reason: "label smudged" });
    const c1 = new FactoryClient({ link: plug(boards[0] as FakeDevice), random: h.ctx.random, timeoutMs: 150 });
    const wrong = await reworkDevice(h.ctx, c1, "F1", { chipId: chip(99), reason: "x", mode: "reverify" }).catch(
      (e) => e,
    );
    expect(wrong.code).toBe("station.wrong_device");
    const rv = await reworkDevice(h.ctx, c1, "F1", { chipId: chip(41), reason: "relabelled", mode: "reverify" });
    expect(rv).toMatchObject({ result: "pass", action: "reworked" });
    expect((await h.station.ledger.getTriad(t1 as string))?.state).toBe("verified");
    expect(boards[0]?.state).toBe("locked");

    const c2 = new FactoryClient({ link: plug(boards[1] as FakeDevice), random: h.ctx.random, timeoutMs: 150 });
    await reworkDevice(h.ctx, c2, "F1", { chipId: chip(42), reason: "wrong enclosure", mode: "revoke" });
    expect(boards[1]?.state).toBe("blank");
    expect((await h.station.ledger.getTriad(t2 as string))?.state).toBe("void");
    const [again] = await burnOnce([boards[1] as FakeDevice]);
    expect(again).toMatchObject({ result: "pass", action: "burnt" });
    expect(again?.triad?.id).not.toBe(t2);

    const scrapped = await scrapChip(h.station.ledger, actor, chip(43), "cracked PCB");
    expect(scrapped.triad).toMatchObject({ id: t3, state: "void" });
    expect(scrapped.link.status).toBe("scrapped");
    const steps = (await h.station.ledger.auditEntries(h.station.stationId, 0, 1000))
      .filter((e) => e.action === "rework")
      .map((e) => JSON.parse(e.details).step);
    expect(steps).toEqual(["start", "unlock", "reverified", "start", "unlock", "factory_reset"]);
  });

  it("a device refuses unsigned or wrongly signed unlocks", async () => {
    h = await burnHarness(1);
    const dev = new FakeDevice({ chipId: chip(51) });
    await burnOnce([dev]);
    const c = new FactoryClient({ link: plug(dev), random: h.ctx.random, timeoutMs: 150 });
    const hello = await c.hello();
    const bad = await c.unlock(new Uint8Array(64)).catch((e) => e);
    expect(bad.context?.deviceCode).toBe("bad_signature");
    const replay = await c.unlock(h.ctx.anchor.sign("unlock", chip(51), hello.challenge)).catch((e) => e);
    expect(replay.context?.deviceCode).toBe("no_challenge");
    expect(dev.state).toBe("locked");
  });
});
