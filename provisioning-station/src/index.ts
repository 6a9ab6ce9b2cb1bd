/**
 * @triadkit/provisioning-station: the factory app. Nothing else in the workspace imports it.
 *
 * - ./import: reading platform triad sheets (xlsx/CSV), spreadsheet-damage detection, the rejection report;
 * - ./ledger: the `Ledger` contract, its SQLite and PostgreSQL backends and `openStation` (ledger + keys + audit);
 * - ./keys: the station key file and the pool data key that seals every secret;
 * - ./audit: the chained, MACed audit trail, its checkpoints and `verifyAudit`;
 * - ./station-import: the all-or-nothing import of a sheet into a work order;
 * - ./burn: fixtures and their lock, the factory client, burning, reconcile, rework and scrap (issue 7);
 * - ./exports: platform exports (IMEI library, ICCID list, expected bindings, burn report) with templates (issue 8).
 * - ./labels: device and carton labels (QR + text as PNG or ZPL), printing with audited reprints, scan-back.
 */
export * from "./audit/encoding.js";
export * from "./audit/head-file.js";
export type * from "./audit/types.js";
export * from "./audit/verify.js";
export * from "./burn/index.js";
export { buildProgram, main } from "./cli/main.js";
export * from "./exports/index.js";
export * from "./import/index.js";
export * from "./keys/factory-anchor.js";
export * from "./keys/pool-keyring.js";
export * from "./keys/pool-keys.js";
export * from "./keys/station-key.js";
export * from "./labels/index.js";
export * from "./ledger/accept-head.js";
export * from "./ledger/open-station.js";
export { openPgLedger, PgLedger, type PgLedgerOptions } from "./ledger/postgres/pg-ledger.js";
export * from "./ledger/sqlite/sqlite-ledger.js";
export * from "./ledger/types.js";
export * from "./products/index.js";
export * from "./station-import.js";
