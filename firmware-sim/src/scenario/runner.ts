/**
 * Runs a scenario: a fleet behind the fault proxy, its timeline executed in order on the scenario's clock. On the
 * virtual clock the runner advances a `ManualClock` step by step (SDK timers, heartbeats, back-off, request
 * timeouts, the platform's silence check) and lets real I/O settle between steps; TCP itself (connects, the proxy's
 * delays) runs on real time. docs/fleet.md describes the entries.
 */
import { performance } from "node:perf_hooks";
import { TriadkitError } from "@triadkit/protocol";
import { type Clock, ManualClock, SeededRandom, SystemClock } from "@triadkit/sdk";
import { BINDING_FLASH_KEY, Fleet, sleep } from "../fleet/fleet.js";
import type { FleetDevice } from "../fleet/fleet-device.js";
import type { FleetReport } from "../fleet/report.js";
import { createVirtualIdentity } from "../identity.js";
import type { Scenario, ScenarioAction, ScenarioAssertion, ScenarioStep, Targets } from "./schema.js";

export interface StepResult {
  /** Scenario time of the entry, in ms. */
  readonly atMs: number;
  readonly kind: "do" | "assert";
  readonly name: string;
  readonly devices: number;
  /** Assertions only. */
  readonly passed?: boolean;
  readonly message?: string;
}

export interface ScenarioResult {
  readonly name: string;
  readonly seed: number;
  readonly clock: "virtual" | "real";
  readonly passed: boolean;
  /** Scenario time covered, in ms (virtual or real). */
  readonly scenarioMs: number;
  /** Real time the run took, in ms. */
  readonly realMs: number;
  readonly steps: readonly StepResult[];
  readonly report: FleetReport;
}

export interface RunScenarioOptions {
  /** Replaces the file's seed (replaying a failure: pass the seed from its report). */
  readonly seed?: number;
  /** Run against this broker instead of the in-process emulator (alert assertions then fail). */
  readonly cloud?: string;
  /** Called after each timeline entry (live progress). */
  readonly onStep?: (step: StepResult, online: number, total: number) => void;
  /** Real milliseconds I/O may take to settle after each virtual step (default 500). */
  readonly settleCapMs?: number;
}

export async function runScenario(scenario: Scenario, options: RunScenarioOptions = {}): Promise<ScenarioResult> {
  const seed = options.seed ?? scenario.seed ?? (Math.random() * 0xffff_ffff) >>> 0;
  const clock: Clock = scenario.clock === "virtual" ? new ManualClock({ wallStartMs: Date.now() }) : new SystemClock();
  const fleet = await Fleet.create({
    devices: scenario.devices,
    seed,
    heartbeatSec: scenario.heartbeatSec,
    silentAfterIntervals: scenario.silentAfterIntervals,
    keepaliveSec: scenario.keepaliveSec,
    faultProxy: options.cloud === undefined || options.cloud.startsWith("mqtt:"),
    ...(options.cloud === undefined ? {} : { cloud: options.cloud }),
    clock,
  });
  const run = new ScenarioRun(scenario, fleet, clock, options);
  const started = performance.now();
  try {
    await fleet.start();
    const steps: StepResult[] = [];
    for (const step of scenario.timeline) {
      await run.advanceTo(step.at);
      const result = await run.execute(step);
      steps.push(result);
      options.onStep?.(result, fleet.onlineCount(), fleet.devices.length);
    }
    const last = scenario.timeline.at(-1)?.at ?? 0;
    await run.advanceTo(last + scenario.tail);
    await run.settle();
    await fleet.drain(2_000);
    return {
      name: scenario.name,
      seed,
      clock: scenario.clock,
      passed: steps.every((s) => s.passed !== false),
      scenarioMs: run.nowMs(),
      realMs: Math.round(performance.now() - started),
      steps,
      report: fleet.report(),
    };
  } finally {
    await run.finish();
    await fleet.close();
  }
}

class ScenarioRun {
  /** Devices the scenario cut off (outage, partition, wrong secret, disabled): settling does not wait for them. */
  private readonly faulted = new Set<FleetDevice>();
  private readonly outstanding: Promise<unknown>[] = [];
  private readonly started = performance.now();
  private virtualMs = 0;
  private readonly pick: SeededRandom;
  private readonly cards: SeededRandom;

  constructor(
    private readonly scenario: Scenario,
    private readonly fleet: Fleet,
    private readonly clock: Clock,
    private readonly options: RunScenarioOptions,
  ) {
    this.pick = new SeededRandom((fleet.options.seed ^ 0x1234_5678) >>> 0);
    this.cards = new SeededRandom((fleet.options.seed ^ 0x0bad_cafe) >>> 0);
  }

  nowMs(): number {
    return this.clock instanceof ManualClock ? this.virtualMs : Math.round(performance.now() - this.started);
  }

  async advanceTo(targetMs: number): Promise<void> {
    if (!(this.clock instanceof ManualClock)) {
      const wait = targetMs - this.nowMs();
      if (wait > 0) await sleep(wait);
      return;
    }
    await this.settle();
    // Steps of at most a quarter keepalive: a PINGREQ sent at 1× keepalive is answered (real I/O, during the settle
    // after its step) before the 1.5× deadlines of either end can fall due (the device's, the proxy's broker side).
    const step = Math.min(this.scenario.step, (this.fleet.options.keepaliveSec * 1000) / 4);
    while (this.virtualMs < targetMs) {
      const delta = Math.min(step, targetMs - this.virtualMs);
      this.clock.advance(delta);
      this.virtualMs += delta;
      await this.settle();
    }
  }

  /** Real time until no reachable device is connecting or waiting for a reply (capped). */
  async settle(): Promise<void> {
    const cap = performance.now() + (this.options.settleCapMs ?? 500);
    // Two idle polls in a row: a heartbeat fired by the clock takes a few real ms (flash, AT) before it is queued.
    let idle = 0;
    while (idle < 2 && performance.now() < cap) {
      await sleep(1);
      idle = this.busy() ? 0 : idle + 1;
    }
  }

  private busy(): boolean {
    for (const d of this.fleet.devices) {
      if (this.faulted.has(d)) continue;
      if (d.pendingRequests > 0 || d.state === "connecting" || d.awaitingPong) return true;
    }
    return false;
  }

  targets(targets: Targets): FleetDevice[] {
    const all = this.fleet.devices;
    if (targets === "all") return [...all];
    if (typeof targets === "string") {
      const [from, to] = targets.split("-").map(Number) as [number, number];
      return all.filter((d) => d.spec.index >= from && d.spec.index <= to);
    }
    if (Array.isArray(targets)) return all.filter((d) => targets.includes(d.spec.index));
    const pool = [...all];
    const chosen: FleetDevice[] = [];
    while (chosen.length < targets.random && pool.length > 0) {
      chosen.push(pool.splice(this.pick.int(pool.length), 1)[0] as FleetDevice);
    }
    return chosen.sort((a, b) => a.spec.index - b.spec.index);
  }

  async execute(step: ScenarioStep): Promise<StepResult> {
    const devices = this.targets(step.devices);
    if ("do" in step) {
      await this.act(step, devices);
      return { atMs: step.at, kind: "do", name: step.do, devices: devices.length };
    }
    const verdict = await this.check(step, devices);
    return { atMs: step.at, kind: "assert", name: step.assert, devices: devices.length, ...verdict };
  }

  private proxy() {
    const proxy = this.fleet.proxy;
    if (proxy === undefined) throw new TriadkitError("config.invalid", "network faults need the fault proxy (mqtt://)");
    return proxy;
  }

  private emulator() {
    const emulator = this.fleet.emulator;
    if (emulator === undefined) throw new TriadkitError("config.invalid", "this entry needs the in-process emulator");
    return emulator;
  }

  private addresses(devices: readonly FleetDevice[]): string[] {
    return devices.map((d) => this.fleet.addressOf(d));
  }

  private async act(step: ScenarioAction, devices: FleetDevice[]): Promise<void> {
    const each = (fn: (d: FleetDevice) => Promise<unknown>) => Promise.all(devices.map(fn));
    switch (step.do) {
      case "outage":
        this.proxy().setRule("outage", { mode: "reset" }, this.addresses(devices));
        for (const d of devices) this.faulted.add(d);
        return;
      case "restore":
        this.proxy().clearRules();
        this.faulted.clear();
        return;
      case "partition":
        this.proxy().setRule(`partition@${step.at}`, { mode: step.mode }, this.addresses(devices));
        for (const d of devices) this.faulted.add(d);
        return;
      case "heal":
        for (const address of this.addresses(devices)) this.proxy().healAddress(address);
        for (const d of devices) this.faulted.delete(d);
        return;
      case "latency":
        this.proxy().setRule(
          `latency@${step.at}`,
          { mode: "delay", delayMs: step.delayMs, jitterMs: step.jitterMs },
          this.addresses(devices),
        );
        return;
      case "reset": {
        const name = `reset@${step.at}`;
        this.proxy().setRule(name, { mode: "reset" }, this.addresses(devices));
        this.proxy().removeRule(name);
        return;
      }
      case "simSwap":
        await each(async (d) => {
          const card = createVirtualIdentity(this.cards, { productKey: d.spec.triad.productKey });
          await d.virtualModem?.swapSim({ iccid: card.iccid, imsi: card.imsi });
        });
        return;
      case "simRemove":
        await each(async (d) => d.virtualModem?.removeSim());
        return;
      case "clockSkew":
        for (const d of devices) d.clock.skewMs = step.skewMs;
        return;
      case "flashCorrupt":
        await each((d) => d.corruptFlash(BINDING_FLASH_KEY));
        return;
      case "powerCut":
        await each((d) => d.powerCutDuringWrite(step.afterPages));
        return;
      case "wrongSecret":
        await each((d) => d.useWrongSecret(wrongSecret(d.spec.triad.deviceSecret)));
        for (const d of devices) this.faulted.add(d);
        return;
      case "disable": {
        const emulator = this.emulator();
        // Not awaited: the platform waits for the device's reply on its own (possibly virtual) clock.
        for (const d of devices) this.outstanding.push(emulator.disableDevice(d.identity).catch(() => undefined));
        for (const d of devices) this.faulted.add(d);
        return;
      }
      case "enable": {
        const emulator = this.emulator();
        for (const d of devices) this.outstanding.push(emulator.enableDevice(d.identity).catch(() => undefined));
        for (const d of devices) this.faulted.delete(d);
        return;
      }
      case "reboot":
        await each((d) => d.reboot());
        return;
      case "heartbeat":
        await each((d) => d.heartbeat());
        return;
    }
  }

  private async check(step: ScenarioAssertion, devices: FleetDevice[]): Promise<{ passed: boolean; message: string }> {
    switch (step.assert) {
      case "allOnline": {
        const from = this.nowMs();
        const deadline = from + step.within;
        for (;;) {
          const offline = devices.filter((d) => !d.online).length;
          if (offline === 0)
            return { passed: true, message: `all ${devices.length} online after ${this.nowMs() - from} ms` };
          if (this.nowMs() >= deadline) {
            return { passed: false, message: `${offline} of ${devices.length} not online within ${step.within} ms` };
          }
          if (this.clock instanceof ManualClock)
            await this.advanceTo(Math.min(deadline, this.nowMs() + this.scenario.step));
          else await sleep(Math.min(50, deadline - this.nowMs()));
        }
      }
      case "alerts": {
        const names = new Set(devices.map((d) => d.spec.triad.deviceName));
        const count = this.emulator()
          .binding.alerts({ state: step.state })
          .filter((a) => names.has(a.deviceName)).length;
        const ok =
          (step.exactly === undefined || count === step.exactly) &&
          (step.atLeast === undefined || count >= step.atLeast) &&
          (step.atMost === undefined || count <= step.atMost);
        const wanted = [
          step.exactly === undefined ? "" : `exactly ${step.exactly}`,
          step.atLeast === undefined ? "" : `at least ${step.atLeast}`,
          step.atMost === undefined ? "" : `at most ${step.atMost}`,
        ]
          .filter(Boolean)
          .join(", ");
        return { passed: ok, message: `${count} ${step.state} alerts (wanted ${wanted || "any"})` };
      }
      case "heartbeatsLost": {
        await this.settle();
        let sent = 0;
        let acked = 0;
        for (const d of devices) {
          sent += d.counters.sent;
          acked += d.counters.acked;
        }
        const lost = Math.max(0, sent - acked);
        return { passed: lost <= step.max, message: `${lost} of ${sent} heartbeats lost (max ${step.max})` };
      }
      case "online": {
        const platform = step.side === "platform" ? this.emulator() : undefined;
        const online = devices.filter((d) => (platform ? platform.isOnline(d.identity) : d.online)).length;
        const where = platform ? " on the platform" : "";
        return {
          passed: online === step.count,
          message: `${online} of ${devices.length} online${where} (wanted ${step.count})`,
        };
      }
      case "authRefused": {
        const refused = devices.reduce((n, d) => n + d.counters.authRefused, 0);
        return { passed: refused >= step.atLeast, message: `${refused} logins refused (wanted ≥ ${step.atLeast})` };
      }
    }
  }

  async finish(): Promise<void> {
    if (this.clock instanceof ManualClock) this.clock.advance(60_000);
    await Promise.all(this.outstanding);
  }
}

/** A secret of the same shape that is not the device's. */
function wrongSecret(secret: string): string {
  const last = secret.at(-1) === "A" ? "B" : "A";
  return `${secret.slice(0, -1)}${last}`;
}
