/** Contract: reservation, the state machine, counts. */
import { expectTriadkitErrorAsync, isTriadkitError } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { genieOrder, genieRows, SOURCE } from "./__tests__/fixtures.js";
import type { ContractContext } from "./ledger.contract.js";
import { TRIAD_STATES, type TriadRecord, type TriadState } from "./types.js";

export function stateContract(ctx: () => ContractContext): void {
  async function pool(count: number, workOrderId = "WO-1"): Promise<string[]> {
    const { ledger, keyring, actor } = ctx();
    await ledger.addWorkOrder(genieOrder(workOrderId), actor);
    const rows = genieRows(keyring, workOrderId, 0, count);
    const session = await ledger.beginImport(workOrderId, SOURCE, actor);
    expect(await session.add(rows)).toEqual([]);
    await session.commit();
    return rows.map((r) => r.id);
  }

  const human = { operator: "shift-lead", reason: "checked the board by hand" };

  describe("reservation", () => {
    it("reserves in import order for the station and fixture, then runs dry", async () => {
      const { ledger, actor } = ctx();
      const ids = await pool(3);
      const got: TriadRecord[] = [];
      for (let i = 0; i < 3; i++) got.push(await ledger.reserve("WO-1", actor));
      expect(got.map((t) => t.id)).toEqual(ids);
      expect(got[0]).toMatchObject({ state: "reserved", holder: { stationId: actor.stationId, fixture: "F1" } });
      await expectTriadkitErrorAsync(() => ledger.reserve("WO-1", actor), "ledger.pool_exhausted");
      await expectTriadkitErrorAsync(() => ledger.reserve("WO-none", actor), "ledger.unknown_work_order");
    });

    it("never issues a triad twice under concurrent reservations on several connections", async () => {
      const { ledger, actor, fixture } = ctx();
      await pool(40);
      const handles = [ledger, await fixture.openAnother(), await fixture.openAnother(), await fixture.openAnother()];
      const attempts = handles.flatMap((h) =>
        Array.from({ length: 12 }, () => h.reserve("WO-1", actor).catch((e) => e)),
      );
      const results = await Promise.all(attempts);
      const ids = results.filter((r): r is TriadRecord => !(r instanceof Error)).map((r) => r.id);
      expect(ids).toHaveLength(40);
      expect(new Set(ids).size).toBe(40);
      expect(results.filter((r) => r instanceof Error).every((e) => isTriadkitError(e, "ledger.pool_exhausted"))).toBe(
        true,
      );
      for (const h of handles.slice(1)) await h.close();
    });
  });

  describe("state machine", () => {
    it("walks available → reserved → written → verified → registered with an audit entry per step", async () => {
      const { ledger, actor } = ctx();
      await pool(1);
      const t = await ledger.reserve("WO-1", actor);
      for (const to of ["written", "verified", "registered"] as const) {
        const r = await ledger.transition(t.id, { to, actor, details: { chipId: "c0ffee" } });
        expect(r.state).toBe(to);
      }
      const entries = await ledger.auditEntries(ledger.stationId, 0, 100);
      const steps = entries.filter((e) => e.triadId === t.id);
      expect(steps.map((e) => e.action)).toEqual(["reserve", "write", "verify", "register"]);
      for (const e of steps) {
        expect(e).toMatchObject({ stationId: actor.stationId, operator: "alice", fixture: "F1" });
        expect(e.identity).toMatch(/^genie:\d+\/[0-9a-f]{12}/);
      }
      expect(JSON.parse(steps[2]?.details ?? "{}")).toMatchObject({
        from: "written",
        to: "verified",
        chipId: "c0ffee",
      });
    });

    it("refuses transitions the machine does not allow", async () => {
      const { ledger, actor } = ctx();
      const [a] = await pool(2);
      const bad = async (to: TriadState, extra = {}) =>
        expectTriadkitErrorAsync(
          () => ledger.transition(a as string, { to, actor, ...extra }),
          "ledger.bad_transition",
        );
      await bad("written");
      await bad("reserved");
      await ledger.reserve("WO-1", actor);
      await bad("verified");
      await bad("available"); // back to available needs a human decision
      await ledger.transition(a as string, { to: "written", actor });
      await bad("written");
      await bad("quarantined"); // without a reason
      await bad("verified", { expect: "reserved" });
      await ledger.transition(a as string, { to: "verified", actor });
      await bad("available", { humanDecision: human });
      await ledger.transition(a as string, { to: "registered", actor });
      await bad("quarantined", { reason: "x" });
      await bad("void");
      await ledger.transition(a as string, { to: "void", actor, reason: "returned unit shredded" });
      for (const to of TRIAD_STATES) await bad(to, { reason: "r", humanDecision: human });
      await expectTriadkitErrorAsync(
        () => ledger.transition("t-none", { to: "written", actor }),
        "ledger.unknown_triad",
      );
    });

    it("returns to available only by a recorded human decision", async () => {
      const { ledger, actor } = ctx();
      await pool(2);
      const t = await ledger.reserve("WO-1", actor);
      const back = await ledger.release(t.id, human, actor);
      expect(back).toMatchObject({ state: "available", reason: human.reason });
      expect(back.holder).toBeUndefined();
      const q = await ledger.reserve("WO-1", actor);
      expect(q.id).toBe(t.id);
      await ledger.transition(q.id, { to: "quarantined", actor, reason: "verify mismatch" });
      expect((await ledger.getTriad(q.id))?.reason).toBe("verify mismatch");
      await expectTriadkitErrorAsync(
        () => ledger.transition(q.id, { to: "void", actor, reason: "x" }),
        "ledger.bad_transition",
      );
      await expectTriadkitErrorAsync(
        () => ledger.release(q.id, { operator: "", reason: "x" }, actor),
        "ledger.bad_transition",
      );
      await ledger.release(q.id, human, actor);
      const entries = await ledger.auditEntries(ledger.stationId, 0, 100);
      const release = entries.filter((e) => e.action === "release").map((e) => JSON.parse(e.details));
      expect(release).toHaveLength(2);
      expect(release[1]).toMatchObject({ from: "quarantined", to: "available", humanDecision: human });
      // An available triad found on a device is quarantined at once.
      const other = (await ledger.listTriads({ states: ["available"] }))[1] as TriadRecord;
      await ledger.transition(other.id, { to: "quarantined", actor, reason: "found on a device" });
      await ledger.transition(other.id, { to: "void", actor, humanDecision: human });
    });

    it("counts by state in total and per work order, all seven keys always present", async () => {
      const { ledger, actor } = ctx();
      const empty = Object.fromEntries(TRIAD_STATES.map((s) => [s, 0]));
      expect(await ledger.counts()).toEqual({ total: empty, byWorkOrder: {} });
      await pool(4, "WO-1");
      await ledger.addWorkOrder(genieOrder("WO-2"), actor);
      const t = await ledger.reserve("WO-1", actor);
      await ledger.transition(t.id, { to: "written", actor });
      await ledger.reserve("WO-1", actor);
      const c = await ledger.counts();
      expect(c.total).toEqual({ ...empty, available: 2, reserved: 1, written: 1 });
      expect(c.byWorkOrder).toEqual({ "WO-1": { ...empty, available: 2, reserved: 1, written: 1 }, "WO-2": empty });
    });

    it("refuses an actor of another station", async () => {
      const { ledger, actor } = ctx();
      await expectTriadkitErrorAsync(
        () => ledger.addWorkOrder(genieOrder("WO-1"), { ...actor, stationId: "st-other" }),
        "config.invalid",
      );
    });
  });
}
