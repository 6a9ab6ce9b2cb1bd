import type { LatencySummary } from "./stats.js";

/** The fleet's final report (`--report <file.json>`, `--json`); docs/fleet.md describes every field. */
export interface FleetReport {
  /** The seed every random choice came from: the same seed replays the same fleet and scenario. */
  readonly seed: number;
  readonly devices: number;
  /** Devices online when the report was taken. */
  readonly online: number;
  readonly broker: "in-process emulator" | "cloud";
  /** Real milliseconds from fleet creation to the report. */
  readonly durationMs: number;
  /** Real milliseconds from a device's first connect to its first online (TCP, login, subscribe). */
  readonly connectLatency: LatencySummary;
  /** Binding heartbeats: queued by the reporters, answered 200 by the platform, and the difference. */
  readonly heartbeats: { readonly sent: number; readonly acked: number; readonly lost: number };
  /** Times a device came online again after its first time. */
  readonly reconnects: number;
  /** Logins the platform refused. */
  readonly authRefused: number;
  /** Boots that found a flash record unreadable (both slots) and erased it. */
  readonly flashRecoveries: number;
  readonly memory: {
    readonly rssBeforeBytes: number;
    readonly rssAfterBytes: number;
    /** (RSS after − before) / devices. */
    readonly perDeviceBytes: number;
    /** Whether both samples were taken after a full GC (`node --expose-gc`). */
    readonly afterGc: boolean;
  };
  /** Present for a sharded fleet: one report per worker process. */
  readonly shards?: readonly FleetReport[];
}

/** Resident set size, after a full GC when `--expose-gc` made `gc` available. */
export function measureRss(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc === "function") gc();
  return process.memoryUsage().rss;
}
