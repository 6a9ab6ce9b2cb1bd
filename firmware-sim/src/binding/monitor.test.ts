import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectTriadkitError } from "@triadkit/protocol";
import { ManualClock } from "@triadkit/sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  changed,
  fleet,
  heartbeat,
  PK,
  type Rig,
  report,
  rig,
  START_MS,
  sheet,
  simOf,
  simRemoved,
  who,
} from "./__tests__/fixtures.js";
import { BindingMonitor, SUSPEND_SERVICE } from "./monitor.js";

const [alice, bob, carol, dave] = fleet(4);
if (alice === undefined || bob === undefined || carol === undefined || dave === undefined) throw new Error("fleet");
/** Alice and Bob are expected; Carol and Dave are not. */
const expectedCsv = sheet([alice, bob]);

let r: Rig;
beforeEach(() => {
  r = rig({ expectedCsv });
});
afterEach(() => r.monitor.close());

describe("classification of each state", () => {
  it("bound: the reported IMEI, ICCID and IMSI equal an expected binding; no alert", () => {
    const out = r.monitor.handleIdentityReport(who(alice), report(simOf(alice)));
    expect(out).toEqual({ result: "bound" });
    expect(r.monitor.state(who(alice))).toMatchObject({ state: "bound", imei: alice.imei, modem: "Quectel EC200U-CN" });
    expect(r.monitor.alerts()).toEqual([]);
    expect(r.host.published).toEqual([]);
  });

  it("mismatch: the device's IMEI is expected with another card (机卡分离)", () => {
    const out = r.monitor.handleIdentityReport(
      who(alice),
      report({ ...simOf(alice), iccid: carol.iccid, imsi: carol.imsi }),
    );
    expect(out.result).toBe("mismatch");
    expect(out.alert).toMatchObject({
      state: "mismatch",
      productKey: PK,
      deviceName: alice.triad.deviceName,
      imei: alice.imei,
      iccid: carol.iccid,
      expected: simOf(alice),
      count: 1,
      source: "identity",
    });
    expect(out.alert?.cardBoundImei).toBeUndefined();
  });

  it("mismatch on the IMSI alone (same ICCID, another subscription profile)", () => {
    const out = r.monitor.handleIdentityReport(who(alice), report({ ...simOf(alice), imsi: carol.imsi }));
    expect(out.result).toBe("mismatch");
    expect(out.alert?.reason).toContain(`IMSI ${carol.imsi}`);
  });

  it("card_elsewhere: an expected card in a device whose IMEI is not expected", () => {
    const out = r.monitor.handleIdentityReport(
      who(carol),
      report({ ...simOf(carol), iccid: alice.iccid, imsi: alice.imsi }),
    );
    expect(out.result).toBe("card_elsewhere");
    expect(out.alert).toMatchObject({ state: "card_elsewhere", imei: carol.imei, cardBoundImei: alice.imei });
  });

  it("card_elsewhere also by the IMSI alone", () => {
    const out = r.monitor.handleIdentityReport(who(carol), report({ ...simOf(carol), imsi: bob.imsi }));
    expect(out.alert).toMatchObject({ state: "card_elsewhere", cardBoundImei: bob.imei });
  });

  it("duplicate_imei: a second identity reports an IMEI another device reported first; the first stays bound", () => {
    r.monitor.handleIdentityReport(who(alice), report(simOf(alice)));
    r.clock.advance(1000);
    const clone = { productKey: PK, deviceName: "clone-of-alice" };
    const out = r.monitor.handleIdentityReport(clone, report(simOf(alice)));
    expect(out.alert).toMatchObject({ state: "duplicate_imei", otherDevice: who(alice), imei: alice.imei });
    // The first holder keeps its IMEI: its next heartbeat is still bound, no second alert.
    expect(r.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 1)).result).toBe("bound");
    expect(r.monitor.alerts()).toHaveLength(1);
  });

  it("unregistered: neither the IMEI nor the card is expected", () => {
    const out = r.monitor.handleBindingEvent(who(carol), heartbeat(simOf(carol), 1));
    expect(out.alert).toMatchObject({ state: "unregistered", imei: carol.imei, source: "heartbeat" });
  });

  it("normalises what the device reports: a lower-case ICCID is the expected card", () => {
    const padded = { ...simOf(alice), iccid: `${alice.iccid.toLowerCase()}` };
    expect(r.monitor.handleIdentityReport(who(alice), report(padded)).result).toBe("bound");
  });
});

describe("alerts follow transitions, not messages", () => {
  it("reboot with a swapped SIM: BindingChanged, then identity report and heartbeat → ONE mismatch alert", () => {
    r.monitor.handleIdentityReport(who(alice), report(simOf(alice)));
    r.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 1));
    const swapped = { ...simOf(alice), iccid: dave.iccid, imsi: dave.imsi };
    const first = r.monitor.handleBindingEvent(who(alice), changed(simOf(alice), swapped));
    r.monitor.handleIdentityReport(who(alice), report(swapped));
    r.monitor.handleBindingEvent(who(alice), heartbeat(swapped, 2, { bootId: "boot-2" }));
    r.monitor.handleBindingEvent(who(alice), heartbeat(swapped, 3, { bootId: "boot-2" }));
    expect(first.alert).toMatchObject({ state: "mismatch", source: "changed" });
    const alerts = r.monitor.alerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ state: "mismatch", count: 4 });
    expect(r.host.alerts).toHaveLength(1);
    expect(r.host.published).toHaveLength(1);
  });

  it("one card moved between two devices → exactly one alert (mismatch for the receiver; none for the donor)", () => {
    for (const d of [alice, bob]) r.monitor.handleBindingEvent(who(d), heartbeat(simOf(d), 1));
    // Alice's card X goes into Bob, whose IMEI is bound to card Y: both `mismatch` and `card_elsewhere` facts hold.
    expect(r.monitor.handleBindingEvent(who(alice), simRemoved(alice.imei, alice.iccid)).alert).toBeUndefined();
    const moved = { imei: bob.imei, iccid: alice.iccid, imsi: alice.imsi };
    r.monitor.handleBindingEvent(who(bob), changed(simOf(bob), moved));
    r.monitor.handleIdentityReport(who(bob), report(moved));
    r.monitor.handleBindingEvent(who(bob), heartbeat(moved, 2, { bootId: "boot-2" }));
    const alerts = r.monitor.alerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      state: "mismatch",
      deviceName: bob.triad.deviceName,
      iccid: alice.iccid,
      expected: simOf(bob),
      cardBoundImei: alice.imei,
      count: 3,
    });
    expect(r.monitor.state(who(alice))?.state).toBe("sim_removed");
  });

  it("a different wrong card is a new situation: a new alert, the old one superseded", () => {
    r.monitor.handleIdentityReport(who(alice), report({ ...simOf(alice), iccid: carol.iccid, imsi: carol.imsi }));
    r.monitor.handleIdentityReport(who(alice), report({ ...simOf(alice), iccid: dave.iccid, imsi: dave.imsi }));
    const alerts = r.monitor.alerts();
    expect(alerts.map((a) => [a.iccid, a.closedBy])).toEqual([
      [carol.iccid, "superseded"],
      [dave.iccid, undefined],
    ]);
  });

  it("back to bound closes the alert as recovered and announces it", () => {
    r.monitor.handleIdentityReport(who(alice), report({ ...simOf(alice), iccid: carol.iccid, imsi: carol.imsi }));
    const out = r.monitor.handleIdentityReport(who(alice), report(simOf(alice)));
    expect(out.recovered).toMatchObject({ previousState: "mismatch", alertId: 1 });
    expect(r.monitor.alerts({ open: true })).toEqual([]);
    expect(r.monitor.alerts()[0]?.closedBy).toBe("recovered");
    expect(r.host.recoveries).toHaveLength(1);
    expect(r.host.published.map((p) => p.message["type"])).toEqual(["alert", "recovered"]);
  });
});

describe("SIM removal", () => {
  it("is recorded without a false mismatch; the same card back is bound again, silently", () => {
    r.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 1));
    const out = r.monitor.handleBindingEvent(who(alice), simRemoved(alice.imei, alice.iccid));
    expect(out).toEqual({ result: "sim_removed" });
    expect(r.monitor.state(who(alice))).toMatchObject({
      state: "sim_removed",
      lastIccid: alice.iccid,
      simRemovedMs: START_MS,
      iccid: alice.iccid,
    });
    r.monitor.handleIdentityReport(who(alice), report(simOf(alice)));
    expect(r.monitor.state(who(alice))).toMatchObject({ state: "bound", simRemovedMs: undefined });
    expect(r.monitor.alerts()).toEqual([]);
    expect(r.host.published).toEqual([]);
  });

  it("from a device never seen before creates its record", () => {
    r.monitor.handleBindingEvent(who(carol), simRemoved(carol.imei, carol.iccid));
    expect(r.monitor.state(who(carol))).toMatchObject({ state: "sim_removed", imei: carol.imei, iccid: "" });
    expect(r.monitor.alerts()).toEqual([]);
  });
});

describe("heartbeat sequence: dedup, replay, factory reset", () => {
  it("a redelivered heartbeat (same epoch, bootId, seq) is deduplicated, even after later ones", () => {
    const sim = simOf(carol); // unregistered: every accepted heartbeat would count on the alert
    r.monitor.handleBindingEvent(who(carol), heartbeat(sim, 5));
    expect(r.monitor.handleBindingEvent(who(carol), heartbeat(sim, 5))).toEqual({ result: "duplicate" });
    r.monitor.handleBindingEvent(who(carol), heartbeat(sim, 6));
    expect(r.monitor.handleBindingEvent(who(carol), heartbeat(sim, 5))).toEqual({ result: "duplicate" });
    expect(r.monitor.alerts()).toHaveLength(1);
    expect(r.monitor.alerts()[0]?.count).toBe(2);
  });

  it("a lower seq in the same epoch and boot → replayed; the next fresh heartbeat recovers", () => {
    r.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 10));
    const out = r.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 7));
    expect(out.alert).toMatchObject({ state: "replayed", source: "heartbeat" });
    expect(out.alert?.reason).toContain("seq 7");
    // The replayed message did not move the device's sequence.
    expect(r.monitor.state(who(alice))).toMatchObject({ state: "replayed", seq: 10 });
    const back = r.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 11));
    expect(back.recovered?.previousState).toBe("replayed");
  });

  it("within an epoch seq is judged across boots (it is persisted): a new boot with a lower seq is replayed", () => {
    r.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 40, { bootId: "boot-1" }));
    expect(r.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 41, { bootId: "boot-2" })).result).toBe(
      "bound",
    );
    // A seq that jumped ahead after a power cut is fine.
    expect(r.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 90, { bootId: "boot-3" })).result).toBe(
      "bound",
    );
    const out = r.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 3, { bootId: "boot-4" }));
    expect(out.result).toBe("replayed");
  });

  it("the same seq under another bootId is a replay, not a redelivery", () => {
    r.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 8, { bootId: "boot-1" }));
    expect(r.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 8, { bootId: "boot-x" })).result).toBe(
      "replayed",
    );
  });

  it("factory reset: a new epoch with seq from 0 raises nothing; the old epoch is then a replay", () => {
    r.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 50, { epoch: 1 }));
    const reset = r.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 0, { epoch: 2, bootId: "boot-r" }));
    expect(reset).toEqual({ result: "bound" });
    expect(
      r.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 1, { epoch: 2, bootId: "boot-r" })).result,
    ).toBe("bound");
    expect(r.monitor.alerts()).toEqual([]);
    expect(r.monitor.state(who(alice))).toMatchObject({ epoch: 2, seq: 1 });
    const old = r.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 51, { epoch: 1 }));
    expect(old.alert?.state).toBe("replayed");
    expect(old.alert?.reason).toContain("epoch 1");
  });

  it("a replayed heartbeat's content never changes the device's identity", () => {
    r.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 10));
    r.monitor.handleBindingEvent(who(alice), heartbeat({ ...simOf(alice), iccid: carol.iccid, imsi: carol.imsi }, 2));
    expect(r.monitor.state(who(alice))).toMatchObject({ state: "replayed", iccid: alice.iccid });
    expect(r.monitor.alerts().map((a) => a.state)).toEqual(["replayed"]);
  });
});

describe("silence, on the server clock", () => {
  it("no heartbeat for N intervals → silent (by the timer on the injected clock); heartbeats resume → recovered", async () => {
    const clock = new ManualClock({ wallStartMs: START_MS });
    const s = rig({ expectedCsv, heartbeatIntervalSec: 60, silentAfterIntervals: 3, silenceCheckMs: 10_000 }, clock);
    try {
      s.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 1));
      clock.advance(179_999);
      expect(s.monitor.state(who(alice))?.state).toBe("bound");
      clock.advance(1);
      clock.advance(10_000); // the next tick
      expect(s.monitor.state(who(alice))?.state).toBe("silent");
      const alerts = s.monitor.alerts();
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ state: "silent", source: "silence", imei: alice.imei, iccid: alice.iccid });
      // Further ticks do not repeat it.
      clock.advance(600_000);
      expect(s.monitor.alerts()).toHaveLength(1);
      const back = s.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 2));
      expect(back).toMatchObject({ result: "bound", recovered: { previousState: "silent" } });
      expect(s.host.published.map((p) => p.message["type"])).toEqual(["alert", "recovered"]);
    } finally {
      await s.monitor.close();
    }
  });

  it("device time is ignored: a heartbeat stamped in the future does not keep a device alive", () => {
    const future = { ...heartbeat(simOf(alice), 1), ts: START_MS + 10 * 86_400_000 };
    r.monitor.handleBindingEvent(who(alice), future);
    r.clock.advance(3 * 300_000);
    expect(r.monitor.checkSilence().map((a) => a.deviceName)).toEqual([alice.triad.deviceName]);
  });

  it("checkSilence is exact at N × interval and counts from the first message before any heartbeat", () => {
    r.monitor.handleIdentityReport(who(alice), report(simOf(alice)));
    r.clock.advance(900_000 - 1);
    expect(r.monitor.checkSilence()).toEqual([]);
    r.clock.advance(1);
    expect(r.monitor.checkSilence()).toHaveLength(1);
    expect(r.monitor.checkSilence()).toEqual([]);
  });

  it("a device whose SIM was removed goes silent too", () => {
    r.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 1));
    r.monitor.handleBindingEvent(who(alice), simRemoved(alice.imei, alice.iccid));
    r.clock.advance(900_000);
    expect(r.monitor.checkSilence()[0]).toMatchObject({ state: "silent", deviceName: alice.triad.deviceName });
  });
});

describe("alert delivery and the suspend policy", () => {
  it("publishes each alert as JSON on /triadkit/binding/alerts/{pk}/{dn}", () => {
    r.monitor.handleIdentityReport(who(carol), report(simOf(carol)));
    expect(r.host.published).toHaveLength(1);
    const [p] = r.host.published;
    expect(p?.topic).toBe(`/triadkit/binding/alerts/${PK}/${carol.triad.deviceName}`);
    expect(p?.message).toMatchObject({
      type: "alert",
      id: 1,
      state: "unregistered",
      productKey: PK,
      deviceName: carol.triad.deviceName,
      imei: carol.imei,
      iccid: carol.iccid,
      imsi: carol.imsi,
      count: 1,
      firstSeen: new Date(START_MS).toISOString(),
    });
  });

  it("suspend: a card in mismatch is suspended and the device is told with BindingSuspended", async () => {
    const s = rig({ expectedCsv, policy: "suspend" });
    try {
      const wrong = { ...simOf(alice), iccid: bob.iccid, imsi: bob.imsi };
      const out = s.monitor.handleIdentityReport(who(alice), report(wrong));
      expect(out.alert).toMatchObject({ state: "mismatch", suspended: true });
      expect(s.host.calls).toEqual([
        { identity: who(alice), name: SUSPEND_SERVICE, params: { iccid: bob.iccid, reason: expect.any(String) } },
      ]);
      expect(s.monitor.suspended()).toMatchObject([{ iccid: bob.iccid, imei: alice.imei, ...who(alice) }]);
      expect(s.monitor.state(who(alice))?.suspended).toBe(true);
      expect(s.monitor.alerts()[0]?.suspended).toBe(true);
      expect(s.host.published[0]?.message["suspended"]).toBe(true);
      // card_elsewhere is left to the operator (a modem swap looks the same).
      s.monitor.handleIdentityReport(who(carol), report({ ...simOf(carol), iccid: dave.iccid }));
      expect(s.host.calls).toHaveLength(1);
      expect(s.monitor.unsuspend(bob.iccid)).toBe(true);
      expect(s.monitor.suspended()).toEqual([]);
    } finally {
      await s.monitor.close();
    }
  });

  it("suspend tolerates a device that never answers", async () => {
    const s = rig({ expectedCsv, policy: "suspend" });
    s.host.answer = () => Promise.reject(new Error("alink.reply_timeout"));
    s.monitor.handleIdentityReport(who(alice), report({ ...simOf(alice), iccid: carol.iccid, imsi: carol.imsi }));
    await s.monitor.settled();
    expect(s.monitor.suspended()).toHaveLength(1);
    await s.monitor.close();
  });

  it("a failing alert listener is logged, never thrown into the broker", () => {
    const errors: unknown[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (o: Record<string, unknown>) => errors.push(o) };
    const clock = new ManualClock({ wallStartMs: START_MS });
    const monitor = new BindingMonitor(
      { expectedCsv, silenceCheckMs: 0 },
      {
        clock,
        logger,
        host: {
          publish: () => {
            throw new Error("broker down");
          },
          invokeService: () => Promise.resolve(),
        },
      },
    );
    expect(monitor.handleIdentityReport(who(carol), report(simOf(carol))).alert?.state).toBe("unregistered");
    expect(errors).toHaveLength(1);
    return monitor.close();
  });
});

describe("persistence", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "triadkit-binding-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("keeps expected bindings, states, alerts and heartbeat positions across a restart", async () => {
    const db = join(dir, "platform.db");
    const clock = new ManualClock({ wallStartMs: START_MS });
    const first = rig({ expectedCsv, db }, clock);
    first.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 3));
    first.monitor.handleIdentityReport(who(carol), report(simOf(carol)));
    await first.monitor.close();

    const second = rig({ expectedCsv, db }, clock);
    try {
      expect(second.monitor.initialImport).toMatchObject({ added: 0, unchanged: 2, errors: [] });
      expect(second.monitor.state(who(alice))).toMatchObject({ state: "bound", seq: 3, epoch: 1 });
      expect(second.monitor.alerts()).toMatchObject([{ state: "unregistered", deviceName: carol.triad.deviceName }]);
      // The sequence survived: a redelivery is still a redelivery, an older seq still a replay.
      expect(second.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 3)).result).toBe("duplicate");
      expect(second.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 2)).result).toBe("replayed");
      // Carol's open alert is still open: the same report only counts.
      second.monitor.handleIdentityReport(who(carol), report(simOf(carol)));
      expect(second.monitor.alerts({ state: "unregistered" })[0]?.count).toBe(2);
    } finally {
      await second.monitor.close();
    }
  });

  it("forget() drops a device so a re-provisioned one can hold its IMEI", () => {
    r.monitor.handleIdentityReport(who(alice), report(simOf(alice)));
    const renamed = { productKey: PK, deviceName: "alice-reprovisioned" };
    expect(r.monitor.handleIdentityReport(renamed, report(simOf(alice))).result).toBe("duplicate_imei");
    expect(r.monitor.forget(who(alice))).toBe(true);
    expect(r.monitor.handleIdentityReport(renamed, report(simOf(alice))).recovered?.previousState).toBe(
      "duplicate_imei",
    );
    expect(r.monitor.state(who(alice))).toBeUndefined();
  });

  it("refuses use after close", async () => {
    await r.monitor.close();
    expectTriadkitError(() => r.monitor.state(who(alice)), "emulator.closed");
  });
});
