/**
 * The triad state machine, shared by every ledger backend.
 *
 *   available → reserved → written → verified → registered
 *   available | reserved | written | verified → quarantined (reason)
 *   any state but void → void (reason)
 *   reserved | quarantined → available, and quarantined → void: only by a recorded human decision
 *   quarantined → verified: only by a recorded human decision (rework re-verified the triad on its device)
 *   void is final
 *
 * `available → quarantined` exists for a triad found on a device while the ledger believed it available (a
 * database restored from an older copy): it must never be issued again.
 */
import { TriadkitError } from "@triadkit/protocol";
import type { AuditAction, AuditDetails, AuditEvent } from "../audit/types.js";
import { describeIdentity } from "./identity.js";
import type { TransitionRequest, TriadRecord, TriadState } from "./types.js";

const NEXT: Readonly<Record<TriadState, readonly TriadState[]>> = {
  available: ["reserved", "quarantined", "void"],
  reserved: ["written", "quarantined", "void", "available"],
  written: ["verified", "quarantined", "void"],
  verified: ["registered", "quarantined", "void"],
  registered: ["void"],
  quarantined: ["available", "verified", "void"],
  void: [],
};

const ACTION: Readonly<Record<TriadState, AuditAction>> = {
  available: "release",
  reserved: "reserve",
  written: "write",
  verified: "verify",
  registered: "register",
  quarantined: "quarantine",
  void: "void",
};

function needsHuman(from: TriadState, to: TriadState): boolean {
  return to === "available" || from === "quarantined";
}

/**
 * Checks one transition and returns its audit action. `reserved` is reachable only through `reserve` (which
 * passes `viaReserve`).
 */
export function checkTransition(
  triadId: string,
  from: TriadState,
  request: Pick<TransitionRequest, "to" | "reason" | "humanDecision" | "expect">,
  viaReserve = false,
): AuditAction {
  const { to } = request;
  const refuse = (why: string): never => {
    throw new TriadkitError("ledger.bad_transition", `triad ${triadId}: ${from} → ${to} ${why}`, {
      triadId,
      from,
      to,
    });
  };
  if (request.expect !== undefined && request.expect !== from) refuse(`refused: expected it ${request.expect}`);
  if (!NEXT[from].includes(to)) refuse("is not allowed");
  if (to === "reserved" && !viaReserve) refuse("happens only through reserve");
  if (needsHuman(from, to)) {
    const d = request.humanDecision;
    if (d === undefined || d.operator.trim() === "" || d.reason.trim() === "") {
      refuse("needs a recorded human decision (operator and reason)");
    }
  } else if ((to === "quarantined" || to === "void") && (request.reason ?? "").trim() === "") {
    refuse("needs a reason");
  }
  return ACTION[to];
}

/** The reason stored with the triad after a transition (the human decision's, else the request's). */
export function transitionReason(request: Pick<TransitionRequest, "reason" | "humanDecision">): string | undefined {
  const r = request.humanDecision?.reason ?? request.reason;
  return r === undefined || r.trim() === "" ? undefined : r.trim();
}

/** The audit entry of a transition (every backend writes the same one). */
export function transitionEvent(
  action: AuditAction,
  from: TriadState,
  record: TriadRecord,
  request: TransitionRequest,
  linked: string | undefined,
  shelf: AuditDetails | undefined,
): AuditEvent {
  return {
    action,
    triadId: record.id,
    identity: describeIdentity(record.identity),
    details: {
      ...request.details,
      workOrderId: record.workOrderId,
      from,
      to: request.to,
      ...(request.reason === undefined ? {} : { reason: request.reason }),
      ...(request.humanDecision === undefined ? {} : { humanDecision: { ...request.humanDecision } }),
      ...(request.linkStatus === undefined ? {} : { link: { status: request.linkStatus, chipId: linked ?? null } }),
      ...(shelf === undefined ? {} : { shelf }),
    },
  };
}
