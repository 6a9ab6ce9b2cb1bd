import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BindingEvent, DeviceIdentity } from "@triadkit/protocol";
import { ManualClock } from "@triadkit/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { fleet, heartbeat, rig, START_MS, sheet, simOf, simRemoved, who } from "./__tests__/fixtures.js";
import { BindingMonitor } from "./monitor.js";

const [alice, bob, carol] = fleet(3);
if (alice === undefined || bob === undefined || carol === undefined) throw new Error("fleet");
const expectedCsv = sheet([alice, bob]);
/** Alice's IMEI with Carol's card: a mismatch. */
const swapped = { ...simOf(alice), iccid: carol.iccid, imsi: carol.imsi };

/** A story with every kind of outcome: bound, a new alert, a bump, a duplicate, a recovery, a SIM removal. */
const story: { identity: DeviceIdentity; event: BindingEvent }[] = [
  { identity: who(alice), event: heartbeat(simOf(alice), 1) },
  { identity: who(bob), event: heartbeat(simOf(bob), 1) },
  { identity: who(alice), event: heartbeat(swapped, 2) },
  { identity: who(alice), event: heartbeat(swapped, 3) },
  { identity: who(alice), event: heartbeat(swapped, 3) },
  { identity: who(alice), event: heartbeat(simOf(alice), 4) },
  { identity: who(bob), event: simRemoved(bob.imei, bob.iccid) },
  { identity: who(carol), event: heartbeat(simOf(carol), 1) },
];

const rigs: { monitor: BindingMonitor }[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.monitor.close();
});

function tracked<T extends { monitor: BindingMonitor }>(r: T): T {
  rigs.push(r);
  return r;
}

describe("BindingMonitor#handleBindingEvents", () => {
  it("gives the same outcomes, states, alerts and announcements, in order, as one event at a time", () => {
    const one = tracked(rig({ expectedCsv }));
    const batched = tracked(rig({ expectedCsv }));
    const singles = story.map(({ identity, event }) => one.monitor.handleBindingEvent(identity, event));
    const outcomes = batched.monitor.handleBindingEvents(story);
    expect(outcomes).toEqual(singles);
    expect(outcomes.map((o) => o.result)).toEqual([
      "bound",
      "bound",
      "mismatch",
      "mismatch",
      "duplicate",
      "bound",
      "sim_removed",
      "unregistered",
    ]);
    expect(batched.monitor.devices()).toEqual(one.monitor.devices());
    expect(batched.monitor.alerts()).toEqual(one.monitor.alerts());
    // Each transition announced exactly once, in message order.
    expect(batched.host.alerts.map((a) => [a.deviceName, a.state])).toEqual([
      [alice.triad.deviceName, "mismatch"],
      [carol.triad.deviceName, "unregistered"],
    ]);
    expect(batched.host.recoveries.map((r) => r.deviceName)).toEqual([alice.triad.deviceName]);
    expect(batched.host.published).toEqual(one.host.published);
    expect(batched.monitor.alerts({ state: "mismatch" })[0]?.count).toBe(2);
  });

  it("rolls the whole batch back and announces nothing when one judgement fails", () => {
    const r = tracked(rig({ expectedCsv }));
    // An epoch SQLite cannot bind: the second judgement throws after the first has written.
    const broken = { ...heartbeat(simOf(bob), 1), epoch: {} } as unknown as BindingEvent;
    expect(() =>
      r.monitor.handleBindingEvents([
        { identity: who(carol), event: heartbeat(simOf(carol), 1) },
        { identity: who(bob), event: broken },
      ]),
    ).toThrow();
    expect(r.monitor.devices()).toEqual([]);
    expect(r.monitor.alerts()).toEqual([]);
    expect(r.host.alerts).toEqual([]);
    expect(r.host.published).toEqual([]);
  });

  it("has committed everything it returned: a monitor reopened on the file after close sees it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "triadkit-binding-batch-"));
    try {
      const db = join(dir, "b.db");
      const clock = new ManualClock({ wallStartMs: START_MS });
      const first = new BindingMonitor({ db, expectedCsv, silenceCheckMs: 0 }, { clock });
      first.handleBindingEvents(story);
      const devices = first.devices();
      const alerts = first.alerts();
      await first.close();
      const again = new BindingMonitor({ db, silenceCheckMs: 0 }, { clock });
      expect(again.devices()).toEqual(devices);
      expect(again.alerts()).toEqual(alerts);
      expect(again.devices().find((d) => d.deviceName === alice.triad.deviceName)?.seq).toBe(4);
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses a batch after close", async () => {
    const r = rig({ expectedCsv });
    await r.monitor.close();
    expect(() => r.monitor.handleBindingEvents([{ identity: who(alice), event: heartbeat(simOf(alice), 1) }])).toThrow(
      /closed/,
    );
  });
});
