/**
 * Scenario files (YAML or JSON): the fleet to run and a timeline of actions, faults and assertions. Validated once
 * with zod; docs/fleet.md lists every entry. Durations are text (`"2h"`, `"90s"`) or milliseconds.
 */
import { readFile } from "node:fs/promises";
import { TriadkitError } from "@triadkit/protocol";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { parseDuration } from "./duration.js";

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
    return z.NEVER;
  }
});

/**
 * Which devices an entry acts on: `all` (default), a range `"0-4"`, a list of indexes `[0, 3]`, or
 * `{ random: n }`: n devices drawn with the scenario's seed (the same seed draws the same ones).
 */
const targets = z
  .union([
    z.literal("all"),
    z.string().regex(/^\d+-\d+$/, { message: 'a range looks like "0-4"' }),
    z.array(z.number().int().min(0)).min(1),
    z.object({ random: z.number().int().min(1) }).strict(),
  ])
  .default("all");

const at = { at: duration, devices: targets };

export const actionSchema = z.discriminatedUnion("do", [
  /** Broker outage: the fault proxy closes every connection and refuses new ones until `restore`. */
  z.object({ ...at, do: z.literal("outage") }).strict(),
  /** Lifts every proxy fault (outage, partition, latency). */
  z.object({ ...at, do: z.literal("restore") }).strict(),
  /** Partition: the devices' traffic is dropped (`drop`, silent) or held (`pause`) both ways until `heal`. */
  z.object({ ...at, do: z.literal("partition"), mode: z.enum(["drop", "pause"]).default("drop") }).strict(),
  /** Lifts the partition or latency of these devices (held bytes are delivered). */
  z.object({ ...at, do: z.literal("heal") }).strict(),
  /** Latency and jitter on the devices' connections (real milliseconds: TCP runs on real time). */
  z
    .object({
      ...at,
      do: z.literal("latency"),
      delayMs: z.number().int().min(0).max(60_000),
      jitterMs: z.number().int().min(0).max(60_000).default(0),
    })
    .strict(),
  /** Resets the devices' TCP connections once (they reconnect with back-off). */
  z.object({ ...at, do: z.literal("reset") }).strict(),
  /** Another SIM card (fresh ICCID/IMSI from the seed), hot-swapped: the modem's removal and insertion URCs. */
  z.object({ ...at, do: z.literal("simSwap") }).strict(),
  /** The SIM card is pulled out (the reporter posts SimRemoved). */
  z.object({ ...at, do: z.literal("simRemove") }).strict(),
  /** The devices' wall clocks run `skew` ahead (negative: behind); monotonic time is untouched. */
  z.object({ ...at, do: z.literal("clockSkew"), skewMs: z.number().int() }).strict(),
  /** A bit flips in both flash slots of the binding record; the device reboots and finds it unreadable. */
  z.object({ ...at, do: z.literal("flashCorrupt") }).strict(),
  /** Power fails during the next flash write (the heartbeat counter's reservation, at boot); the device boots again. */
  z.object({ ...at, do: z.literal("powerCut"), afterPages: z.number().int().min(0).max(64).default(0) }).strict(),
  /** The devices log in with a wrong DeviceSecret from now on (they reboot with it). */
  z.object({ ...at, do: z.literal("wrongSecret") }).strict(),
  /** The platform disables the devices (in-process emulator only). */
  z.object({ ...at, do: z.literal("disable") }).strict(),
  z.object({ ...at, do: z.literal("enable") }).strict(),
  /** Power cycle. */
  z.object({ ...at, do: z.literal("reboot") }).strict(),
  /** Every targeted device sends one heartbeat now. */
  z.object({ ...at, do: z.literal("heartbeat") }).strict(),
]);

export const assertionSchema = z.discriminatedUnion("assert", [
  /** Every targeted device is online within `within` (scenario time) from this point. */
  z.object({ ...at, assert: z.literal("allOnline"), within: duration }).strict(),
  /** Binding alerts raised so far in state `state`: exactly / at least / at most a number. */
  z
    .object({
      ...at,
      assert: z.literal("alerts"),
      state: z.enum(["mismatch", "card_elsewhere", "duplicate_imei", "unregistered", "silent", "replayed"]),
      exactly: z.number().int().min(0).optional(),
      atLeast: z.number().int().min(0).optional(),
      atMost: z.number().int().min(0).optional(),
    })
    .strict(),
  /** Heartbeats lost so far (sent − acknowledged, replies drained first) of the targeted devices, at most `max`. */
  z.object({ ...at, assert: z.literal("heartbeatsLost"), max: z.number().int().min(0).default(0) }).strict(),
  /**
   * How many targeted devices are online now: as the devices see it (`device`, default: their SDK session is online)
   * or as the platform sees it (`platform`: the in-process emulator holds a live session for them).
   */
  z
    .object({
      ...at,
      assert: z.literal("online"),
      count: z.number().int().min(0),
      side: z.enum(["device", "platform"]).default("device"),
    })
    .strict(),
  /** Logins the platform refused so far, at least `atLeast`. */
  z.object({ ...at, assert: z.literal("authRefused"), atLeast: z.number().int().min(0) }).strict(),
]);

type Step = z.output<typeof actionSchema> | z.output<typeof assertionSchema>;

/** An entry is an assertion when it has `assert`, else an action: each is checked against its own schema. */
export const stepSchema = z.unknown().transform((value, ctx): Step => {
  const isAssertion = typeof value === "object" && value !== null && "assert" in value;
  const parsed = (isAssertion ? assertionSchema : actionSchema).safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
  return z.NEVER;
});

export const scenarioSchema = z
  .object({
    name: z.string().min(1).max(200),
    description: z.string().optional(),
    devices: z.number().int().min(1).max(200_000),
    seed: z.number().int().min(0).max(0xffff_ffff).optional(),
    heartbeatSec: z.number().int().min(10).max(86_400).default(300),
    silentAfterIntervals: z.number().int().min(1).max(1000).default(3),
    /** Every device's MQTT keepalive (the platform accepts 30–1200 s); timed on the scenario's clock. */
    keepaliveSec: z.number().int().min(30).max(1200).default(300),
    /** `virtual` (default): SDK, reporter and platform timers on a manual clock; `real`: wall-clock time. */
    clock: z.enum(["virtual", "real"]).default("virtual"),
    /** Virtual clock: how far each step advances; I/O settles in real time between steps. */
    step: duration.default(10_000),
    /** Scenario time run after the last timeline entry before the final checks. */
    tail: duration.default(0),
    timeline: z.array(stepSchema).min(1),
  })
  .strict();

export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
export type ScenarioStep = Step;
export type ScenarioAction = z.output<typeof actionSchema>;
export type ScenarioAssertion = z.output<typeof assertionSchema>;
export type Targets = ScenarioStep["devices"];

/** Validates a parsed scenario. Throws `config.invalid` listing every problem with its path. */
export function parseScenario(value: unknown): Scenario {
  const parsed = scenarioSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "scenario"}: ${i.message}`);
    throw new TriadkitError("config.invalid", `invalid scenario: ${problems.join("; ")}`, {
      fields: parsed.error.issues.map((i) => i.path.join(".")),
    });
  }
  const steps = parsed.data.timeline;
  for (let i = 1; i < steps.length; i++) {
    if ((steps[i]?.at ?? 0) < (steps[i - 1]?.at ?? 0)) {
      throw new TriadkitError("config.invalid", `invalid scenario: timeline.${i}.at is earlier than the entry before`);
    }
  }
  return parsed.data;
}

/** Parses scenario text: YAML (JSON is YAML too). */
export function parseScenarioText(text: string): Scenario {
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new TriadkitError("config.invalid", `scenario is not valid YAML/JSON: ${(err as Error).message}`);
  }
  return parseScenario(value);
}

export async function loadScenario(file: string): Promise<Scenario> {
  return parseScenarioText(await readFile(file, "utf8"));
}
