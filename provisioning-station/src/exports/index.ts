/**
 * Platform exports (issue 8): the IMEI library, the ICCID list, the expected bindings for the binding monitor and the
 * burn report, from the ledger's device links; templates for the platforms' unpublished upload formats; every export
 * audited with a signed checkpoint. `writeAuditedExport` is the shared writer other export kinds use.
 */
export * from "./audited-export.js";
export * from "./check.js";
export * from "./device-export.js";
export * from "./devices.js";
export * from "./fields.js";
export * from "./template.js";
export * from "./writer.js";
