import { expectTriadkitError, isTriadkitError } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { isOperatorLogin, operatorMaySubscribe } from "./operator.js";
import { resolveBindingOptions } from "./options.js";

describe("resolveBindingOptions", () => {
  it("fills the defaults", () => {
    expect(resolveBindingOptions({})).toEqual({
      expectedCsv: undefined,
      silentAfterIntervals: 3,
      heartbeatIntervalSec: 300,
      policy: undefined,
      webhook: undefined,
      db: ":memory:",
      operator: undefined,
      silenceCheckMs: 300_000,
      writeBehind: { maxQueue: 20_000, flushMs: 200 },
    });
    expect(resolveBindingOptions({ writeBehind: false }).writeBehind).toBeUndefined();
    expect(resolveBindingOptions({ writeBehind: { flushMs: 5 } }).writeBehind).toEqual({
      maxQueue: 20_000,
      flushMs: 5,
    });
  });

  it.each([
    [{ silentAfterIntervals: 0 }, "bindings.silentAfterIntervals"],
    [{ heartbeatIntervalSec: 1.5 }, "bindings.heartbeatIntervalSec"],
    [{ policy: "stop" as "suspend" }, "bindings.policy"],
    [{ writeBehind: { maxQueue: 0 } }, "bindings.writeBehind.maxQueue"],
    [{ webhookUrl: "ftp://example.com/x" }, "bindings.webhookUrl"],
    [{ webhookUrl: "not a url" }, "bindings.webhookUrl"],
    [{ operator: { username: "dev&pk", password: "long enough" } }, "bindings.operator.username"],
  ])("refuses %j (config.invalid naming %s)", (options, path) => {
    try {
      resolveBindingOptions(options);
      expect.unreachable();
    } catch (err) {
      expect(isTriadkitError(err) && err.code).toBe("config.invalid");
      expect(isTriadkitError(err) && err.context?.["option"]).toBe(path);
    }
  });

  it("never echoes the operator password", () => {
    try {
      resolveBindingOptions({ operator: { username: "ops", password: "s3cr" } });
      expect.unreachable();
    } catch (err) {
      expect(String((err as Error).message)).not.toContain("s3cr");
    }
  });

  it("checks the sheet's header up front", () => {
    expectTriadkitError(() => resolveBindingOptions({ expectedCsv: "imei,iccid\n" }), "import.missing_column");
  });
});

describe("operator access", () => {
  const operator = { username: "ops", password: "correct horse" };
  it("recognises the operator login, refuses a wrong password, ignores device logins", () => {
    expect(isOperatorLogin(operator, { username: "ops", password: "correct horse" })).toBe(true);
    expectTriadkitError(() => isOperatorLogin(operator, { username: "ops", password: "wrong" }), "triad.bad_signature");
    expect(isOperatorLogin(operator, { username: "dev001&a1B2c3D4e5F", password: "x" })).toBe(false);
    expect(isOperatorLogin(undefined, { username: "ops", password: "correct horse" })).toBe(false);
  });

  it.each([
    ["/triadkit/binding/alerts/#", true],
    ["/triadkit/binding/alerts/a1B2c3D4e5F/+", true],
    ["/triadkit/binding/alerts/+/dev001", true],
    ["/triadkit/binding/alerts/a1B2c3D4e5F/dev001", true],
    ["/triadkit/binding/#", false],
    ["/triadkit/binding/alerts", false],
    ["#", false],
    ["/sys/a1B2c3D4e5F/dev001/#", false],
    ["/triadkit/binding/alerts/a+/x", false],
    ["/triadkit/binding/alerts/#/x", false],
  ])("may subscribe to %s: %s", (filter, allowed) => {
    expect(operatorMaySubscribe(filter)).toBe(allowed);
  });
});
