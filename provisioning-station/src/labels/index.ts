/**
 * Device and carton labels (docs/station.md "Labels / 标签"): build from the ledger (only after `verified`),
 * render (PNG, SVG, ZPL), print (raw TCP 9100 or a 0600 file) with an audited print count, and check a scanned
 * label against the device. No CLI code: the web UI calls these too.
 */
export {
  buildLabel,
  findLabelDevice,
  LABEL_STATES,
  type Label,
  type LabelTarget,
  labelIdentity,
} from "./build-label.js";
export { checkLabelScan, type LabelScanField, type LabelScanResult } from "./check-scan.js";
export {
  type LabelDestination,
  LabelPrintCounts,
  labelPrintCount,
  type PrintLabelOptions,
  type PrintLabelResult,
  printLabel,
} from "./print-label.js";
export {
  type PrinterAddress,
  type PrinterTimeouts,
  parsePrinterAddress,
  RAW_PRINTER_PORT,
  saveLabelFile,
  sendToPrinter,
} from "./printer.js";
export {
  LABEL_DPIS,
  LABEL_FORMATS,
  type LabelDpi,
  type LabelFormat,
  type LabelSize,
  qrModules,
  renderLabel,
  renderLabelPng,
  renderLabelSvg,
  renderLabelZpl,
  zplFieldData,
} from "./render.js";
