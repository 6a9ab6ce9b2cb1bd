/**
 * Binding monitor: heartbeats classified and persisted per second.
 * - Direct: `BindingMonitor#handleBindingEvents` (batches of {@link BATCH}, one transaction each) and
 *   `BindingMonitor#handleBindingEvent` (one transaction per heartbeat) on a SQLite file (WAL, as the emulator runs it), every device
 *   expected and bound, heartbeats in sequence. Baseline: a bare better-sqlite3 prepared upsert of the same row per
 *   heartbeat on a file with the same pragmas (the floor of "persist one row"), in the same run.
 * - End to end: MQTT.js clients publish `BindingHeartbeat` events (QoS 0, windows of 100 per client) to the
 *   platform emulator with the monitor on; the broker's share is the part of each heartbeat's time not spent in the
 *   monitor. The clients run in this process too, so their cost is in the broker's share.
 */
import { join } from "node:path";
import {
  BindingMonitor,
  createVirtualIdentity,
  MemoryDeviceDirectory,
  PlatformEmulator,
  type VirtualIdentity,
} from "@triadkit/firmware-sim";
import { bindingEventTopic, createIdGenerator, encodeBindingHeartbeat, signConnect } from "@triadkit/protocol";
import { ManualClock, SeededRandom } from "@triadkit/sdk";
import Database from "better-sqlite3";
import mqtt, { type MqttClient } from "mqtt";
import { withTempDir } from "./temp-dir.js";
import { type Benchmark, figure } from "./types.js";

const PK = "a1BenchMon0";
const START_MS = 1_700_000_000_000;
/** Heartbeats each client publishes before waiting for all of them to be judged. */
const WINDOW = 100;

function fleet(count: number): VirtualIdentity[] {
  const random = new SeededRandom(11);
  return Array.from({ length: count }, (_, i) =>
    createVirtualIdentity(random, { productKey: PK, deviceName: `mon-${i}` }),
  );
}

const sheet = (devices: readonly VirtualIdentity[]) =>
  ["imei,iccid,imsi", ...devices.map((d) => `${d.imei},${d.iccid},${d.imsi}`)].join("\n");

function heartbeatOf(d: VirtualIdentity, seq: number) {
  return {
    kind: "BindingHeartbeat" as const,
    imei: d.imei,
    iccid: d.iccid,
    imsi: d.imsi,
    epoch: 1,
    bootId: "boot-1",
    seq,
    uptimeS: seq * 300,
    ts: 0,
  };
}

/** Heartbeats per device round judged in one `handleBindingEvents` transaction (the whole round when smaller). */
const BATCH = 500;

/**
 * Heartbeats per second through the monitor itself: one transaction per heartbeat (`handleBindingEvent`) when
 * `batch` is 1, else `handleBindingEvents` with up to `batch` heartbeats per transaction.
 */
function direct(dir: string, devices: readonly VirtualIdentity[], rounds: number, batch: number): number {
  const clock = new ManualClock({ wallStartMs: START_MS });
  const monitor = new BindingMonitor(
    { db: join(dir, `monitor-${batch}.db`), expectedCsv: sheet(devices), silenceCheckMs: 0 },
    { clock },
  );
  try {
    const ids = devices.map((d) => ({ productKey: PK, deviceName: d.triad.deviceName }));
    const start = performance.now();
    for (let seq = 1; seq <= rounds; seq++) {
      clock.advance(300_000);
      for (let from = 0; from < devices.length; from += batch) {
        const events = devices.slice(from, from + batch).map((d, k) => ({
          identity: ids[from + k] as (typeof ids)[number],
          event: heartbeatOf(d, seq),
        }));
        const outcomes =
          batch === 1
            ? events.map(({ identity, event }) => monitor.handleBindingEvent(identity, event))
            : monitor.handleBindingEvents(events);
        for (const out of outcomes) {
          if (out.result !== "bound") throw new Error(`heartbeat judged ${out.result}, expected bound`);
        }
      }
    }
    return (devices.length * rounds * 1000) / (performance.now() - start);
  } finally {
    monitor.close();
  }
}

/** Heartbeats per second as one prepared upsert each: what persisting a row costs at the least. */
function bareSqlite(dir: string, devices: readonly VirtualIdentity[], rounds: number): number {
  const db = new Database(join(dir, "bare.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("busy_timeout = 5000");
  db.exec(`CREATE TABLE hb (pk TEXT, dn TEXT, imei TEXT, iccid TEXT, imsi TEXT, state TEXT, seq INTEGER,
    boot TEXT, at INTEGER, PRIMARY KEY (pk, dn))`);
  const upsert = db.prepare(`INSERT INTO hb VALUES (?, ?, ?, ?, ?, 'bound', ?, ?, ?)
    ON CONFLICT (pk, dn) DO UPDATE SET seq = excluded.seq, at = excluded.at`);
  try {
    let now = START_MS;
    const start = performance.now();
    for (let seq = 1; seq <= rounds; seq++) {
      now += 300_000;
      for (const d of devices) upsert.run(PK, d.triad.deviceName, d.imei, d.iccid, d.imsi, seq, "boot-1", now);
    }
    return (devices.length * rounds * 1000) / (performance.now() - start);
  } finally {
    db.close();
  }
}

function connect(url: string, d: VirtualIdentity): Promise<MqttClient> {
  const client = mqtt.connect(url, {
    ...signConnect({ triad: d.triad, style: "c" }),
    reconnectPeriod: 0,
    protocolVersion: 4,
  });
  return new Promise((resolve, reject) => {
    client.once("connect", () => resolve(client));
    client.once("error", reject);
  });
}

/**
 * Heartbeats per second judged by the monitor inside the emulator, published over MQTT by `clients` devices in
 * windows of `window` QoS 0 messages each; counted after the monitor (its listener is first).
 */
async function endToEnd(
  dir: string,
  devices: readonly VirtualIdentity[],
  clients: number,
  windows: number,
  window: number,
): Promise<number> {
  const emulator = await PlatformEmulator.start({
    directory: new MemoryDeviceDirectory(devices.map((d) => d.triad)),
    rateLimit: false,
    messageBufferSize: 0,
    bindings: { db: join(dir, "e2e.db"), expectedCsv: sheet(devices), silenceCheckMs: 0 },
  });
  const open: MqttClient[] = [];
  try {
    const senders = devices.slice(0, clients);
    for (const d of senders) open.push(await connect(emulator.url, d));
    let judged = 0;
    let waiter: { target: number; resolve: () => void } | undefined;
    emulator.on("bindingEvent", () => {
      judged++;
      if (waiter !== undefined && judged >= waiter.target) waiter.resolve();
    });
    const ids = createIdGenerator();
    let seq = 0;
    const start = performance.now();
    for (let w = 0; w < windows; w++) {
      const target = judged + senders.length * window;
      const done = new Promise<void>((resolve) => {
        waiter = { target, resolve };
      });
      for (let k = 0; k < window; k++) {
        seq++;
        senders.forEach((d, i) => {
          const payload = encodeBindingHeartbeat(heartbeatOf(d, seq), ids.next());
          open[i]?.publish(bindingEventTopic(d.triad, "BindingHeartbeat"), Buffer.from(payload), { qos: 0 });
        });
      }
      await done;
    }
    const elapsed = performance.now() - start;
    const bound = emulator.binding.devices({}).filter((s) => s.state === "bound").length;
    if (bound !== senders.length) throw new Error(`${bound} of ${senders.length} senders bound after the run`);
    return (senders.length * window * windows * 1000) / elapsed;
  } finally {
    await Promise.all(open.map((c) => c.endAsync(true).catch(() => {})));
    await emulator.close();
  }
}

export const monitor: Benchmark = {
  name: "monitor",
  title: "Binding monitor: heartbeats classified and persisted per second",
  async run(ctx) {
    const count = ctx.quick ? 200 : 2_000;
    const rounds = ctx.quick ? 5 : 10;
    return withTempDir("monitor", async (dir) => {
      const devices = fleet(count);
      ctx.log(`monitor: ${count} devices × ${rounds} heartbeats, direct and bare SQLite`);
      const bare = bareSqlite(dir, devices, rounds);
      const single = direct(dir, devices, rounds, 1);
      const ours = direct(dir, devices, rounds, BATCH);
      const clients = ctx.quick ? 20 : 50;
      const windows = ctx.quick ? 2 : 4;
      ctx.log(`monitor: end to end, ${clients} MQTT clients × ${windows} windows of ${WINDOW} heartbeats`);
      const e2e = await endToEnd(dir, devices, clients, windows, WINDOW);
      const brokerShare = 1 - e2e / single;
      return {
        sizes: { devices: count, heartbeatsPerDevice: rounds },
        figures: [
          figure({
            label: `direct, batched: classified and persisted, ${BATCH} heartbeats per transaction`,
            unit: "heartbeats/s",
            value: ours,
            baseline: { label: "bare better-sqlite3 upsert of the same row (WAL)", value: bare },
            target: { kind: "min", value: 50_000 },
          }),
          figure({
            label: "direct, one transaction per heartbeat (handleBindingEvent, the emulator's path)",
            unit: "heartbeats/s",
            value: single,
            baseline: { label: "bare better-sqlite3 upsert of the same row (WAL)", value: bare },
          }),
          figure({
            label: "end to end through the emulator's broker (MQTT.js clients in the same process)",
            unit: "heartbeats/s",
            value: e2e,
            baseline: { label: "direct, one transaction per heartbeat", value: single },
            note: `broker (and in-process clients) take ${(brokerShare * 100).toFixed(0)}% of each heartbeat's time`,
          }),
        ],
      };
    });
  },
};
