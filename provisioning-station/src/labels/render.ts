/**
 * Rendering a built label: SVG (QR modules as one path, the human-readable lines beside it), PNG (that SVG
 * rasterised by resvg with the system fonts) and ZPL for a network label printer (`^BQN` QR, error correction M as in
 * the PNG, `^CI28` UTF-8, every field through `^FH` hex escapes so `^`, `~` and `_` in a shelf code cannot end the
 * field or start a command).
 */
import { Resvg } from "@resvg/resvg-js";
import { TriadkitError } from "@triadkit/protocol";
import QRCode from "qrcode";
import type { Label } from "./build-label.js";

export type LabelFormat = "png" | "zpl";
export const LABEL_FORMATS: readonly LabelFormat[] = ["png", "zpl"];
export const LABEL_DPIS = [203, 300] as const;
export type LabelDpi = (typeof LABEL_DPIS)[number];

export interface LabelSize {
  /** Printer resolution: 203 (8 dots/mm) or 300 dpi. Default 203. */
  readonly dpi?: LabelDpi;
  /** Label width in mm, 20–150. Default 50. */
  readonly widthMm?: number;
  /** Label height in mm, 10–150. Default 30. */
  readonly heightMm?: number;
}

/** QR modules (error correction M, as both the PNG and the ZPL use). */
export function qrModules(text: string): { size: number; dark(row: number, col: number): boolean } {
  const qr = QRCode.create(text, { errorCorrectionLevel: "M" });
  return { size: qr.modules.size, dark: (row, col) => Boolean(qr.modules.get(row, col)) };
}

function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Pixels per QR module in the SVG/PNG; 4 modules of quiet zone around the symbol. */
const PNG_MODULE_PX = 6;
const QUIET_MODULES = 4;
const FONT_PX = 22;
const LINE_PX = 32;

/** The label as SVG: the QR on the left, the text lines on the right, black on white. */
export function renderLabelSvg(label: Label): string {
  const qr = qrModules(label.payload);
  const qrPx = (qr.size + 2 * QUIET_MODULES) * PNG_MODULE_PX;
  const textWidth = Math.max(...label.lines.map((l) => l.length)) * Math.ceil(FONT_PX * 0.62) + 2 * FONT_PX;
  const width = qrPx + textWidth;
  const height = Math.max(qrPx, label.lines.length * LINE_PX + 2 * FONT_PX);
  let path = "";
  for (let row = 0; row < qr.size; row++) {
    for (let col = 0; col < qr.size; col++) {
      if (qr.dark(row, col)) path += `M${col + QUIET_MODULES} ${row + QUIET_MODULES}h1v1h-1z`;
    }
  }
  const top = Math.round((height - label.lines.length * LINE_PX) / 2) + FONT_PX;
  const text = label.lines
    .map((line, i) => `<text x="${qrPx}" y="${top + i * LINE_PX}">${xmlEscape(line)}</text>`)
    .join("");
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<rect width="100%" height="100%" fill="#fff"/>` +
    `<path transform="scale(${PNG_MODULE_PX})" shape-rendering="crispEdges" fill="#000" d="${path}"/>` +
    `<g font-family="DejaVu Sans Mono, Liberation Mono, Noto Sans Mono CJK SC, monospace" font-size="${FONT_PX}" fill="#000">${text}</g>` +
    "</svg>"
  );
}

/** The label as PNG: {@link renderLabelSvg} rasterised (text in the system's monospace font). */
export function renderLabelPng(label: Label): Uint8Array {
  const png = new Resvg(renderLabelSvg(label), { font: { loadSystemFonts: true } }).render().asPng();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/**
 * ZPL field data with `^FH` hex escapes: UTF-8 bytes outside printable ASCII, and `^`, `~`, `_` (the hex
 * indicator), become `_XX`.
 */
export function zplFieldData(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(byte);
    out +=
      byte < 0x20 || byte > 0x7e || c === "^" || c === "~" || c === "_"
        ? `_${byte.toString(16).padStart(2, "0").toUpperCase()}`
        : c;
  }
  return out;
}

function checkSize(size: LabelSize): { dpi: LabelDpi; widthMm: number; heightMm: number } {
  const dpi = size.dpi ?? 203;
  const widthMm = size.widthMm ?? 50;
  const heightMm = size.heightMm ?? 30;
  if (!(LABEL_DPIS as readonly number[]).includes(dpi)) {
    throw new TriadkitError("config.invalid", "label dpi must be 203 or 300", { dpi });
  }
  if (!Number.isFinite(widthMm) || widthMm < 20 || widthMm > 150) {
    throw new TriadkitError("config.invalid", "label width must be between 20 and 150 mm", { widthMm });
  }
  if (!Number.isFinite(heightMm) || heightMm < 10 || heightMm > 150) {
    throw new TriadkitError("config.invalid", "label height must be between 10 and 150 mm", { heightMm });
  }
  return { dpi, widthMm, heightMm };
}

/**
 * The label as ZPL II: `^XA ^CI28 ^PW ^LL`, the QR (`^BQN,2,<mag>` with `^FDMA,<payload>`, magnification as large
 * as fits the height and half the width, at least 2 dots per module), the lines with `^A0N` beside it, `^XZ`.
 * `config.invalid` when the size is out of range or too small for the QR.
 */
export function renderLabelZpl(label: Label, size: LabelSize = {}): string {
  const { dpi, widthMm, heightMm } = checkSize(size);
  const dotsPerMm = dpi / 25.4;
  const width = Math.round(widthMm * dotsPerMm);
  const height = Math.round(heightMm * dotsPerMm);
  const margin = Math.round(2 * dotsPerMm);
  const modules = qrModules(label.payload).size;
  const mag = Math.min(10, Math.floor((height - 2 * margin) / modules), Math.floor((width / 2 - margin) / modules));
  if (mag < 2) {
    throw new TriadkitError("config.invalid", "the label is too small for its QR code: make it larger or use 300 dpi", {
      widthMm,
      heightMm,
      dpi,
    });
  }
  const textX = margin + modules * mag + margin;
  const lineDots = Math.floor((height - 2 * margin) / label.lines.length);
  const fontH = Math.max(12, Math.min(Math.round(3 * dotsPerMm), Math.floor(lineDots * 0.8)));
  const fontW = Math.max(10, Math.min(Math.floor(fontH * 0.7), Math.floor((width - textX - margin) / 32)));
  const out = ["^XA", "^CI28", `^PW${width}`, `^LL${height}`, "^LH0,0"];
  out.push(`^FO${margin},${margin}^BQN,2,${mag}^FH^FDMA,${zplFieldData(label.payload)}^FS`);
  label.lines.forEach((line, i) => {
    out.push(`^FO${textX},${margin + i * lineDots}^A0N,${fontH},${fontW}^FH^FD${zplFieldData(line)}^FS`);
  });
  out.push("^PQ1", "^XZ");
  return `${out.join("\n")}\n`;
}

/** The bytes to save or send for a format. */
export function renderLabel(label: Label, format: LabelFormat, size: LabelSize = {}): Uint8Array {
  return format === "png" ? renderLabelPng(label) : new Uint8Array(Buffer.from(renderLabelZpl(label, size), "utf8"));
}
