import { EventEmitter } from "node:events";
import {
  decodeBindingEvent,
  decodeIdentityReport,
  decodeRequest,
  encodeReply,
  TriadkitError,
} from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import type { Modem, ModemEvents, ModemIdentity, ModemSignal, SimState } from "../modem/modem.js";
import { SeededRandom } from "../random.js";
import { createDevice } from "../session/device.js";
import { type FakeConnection, FakeNetwork } from "../session/fake-transport.js";
import { MemoryFlashStore } from "../storage/memory-flash-store.js";
import { createBindingReporter } from "./reporter.js";

const triad = { productKey: "a1B2c3D4e5F", deviceName: "dev001", deviceSecret: "abcdefghijklmnopqrstuvwxyz012345" };
const SIM_A = { iccid: "89860621330066521767", imsi: "460060086257148" };
const SIM_B = { iccid: "89860324650103722650", imsi: "460115956795568" };
const IMEI = "490154203237518";
const flush = async (n = 8) => {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
};

/** A modem as a test double: identity and SIM state set by the test; URCs emitted on demand. */
class TestModem extends EventEmitter<ModemEvents> implements Modem {
  sim: { iccid: string; imsi: string } | undefined = SIM_A;
  rssi = -71;
  async readIdentity(): Promise<ModemIdentity> {
    if (this.sim === undefined) throw new Error("no SIM");
    return { imei: IMEI, ...this.sim, operator: "china_unicom", dialect: "quectel", firmware: "Quectel EC200U" };
  }
  async signal(): Promise<ModemSignal> {
    return { rssiDbm: this.rssi, csq: 21 };
  }
  async simState(): Promise<SimState> {
    return this.sim ? "ready" : "not_inserted";
  }
  async close(): Promise<void> {}
}

function boot(store: MemoryFlashStore, modem: TestModem, clock: ManualClock, seed: number) {
  const network = new FakeNetwork();
  const sent: { topic: string; kind: string; value: unknown }[] = [];
  network.onConnect = (c) => c.accept();
  network.onPublish = (conn: FakeConnection, topic, payload) => {
    if (topic.includes("/ext/ntp/") || topic.endsWith("_reply")) return;
    const req = decodeRequest(payload);
    const value =
      req.method === "thing.deviceinfo.update"
        ? decodeIdentityReport(payload).value
        : decodeBindingEvent(payload).value;
    sent.push({ topic, kind: req.method, value });
    queueMicrotask(() => conn.deliver(`${topic}_reply`, encodeReply({ id: req.id, code: 200, data: {} })));
  };
  const random = new SeededRandom(seed);
  const device = createDevice({
    triad,
    brokerUrl: "mqtt://127.0.0.1:1",
    clock,
    random,
    connector: network.connector,
    ntpResyncSec: 0,
  });
  const reporter = createBindingReporter({
    device,
    modem,
    store,
    clock,
    random,
    intervalSec: 60,
    jitterPct: 10,
    seqReserve: 10,
  });
  return { network, device, reporter, sent };
}

/** A store in which one key failed its checksum in both slots (as the real stores report it) until it is erased. */
class DamagedFlashStore extends MemoryFlashStore {
  readonly damaged = new Set<string>();
  override async read(key: string): Promise<Uint8Array | undefined> {
    if (this.damaged.has(key)) {
      throw new TriadkitError("store.corrupt_record", "no valid copy", { key });
    }
    return super.read(key);
  }
  override async delete(key: string): Promise<void> {
    this.damaged.delete(key);
    await super.delete(key);
  }
}

describe("binding reporter", () => {
  it("first boot: identity tags, then heartbeats every interval ±jitter with increasing seq", async () => {
    const clock = new ManualClock({ wallStartMs: 1_700_000_000_000 });
    const { device, reporter, sent } = boot(new MemoryFlashStore(), new TestModem(), clock, 1);
    await device.connect();
    await reporter.start();
    await flush();
    expect(sent.map((s) => s.kind)).toEqual(["thing.deviceinfo.update"]);
    expect(sent[0]?.value).toMatchObject({ imei: IMEI, ...SIM_A, modem: "Quectel EC200U" });
    const times: number[] = [];
    reporter.on("heartbeat", () => times.push(clock.monotonicMs()));
    for (let i = 0; i < 40; i++) {
      clock.advance(10_000);
      await flush(3);
    }
    const beats = sent
      .filter((s) => s.kind === "thing.event.BindingHeartbeat.post")
      .map((s) => s.value as { seq: number; epoch: number; rssiDbm: number });
    expect(beats.length).toBeGreaterThanOrEqual(6);
    expect(beats.map((b) => b.seq)).toEqual(beats.map((_, i) => i));
    expect(new Set(beats.map((b) => b.epoch)).size).toBe(1);
    expect(beats[0]?.rssiDbm).toBe(-71);
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    for (const g of gaps) {
      expect(g).toBeGreaterThanOrEqual(54_000);
      expect(g).toBeLessThanOrEqual(66_000 + 10_000);
    }
    await reporter.stop();
    await device.close();
  });

  it("a reboot with a swapped SIM posts BindingChanged (old and new) before the tags; seq continues, epoch kept", async () => {
    const clock = new ManualClock();
    const store = new MemoryFlashStore();
    const modem = new TestModem();
    const first = boot(store, modem, clock, 2);
    await first.device.connect();
    await first.reporter.start();
    await first.reporter.heartbeat();
    await first.reporter.heartbeat();
    await flush();
    const epoch = first.reporter.epoch;
    await first.reporter.stop();
    await first.device.close();

    modem.sim = SIM_B; // power off, swap the card, power on
    const second = boot(store, modem, clock, 3);
    await second.device.connect();
    await second.reporter.start();
    await second.reporter.heartbeat();
    await flush();
    expect(second.sent.map((s) => s.kind)).toEqual([
      "thing.event.BindingChanged.post",
      "thing.deviceinfo.update",
      "thing.event.BindingHeartbeat.post",
    ]);
    expect(second.sent[0]?.value).toMatchObject({
      old: { imei: IMEI, ...SIM_A },
      new: { imei: IMEI, ...SIM_B },
      epoch,
    });
    const beat = second.sent[2]?.value as { seq: number; epoch: number; bootId: string };
    expect(beat.epoch).toBe(epoch);
    expect(beat.seq).toBeGreaterThan(1); // never repeats across boots (it may jump ahead)
    expect(beat.bootId).not.toBe(first.reporter.bootId);
    await second.reporter.stop();
    await second.device.close();
  });

  it("a factory reset (erased flash) starts a new epoch with seq from 0", async () => {
    const clock = new ManualClock();
    const modem = new TestModem();
    const a = boot(new MemoryFlashStore(), modem, clock, 4);
    await a.device.connect();
    await a.reporter.start();
    const epochA = a.reporter.epoch;
    await a.reporter.stop();
    await a.device.close();
    const b = boot(new MemoryFlashStore(), modem, clock, 5);
    await b.device.connect();
    await b.reporter.start();
    await b.reporter.heartbeat();
    await flush();
    const beat = b.sent.find((s) => s.kind.includes("Heartbeat"))?.value as { seq: number; epoch: number };
    expect(beat.epoch).not.toBe(epochA);
    expect(beat.seq).toBe(0);
    expect(b.sent.some((s) => s.kind.includes("BindingChanged"))).toBe(false);
    await b.reporter.stop();
    await b.device.close();
  });

  it.each(["binding", "binding.seq"])(
    "a %s record damaged in both flash slots is erased with its partner; a new epoch, seq from 0",
    async (key) => {
      const clock = new ManualClock();
      const modem = new TestModem();
      const store = new DamagedFlashStore();
      const a = boot(store, modem, clock, 6);
      await a.device.connect();
      await a.reporter.start();
      await a.reporter.heartbeat();
      await a.reporter.heartbeat();
      const epochA = a.reporter.epoch;
      await a.reporter.stop();
      await a.device.close();
      store.damaged.add(key);
      const b = boot(store, modem, clock, 7);
      const recovered: string[] = [];
      b.reporter.on("flashRecovered", (info) => recovered.push(info.key));
      await b.device.connect();
      await b.reporter.start();
      await b.reporter.heartbeat();
      await flush();
      expect(recovered).toEqual([key]);
      const beat = b.sent.find((x) => x.kind.includes("Heartbeat"))?.value as { seq: number; epoch: number };
      expect(beat.epoch).not.toBe(epochA);
      expect(beat.seq).toBe(0);
      expect(b.sent.some((x) => x.kind.includes("BindingChanged"))).toBe(false);
      await b.reporter.stop();
      await b.device.close();
    },
  );

  it("posts SimRemoved at once on the URC, and BindingChanged when another card is inserted", async () => {
    const clock = new ManualClock();
    const modem = new TestModem();
    const { device, reporter, sent } = boot(new MemoryFlashStore(), modem, clock, 6);
    await device.connect();
    await reporter.start();
    modem.sim = undefined;
    modem.emit("simRemoved");
    await flush();
    expect(sent.at(-1)).toMatchObject({
      kind: "thing.event.SimRemoved.post",
      value: { imei: IMEI, lastIccid: SIM_A.iccid },
    });
    modem.sim = SIM_B;
    modem.emit("simInserted");
    await flush();
    expect(sent.slice(-2).map((s) => s.kind)).toEqual(["thing.event.BindingChanged.post", "thing.deviceinfo.update"]);
    await reporter.stop();
    await device.close();
  });

  it("while offline, heartbeats wait in the queue and leave in order with no gap in seq", async () => {
    const clock = new ManualClock();
    const { network, device, reporter, sent } = boot(new MemoryFlashStore(), new TestModem(), clock, 7);
    await device.connect();
    await reporter.start();
    await reporter.heartbeat();
    await flush();
    network.onConnect = () => undefined; // the broker is gone: attempts hang
    network.last!.close();
    await flush();
    for (let i = 0; i < 5; i++) await reporter.heartbeat();
    await flush();
    expect(device.queueStats().messages).toBe(5);
    network.onConnect = (c) => c.accept();
    clock.advance(120_000);
    await flush(20);
    const seqs = sent.filter((s) => s.kind.includes("Heartbeat")).map((s) => (s.value as { seq: number }).seq);
    // The five queued while offline, plus whatever the timer added meanwhile: all there, in order, no gap.
    expect(seqs.length).toBeGreaterThanOrEqual(6);
    expect(seqs).toEqual(seqs.map((_, i) => i));
    await reporter.stop();
    await device.close();
  });

  it("surfaces a BindingSuspended service call as an event", async () => {
    const clock = new ManualClock();
    const { network, device, reporter } = boot(new MemoryFlashStore(), new TestModem(), clock, 8);
    await device.connect();
    await reporter.start();
    const suspended = new Promise((resolve) => reporter.once("suspended", resolve));
    network.last!.deliver(
      "/sys/a1B2c3D4e5F/dev001/thing/service/BindingSuspended",
      JSON.stringify({
        id: "5",
        version: "1.0",
        params: { iccid: SIM_A.iccid, reason: "mismatch" },
        method: "thing.service.BindingSuspended",
      }),
    );
    expect(await suspended).toEqual({ iccid: SIM_A.iccid, reason: "mismatch" });
    await reporter.stop();
    await device.close();
  });
});
