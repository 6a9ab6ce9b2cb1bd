/**
 * The kill test, in process: a burn loop over three fixtures is "killed" (see KillSwitch) at a random operation
 * 18 times, the station restarted after each kill, boards moving down the line as an operator would move them. The
 * boards run the SDK's own factory responder on an in-memory flash (the device code `triadkit-sim` runs).
 * Afterwards: every triad in exactly one consistent state, no triad on two boards, every board's triad linked to
 * that board's chip, nothing left reserved or written, the counts add up, the audit chain verifies.
 * (test/integration/station-burn-kill.test.ts kills the real `triadkit-station burn` process with SIGKILL.)
 */
import {
  CryptoRandom,
  createFactoryResponder,
  FactoryCredentialStore,
  type FactoryResponder,
  MemoryFlashStore,
  MemorySerialLink,
} from "@triadkit/sdk";
import { describe, expect, it } from "vitest";
import { burnHarness } from "./__tests__/harness.js";
import { KillSwitch } from "./__tests__/kill-switch.js";
import { runBurnSession } from "./burn-session.js";
import type { DeviceOutcome } from "./device-steps.js";

const KILLS = 18;
const FIXTURES = ["K1", "K2", "K3"];
const POOL = 80;

/** A simulated board: its flash outlives the cable; each session plugs it in again. */
class Board {
  readonly store = new FactoryCredentialStore(new MemoryFlashStore());
  private responder: FactoryResponder | undefined;

  constructor(readonly chipId: string) {}

  async plug(): Promise<MemorySerialLink> {
    await this.responder?.close();
    const [station, device] = MemorySerialLink.pair();
    this.responder = createFactoryResponder({
      link: device,
      store: this.store,
      chip: { chipId: this.chipId, wifiMac: `${this.chipId.slice(-8)}aaaa`, model: "TK-SPK-1", firmware: "1.4.0" },
      random: new CryptoRandom(),
    });
    return station;
  }

  async close(): Promise<void> {
    await this.responder?.close();
  }
}

/** A small deterministic generator, so a failure can be replayed from the printed seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("kill test (in process)", () => {
  it(`${KILLS} kills at random points of a burn loop leave every triad consistent`, async () => {
    const seed = Number(process.env["TRIADKIT_KILL_SEED"] ?? Date.now() % 100_000);
    const rand = prng(seed);
    const h = await burnHarness(POOL, { retries: 0 });
    // Every board also gets a smart-shelf code (burn --shelf): a code is never on two boards either.
    const shelfRows = Array.from({ length: POOL }, (_, i) => ({
      row: i + 2,
      brand: "Acme",
      storeId: 7,
      deviceCode: `K${i}`,
    }));
    expect((await h.station.ledger.importShelfDevices(shelfRows, { via: "line" }, h.station.actor("tester"))).ok).toBe(
      true,
    );
    const boards: Board[] = [];
    const seated = FIXTURES.map(() => undefined as Board | undefined);
    const nextBoard = () => {
      const b = new Board(`cafe${String(boards.length).padStart(6, "0")}`);
      boards.push(b);
      return b;
    };
    const session = async (kill: KillSwitch | undefined): Promise<DeviceOutcome[]> => {
      for (let i = 0; i < FIXTURES.length; i++) seated[i] ??= nextBoard();
      const shelved = { ...h.ctx, shelf: { brand: "Acme" } };
      const ctx = kill === undefined ? shelved : { ...shelved, ledger: kill.ledger(h.station.ledger) };
      const links = await Promise.all(seated.map((b) => (b as Board).plug()));
      const { outcomes } = await runBurnSession({
        ctx,
        ports: FIXTURES.map((fixture, i) => {
          const link = links[i] as MemorySerialLink;
          return { fixture, link: kill === undefined ? link : kill.link(link) };
        }),
        workOrder: h.order,
        watch: false,
        timeoutMs: 40,
        onOutcome: () => {},
      });
      return [...outcomes];
    };
    try {
      let killed = 0;
      for (let round = 0; killed < KILLS; round++) {
        const kill = new KillSwitch(1 + Math.floor(rand() * 30), rand() < 0.5);
        const outcomes = await session(kill).catch(() => [] as DeviceOutcome[]);
        if (kill.killed) {
          killed++;
        } else {
          // Not reached: a normal round; boards that are done (passed or failed) leave the fixtures.
          for (const o of outcomes) seated[FIXTURES.indexOf(o.fixture)] = undefined;
        }
        await h.reopen({ retries: 0 }); // the restart
        if (round > 60) throw new Error(`seed ${seed}: kills not reached`);
      }
      const final = await session(undefined);
      expect(
        final.every((o) => o.result === "pass" || o.code === "factory.record_mismatch"),
        `seed ${seed}`,
      ).toBe(true);

      const ledger = h.station.ledger;
      const triads = await ledger.listTriads({ limit: 10_000 });
      const counts = (await ledger.counts()).total;
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(POOL);
      expect(triads).toHaveLength(POOL);
      expect(counts.reserved + counts.written, `seed ${seed}`).toBe(0);
      // No triad on two boards; every board's triad is linked to that board and never available again.
      const held = (await Promise.all(boards.map(async (b) => ({ b, snap: await b.store.snapshot() })))).filter(
        (x) => x.snap.record !== undefined,
      );
      const ids = held.map((x) => x.snap.record?.triadId as string);
      expect(new Set(ids).size, `seed ${seed}`).toBe(ids.length);
      const shelfCodes = held.map((x) => x.snap.record?.shelf?.deviceCode as string);
      expect(new Set(shelfCodes).size, `seed ${seed}`).toBe(shelfCodes.length);
      let verifiedOnBoards = 0;
      for (const { b, snap } of held) {
        const t = triads.find((x) => x.id === snap.record?.triadId);
        const shelf = await ledger.shelfDeviceOfChip(b.chipId);
        expect(snap.record?.shelf, `seed ${seed}`).toEqual({ storeId: 7, deviceCode: shelf?.deviceCode });
        expect(t?.state, `seed ${seed}`).toMatch(/^(verified|quarantined)$/);
        expect((await ledger.deviceLink(t?.id as string))?.chipId).toBe(b.chipId);
        if (t?.state === "verified") {
          expect(snap.state).toBe("locked");
          verifiedOnBoards++;
        }
      }
      // Every verified triad is on exactly the board its link names.
      expect(triads.filter((t) => t.state === "verified").length).toBe(verifiedOnBoards);
      expect(verifiedOnBoards).toBeGreaterThan(0);
      const audit = await h.station.verifyAudit();
      expect(audit.problems, `seed ${seed}`).toEqual([]);
    } finally {
      for (const b of boards) await b.close();
      await h.close();
    }
  });
});
