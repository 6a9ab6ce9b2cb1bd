/**
 * `shelf import`: the brand's sheet into the ledger, all rows or none. The sheet's own problems (missing values,
 * damaged cells, bad values) and the ledger's (a code already there or twice in the sheet, a store under another
 * brand) are reported together; any problem writes nothing.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import type { ImportIssue } from "../import/types.js";
import type { ShelfDevice, ShelfRowIssue } from "../ledger/shelf.js";
import type { Actor, Ledger } from "../ledger/types.js";
import { readShelfSheet, type ShelfSheet, type ShelfSheetOptions, shelfColumnOf } from "./shelf-sheet.js";

export interface ShelfFile {
  readonly name: string;
  readonly sha256: string;
  readonly bytes: number;
}

export type ShelfImportOutcome =
  | {
      readonly ok: true;
      readonly sheet: ShelfSheet;
      readonly file: ShelfFile;
      readonly devices: readonly ShelfDevice[];
      readonly newBrands: readonly string[];
      readonly newStores: readonly number[];
      readonly auditSeq: number;
    }
  | {
      readonly ok: false;
      readonly sheet: ShelfSheet;
      readonly file: ShelfFile;
      readonly issues: readonly ImportIssue[];
    };

function asIssue(sheet: ShelfSheet, i: ShelfRowIssue): ImportIssue {
  return {
    row: i.row,
    column: shelfColumnOf(sheet, i.field),
    code: i.code,
    message: i.message,
    ...(sheet.sheet === undefined ? {} : { sheet: sheet.sheet }),
  };
}

export async function importShelfSheet(
  ledger: Ledger,
  path: string,
  options: ShelfSheetOptions & { readonly actor: Actor },
): Promise<ShelfImportOutcome> {
  const sheet = await readShelfSheet(path, options);
  const bytes = await readFile(path);
  const file = { name: basename(path), sha256: createHash("sha256").update(bytes).digest("hex"), bytes: bytes.length };
  const refused = (more: readonly ShelfRowIssue[]): ShelfImportOutcome => ({
    ok: false,
    sheet,
    file,
    issues: [...sheet.issues, ...more.map((i) => asIssue(sheet, i))].sort((a, b) => a.row - b.row),
  });
  const ledgerIssues = await ledger.checkShelfDevices(sheet.rows);
  if (sheet.issues.length > 0 || ledgerIssues.length > 0) return refused(ledgerIssues);
  const result = await ledger.importShelfDevices(
    sheet.rows,
    {
      via: "import",
      fileName: file.name,
      sha256: file.sha256,
      details: {
        kind: sheet.kind,
        ...(sheet.sheet === undefined ? {} : { sheet: sheet.sheet }),
        ...(sheet.encoding === undefined ? {} : { encoding: sheet.encoding }),
        bytes: file.bytes,
      },
    },
    options.actor,
  );
  if (!result.ok) return refused(result.issues);
  return {
    ok: true,
    sheet,
    file,
    devices: result.devices,
    newBrands: result.newBrands,
    newStores: result.newStores,
    auditSeq: result.auditSeq,
  };
}
