/**
 * The web UI's burn run: owns the fixtures' serial links while burning, runs {@link runBurnSession} in watch mode
 * over every configured fixture, and keeps what the burn page shows: one tile per fixture (idle, burning, PASS,
 * FAIL with the error code) and the shift counters. A tile turns `burning` when the ledger reserves a triad for its
 * fixture (the one step every burn of a blank board takes). Links are opened through the injected `openLink`, so
 * tests give in-memory links and the server the sdk's NodeSerialLink.
 */
import { TriadkitError } from "@triadkit/protocol";
import type { SerialLink } from "@triadkit/sdk";
import { runBurnSession } from "../burn/burn-session.js";
import type { BurnContext, DeviceOutcome } from "../burn/device-steps.js";
import { FactoryClient } from "../burn/factory-client.js";
import { type ReworkRequest, reworkDevice } from "../burn/rework.js";
import type { Ledger, WorkOrder } from "../ledger/types.js";

export type TileState = "idle" | "burning" | "pass" | "fail";

/** What one fixture's tile shows; never a secret or PoP. */
export interface FixtureTile {
  readonly fixture: string;
  readonly state: TileState;
  readonly code?: string;
  readonly message?: string;
  readonly chipId?: string;
  readonly triad?: { readonly id: string; readonly identity: string };
  readonly at?: number;
}

export interface ShiftCounters {
  readonly passed: number;
  readonly failed: number;
  /** Passes in the last hour. */
  readonly perHour: number;
  /** passed / (passed + failed), 0–1; null before the first device. */
  readonly yield: number | null;
  readonly since: number;
}

export interface SupervisorFixture {
  readonly name: string;
  open(): Promise<SerialLink>;
}

export interface BurnSupervisorOptions {
  readonly ctx: BurnContext;
  readonly fixtures: readonly SupervisorFixture[];
  readonly timeoutMs: number;
  readonly pollMs: number;
  /** Every tile or counter change, and the run starting or stopping. */
  readonly onChange: (change: SupervisorChange) => void;
}

export type SupervisorChange =
  | { readonly type: "tile"; readonly tile: FixtureTile }
  | { readonly type: "counters"; readonly counters: ShiftCounters }
  | { readonly type: "run"; readonly workOrderId: string | null };

const HOUR_MS = 3_600_000;

export class BurnSupervisor {
  private readonly tileMap = new Map<string, FixtureTile>();
  private passes: number[] = [];
  private failed = 0;
  private readonly since: number;
  private running:
    | { readonly order: WorkOrder; readonly stop: AbortController; readonly done: Promise<void> }
    | undefined;

  constructor(private readonly options: BurnSupervisorOptions) {
    for (const f of options.fixtures) this.tileMap.set(f.name, { fixture: f.name, state: "idle" });
    this.since = options.ctx.now();
  }

  tiles(): FixtureTile[] {
    return [...this.tileMap.values()];
  }

  workOrderId(): string | null {
    return this.running?.order.id ?? null;
  }

  /** The work order being burnt (a BLE scan burns for it too). */
  workOrder(): WorkOrder | undefined {
    return this.running?.order;
  }

  /** A board burnt elsewhere (over BLE) starts: its tile shows `burning`. */
  markBurning(fixture: string): void {
    this.setTile({ fixture, state: "burning", at: this.options.ctx.now() });
  }

  counters(): ShiftCounters {
    const now = this.options.ctx.now();
    this.passes = this.passes.filter((t) => now - t < HOUR_MS);
    const passed = this.passedTotal;
    const all = passed + this.failed;
    return {
      passed,
      failed: this.failed,
      perHour: this.passes.length,
      yield: all === 0 ? null : passed / all,
      since: this.since,
    };
  }

  private passedTotal = 0;

  /** Starts burning the work order on every fixture; `station.fixture_locked`-like refusal if already running. */
  async start(order: WorkOrder): Promise<void> {
    if (this.running !== undefined) {
      throw new TriadkitError(
        "web.burn_running",
        `already burning work order ${this.running.order.id}: stop it first`,
        {
          workOrderId: this.running.order.id,
        },
      );
    }
    const stop = new AbortController();
    const opened: { fixture: string; link: SerialLink }[] = [];
    for (const f of this.options.fixtures) {
      try {
        opened.push({ fixture: f.name, link: await f.open() });
      } catch (err) {
        const e =
          err instanceof TriadkitError
            ? err
            : new TriadkitError("station.port_failed", `cannot open fixture ${f.name}: ${(err as Error).message}`, {
                fixture: f.name,
              });
        this.setTile({ fixture: f.name, state: "fail", code: e.code, message: e.message, at: this.options.ctx.now() });
      }
    }
    const ctx: BurnContext = { ...this.options.ctx, ledger: this.watchReservations(this.options.ctx.ledger) };
    const done = runBurnSession({
      ctx,
      ports: opened,
      workOrder: order,
      watch: true,
      timeoutMs: this.options.timeoutMs,
      pollMs: this.options.pollMs,
      signal: stop.signal,
      onOutcome: (o) => this.outcome(o),
    })
      .then(() => undefined)
      .catch((err: unknown) => {
        this.options.ctx.alert("internal.unexpected", `the burn run stopped: ${(err as Error).message}`, {});
      })
      .finally(async () => {
        await Promise.all(opened.map((p) => p.link.close().catch(() => undefined)));
      });
    this.running = { order, stop, done };
    this.options.onChange({ type: "run", workOrderId: order.id });
  }

  /** Stops the run (current devices finish their step) and closes the links. Idempotent. */
  async stop(): Promise<void> {
    const run = this.running;
    if (run === undefined) return;
    run.stop.abort();
    await run.done;
    this.running = undefined;
    for (const t of this.tileMap.values())
      if (t.state === "burning") this.setTile({ fixture: t.fixture, state: "idle" });
    this.options.onChange({ type: "run", workOrderId: null });
  }

  /** Reworks the board on `fixture` (burning must be stopped: the run owns the links while it goes). */
  async rework(fixture: string, request: ReworkRequest): Promise<DeviceOutcome> {
    if (this.running !== undefined) {
      throw new TriadkitError("web.burn_running", "stop burning before reworking a board", {
        workOrderId: this.running.order.id,
      });
    }
    const f = this.options.fixtures.find((x) => x.name === fixture);
    if (f === undefined) {
      throw new TriadkitError("station.unknown_fixture", `no fixture ${fixture}`, { fixture });
    }
    const link = await f.open();
    const { ctx } = this.options;
    const client = new FactoryClient({ link, random: ctx.random, timeoutMs: this.options.timeoutMs, where: fixture });
    try {
      const outcome = await reworkDevice(ctx, client, fixture, request);
      this.setTile({
        fixture,
        state: outcome.result,
        ...(outcome.code === undefined ? {} : { code: outcome.code }),
        ...(outcome.chipId === undefined ? {} : { chipId: outcome.chipId }),
        at: ctx.now(),
      });
      return outcome;
    } finally {
      client.close();
      await link.close();
    }
  }

  /** A device's outcome: its tile and the shift counters (the run's own, and BLE burns). */
  outcome(o: DeviceOutcome): void {
    const now = this.options.ctx.now();
    if (o.result === "pass") {
      this.passedTotal++;
      this.passes.push(now);
    } else {
      this.failed++;
    }
    this.setTile({
      fixture: o.fixture,
      state: o.result,
      ...(o.code === undefined ? {} : { code: o.code }),
      ...(o.message === undefined ? {} : { message: o.message }),
      ...(o.chipId === undefined ? {} : { chipId: o.chipId }),
      ...(o.triad === undefined ? {} : { triad: o.triad }),
      at: now,
    });
    this.options.onChange({ type: "counters", counters: this.counters() });
  }

  private setTile(tile: FixtureTile): void {
    this.tileMap.set(tile.fixture, tile);
    this.options.onChange({ type: "tile", tile });
  }

  /** The ledger, with `reserve` marking the fixture's tile `burning` first. */
  private watchReservations(ledger: Ledger): Ledger {
    return new Proxy(ledger, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        if (prop === "reserve") {
          return (workOrderId: string, actor: Parameters<Ledger["reserve"]>[1]) => {
            if (actor.fixture !== undefined) {
              this.setTile({ fixture: actor.fixture, state: "burning", at: this.options.ctx.now() });
            }
            return target.reserve(workOrderId, actor);
          };
        }
        return value.bind(target);
      },
    });
  }
}
