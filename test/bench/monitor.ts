/**
 * Binding monitor: heartbeats classified and persisted per second.
 * - Direct, write-behind (the monitor's default and the emulator's path): `BindingMonitor#handleBindingEvent` per
 *   heartbeat, judged in memory, rows written in batched transactions when the queue is full, on the flush timer
 *   and by a final `flush()` inside the timed span (so every heartbeat counted is on the file). Also
 *   `handleBindingEvents` with {@link BATCH} per call.
 * - Direct, write-behind off (before): `handleBindingEvents` (batches of {@link BATCH}, one transaction each) and
 *   `handleBindingEvent` (one transaction per heartbeat), read from the file each time.
 * - All on a SQLite file (WAL, as the emulator runs it), every device expected and bound, heartbeats in sequence on a
 *   manual clock. Baseline: a bare better-sqlite3 prepared upsert of the same row per heartbeat on a file with the
 *   same pragmas (the floor of "persist one row" one transaction at a time), in the same run.
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
 * Heartbeats per second through the monitor itself: `handleBindingEvent` per heartbeat when `batch` is 1, else
 * `handleBindingEvents` with up to `batch` heartbeats per call; with the default write-behind or without it. The
 * time includes the final flush; afterwards the file is checked to hold every device's last heartbeat. Also per
 * second of this process's CPU time (user + system), what one core sustains when the machine is shared.
 */
function direct(
  dir: string,
  devices: readonly VirtualIdentity[],
  rounds: number,
  batch: number,
  writeBehind: boolean,
  tag = "",
): { rate: number; cpuRate: number } {
  const clock = new ManualClock({ wallStartMs: START_MS });
  const db = join(dir, `monitor-${batch}-${writeBehind ? "wb" : "sync"}${tag}.db`);
  const monitor = new BindingMonitor(
    { db, expectedCsv: sheet(devices), silenceCheckMs: 0, ...(writeBehind ? {} : { writeBehind: false }) },
    { clock },
  );
  try {
    const ids = devices.map((d) => ({ productKey: PK, deviceName: d.triad.deviceName }));
    const start = performance.now();
    const cpuStart = process.cpuUsage();
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
    monitor.flush();
    const rate = (devices.length * rounds * 1000) / (performance.now() - start);
    const cpu = process.cpuUsage(cpuStart);
    const cpuRate = (devices.length * rounds * 1e6) / (cpu.user + cpu.system);
    const file = new Database(db, { readonly: true });
    try {
      const row = file
        .prepare("SELECT COUNT(*) AS n, MIN(seq) AS lo FROM binding_devices WHERE state = 'bound'")
        .get() as { n: number; lo: number };
      if (row.n !== devices.length || row.lo !== rounds) {
        throw new Error(
          `the file holds ${row.n} bound devices at seq ≥ ${row.lo}, expected ${devices.length} at ${rounds}`,
        );
      }
    } finally {
      file.close();
    }
    return { rate, cpuRate };
  } finally {
    void monitor.close();
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
      // A short warm-up of the monitor's code (JIT) so the first figure is not the only one paying for it.
      direct(dir, devices.slice(0, 200), 3, 1, true, "-warm-up");
      const wb = direct(dir, devices, rounds, 1, true);
      const behind = wb.rate;
      const behindBatched = direct(dir, devices, rounds, BATCH, true).rate;
      const single = direct(dir, devices, rounds, 1, false).rate;
      const batched = direct(dir, devices, rounds, BATCH, false).rate;
      const clients = ctx.quick ? 20 : 50;
      const windows = ctx.quick ? 2 : 4;
      ctx.log(`monitor: end to end, ${clients} MQTT clients × ${windows} windows of ${WINDOW} heartbeats`);
      const e2e = await endToEnd(dir, devices, clients, windows, WINDOW);
      const brokerShare = 1 - e2e / behind;
      const bareBaseline = { label: "bare better-sqlite3 upsert of the same row (WAL)", value: bare };
      return {
        sizes: { devices: count, heartbeatsPerDevice: rounds },
        figures: [
          figure({
            label:
              "direct, write-behind: handleBindingEvent per heartbeat (the emulator's path), classified and persisted",
            unit: "heartbeats/s",
            value: behind,
            baseline: bareBaseline,
            target: { kind: "min", value: 50_000 },
          }),
          figure({
            label:
              "the same, per second of this process's CPU time (user + system): one core's rate on a shared machine",
            unit: "heartbeats/CPU-s",
            value: wb.cpuRate,
            target: { kind: "min", value: 50_000 },
            note: `wall clock ${Math.round(behind)}/s against ${Math.round(wb.cpuRate)}/CPU-s: the rest is time this process waited for a core or the disk`,
          }),
          figure({
            label: `direct, write-behind: handleBindingEvents, ${BATCH} heartbeats per call`,
            unit: "heartbeats/s",
            value: behindBatched,
            baseline: bareBaseline,
            target: { kind: "min", value: 50_000 },
          }),
          figure({
            label: `direct, write-behind off: ${BATCH} heartbeats per transaction (before)`,
            unit: "heartbeats/s",
            value: batched,
            baseline: bareBaseline,
          }),
          figure({
            label: "direct, write-behind off: one transaction per heartbeat (the emulator's path before)",
            unit: "heartbeats/s",
            value: single,
            baseline: bareBaseline,
          }),
          figure({
            label: "end to end through the emulator's broker (MQTT.js clients in the same process)",
            unit: "heartbeats/s",
            value: e2e,
            baseline: { label: "direct, write-behind, handleBindingEvent per heartbeat", value: behind },
            note: `broker (and in-process clients) take ${(brokerShare * 100).toFixed(0)}% of each heartbeat's time`,
          }),
        ],
      };
    });
  },
};
