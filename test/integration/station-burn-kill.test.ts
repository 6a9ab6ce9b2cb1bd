/**
 * The real process, killed: `triadkit-station burn` SIGKILLed at random points while it burns three simulated
 * boards on PTYs, restarted each time, boards that are done replaced by fresh ones; afterwards every board asked
 * with `--show`: no triad on two boards, each one's triad linked to it and verified (or quarantined with a
 * reason), nothing left reserved or written, the counts add up, `audit verify` passes. (The other kills of the
 * suite run in process: provisioning-station/src/burn/burn-kill.test.ts.)
 *
 * And power loss: the database replaced by an older copy mid-run. The triads found on boards are quarantined at
 * once (alert `factory.record_mismatch`), nothing is issued while the audit head says `audit.truncated`, a person
 * accepts the older copy (`audit accept-head`), and the next board gets a triad none of the others had.
 */
import { copyFileSync, existsSync, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStation } from "@triadkit/provisioning-station";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonLines, needSocat, type SimBoard, StationFloor } from "./station-burn-harness.js";

let floor: StationFloor;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), "triadkit-burn-kill-"));
  floor = new StationFloor(dir, join(dir, "kill.db"));
});
afterAll(async () => {
  await floor.close();
  await rm(floor.dir, { recursive: true, force: true });
});

const KILLS = 4;

describe("triadkit-station burn, killed and restored", () => {
  it(`SIGKILLed ${KILLS} times mid-burn: every triad in one consistent state, none on two boards`, async (ctx) => {
    needSocat(ctx);
    floor.order("WO-K", 40);
    let n = 0;
    const all: SimBoard[] = [];
    const fresh = async () => {
      const b = await floor.device(`k${n++}`);
      all.push(b);
      return b;
    };
    // Boards are started together up front (each simulated board costs about a second of CPU to start); when the
    // spares run out, finished boards stay on the line (the restarted station then settles them again).
    const spares: SimBoard[] = await Promise.all(Array.from({ length: 3 + KILLS - 1 }, fresh));
    const next = (b: SimBoard) => spares.shift() ?? b;
    let line: SimBoard[] = spares.splice(0, 3);
    const args = () => [
      "burn",
      ...line.flatMap((b) => ["--port", b.pty]),
      "--work-order",
      "WO-K",
      "--timeout-ms",
      "500",
    ];
    for (let kill = 0; kill < KILLS; kill++) {
      const run = floor.start(args());
      // Somewhere between opening the ports and the end of the burns (a burn of three takes ~0.3 s here).
      await expect
        .poll(() => run.stdout(), { timeout: 60_000, interval: 10, message: `kill ${kill}: ${run.stderr()}` })
        .toContain("READY burn");
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 250)));
      run.child.kill("SIGKILL");
      await run.exit;
      // Boards that are done leave the line; the rest stay for the restarted station.
      line = line.map((b) => (b.lastState() === "locked" ? next(b) : b));
    }
    const last = floor.run([...args(), "--json"]);
    expect(last.stderr).not.toContain("internal.unexpected");
    const results = jsonLines(last.stdout);
    expect(results).toHaveLength(3);
    for (const r of results)
      expect(r.result === "pass" || r.code === "factory.record_mismatch", JSON.stringify(r)).toBe(true);

    const shown = await Promise.all(all.map((b) => b.show()));
    const held = shown.filter((s) => s.state !== "blank");
    const ids = held.map((s) => s.triadId as string);
    expect(new Set(ids).size).toBe(ids.length);
    expect(floor.run(["audit", "verify"]).code).toBe(0);
    const station = await openStation({ dbPath: floor.db });
    try {
      const counts = (await station.ledger.counts()).total;
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(40);
      expect(counts.reserved + counts.written).toBe(0);
      let verifiedOnBoards = 0;
      for (const s of held) {
        const t = await station.ledger.getTriad(s.triadId as string);
        expect(t?.state).toMatch(/^(verified|quarantined)$/);
        expect((await station.ledger.deviceLink(t?.id as string))?.chipId).toBe(s.chipId);
        if (t?.state === "verified") {
          expect(s.state).toBe("locked");
          verifiedOnBoards++;
        }
      }
      expect(verifiedOnBoards).toBe(counts.verified);
      expect(counts.verified).toBeGreaterThanOrEqual(3);
    } finally {
      await station.close();
    }
  }, 240_000);

  it("power loss: an older copy of the database → triads found on boards quarantined, none reissued", async (ctx) => {
    needSocat(ctx);
    const db = join(floor.dir, "restore.db");
    const station = (args: string[]) => floor.run(args, { db });
    floor.order("WO-R", 30, { from: 100, db });
    const [a, b, c, d] = await Promise.all([
      floor.device("ra"),
      floor.device("rb"),
      floor.device("rc"),
      floor.device("rd"),
    ]);
    const burn = (...boards: SimBoard[]) =>
      station(["burn", ...boards.flatMap((x) => ["--port", x.pty]), "--work-order", "WO-R", "--json"]);
    expect(burn(a as SimBoard).code).toBe(0);
    for (const ext of ["", "-wal"]) if (existsSync(db + ext)) copyFileSync(db + ext, `${db}.bak${ext}`);
    const later = burn(b as SimBoard, c as SimBoard);
    expect(later.code, later.stderr).toBe(0);
    const lost = jsonLines(later.stdout).map((l) => (l.triad as { id: string }).id);
    // The disk is replaced by last night's copy.
    for (const ext of ["", "-wal", "-shm"]) rmSync(db + ext, { force: true });
    copyFileSync(`${db}.bak`, db);
    if (existsSync(`${db}.bak-wal`)) copyFileSync(`${db}.bak-wal`, `${db}-wal`);

    const after = burn(b as SimBoard, c as SimBoard, d as SimBoard);
    expect(after.code).toBe(1);
    const byChip = new Map(jsonLines(after.stdout).map((l) => [l.chipId, l]));
    expect(byChip.get(b?.chipId)).toMatchObject({
      result: "fail",
      code: "factory.record_mismatch",
      action: "quarantined",
    });
    expect(byChip.get(c?.chipId)).toMatchObject({
      result: "fail",
      code: "factory.record_mismatch",
      action: "quarantined",
    });
    expect(byChip.get(d?.chipId)).toMatchObject({ result: "fail", code: "audit.truncated" });
    expect(after.stderr).toContain("ALERT factory.record_mismatch");
    expect((await d?.show())?.state).toBe("blank");
    const verify = station(["audit", "verify", "--json"]);
    expect(verify.code).toBe(1);
    expect(JSON.parse(verify.stdout).problems.map((p: { code: string }) => p.code)).toContain("audit.truncated");

    const accept = station([
      "audit",
      "accept-head",
      "--reason",
      "disk replaced, restored from last night's copy",
      "--json",
    ]);
    expect(accept.code, accept.stderr).toBe(0);
    expect(JSON.parse(accept.stdout)).toMatchObject({ ok: true });
    expect(station(["audit", "verify"]).code).toBe(0);
    const next = burn(d as SimBoard);
    expect(next.code, next.stderr).toBe(0);
    const got = (jsonLines(next.stdout)[0]?.triad as { id: string } | undefined)?.id;
    expect(got).toBeDefined();
    expect(lost).not.toContain(got);
    const s = await openStation({ dbPath: db });
    try {
      for (const id of lost) expect((await s.ledger.getTriad(id))?.state).toBe("quarantined");
    } finally {
      await s.close();
    }
    floor.expectNoSecrets();
  }, 240_000);
});
