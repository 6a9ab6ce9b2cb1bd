import { expectTriadkitError } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { checkTransition } from "./state-machine.js";
import { TRIAD_STATES, type TriadState } from "./types.js";

const human = { operator: "lead", reason: "inspected" };
/** Every allowed edge, and what it needs. */
const ALLOWED: ReadonlyArray<[TriadState, TriadState, "plain" | "reason" | "human" | "reserve"]> = [
  ["available", "reserved", "reserve"],
  ["available", "quarantined", "reason"],
  ["available", "void", "reason"],
  ["reserved", "written", "plain"],
  ["reserved", "quarantined", "reason"],
  ["reserved", "void", "reason"],
  ["reserved", "available", "human"],
  ["written", "verified", "plain"],
  ["written", "quarantined", "reason"],
  ["written", "void", "reason"],
  ["verified", "registered", "plain"],
  ["verified", "quarantined", "reason"],
  ["verified", "void", "reason"],
  ["registered", "void", "reason"],
  ["quarantined", "available", "human"],
  ["quarantined", "verified", "human"],
  ["quarantined", "void", "human"],
];

describe("triad state machine", () => {
  it("allows exactly the documented edges, each with what it needs", () => {
    for (const from of TRIAD_STATES) {
      for (const to of TRIAD_STATES) {
        const edge = ALLOWED.find(([f, t]) => f === from && t === to);
        const everything = { to, reason: "r", humanDecision: human };
        if (edge === undefined) {
          expectTriadkitError(() => checkTransition("t1", from, everything, true), "ledger.bad_transition");
          continue;
        }
        const need = edge[2];
        if (need === "reserve") {
          expectTriadkitError(() => checkTransition("t1", from, { to }), "ledger.bad_transition");
          expect(checkTransition("t1", from, { to }, true)).toBe("reserve");
        } else if (need === "plain") {
          const action = { written: "write", verified: "verify", registered: "register" }[to as string];
          expect(checkTransition("t1", from, { to })).toBe(action);
        } else if (need === "reason") {
          expectTriadkitError(() => checkTransition("t1", from, { to, reason: " " }), "ledger.bad_transition");
          expect(checkTransition("t1", from, { to, reason: "r" })).toBe(to === "void" ? "void" : "quarantine");
        } else {
          expectTriadkitError(() => checkTransition("t1", from, { to, reason: "r" }), "ledger.bad_transition");
          expectTriadkitError(
            () => checkTransition("t1", from, { to, humanDecision: { operator: "lead", reason: "" } }),
            "ledger.bad_transition",
          );
          const action = { void: "void", verified: "verify" }[to as string] ?? "release";
          expect(checkTransition("t1", from, { to, humanDecision: human })).toBe(action);
        }
      }
    }
  });

  it("refuses when the triad is not in the expected state", () => {
    const e = expectTriadkitError(
      () => checkTransition("t1", "written", { to: "verified", expect: "reserved" }),
      "ledger.bad_transition",
    );
    expect(e.context).toEqual({ triadId: "t1", from: "written", to: "verified" });
  });
});
