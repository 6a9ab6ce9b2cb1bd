/**
 * Validates the data rows of a triad sheet with @triadkit/protocol and finds duplicates within the file. Pure and
 * in memory; one checker per sheet read. Memory per row: a 12-byte fingerprint per identity and per secret (secrets
 * are hashed with a random per-checker salt, never kept), and a number per Genie MAC.
 */
import { hash, randomBytes } from "node:crypto";
import {
  type ErrorCode,
  normalizeMac,
  parseDeviceName,
  parseDeviceSecret,
  parseGenieProductId,
  parseGenieTriad,
  parseMac,
  parseProductKey,
  TriadkitError,
} from "@triadkit/protocol";
import type { TriadIdentity } from "../ledger/types.js";
import { type Cell, type CellKind, readCell } from "./cells.js";
import type { AlibabaColumns, GenieColumns, TriadColumns } from "./columns.js";
import { claimText, FingerprintTable } from "./fingerprint-table.js";
import type { ImportIssue, SheetItem } from "./types.js";

export interface RowCheckerOptions {
  readonly columns: TriadColumns;
  /** Header texts as written, by column index (issues name columns with them). */
  readonly headers: readonly string[];
  readonly sheet?: string;
  /** Cells come from a CSV file (digits-only MAC text may be a number a spreadsheet exported). */
  readonly fromCsv: boolean;
  /**
   * Find repeated identities and secrets within the file (default true). The importer turns this off: the ledger's
   * import session finds the same repeats with its unique indexes, on disk, so memory stays flat for any row count.
   */
  readonly checkDuplicates?: boolean;
}

/** Human text for the validator codes a cell can fail with; never includes the value. */
const CAUSES: Partial<Record<ErrorCode, string>> = {
  "triad.bad_product_key": "a ProductKey is 1–64 letters, digits, '_' or '-'",
  "triad.bad_device_name": "a DeviceName is 4–32 letters, digits or - _ @ . :",
  "triad.bad_device_secret": "a DeviceSecret is 1–128 printable ASCII characters without spaces",
  "triad.bad_product_id": "a Product ID is a decimal integer from 0 to 4294967295",
  "triad.bad_genie_secret": "a Tmall Genie device secret is 32 hex digits",
  "id.bad_mac": "a MAC address is 12 hex digits, optionally as 6 octets separated by ':' or '-'",
  "id.mac_multicast": "a multicast (group) address cannot be a device's WiFi MAC",
  "id.mac_all_zero": "00:00:00:00:00:00 is a placeholder, not a device address",
  "id.mac_broadcast": "ff:ff:ff:ff:ff:ff is the broadcast address, not a device address",
};

type Attempt<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: ErrorCode };

function attempt<T>(fn: () => T): Attempt<T> {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    if (err instanceof TriadkitError) return { ok: false, code: err.code };
    throw err;
  }
}

/** The Genie secret rule lives in parseGenieTriad; a fixed valid Product ID and MAC isolate it. */
function parseGenieSecret(secret: string): string {
  return parseGenieTriad({ productId: 0, mac: "000000000000", secret }).secret;
}

export class TriadRowChecker {
  readonly #columns: TriadColumns;
  readonly #headers: readonly string[];
  readonly #sheet: string | undefined;
  readonly #fromCsv: boolean;
  /** A random per-checker salt in front of every secret's fingerprint (see #fingerprint). */
  readonly #secretSalt = randomBytes(24).toString("base64");
  /** Alibaba: fingerprint of ProductKey+DeviceName → first row. */
  readonly #names = new FingerprintTable();
  /** Genie: 48-bit MAC → first row × 2 + (1 when it was a Bluetooth MAC). */
  readonly #macs = new Map<number, number>();
  readonly #secrets = new FingerprintTable();
  readonly #dups: boolean;
  #dataRows = 0;

  constructor(options: RowCheckerOptions) {
    this.#columns = options.columns;
    this.#headers = options.headers;
    this.#sheet = options.sheet;
    this.#fromCsv = options.fromCsv;
    this.#dups = options.checkDuplicates ?? true;
  }

  /** Rows that were not blank so far. */
  get dataRows(): number {
    return this.#dataRows;
  }

  /** Checks one row: a row item, or its issues; nothing for a completely blank row. */
  check(row: number, cells: readonly Cell[]): SheetItem[] {
    if (cells.every((c) => c.type === "empty")) return [];
    this.#dataRows++;
    const issues: ImportIssue[] = [];
    const parsed =
      this.#columns.family === "genie"
        ? this.#genie(row, cells, this.#columns, issues)
        : this.#alibaba(row, cells, this.#columns, issues);
    if (issues.length > 0 || parsed === undefined) return issues.map((value) => ({ kind: "issue", value }));
    return [{ kind: "row", value: { row, identity: parsed.identity, secret: parsed.secret } }];
  }

  /** After the last row: `import.empty_file` when the header had no data rows under it. */
  finish(headerRow: number): SheetItem[] {
    if (this.#dataRows > 0) return [];
    return [
      {
        kind: "issue",
        value: this.#issue(headerRow, undefined, "import.empty_file", "the sheet has a header row but no data rows"),
      },
    ];
  }

  #issue(row: number, column: number | undefined, code: ErrorCode, message: string, cause?: string): ImportIssue {
    const name = column === undefined ? "" : (this.#headers[column] ?? `column ${column + 1}`);
    return {
      row,
      column: name,
      code,
      message: name === "" ? message : `${name} ${message}`,
      ...(cause === undefined ? {} : { cause }),
      ...(this.#sheet === undefined ? {} : { sheet: this.#sheet }),
    };
  }

  /** The cell's text, or undefined after recording `import.missing_value` / `import.damaged_cell`. */
  #read(
    row: number,
    cells: readonly Cell[],
    column: number,
    kind: CellKind,
    required: boolean,
    issues: ImportIssue[],
  ): string | undefined {
    const reading = readCell(cells[column] ?? { type: "empty" }, kind, this.#fromCsv);
    if (reading.kind === "text") return reading.text;
    if (reading.kind === "damaged") issues.push(this.#issue(row, column, "import.damaged_cell", reading.reason));
    else if (required) issues.push(this.#issue(row, column, "import.missing_value", "is empty"));
    return undefined;
  }

  #validate<T>(row: number, column: number, issues: ImportIssue[], fn: () => T): T | undefined {
    const result = attempt(fn);
    if (result.ok) return result.value;
    const why = CAUSES[result.code] ?? "the value fails validation";
    issues.push(this.#issue(row, column, "import.bad_value", `is invalid: ${why}`, result.code));
    return undefined;
  }

  /**
   * A secret's SHA-256 (the table keeps its first 12 bytes; names use the faster `claimText`). Secrets are salted with the checker's random salt (a salted hash,
   * not a MAC: the fingerprints live only in this process's memory, for the duplicate check, and are never stored or
   * shown); one-shot `crypto.hash` costs a third of a createHmac per row.
   */
  #fingerprint(secret: string): Uint8Array {
    return hash("sha256", `${this.#secretSalt}\u0000${secret}`, "buffer");
  }

  #checkSecret(row: number, column: number, secret: string, issues: ImportIssue[]): void {
    if (!this.#dups) return;
    const first = this.#secrets.claim(this.#fingerprint(secret), row);
    if (first !== undefined)
      issues.push(this.#issue(row, column, "import.duplicate_secret", `repeats the device secret of row ${first}`));
  }

  #alibaba(row: number, cells: readonly Cell[], c: AlibabaColumns, issues: ImportIssue[]) {
    const pkText = this.#read(row, cells, c.productKey, "name", true, issues);
    const dnText = this.#read(row, cells, c.deviceName, "name", true, issues);
    const secretText = this.#read(row, cells, c.deviceSecret, "secret", true, issues);
    const productKey =
      pkText === undefined ? undefined : this.#validate(row, c.productKey, issues, () => parseProductKey(pkText).value);
    const deviceName =
      dnText === undefined ? undefined : this.#validate(row, c.deviceName, issues, () => parseDeviceName(dnText));
    const secret =
      secretText === undefined
        ? undefined
        : this.#validate(row, c.deviceSecret, issues, () => parseDeviceSecret(secretText).value);
    if (this.#dups && productKey !== undefined && deviceName !== undefined) {
      const first = claimText(this.#names, `${productKey}\u0000${deviceName}`, row);
      if (first !== undefined) {
        const message = `repeats the ProductKey and DeviceName of row ${first}`;
        issues.push(this.#issue(row, c.deviceName, "import.duplicate_triad", message));
      }
    }
    if (secret !== undefined) this.#checkSecret(row, c.deviceSecret, secret, issues);
    if (productKey === undefined || deviceName === undefined || secret === undefined) return undefined;
    const identity: TriadIdentity = { family: "alibaba", productKey, deviceName };
    return { identity, secret };
  }

  /** Records a MAC; returns the issue message when another row already uses it. */
  #claimMac(row: number, mac: string, ble: boolean): string | undefined {
    if (!this.#dups) return undefined;
    const key = Number.parseInt(mac, 16);
    const seen = this.#macs.get(key);
    if (seen === undefined) {
      this.#macs.set(key, row * 2 + (ble ? 1 : 0));
      return undefined;
    }
    const first = Math.floor(seen / 2);
    if (first === row) return undefined; // the row's own WiFi and Bluetooth MAC may coincide
    const firstRole = seen % 2 === 1 ? "Bluetooth MAC" : "WiFi MAC";
    return `repeats the ${firstRole} of row ${first}`;
  }

  #genie(row: number, cells: readonly Cell[], c: GenieColumns, issues: ImportIssue[]) {
    const pidText = this.#read(row, cells, c.productId, "integer", true, issues);
    const secretText = this.#read(row, cells, c.secret, "secret", true, issues);
    const macText = this.#read(row, cells, c.mac, "mac", true, issues);
    const upperText = c.macUpper === undefined ? undefined : this.#read(row, cells, c.macUpper, "mac", false, issues);
    const bleText = c.bleMac === undefined ? undefined : this.#read(row, cells, c.bleMac, "mac", false, issues);
    const md5 = c.md5 === undefined ? undefined : this.#read(row, cells, c.md5, "opaque", false, issues);

    const productId =
      pidText === undefined ? undefined : this.#validate(row, c.productId, issues, () => parseGenieProductId(pidText));
    const mac =
      macText === undefined
        ? undefined
        : this.#validate(row, c.mac, issues, () => parseMac(macText, { kind: "wifi" }).value);
    const secret =
      secretText === undefined ? undefined : this.#validate(row, c.secret, issues, () => parseGenieSecret(secretText));
    let bleMac: string | undefined;
    if (c.bleMac !== undefined && bleText !== undefined) {
      bleMac = this.#validate(row, c.bleMac, issues, () => parseMac(bleText, { kind: "ble_public" }).value);
    }
    if (c.macUpper !== undefined && upperText !== undefined) {
      const upper = this.#validate(row, c.macUpper, issues, () => normalizeMac(upperText));
      if (upper !== undefined && mac !== undefined && upper !== mac) {
        issues.push(this.#issue(row, c.macUpper, "import.bad_value", "is not the same address as the WiFi MAC column"));
      }
    }
    if (mac !== undefined) {
      const clash = this.#claimMac(row, mac, false);
      if (clash !== undefined) issues.push(this.#issue(row, c.mac, "import.duplicate_triad", clash));
    }
    if (bleMac !== undefined && c.bleMac !== undefined) {
      const clash = this.#claimMac(row, bleMac, true);
      if (clash !== undefined) issues.push(this.#issue(row, c.bleMac, "import.duplicate_triad", clash));
    }
    if (secret !== undefined) this.#checkSecret(row, c.secret, secret, issues);
    if (productId === undefined || mac === undefined || secret === undefined) return undefined;
    const triad = parseGenieTriad({ productId, mac, secret });
    const identity: TriadIdentity = {
      family: "genie",
      productId: triad.productId,
      mac: triad.mac,
      ...(bleMac === undefined ? {} : { bleMac }),
      ...(md5 === undefined ? {} : { md5 }),
    };
    return { identity, secret: triad.secret };
  }
}
