import { describe, expect, it } from "vitest";
import { formatSummary } from "./summary.js";

const row = {
  device: "sim-0123456789ab",
  identity: "860000000000001 / 89860000000000000001 / 460000000000001",
  fixture: "/dev/pts/7",
  burn: "PASS",
  wifi: "factory-demo",
  online: "TLS",
  binding: "mismatch",
  shelf: "activated",
};

describe("formatSummary", () => {
  it("prints a header, a rule and one aligned line per row", () => {
    const lines = formatSummary([row, { ...row, device: "sim-2", binding: "bound", shelf: "-" }]).split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^device {12}IMEI \/ ICCID \/ IMSI/);
    expect(lines[1]).toMatch(/^-{16} {2}-{56} {2}/);
    // Every column starts where its header starts.
    const col = (line: string, text: string) => line.indexOf(text);
    expect(col(lines[2] as string, "mismatch")).toBe(col(lines[0] as string, "binding"));
    expect(col(lines[3] as string, "bound")).toBe(col(lines[0] as string, "binding"));
    expect(lines[3]?.endsWith("-")).toBe(true); // no trailing spaces
  });
});
