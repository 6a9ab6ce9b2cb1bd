/** Product recommendation tables (issue 8, seed 001 §五): the sheet reader, the ledger store (schema v4), the push client. */
export * from "./product-sheet.js";
export * from "./product-store.js";
export * from "./push-client.js";
export { PRODUCT_TABLES_MIGRATION } from "./schema-v4.js";
