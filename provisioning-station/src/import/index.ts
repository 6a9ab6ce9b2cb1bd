/**
 * Reading platform triad sheets (issue 6): `openTriadSheet` streams validated rows and issues from an .xlsx or .csv
 * file; `writeIssueReport` / `issuesToJson` produce the rejection report. No database here: see ../ledger.
 */
export {
  type AlibabaColumns,
  detectTriadColumns,
  type GenieColumns,
  isTriadHeaderRow,
  type TriadColumns,
} from "./columns.js";
export { HEADER_SCAN_ROWS, type OpenedTriadSheet, openTriadSheet } from "./open-sheet.js";
export { type IssueJson, issuesToJson, REPORT_COLUMNS, writeIssueReport } from "./report.js";
export type {
  ImportIssue,
  ParsedTriadRow,
  SheetFormat,
  SheetInfo,
  SheetItem,
  SheetReadOptions,
} from "./types.js";
