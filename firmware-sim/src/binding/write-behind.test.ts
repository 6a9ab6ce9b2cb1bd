import { copyFileSync, existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BindingEvent, DeviceIdentity } from "@triadkit/protocol";
import { ManualClock, SeededRandom } from "@triadkit/sdk";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  changed,
  fleet,
  heartbeat,
  type Rig,
  report,
  rig,
  START_MS,
  sheet,
  simOf,
  simRemoved,
  who,
} from "./__tests__/fixtures.js";
import type { BindingOptions } from "./options.js";

let dir: string;
const rigs: Rig[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "triadkit-write-behind-"));
});
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.monitor.close();
  await rm(dir, { recursive: true, force: true });
});

function tracked(options: BindingOptions, clock?: ManualClock): Rig {
  const r = rig(options, clock);
  rigs.push(r);
  return r;
}

/** What a second connection (another process, the `bindings` CLI) reads from the file right now. */
function onFile(db: string): { devices: { device_name: string; seq: number | null }[]; alerts: number; seen: number } {
  const file = new Database(db, { readonly: true });
  try {
    return {
      devices: file.prepare("SELECT device_name, seq FROM binding_devices ORDER BY device_name").all() as {
        device_name: string;
        seq: number | null;
      }[],
      alerts: (file.prepare("SELECT COUNT(*) AS n FROM binding_alerts").get() as { n: number }).n,
      seen: (file.prepare("SELECT COUNT(*) AS n FROM binding_seen").get() as { n: number }).n,
    };
  } finally {
    file.close();
  }
}

const devices = fleet(6, 31);
const expectedCsv = sheet(devices.slice(0, 5)); // the sixth device is unregistered

/**
 * A seeded story of every kind of message: heartbeats with the device's own card or another's, redeliveries,
 * replays, new epochs, SIM removal and change, identity reports, silence checks, forgetting a device.
 */
function story(seed: number, length: number): ((r: Rig) => unknown)[] {
  const random = new SeededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[random.int(items.length)] as T;
  const seq = devices.map(() => 0);
  const epoch = devices.map(() => 1);
  const sent: { identity: DeviceIdentity; event: BindingEvent }[] = [];
  const steps: ((r: Rig) => unknown)[] = [];
  for (let i = 0; i < length; i++) {
    const k = random.int(devices.length);
    const d = devices[k];
    if (d === undefined) throw new Error("fleet");
    const roll = random.int(100);
    let event: BindingEvent;
    if (roll < 45) {
      seq[k] = (seq[k] ?? 0) + 1;
      event = heartbeat(simOf(d), seq[k] ?? 0, { epoch: epoch[k] ?? 1 });
    } else if (roll < 55) {
      seq[k] = (seq[k] ?? 0) + 1;
      const other = pick(devices);
      event = heartbeat({ ...simOf(d), iccid: other.iccid, imsi: other.imsi }, seq[k] ?? 0, { epoch: epoch[k] ?? 1 });
    } else if (roll < 63 && sent.length > 0) {
      const again = pick(sent); // a redelivery: the same message again
      steps.push((r) => r.monitor.handleBindingEvent(again.identity, again.event));
      continue;
    } else if (roll < 68) {
      event = heartbeat(simOf(d), Math.max(1, (seq[k] ?? 0) - 2), { epoch: epoch[k] ?? 1, bootId: "boot-r" });
    } else if (roll < 73) {
      epoch[k] = (epoch[k] ?? 1) + 1;
      seq[k] = 1;
      event = heartbeat(simOf(d), 1, { epoch: epoch[k] ?? 1 });
    } else if (roll < 78) {
      event = simRemoved(d.imei, d.iccid);
    } else if (roll < 83) {
      event = changed(simOf(d), simOf(pick(devices)));
    } else if (roll < 90) {
      const sim = roll < 87 ? simOf(d) : simOf(pick(devices));
      steps.push((r) => r.monitor.handleIdentityReport(who(d), report(sim)));
      continue;
    } else if (roll < 96) {
      const ms = (1 + random.int(2000)) * 1000;
      steps.push((r) => {
        r.clock.advance(ms);
        return r.monitor.checkSilence();
      });
      continue;
    } else if (roll < 98) {
      steps.push((r) => r.monitor.forget(who(d)));
      continue;
    } else {
      steps.push((r) => r.monitor.devices()); // a query in the middle: flushes the queue
      continue;
    }
    const message = { identity: who(d), event };
    sent.push(message);
    steps.push((r) => r.monitor.handleBindingEvent(message.identity, message.event));
    steps.push((r) => r.clock.advance(1000));
  }
  return steps;
}

describe("BindingMonitor with write-behind (the default)", () => {
  it.each([1, 2, 3])(
    "judges, alerts and announces exactly like write-behind off (seeded story %i, suspend policy)",
    async (seed) => {
      const options: BindingOptions = { expectedCsv, policy: "suspend", heartbeatIntervalSec: 60 };
      const behind = tracked({ ...options, db: join(dir, "behind.db"), writeBehind: { maxQueue: 7, flushMs: 5000 } });
      const sync = tracked({ ...options, db: join(dir, "sync.db"), writeBehind: false });
      for (const step of story(seed, 400)) expect(step(behind)).toEqual(step(sync));
      expect(behind.monitor.devices()).toEqual(sync.monitor.devices());
      expect(behind.monitor.alerts()).toEqual(sync.monitor.alerts());
      expect(behind.monitor.suspended()).toEqual(sync.monitor.suspended());
      expect(behind.host.alerts).toEqual(sync.host.alerts);
      expect(behind.host.recoveries).toEqual(sync.host.recoveries);
      expect(behind.host.published).toEqual(sync.host.published);
      expect(sync.host.alerts.length).toBeGreaterThan(5);
      expect(new Set(sync.host.alerts.map((a) => a.state)).size).toBeGreaterThan(2);
      for (const d of devices) expect(behind.monitor.state(who(d))).toEqual(sync.monitor.state(who(d)));
      await behind.monitor.close();
      await sync.monitor.close();
      // And the files agree, read back by fresh monitors.
      const again = tracked({ db: join(dir, "behind.db"), writeBehind: false });
      const againSync = tracked({ db: join(dir, "sync.db"), writeBehind: false });
      expect(again.monitor.devices()).toEqual(againSync.monitor.devices());
      expect(again.monitor.alerts()).toEqual(againSync.monitor.alerts());
    },
  );

  it("keeps heartbeats in the queue until the bound, then writes them all in one flush", () => {
    const db = join(dir, "q.db");
    const r = tracked({ db, expectedCsv, writeBehind: { maxQueue: 10, flushMs: 60_000 } });
    // Each heartbeat queues 2 row writes (device row, position); the first of a device also its epoch.
    const [a, b] = devices;
    if (a === undefined || b === undefined) throw new Error("fleet");
    r.monitor.handleBindingEvent(who(a), heartbeat(simOf(a), 1)); // 3 queued
    r.monitor.handleBindingEvent(who(b), heartbeat(simOf(b), 1)); // 6
    r.monitor.handleBindingEvent(who(a), heartbeat(simOf(a), 2)); // 7 (a's row coalesces)
    expect(onFile(db)).toEqual({ devices: [], alerts: 0, seen: 0 });
    expect(r.monitor.state(who(a))?.seq).toBe(2); // answered from memory
    r.monitor.handleBindingEvent(who(b), heartbeat(simOf(b), 2)); // 8
    r.monitor.handleBindingEvent(who(a), heartbeat(simOf(a), 3)); // 9
    r.monitor.handleBindingEvent(who(b), heartbeat(simOf(b), 3)); // 10: the bound
    const file = onFile(db);
    expect(file.devices.map((d) => d.seq)).toEqual([3, 3]);
    expect(file.seen).toBe(6);
  });

  it("writes the queue flushMs after the first queued heartbeat, on the injected clock", () => {
    const db = join(dir, "t.db");
    const r = tracked({ db, expectedCsv, writeBehind: { maxQueue: 1000, flushMs: 250 } });
    const [a] = devices;
    if (a === undefined) throw new Error("fleet");
    r.monitor.handleBindingEvent(who(a), heartbeat(simOf(a), 1));
    r.clock.advance(249);
    expect(onFile(db).devices).toEqual([]);
    r.clock.advance(1);
    expect(onFile(db).devices).toEqual([{ device_name: a.triad.deviceName, seq: 1 }]);
  });

  it("writes the queue on close: a monitor reopened on the file sees every judged heartbeat", async () => {
    const db = join(dir, "c.db");
    const r = tracked({ db, expectedCsv, writeBehind: { maxQueue: 1_000_000, flushMs: 3_600_000 } });
    const bound = devices.slice(0, 5); // expected: no alert, so nothing is written before the close
    for (let seq = 1; seq <= 5; seq++) {
      for (const d of bound) r.monitor.handleBindingEvent(who(d), heartbeat(simOf(d), seq));
    }
    expect(onFile(db).devices).toEqual([]);
    await r.monitor.close();
    expect(onFile(db).devices.map((d) => d.seq)).toEqual(bound.map(() => 5));
    const again = tracked({ db, writeBehind: false });
    expect(again.monitor.devices().map((d) => [d.seq, d.state])).toEqual(bound.map(() => [5, "bound"]));
    // Redeliveries of what was judged before the close are still recognised (the positions were written too).
    const [a] = bound;
    if (a === undefined) throw new Error("fleet");
    expect(again.monitor.handleBindingEvent(who(a), heartbeat(simOf(a), 5)).result).toBe("duplicate");
    expect(again.monitor.handleBindingEvent(who(a), heartbeat(simOf(a), 4)).result).toBe("duplicate");
  });

  it("writes an alert at once, after every heartbeat queued before it: the file holds a prefix, in order", () => {
    const db = join(dir, "o.db");
    const r = tracked({ db, expectedCsv, writeBehind: { maxQueue: 1_000_000, flushMs: 3_600_000 } });
    const [a, b, c] = devices;
    if (a === undefined || b === undefined || c === undefined) throw new Error("fleet");
    r.monitor.handleBindingEvent(who(a), heartbeat(simOf(a), 1));
    r.monitor.handleBindingEvent(who(b), heartbeat(simOf(b), 1));
    const outcome = r.monitor.handleBindingEvent(who(c), heartbeat({ ...simOf(c), iccid: a.iccid, imsi: a.imsi }, 1));
    expect(outcome.result).toBe("mismatch");
    const file = onFile(db);
    expect(file.alerts).toBe(1);
    // a and b (queued before) are on the file with the alert; c's own row is written with its alert.
    expect(file.devices.map((d) => d.device_name).sort()).toEqual([a, b, c].map((d) => d.triad.deviceName).sort());
    expect(r.host.alerts.map((x) => x.deviceName)).toEqual([c.triad.deviceName]);
  });

  it("a killed process loses only the queue; a new monitor on the file resumes from the last flush", async () => {
    const db = join(dir, "k.db");
    const r = tracked({ db, expectedCsv, writeBehind: { maxQueue: 1_000_000, flushMs: 3_600_000 } });
    const [a, b] = devices;
    if (a === undefined || b === undefined) throw new Error("fleet");
    for (let seq = 1; seq <= 3; seq++) r.monitor.handleBindingEvent(who(a), heartbeat(simOf(a), seq));
    r.monitor.flush();
    for (let seq = 4; seq <= 6; seq++) r.monitor.handleBindingEvent(who(a), heartbeat(simOf(a), seq));
    r.monitor.handleBindingEvent(who(b), heartbeat(simOf(b), 1));
    // The kill: what is on disk now (the database and its WAL, with the queue still in memory) is all that is left.
    const crashed = join(dir, "crashed.db");
    copyFileSync(db, crashed);
    if (existsSync(`${db}-wal`)) copyFileSync(`${db}-wal`, `${crashed}-wal`);
    const after = tracked({ db: crashed }, new ManualClock({ wallStartMs: START_MS + 60_000 }));
    expect(after.monitor.state(who(a))?.seq).toBe(3);
    expect(after.monitor.state(who(b))).toBeUndefined();
    // The device's redelivery of a lost heartbeat is judged anew (its first judgement was lost), then it continues.
    expect(after.monitor.handleBindingEvent(who(a), heartbeat(simOf(a), 5)).result).toBe("bound");
    expect(after.monitor.handleBindingEvent(who(a), heartbeat(simOf(a), 5)).result).toBe("duplicate");
    expect(after.monitor.handleBindingEvent(who(a), heartbeat(simOf(a), 7)).result).toBe("bound");
    expect(after.monitor.handleBindingEvent(who(b), heartbeat(simOf(b), 2)).result).toBe("bound");
    expect(after.monitor.alerts()).toEqual([]);
  });

  it("rolls a failed batch back entirely, and keeps what was queued before it for the next flush", () => {
    const db = join(dir, "r.db");
    const r = tracked({ db, expectedCsv, writeBehind: { maxQueue: 1_000_000, flushMs: 3_600_000 } });
    const [a, b, c] = devices;
    if (a === undefined || b === undefined || c === undefined) throw new Error("fleet");
    r.monitor.handleBindingEvent(who(a), heartbeat(simOf(a), 1)); // queued before the batch
    const broken = { ...heartbeat(simOf(b), 1), seq: 1.5 } as BindingEvent;
    expect(() =>
      r.monitor.handleBindingEvents([
        // An alert: writes the queue (a's heartbeat) inside the batch's transaction…
        { identity: who(c), event: heartbeat({ ...simOf(c), iccid: a.iccid, imsi: a.imsi }, 1) },
        { identity: who(b), event: broken }, // …then the batch fails.
      ]),
    ).toThrow(expect.objectContaining({ code: "binding.bad_event" }));
    expect(r.host.alerts).toEqual([]);
    expect(r.monitor.state(who(c))).toBeUndefined();
    expect(r.monitor.alerts()).toEqual([]);
    expect(r.monitor.devices().map((d) => [d.deviceName, d.seq])).toEqual([[a.triad.deviceName, 1]]);
    expect(onFile(db).devices).toEqual([{ device_name: a.triad.deviceName, seq: 1 }]);
    // The same batch without the broken message goes through and raises its alert once.
    expect(
      r.monitor.handleBindingEvent(who(c), heartbeat({ ...simOf(c), iccid: a.iccid, imsi: a.imsi }, 1)).result,
    ).toBe("mismatch");
    expect(r.host.alerts).toHaveLength(1);
  });

  it("refuses flush after close", async () => {
    const r = rig({ expectedCsv });
    await r.monitor.close();
    expect(() => r.monitor.flush()).toThrow(/closed/);
  });
});
