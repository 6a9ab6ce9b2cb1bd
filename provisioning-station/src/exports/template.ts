/**
 * Export templates: which columns an export has, their header texts and order, the CSV encoding, BOM, delimiter and
 * line ends, the xlsx sheet name. The platforms' upload formats (the distributor's IMEI library, the card supplier's
 * ICCID list) are not published, so they are data, not code: the station ships defaults in
 * `provisioning-station/templates/<kind>.json`, marked `"assumed": true` where the format is a guess, and
 * `--template <file>` takes the platform's real one. Format (JSON, UTF-8):
 *
 * ```json
 * { "format": "triadkit-export-template", "version": 1, "kind": "imei", "assumed": true, "note": "…",
 *   "columns": [{ "header": "IMEI", "field": "imei" }, { "header": "备注", "value": "" }],
 *   "header": true, "encoding": "utf-8", "bom": false, "delimiter": ",", "lineEnding": "crlf",
 *   "sheetName": "IMEI", "defaultFormat": "csv" }
 * ```
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { TriadkitError } from "@triadkit/protocol";
import { z } from "zod";

export const TEMPLATE_FORMAT = "triadkit-export-template";
export const TEMPLATE_VERSION = 1;

/** Where the shipped default templates are (`provisioning-station/templates/`, from src/ and from dist/ alike). */
export const TEMPLATES_DIR = fileURLToPath(new URL("../../templates/", import.meta.url));

export type ExportEncoding = "utf-8" | "gbk" | "gb18030";
export type ExportFormat = "csv" | "xlsx";

export interface ExportColumn {
  readonly header: string;
  /** A field of the export kind; exactly one of `field` and `value`. */
  readonly field?: string;
  /** The same text on every row (a column the platform wants that the station has no data for). */
  readonly value?: string;
}

export interface ExportTemplate {
  readonly kind: string;
  readonly title?: string;
  /** True when the column set is a guess (the platform's real template is not published). */
  readonly assumed: boolean;
  readonly note?: string;
  readonly columns: readonly ExportColumn[];
  /** Write the header row (default true). */
  readonly header: boolean;
  /** CSV only (xlsx is always UTF-8 inside). Default utf-8. */
  readonly encoding: ExportEncoding;
  /** CSV only: a UTF-8 byte order mark (Excel then shows Chinese headers). Default false; UTF-8 only. */
  readonly bom: boolean;
  readonly delimiter: "," | ";" | "\t";
  readonly lineEnding: "crlf" | "lf";
  /** xlsx: the data sheet's name (default: the kind). */
  readonly sheetName: string;
  /** When neither `--format` nor the `--out` extension says. Default csv. */
  readonly defaultFormat: ExportFormat;
  /** Where it came from: `default:<kind>.json` or the file's base name. */
  readonly source: string;
}

/** Excel's rules for a sheet name: 1–31 characters, none of `[ ] : * ? / \`, not starting or ending with `'`. */
const SHEET_NAME = /^(?!')[^[\]:*?/\\\u0000-\u001f]{1,31}(?<!')$/;
/** The second sheet of an xlsx export. */
export const CHECKPOINT_SHEET = "checkpoint";

const columnSchema = z
  .object({
    header: z.string().max(200),
    field: z.string().min(1).optional(),
    value: z.string().max(200).optional(),
  })
  .strict()
  .refine((c) => (c.field === undefined) !== (c.value === undefined), "a column has exactly one of field and value");

const templateSchema = z
  .object({
    $comment: z.string().optional(),
    format: z.literal(TEMPLATE_FORMAT),
    version: z.literal(TEMPLATE_VERSION),
    kind: z.string().min(1),
    title: z.string().max(200).optional(),
    assumed: z.boolean().optional(),
    note: z.string().max(2000).optional(),
    columns: z.array(columnSchema).min(1).max(200),
    header: z.boolean().optional(),
    encoding: z.enum(["utf-8", "gbk", "gb18030"]).optional(),
    bom: z.boolean().optional(),
    delimiter: z.enum([",", ";", "\t"]).optional(),
    lineEnding: z.enum(["crlf", "lf"]).optional(),
    sheetName: z.string().regex(SHEET_NAME, "1–31 characters, none of [ ] : * ? / \\").optional(),
    defaultFormat: z.enum(["csv", "xlsx"]).optional(),
  })
  .strict();

function bad(source: string, path: string, message: string): never {
  throw new TriadkitError("export.bad_template", `export template ${source}: ${path}: ${message}`, {
    template: source,
    path,
  });
}

/**
 * Parses and checks a template for an export of `kind` whose rows have `fields`. Throws `export.bad_template` naming
 * the path inside the template.
 */
export function parseTemplate(
  text: string,
  expected: { readonly kind: string; readonly fields: readonly string[]; readonly source: string },
): ExportTemplate {
  const { source } = expected;
  let json: unknown;
  try {
    json = JSON.parse(text.startsWith("\uFEFF") ? text.slice(1) : text);
  } catch {
    bad(source, "(file)", "not JSON");
  }
  const parsed = templateSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    bad(source, issue?.path.join(".") || "(file)", issue?.message ?? "invalid");
  }
  const t = parsed.data;
  if (t.kind !== expected.kind) {
    bad(source, "kind", `made for the ${t.kind} export, not ${expected.kind}`);
  }
  t.columns.forEach((c, i) => {
    if (c.field !== undefined && !expected.fields.includes(c.field)) {
      bad(source, `columns.${i}.field`, `unknown field "${c.field}" (known: ${expected.fields.join(", ")})`);
    }
  });
  const encoding = t.encoding ?? "utf-8";
  if (t.bom === true && encoding !== "utf-8") bad(source, "bom", "a byte order mark goes only with utf-8");
  const sheetName = t.sheetName ?? expected.kind;
  if (sheetName.toLowerCase() === CHECKPOINT_SHEET) {
    bad(source, "sheetName", `"${CHECKPOINT_SHEET}" is the name of the audit checkpoint sheet`);
  }
  return {
    kind: t.kind,
    ...(t.title === undefined ? {} : { title: t.title }),
    assumed: t.assumed ?? false,
    ...(t.note === undefined ? {} : { note: t.note }),
    columns: t.columns.map((c) => (c.field === undefined ? { header: c.header, value: c.value ?? "" } : c)),
    header: t.header ?? true,
    encoding,
    bom: t.bom ?? false,
    delimiter: t.delimiter ?? ",",
    lineEnding: t.lineEnding ?? "crlf",
    sheetName,
    defaultFormat: t.defaultFormat ?? "csv",
    source,
  };
}

/**
 * The template of an export: the file `path` (`--template`), else the shipped default
 * `provisioning-station/templates/<kind>.json`.
 */
export function loadTemplate(
  kind: string,
  fields: readonly string[],
  path?: string,
  templatesDir: string = TEMPLATES_DIR,
): ExportTemplate {
  const file = path ?? `${templatesDir}/${kind}.json`;
  const source = path === undefined ? `default:${kind}.json` : basename(path);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : "cannot be read";
    bad(source, "(file)", `${why} (${file})`);
  }
  return parseTemplate(text, { kind, fields, source });
}

/** The fields a template's columns name. */
export function templateFields(template: ExportTemplate): Set<string> {
  return new Set(template.columns.flatMap((c) => (c.field === undefined ? [] : [c.field])));
}
