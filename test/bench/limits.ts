/** The soft limit on open file descriptors (`ulimit -n`) of this process. */
import { execFileSync } from "node:child_process";

export function fdLimit(): number {
  const text = execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim();
  return text === "unlimited" ? Number.POSITIVE_INFINITY : Number.parseInt(text, 10);
}
