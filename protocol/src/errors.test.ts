import { describe, expect, it } from "vitest";
import { ERROR_CODES, isErrorCode, isTriadkitError, TriadkitError, WARNING_CODES } from "./errors.js";
import { expectTriadkitError } from "./testing.js";

describe("TriadkitError", () => {
  it("carries a stable code and appends it to the message", () => {
    const err = new TriadkitError("triad.bad_signature", "signature does not match", { deviceName: "dev001" });
    expect(err.code).toBe("triad.bad_signature");
    expect(err.message).toBe("signature does not match (triad.bad_signature)");
    expect(isTriadkitError(err)).toBe(true);
    expect(isTriadkitError(err, "triad.bad_signature")).toBe(true);
    expect(isTriadkitError(err, "alink.bad_payload")).toBe(false);
    expect(isTriadkitError(new Error("x"))).toBe(false);
  });

  it("never keeps secrets in its context", () => {
    const err = new TriadkitError("triad.bad_device_secret", "bad", {
      deviceSecret: "abcdefghijklmnopqrstuvwxyz012345",
      productSecret: "ps",
      wifiPassword: "hunter2",
      pop: "p",
      deviceName: "dev001",
    });
    const json = JSON.stringify(err);
    expect(json).not.toContain("abcdefghijklmnopqrstuvwxyz012345");
    expect(json).not.toContain("hunter2");
    expect(err.context).toMatchObject({ deviceName: "dev001", deviceSecret: "[redacted]", pop: "[redacted]" });
  });

  it("has unique codes in the dotted family.name form", () => {
    for (const list of [ERROR_CODES, WARNING_CODES]) {
      expect(new Set(list).size).toBe(list.length);
      for (const code of list) expect(code).toMatch(/^[a-z]+\.[a-z0-9_]+$/);
    }
    expect(isErrorCode("triad.bad_signature")).toBe(true);
    expect(isErrorCode("triad.nope")).toBe(false);
  });

  it("test helper fails when the code differs or nothing is thrown", () => {
    expect(() => expectTriadkitError(() => undefined, "triad.bad_signature")).toThrow();
    expect(() =>
      expectTriadkitError(() => {
        throw new TriadkitError("alink.bad_topic", "x");
      }, "triad.bad_signature"),
    ).toThrow();
    const err = expectTriadkitError(() => {
      throw new TriadkitError("alink.bad_topic", "x");
    }, "alink.bad_topic");
    expect(err.code).toBe("alink.bad_topic");
  });
});
