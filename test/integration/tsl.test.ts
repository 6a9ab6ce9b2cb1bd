/**
 * docs/tsl-binding.json is the thing model users paste into a real product. It must declare every field the
 * binding-event encoders emit, with a matching TSL type and a range that admits every value the encoders accept,
 * and declare nothing they never send.
 */
import { readFileSync } from "node:fs";
import {
  BINDING_EVENTS,
  type BindingChanged,
  type BindingHeartbeat,
  encodeBindingChanged,
  encodeBindingHeartbeat,
  encodeSimRemoved,
  eventMethod,
  type SimRemoved,
} from "@triadkit/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

interface TslDataType {
  type: string;
  specs: unknown;
}
interface TslParam {
  identifier: string;
  name: string;
  dataType: TslDataType;
}
interface TslEvent {
  identifier: string;
  name: string;
  type: string;
  required: boolean;
  desc: string;
  method: string;
  outputData: TslParam[];
}
interface Tsl {
  schema: string;
  profile: Record<string, string>;
  events: TslEvent[];
}

const tsl = JSON.parse(readFileSync(new URL("../../docs/tsl-binding.json", import.meta.url), "utf8")) as Tsl;

function eventOf(identifier: string): TslEvent {
  const event = tsl.events.find((e) => e.identifier === identifier);
  if (event === undefined) throw new Error(`TSL has no event ${identifier}`);
  return event;
}

/** Problems with `value` against the declared params, as "path: problem" strings (empty when it conforms). */
function conformance(params: readonly TslParam[], value: Record<string, unknown>, path = ""): string[] {
  const problems: string[] = [];
  for (const [key, member] of Object.entries(value)) {
    const where = `${path}${key}`;
    const param = params.find((p) => p.identifier === key);
    if (param === undefined) {
      problems.push(`${where}: not declared in the TSL`);
      continue;
    }
    const { type, specs } = param.dataType;
    if (type === "int") {
      const { min, max } = specs as { min: string; max: string };
      if (!Number.isInteger(member)) problems.push(`${where}: int expected, got ${JSON.stringify(member)}`);
      else if ((member as number) < Number(min) || (member as number) > Number(max)) {
        problems.push(`${where}: ${member} outside [${min}, ${max}]`);
      }
    } else if (type === "text") {
      const { length } = specs as { length: string };
      if (typeof member !== "string") problems.push(`${where}: text expected, got ${JSON.stringify(member)}`);
      else if (member.length > Number(length)) problems.push(`${where}: longer than ${length}`);
    } else if (type === "struct") {
      if (typeof member !== "object" || member === null || Array.isArray(member)) {
        problems.push(`${where}: struct expected`);
      } else {
        problems.push(...conformance(specs as TslParam[], member as Record<string, unknown>, `${where}.`));
      }
    } else {
      problems.push(`${where}: TSL type ${type} is not used by the encoders`);
    }
  }
  return problems;
}

/** Every declared identifier, with struct members as `a.b`. */
function declared(params: readonly TslParam[], path = ""): string[] {
  return params.flatMap((p) =>
    p.dataType.type === "struct"
      ? declared(p.dataType.specs as TslParam[], `${path}${p.identifier}.`)
      : [`${path}${p.identifier}`],
  );
}

/** Every emitted leaf, with nested objects as `a.b`. */
function emitted(value: Record<string, unknown>, path = ""): string[] {
  return Object.entries(value).flatMap(([k, v]) =>
    typeof v === "object" && v !== null ? emitted(v as Record<string, unknown>, `${path}${k}.`) : [`${path}${k}`],
  );
}

function wire(bytes: Uint8Array): { method: string; params: { value: Record<string, unknown>; time: number } } {
  return JSON.parse(new TextDecoder().decode(bytes));
}

const heartbeat: BindingHeartbeat = {
  imei: "490154203237518",
  iccid: "89860620180012345678",
  imsi: "460061234567890",
  epoch: 3,
  bootId: "6f1c2a9e",
  seq: 17,
  uptimeS: 3600,
  rssiDbm: -71,
  ts: 1700000000000,
};
const changed: BindingChanged = {
  old: { imei: "490154203237518", iccid: "89860620180012345678", imsi: "460061234567890" },
  new: { imei: "490154203237518", iccid: "89860118802125432109", imsi: "460011234567890" },
  epoch: 4,
  bootId: "6f1c2a9e",
  ts: 1700000060000,
};
const removed: SimRemoved = {
  imei: "490154203237518",
  lastIccid: "89860620180012345678",
  epoch: 4,
  bootId: "6f1c2a9e",
  ts: 1700000120000,
};

const samples: [string, Uint8Array][] = [
  [BINDING_EVENTS.heartbeat, encodeBindingHeartbeat(heartbeat, "1")],
  [BINDING_EVENTS.changed, encodeBindingChanged(changed, "2")],
  [BINDING_EVENTS.simRemoved, encodeSimRemoved(removed, "3")],
];

describe("docs/tsl-binding.json", () => {
  it("is an Alibaba TSL document with the three binding events", () => {
    expect(tsl.schema).toBe("https://iotx-tsl.oss-ap-southeast-1.aliyuncs.com/schema.json");
    expect(tsl.profile).toHaveProperty("productKey");
    expect(tsl.events.map((e) => e.identifier)).toEqual(["BindingHeartbeat", "BindingChanged", "SimRemoved"]);
    for (const event of tsl.events) {
      expect(["info", "alert"]).toContain(event.type);
      expect(event.name.length).toBeGreaterThan(0);
      expect(event.method).toBe(eventMethod(event.identifier));
      for (const id of declared(event.outputData)) expect(id).toMatch(/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)?$/);
    }
    expect(eventOf("BindingHeartbeat").type).toBe("info");
    expect(eventOf("BindingChanged").type).toBe("alert");
    expect(eventOf("SimRemoved").type).toBe("alert");
  });

  it("declares every field each encoder emits, with a matching type, and nothing else", () => {
    for (const [identifier, bytes] of samples) {
      const event = eventOf(identifier);
      const message = wire(bytes);
      expect(message.method).toBe(event.method);
      expect(Object.keys(message.params).sort()).toEqual(["time", "value"]);
      expect(conformance(event.outputData, message.params.value), identifier).toEqual([]);
      expect(emitted(message.params.value).sort(), identifier).toEqual(declared(event.outputData).sort());
    }
  });

  it("admits every value the encoders accept (ranges and lengths agree)", () => {
    const telecom = fc.stringMatching(/^[0-9A-Za-z]{1,32}$/);
    const int32 = fc.integer({ min: 0, max: 2 ** 31 - 1 });
    const bootId = fc.stringMatching(/^[0-9A-Za-z_-]{1,64}$/);
    const ts = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
    const sim = fc.record({ imei: telecom, iccid: telecom, imsi: telecom });
    const heartbeats = fc.record(
      {
        imei: telecom,
        iccid: telecom,
        imsi: telecom,
        epoch: int32,
        bootId,
        seq: int32,
        uptimeS: int32,
        rssiDbm: fc.integer({ min: -150, max: 0 }),
        ts,
      },
      { requiredKeys: ["imei", "iccid", "imsi", "epoch", "bootId", "seq", "uptimeS", "ts"] },
    );
    const messages = fc.oneof(
      heartbeats.map((e) => encodeBindingHeartbeat(e, "1")),
      fc.record({ old: sim, new: sim, epoch: int32, bootId, ts }).map((e) => encodeBindingChanged(e, "2")),
      fc.record({ imei: telecom, lastIccid: telecom, epoch: int32, bootId, ts }).map((e) => encodeSimRemoved(e, "3")),
    );
    fc.assert(
      fc.property(messages, (bytes) => {
        const message = wire(bytes);
        const identifier = message.method.slice("thing.event.".length, -".post".length);
        expect(conformance(eventOf(identifier).outputData, message.params.value)).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it("the conformance check itself catches mismatches", () => {
    const params = eventOf("BindingHeartbeat").outputData;
    expect(conformance(params, { seq: "17", rssiDbm: -200, bootId: 5, extra: 1 })).toEqual([
      'seq: int expected, got "17"',
      "rssiDbm: -200 outside [-150, 0]",
      "bootId: text expected, got 5",
      "extra: not declared in the TSL",
    ]);
    expect(conformance(eventOf("BindingChanged").outputData, { old: { imei: 1 } })).toEqual([
      "old.imei: text expected, got 1",
    ]);
  });
});
