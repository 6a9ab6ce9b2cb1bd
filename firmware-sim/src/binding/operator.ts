/**
 * Operators' access to the alert topics. An operator logs in to the emulator's MQTT listener with the configured
 * username and password (`bindings.operator`, CLI `--binding-operator <name>` with the password in the environment)
 * and may then subscribe to `/triadkit/binding/alerts/…` only; it may publish nothing. The platform publishes the
 * alerts itself.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { TriadkitError } from "@triadkit/protocol";
import type { OperatorLogin } from "./options.js";

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

/**
 * True for the operator's login; false when the username is not the operator's (a device, then). Throws
 * `triad.bad_signature` when the username is the operator's and the password is wrong (refused with CONNACK 5).
 */
export function isOperatorLogin(
  operator: OperatorLogin | undefined,
  creds: { readonly username: string; readonly password: string },
): boolean {
  if (operator === undefined || creds.username !== operator.username) return false;
  if (timingSafeEqual(digest(creds.password), digest(operator.password))) return true;
  throw new TriadkitError("triad.bad_signature", "wrong operator password");
}

/** True when every topic `filter` can match is under `/triadkit/binding/alerts/`. */
export function operatorMaySubscribe(filter: string): boolean {
  if (filter.length > 1024 || filter.includes("\u0000")) return false;
  const levels = filter.split("/");
  const [root, a, b, c] = levels;
  if (levels.length < 5 || root !== "" || a !== "triadkit" || b !== "binding" || c !== "alerts") return false;
  return levels.every((level, i) => {
    if (level === "#") return i === levels.length - 1;
    return level === "+" || (!level.includes("+") && !level.includes("#"));
  });
}
