/**
 * The binding monitor through real MQTT: devices are MQTT.js clients signed with protocol's `signConnect` that publish
 * protocol-encoded identity reports and binding events (no SDK session: the reporter is written elsewhere). An operator
 * client subscribes to the alert topics; a node:http server stands in for the webhook; the `suspend` policy's service
 * call reaches the device. Virtual time (ManualClock) drives the silence check.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type BindingAlert,
  createVirtualIdentity,
  PlatformEmulator,
  SqliteDeviceRegistry,
  type VirtualIdentity,
} from "@triadkit/firmware-sim";
import {
  bindingEventTopic,
  createIdGenerator,
  decodeReply,
  deviceinfoUpdateTopic,
  encodeBindingChanged,
  encodeBindingHeartbeat,
  encodeIdentityReport,
  encodeSimRemoved,
  expectTriadkitError,
  replyTopicOf,
  type SimBinding,
  signConnect,
} from "@triadkit/protocol";
import { ManualClock } from "@triadkit/sdk";
import type { MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { simBin as bin, readyLines, root, startSim } from "../helpers/sim-cli.js";
import { autoRespond, ClientPool, collect, nextMessage, osRandom, PRODUCT_KEY } from "./emulator-harness.js";

const OPERATOR = { username: "noc-operator", password: "binding-ops-pass" };
const ALERTS = "/triadkit/binding/alerts/#";
const pool = new ClientPool();
const ids = createIdGenerator();

const born = (): VirtualIdentity => createVirtualIdentity(osRandom, { productKey: PRODUCT_KEY });
const sim = (v: VirtualIdentity): SimBinding => ({ imei: v.imei, iccid: v.iccid, imsi: v.imsi });

/** The webhook: every POSTed body. */
let hook: Server;
let hookUrl: string;
const posted: Record<string, unknown>[] = [];
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "triadkit-binding-it-"));
  hook = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => {
      body += d.toString();
    });
    req.on("end", () => {
      posted.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`;
});
afterEach(() => pool.endAll());
afterAll(async () => {
  await new Promise<void>((resolve) => hook.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

/** A device on the wire: publishes QoS 1 and waits for the platform's reply, so the monitor has judged it. */
class WireDevice {
  readonly services: { method: string; params: unknown }[] = [];
  private constructor(
    readonly v: VirtualIdentity,
    readonly client: MqttClient,
  ) {}

  static async connect(emulator: PlatformEmulator, v: VirtualIdentity): Promise<WireDevice> {
    const client = await pool.connect(emulator.url, signConnect({ triad: v.triad, style: "c" }));
    const device = new WireDevice(v, client);
    await autoRespond(client, v.triad, (method, params) => {
      device.services.push({ method, params });
      return { code: 200, data: {} };
    });
    await client.subscribeAsync([
      `${deviceinfoUpdateTopic(v.triad)}_reply`,
      `/sys/${PRODUCT_KEY}/${v.triad.deviceName}/thing/event/+/post_reply`,
    ]);
    return device;
  }

  async send(topic: string, payload: Uint8Array): Promise<number> {
    const reply = nextMessage(this.client, (t) => t === replyTopicOf(topic));
    await this.client.publishAsync(topic, Buffer.from(payload), { qos: 1 });
    return decodeReply(new Uint8Array((await reply).payload)).code;
  }

  report(s: SimBinding = sim(this.v)): Promise<number> {
    return this.send(
      deviceinfoUpdateTopic(this.v.triad),
      encodeIdentityReport({ ...s, modem: "Quectel EC200U-CN" }, ids.next()),
    );
  }

  heartbeat(seq: number, s: SimBinding = sim(this.v), over: { epoch?: number; bootId?: string } = {}): Promise<number> {
    const event = {
      ...s,
      epoch: over.epoch ?? 1,
      bootId: over.bootId ?? "boot-1",
      seq,
      uptimeS: seq * 60,
      ts: Date.now(),
    };
    return this.send(bindingEventTopic(this.v.triad, "BindingHeartbeat"), encodeBindingHeartbeat(event, ids.next()));
  }

  changed(old: SimBinding, next: SimBinding, bootId = "boot-2"): Promise<number> {
    const event = { old, new: next, epoch: 1, bootId, ts: Date.now() };
    return this.send(bindingEventTopic(this.v.triad, "BindingChanged"), encodeBindingChanged(event, ids.next()));
  }

  simRemoved(): Promise<number> {
    const event = { imei: this.v.imei, lastIccid: this.v.iccid, epoch: 1, bootId: "boot-1", ts: Date.now() };
    return this.send(bindingEventTopic(this.v.triad, "SimRemoved"), encodeSimRemoved(event, ids.next()));
  }
}

/** An operator console subscribed to every alert. */
async function operator(
  emulator: PlatformEmulator,
): Promise<{ client: MqttClient; seen: { topic: string; body: Record<string, unknown> }[] }> {
  const client = await pool.connect(emulator.url, { clientId: "noc-console", ...OPERATOR });
  const seen: { topic: string; body: Record<string, unknown> }[] = [];
  client.on("message", (topic, payload) => seen.push({ topic, body: JSON.parse(payload.toString()) }));
  const granted = await client.subscribeAsync(ALERTS);
  expect(granted[0]?.qos).toBe(0);
  return { client, seen };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

describe("binding monitor over MQTT", () => {
  const [alice, bob, carol] = [born(), born(), born()];
  const registry = new SqliteDeviceRegistry();
  const clock = new ManualClock({ wallStartMs: Date.now() });
  let emulator: PlatformEmulator;
  let alerts: [BindingAlert][];

  beforeAll(async () => {
    for (const d of [alice, bob, carol]) registry.add(d.triad);
    const expectedCsv = ["IMEI,ICCID,IMSI", ...[alice, bob].map((d) => `${d.imei},${d.iccid},${d.imsi}`)].join("\n");
    emulator = await PlatformEmulator.start({
      registry,
      clock,
      rateLimit: false,
      replyTimeoutMs: 2_000,
      bindings: {
        expectedCsv,
        heartbeatIntervalSec: 60,
        silentAfterIntervals: 3,
        policy: "suspend",
        webhookUrl: hookUrl,
        operator: OPERATOR,
      },
    });
    alerts = collect(emulator, "bindingAlert");
  });
  afterAll(async () => {
    await emulator.close();
    registry.close();
  });

  it("a bound device: identity report and heartbeats answered 200, no alert", async () => {
    const a = await WireDevice.connect(emulator, alice);
    expect(await a.report()).toBe(200);
    expect(await a.heartbeat(1)).toBe(200);
    expect(emulator.binding.state(alice.triad)).toMatchObject({ state: "bound", seq: 1, modem: "Quectel EC200U-CN" });
    expect(alerts).toHaveLength(0);
  });

  it("the operator login may subscribe to the alert topics only; devices may not; a wrong password is refused", async () => {
    const granted = async (client: MqttClient, filter: string) =>
      client.subscribeAsync(filter).then(
        (g) => g.map((x) => x.qos),
        (e: unknown) => (e as { packet?: { granted?: number[] } }).packet?.granted,
      );
    const { client } = await operator(emulator);
    expect(await granted(client, "/sys/#")).toEqual([128]);
    expect(await granted(client, `/triadkit/binding/alerts/${PRODUCT_KEY}/+`)).toEqual([0]);
    const wrong = { clientId: "x", username: OPERATOR.username, password: "wrong-pass" };
    expect(await pool.refusal(emulator.url, wrong)).toBe(5);
    const d = await pool.connect(emulator.url, signConnect({ triad: carol.triad, style: "c" }));
    expect(await granted(d, ALERTS)).toEqual([128]);
  });

  it("reboot with a swapped SIM: BindingChanged + tags + heartbeat → ONE mismatch alert on MQTT and the webhook; the card is suspended and the device told", async () => {
    const { seen } = await operator(emulator);
    const b = await WireDevice.connect(emulator, bob);
    await b.report();
    await b.heartbeat(1);
    const swapped = { ...sim(bob), iccid: carol.iccid, imsi: carol.imsi };
    const before = alerts.length;
    const hooked = posted.length;
    expect(await b.changed(sim(bob), swapped)).toBe(200);
    expect(await b.report(swapped)).toBe(200);
    expect(await b.heartbeat(2, swapped, { bootId: "boot-2" })).toBe(200);
    expect(await b.heartbeat(2, swapped, { bootId: "boot-2" })).toBe(200); // redelivered: deduplicated
    await expect.poll(() => seen.length).toBe(1);
    await expect.poll(() => posted.length).toBe(hooked + 1);
    await expect.poll(() => b.services.length).toBe(1);
    await settle();
    expect(alerts.length - before).toBe(1);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.topic).toBe(`/triadkit/binding/alerts/${PRODUCT_KEY}/${bob.triad.deviceName}`);
    expect(seen[0]?.body).toMatchObject({
      type: "alert",
      state: "mismatch",
      deviceName: bob.triad.deviceName,
      imei: bob.imei,
      iccid: carol.iccid,
      expected: sim(bob),
      suspended: true,
      count: 1,
    });
    expect(posted.at(-1)).toMatchObject({ type: "alert", state: "mismatch", deviceName: bob.triad.deviceName });
    expect(b.services).toEqual([
      {
        method: "thing.service.BindingSuspended",
        params: { iccid: carol.iccid, reason: expect.stringContaining("mismatch") },
      },
    ]);
    expect(emulator.binding.alerts({ deviceName: bob.triad.deviceName })).toMatchObject([
      { state: "mismatch", count: 3 },
    ]);
    expect(emulator.binding.suspended()).toMatchObject([{ iccid: carol.iccid, deviceName: bob.triad.deviceName }]);
  });

  it("lower seq → replayed; a SIM removal is recorded without an alert", async () => {
    const a = await WireDevice.connect(emulator, alice);
    await a.heartbeat(5);
    const before = alerts.length;
    await a.heartbeat(3);
    expect(alerts.slice(before).map(([x]) => x.state)).toEqual(["replayed"]);
    await a.heartbeat(6);
    expect(emulator.binding.state(alice.triad)?.state).toBe("bound");
    await a.simRemoved();
    expect(emulator.binding.state(alice.triad)).toMatchObject({ state: "sim_removed", lastIccid: alice.iccid });
    expect(alerts.length - before).toBe(1);
    await a.heartbeat(7);
  });

  it("silent on the server clock, then recovered when heartbeats resume", async () => {
    const { seen } = await operator(emulator);
    const a = await WireDevice.connect(emulator, alice);
    await a.heartbeat(20);
    const b = await WireDevice.connect(emulator, bob);
    await b.heartbeat(20, { ...sim(bob), iccid: carol.iccid, imsi: carol.imsi }, { bootId: "boot-2" });
    clock.advance(180_000);
    await expect.poll(() => seen.filter((s) => s.body["state"] === "silent").length).toBe(2);
    expect(
      emulator.binding
        .devices({ state: "silent" })
        .map((d) => d.deviceName)
        .sort(),
    ).toEqual([alice.triad.deviceName, bob.triad.deviceName].sort());
    await a.heartbeat(21);
    await expect
      .poll(() => seen.at(-1)?.body)
      .toMatchObject({
        type: "recovered",
        previousState: "silent",
        deviceName: alice.triad.deviceName,
      });
  });

  it("emulator.binding throws config.invalid when the emulator runs without the monitor", async () => {
    const plain = await PlatformEmulator.start({});
    try {
      expectTriadkitError(() => plain.binding, "config.invalid");
    } finally {
      await plain.close();
    }
  });
});

describe("one card moved between two devices", () => {
  it("raises exactly one alert (mismatch for the receiver, nothing for the donor)", async () => {
    const [x, y] = [born(), born()];
    const registry = new SqliteDeviceRegistry();
    for (const d of [x, y]) registry.add(d.triad);
    const expectedCsv = `imei,iccid,imsi\n${x.imei},${x.iccid},${x.imsi}\n${y.imei},${y.iccid},${y.imsi}`;
    const emulator = await PlatformEmulator.start({
      registry,
      rateLimit: false,
      bindings: { expectedCsv, operator: OPERATOR },
    });
    try {
      const { seen } = await operator(emulator);
      const dx = await WireDevice.connect(emulator, x);
      const dy = await WireDevice.connect(emulator, y);
      await dx.heartbeat(1);
      await dy.heartbeat(1);
      await dx.simRemoved();
      const moved = { imei: y.imei, iccid: x.iccid, imsi: x.imsi };
      await dy.changed(sim(y), moved);
      await dy.report(moved);
      await dy.heartbeat(2, moved, { bootId: "boot-2" });
      await expect.poll(() => seen.length).toBe(1);
      await settle();
      expect(seen).toHaveLength(1);
      expect(seen[0]?.body).toMatchObject({ state: "mismatch", deviceName: y.triad.deviceName, cardBoundImei: x.imei });
      expect(emulator.binding.alerts()).toHaveLength(1);
    } finally {
      await emulator.close();
      registry.close();
    }
  });
});

describe("persistence with a database file", () => {
  it("keeps states and alerts across an emulator restart; `triadkit-sim bindings --db` lists them", async () => {
    const db = join(dir, "platform.db");
    const [p, q] = [born(), born()];
    const expectedCsv = `imei,iccid,imsi\n${p.imei},${p.iccid},${p.imsi}`;
    const start = async () => {
      const registry = new SqliteDeviceRegistry(db);
      if (registry.get(p.triad) === undefined) for (const d of [p, q]) registry.add(d.triad);
      const emulator = await PlatformEmulator.start({ registry, rateLimit: false, bindings: { expectedCsv, db } });
      return { registry, emulator };
    };
    const first = await start();
    try {
      const dp = await WireDevice.connect(first.emulator, p);
      const dq = await WireDevice.connect(first.emulator, q);
      await dp.heartbeat(4);
      await dq.report();
    } finally {
      await pool.endAll();
      await first.emulator.close();
      first.registry.close();
    }

    const second = await start();
    try {
      expect(second.emulator.binding.initialImport).toMatchObject({ added: 0, unchanged: 1 });
      expect(second.emulator.binding.state(p.triad)).toMatchObject({ state: "bound", seq: 4 });
      expect(second.emulator.binding.alerts()).toMatchObject([
        { state: "unregistered", deviceName: q.triad.deviceName },
      ]);
      const dp = await WireDevice.connect(second.emulator, p);
      await dp.heartbeat(4); // a redelivery across the restart
      expect(second.emulator.binding.alerts()).toHaveLength(1);
    } finally {
      await pool.endAll();
      await second.emulator.close();
      second.registry.close();
    }

    const cli = spawnSync(process.execPath, [bin, "bindings", "--db", db, "--json"], { cwd: root, encoding: "utf8" });
    expect(cli.status).toBe(0);
    const rows = cli.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { deviceName: string; state: string });
    expect(rows.map((r) => [r.deviceName, r.state]).sort()).toEqual(
      [
        [p.triad.deviceName, "bound"],
        [q.triad.deviceName, "unregistered"],
      ].sort(),
    );
    const table = spawnSync(process.execPath, [bin, "bindings", "--db", db, "--state", "unregistered"], {
      cwd: root,
      encoding: "utf8",
    });
    expect(table.status).toBe(0);
    expect(table.stdout).toContain(q.triad.deviceName);
    expect(table.stdout).not.toContain(p.triad.deviceName);
  });
});

describe("triadkit-sim cloud with the binding monitor", () => {
  it("imports --bindings, logs bindingAlert events, persists them for `bindings --db`", async () => {
    const [p, q] = [born(), born()];
    const triads = join(dir, "cli-triads.csv");
    const expected = join(dir, "cli-expected.csv");
    const db = join(dir, "cli.db");
    await writeFile(
      triads,
      [
        "productKey,deviceName,deviceSecret",
        ...[p, q].map((d) => `${d.triad.productKey},${d.triad.deviceName},${d.triad.deviceSecret}`),
      ].join("\n"),
    );
    await writeFile(expected, `Imei,ICCID,imsi\n${p.imei},${p.iccid},${p.imsi}\n${p.imei},${q.iccid},${q.imsi}\n`);
    const run = startSim([
      "cloud",
      "--triads",
      triads,
      "--db",
      db,
      "--bindings",
      expected,
      "--binding-policy",
      "suspend",
      "--heartbeat-sec",
      "60",
      "--json",
    ]);
    try {
      const [ready] = await readyLines(run, 1);
      const url = (ready as string).slice("READY ".length);
      expect(run.stderr()).toContain("imported 1 expected bindings");
      expect(run.stderr()).toContain("line 3:");
      expect(run.stderr()).toContain("binding.duplicate_expected");
      const client = await pool.connect(url, signConnect({ triad: q.triad, style: "c" }));
      const report = encodeIdentityReport({ ...sim(q), modem: "EC200U" }, "1");
      await client.publishAsync(deviceinfoUpdateTopic(q.triad), Buffer.from(report), { qos: 1 });
      await expect.poll(run.stderr).toContain('"event":"bindingAlert"');
      const line = run
        .stderr()
        .split("\n")
        .find((l) => l.includes('"event":"bindingAlert"'));
      expect(JSON.parse(line as string)).toMatchObject({ state: "unregistered", deviceName: q.triad.deviceName });
      await pool.endAll();
    } finally {
      run.child.kill("SIGTERM");
    }
    expect(await run.exit).toBe(0);
    expect(run.stdout() + run.stderr()).not.toContain(q.triad.deviceSecret);
    const listed = spawnSync(process.execPath, [bin, "bindings", "--db", db, "--alerts", "--json"], {
      cwd: root,
      encoding: "utf8",
    });
    expect(listed.status).toBe(0);
    expect(JSON.parse(listed.stdout.trim())).toMatchObject({ state: "unregistered", deviceName: q.triad.deviceName });
  });

  it("usage errors exit 2: --binding-operator without its password variable, a bad webhook URL, an unknown policy", () => {
    const env = { ...process.env };
    delete env["TRIADKIT_SIM_OPERATOR_PASSWORD"];
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: "utf8", env });
    const noPassword = cli("cloud", "--binding-operator", "ops");
    expect(noPassword.status).toBe(2);
    expect(noPassword.stderr).toContain("TRIADKIT_SIM_OPERATOR_PASSWORD");
    expect(cli("cloud", "--binding-webhook", "ftp://example.com/x").status).toBe(2);
    expect(cli("cloud", "--binding-policy", "stop").status).toBe(2);
    const help = cli("bindings", "--help");
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("--state <state>");
  });
});
