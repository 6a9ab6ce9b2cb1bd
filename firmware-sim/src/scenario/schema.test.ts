import { describe, expect, it } from "vitest";
import { parseDuration } from "./duration.js";
import { parseScenario, parseScenarioText } from "./schema.js";

describe("parseDuration", () => {
  it("reads units and sums parts", () => {
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("1d")).toBe(86_400_000);
    expect(parseDuration(1500)).toBe(1500);
  });

  it("refuses text it cannot read", () => {
    for (const bad of ["", "5", "5x", "h", "1h junk", "-3s"]) {
      expect(() => parseDuration(bad)).toThrow(expect.objectContaining({ code: "config.invalid" }));
    }
  });
});

describe("scenario files", () => {
  const yaml = `
name: t
devices: 4
timeline:
  - at: 0s
    assert: allOnline
    within: 30s
  - at: 2h
    do: partition
    devices: "0-1"
  - at: 3h
    assert: alerts
    state: silent
    exactly: 2
`;

  it("parses YAML with defaults and durations in ms", () => {
    const s = parseScenarioText(yaml);
    expect(s).toMatchObject({ name: "t", devices: 4, clock: "virtual", heartbeatSec: 300, step: 10_000 });
    expect(s.timeline[1]).toEqual({ at: 7_200_000, do: "partition", devices: "0-1", mode: "drop" });
    expect(s.timeline[0]).toMatchObject({ within: 30_000, devices: "all" });
  });

  it("parses JSON too", () => {
    const s = parseScenarioText(JSON.stringify({ name: "j", devices: 1, timeline: [{ at: 0, do: "heartbeat" }] }));
    expect(s.timeline).toEqual([{ at: 0, do: "heartbeat", devices: "all" }]);
  });

  it("lists every problem with its path", () => {
    const bad = () =>
      parseScenario({
        name: "x",
        devices: 0,
        timeline: [
          { at: "soon", do: "explode" },
          { at: "1m", assert: "alerts", state: "angry" },
        ],
      });
    expect(bad).toThrow(expect.objectContaining({ code: "config.invalid" }));
    try {
      bad();
    } catch (err) {
      expect((err as Error).message).toContain("devices");
      expect((err as Error).message).toContain("timeline.0");
      expect((err as Error).message).toContain("timeline.1.state");
    }
  });

  it("refuses a timeline that goes back in time and unknown keys", () => {
    expect(() =>
      parseScenario({
        name: "x",
        devices: 1,
        timeline: [
          { at: "2m", do: "reboot" },
          { at: "1m", do: "reboot" },
        ],
      }),
    ).toThrow(/earlier than the entry before/);
    expect(() => parseScenario({ name: "x", devices: 1, timeline: [{ at: 0, do: "reboot", typo: 1 }] })).toThrow(
      expect.objectContaining({ code: "config.invalid" }),
    );
  });
});
