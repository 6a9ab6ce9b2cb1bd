/** The demo's closing table: one row per board, plain text columns (no secret, no PoP). */

export interface SummaryRow {
  readonly device: string;
  readonly identity: string;
  readonly fixture: string;
  readonly burn: string;
  readonly wifi: string;
  readonly online: string;
  readonly binding: string;
  readonly shelf: string;
}

const HEADERS: SummaryRow = {
  device: "device",
  identity: "IMEI / ICCID / IMSI",
  fixture: "fixture",
  burn: "burn",
  wifi: "WiFi",
  online: "online",
  binding: "binding",
  shelf: "shelf",
};

export function formatSummary(rows: readonly SummaryRow[]): string {
  const keys = Object.keys(HEADERS) as (keyof SummaryRow)[];
  const all = [HEADERS, ...rows];
  const widths = keys.map((k) => Math.max(...all.map((r) => r[k].length)));
  const line = (r: SummaryRow) =>
    keys
      .map((k, i) => r[k].padEnd(widths[i] as number))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(HEADERS), rule, ...rows.map(line)].join("\n");
}
