/**
 * @triadkit/provisioning-station: the factory app. Nothing else in the workspace imports it.
 */
export * from "./sheet-columns.js";
