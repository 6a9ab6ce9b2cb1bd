import { describe, expect, it } from "vitest";
import { commandParams, parseCommandLine } from "./at-line.js";

describe("parseCommandLine", () => {
  it("splits basic and extended commands and normalises case and spaces outside quotes", () => {
    expect(parseCommandLine("AT")).toEqual({ kind: "commands", commands: [] });
    expect(parseCommandLine("  atE0v1&F")).toEqual({ kind: "commands", commands: ["ATE0", "ATV1", "AT&F"] });
    expect(parseCommandLine('at+cpin = "ab;c" ; +cgsn')).toEqual({
      kind: "commands",
      commands: ['AT+CPIN="ab;c"', "AT+CGSN"],
    });
    expect(parseCommandLine("ATS0=1S7?I")).toEqual({ kind: "commands", commands: ["ATS0=1", "ATS7?", "ATI"] });
    expect(parseCommandLine("ATD10086;")).toEqual({ kind: "commands", commands: ["ATD10086;"] });
    expect(parseCommandLine("AT^SYSINFO")).toEqual({ kind: "commands", commands: ["AT^SYSINFO"] });
  });

  it("ignores lines without AT and refuses malformed ones", () => {
    expect(parseCommandLine("OK")).toEqual({ kind: "ignored" });
    expect(parseCommandLine("")).toEqual({ kind: "ignored" });
    for (const bad of ['AT+X="open', "AT!", "ATS", "AT&", "AT+;"]) expect(parseCommandLine(bad).kind).toBe("invalid");
  });
});

describe("commandParams", () => {
  it("splits on commas outside quotes and unquotes", () => {
    expect(commandParams("AT+CRSM=176,12258,0,0,10")).toEqual(["176", "12258", "0", "0", "10"]);
    expect(commandParams('AT+CPIN="12,34","5678"')).toEqual(["12,34", "5678"]);
    expect(commandParams("AT+CGSN")).toEqual([]);
    expect(commandParams("AT+X=")).toEqual([""]);
  });
});
