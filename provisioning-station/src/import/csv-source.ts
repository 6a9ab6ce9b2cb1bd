/**
 * Streaming CSV rows with encoding detection. A platform CSV is UTF-8 (often with a BOM, as Excel writes "CSV UTF-8")
 * or, when saved by a Chinese-locale spreadsheet, GBK/GB18030.
 *
 * Detection: a UTF-8 BOM means UTF-8; otherwise the first 64 KiB are tried as strict UTF-8, then as GB18030 (a
 * superset of GBK). The whole file is then decoded strictly with the encoding chosen, line block by line block (0x0A
 * never occurs inside a UTF-8 or GB18030 multi-byte sequence, so blocks cut at newlines decode independently). If a
 * later line does not decode, reading stops with an `import.encoding` row failure instead of mis-decoding it.
 *
 * A wrong guess cannot change a triad: every valid triad value is ASCII, which both encodings decode alike, and the
 * bytes around a field (delimiter, quote, line end) are never GB18030 trail bytes. It can only garble Chinese header
 * names, and then the header is not recognised (`import.missing_column`), loudly.
 */
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { TextDecoder } from "node:util";
import { TriadkitError } from "@triadkit/protocol";
import { CsvError, parse } from "csv-parse";
import { type Cell, textCell } from "./cells.js";
import type { RawRow, RawSheet, RawSource } from "./raw.js";

const SNIFF_BYTES = 64 * 1024;
/** A line longer than this (no newline) is not a triad sheet. */
const MAX_LINE_BYTES = 16 * 1024 * 1024;
const DELIMITERS = [",", "\t", ";"] as const;

export interface CsvSourceOptions {
  readonly encoding?: string;
  readonly onProgress?: (bytesRead: number, total: number) => void;
  readonly size: number;
}

function decoderFor(label: string): TextDecoder {
  try {
    return new TextDecoder(label, { fatal: true, ignoreBOM: true });
  } catch {
    throw new TriadkitError("import.encoding", `this Node cannot decode the encoding "${label}"`, { encoding: label });
  }
}

function decodes(label: string, bytes: Uint8Array): boolean {
  try {
    new TextDecoder(label, { fatal: true, ignoreBOM: true }).decode(bytes, { stream: true });
    return true;
  } catch {
    return false;
  }
}

/** Chooses the decoder from the first bytes; returns it with the number of BOM bytes to skip. */
export function detectCsvEncoding(head: Uint8Array, forced?: string): { decoder: TextDecoder; skip: number } {
  const utf8Bom = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf;
  if (forced !== undefined) {
    const decoder = decoderFor(forced);
    return { decoder, skip: utf8Bom && decoder.encoding === "utf-8" ? 3 : 0 };
  }
  if (utf8Bom) return { decoder: decoderFor("utf-8"), skip: 3 };
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) {
    throw new TriadkitError("import.encoding", 'the CSV is UTF-16 (Excel "Unicode text"): save it as CSV UTF-8', {
      encoding: "utf-16",
    });
  }
  if (decodes("utf-8", head)) return { decoder: decoderFor("utf-8"), skip: 0 };
  if (decodes("gb18030", head)) return { decoder: decoderFor("gb18030"), skip: 0 };
  throw new TriadkitError("import.encoding", "the CSV is neither UTF-8 nor GB18030/GBK; use --encoding to say which", {
    sniffedBytes: head.length,
  });
}

/** The delimiter used most in the first lines: `,` unless the file is clearly tab- or semicolon-separated. */
export function guessDelimiter(headText: string): string {
  const lines = headText.split("\n").slice(0, 20).join("\n");
  let best: string = ",";
  let bestCount = 0;
  for (const d of DELIMITERS) {
    const count = lines.split(d).length - 1;
    if (count > bestCount) {
      best = d;
      bestCount = count;
    }
  }
  return best;
}

/** Reads at least `want` bytes (or the whole file) from the start of an async byte iterator. */
async function readHead(chunks: AsyncIterator<Buffer>, want: number): Promise<{ head: Buffer; done: boolean }> {
  const parts: Buffer[] = [];
  let length = 0;
  while (length < want) {
    const next = await chunks.next();
    if (next.done) return { head: Buffer.concat(parts), done: true };
    parts.push(next.value);
    length += next.value.length;
  }
  return { head: Buffer.concat(parts), done: false };
}

interface DecodeFailure {
  failed: boolean;
}

/**
 * Yields decoded text in whole lines. On an undecodable line it yields the lines before it, records the failure and
 * ends, so the parser sees only text that decoded.
 */
async function* decodeLines(
  first: Buffer,
  rest: AsyncIterator<Buffer> | undefined,
  decoder: TextDecoder,
  failure: DecodeFailure,
  progress: (bytes: number) => void,
): AsyncGenerator<string> {
  let carry: Buffer = first;
  const emit = function* (block: Buffer): Generator<string, boolean> {
    try {
      yield decoder.decode(block);
      return true;
    } catch {
      let start = 0;
      while (start < block.length) {
        const nl = block.indexOf(0x0a, start);
        const end = nl < 0 ? block.length : nl + 1;
        try {
          yield decoder.decode(block.subarray(start, end));
        } catch {
          failure.failed = true;
          return false;
        }
        start = end;
      }
      return true;
    }
  };
  for (;;) {
    const lastNl = carry.lastIndexOf(0x0a);
    if (lastNl >= 0) {
      if (!(yield* emit(carry.subarray(0, lastNl + 1)))) return;
      carry = carry.subarray(lastNl + 1);
    } else if (carry.length > MAX_LINE_BYTES) {
      throw new TriadkitError("import.unreadable_file", "a CSV line is longer than 16 MiB: not a triad sheet");
    }
    const next = rest === undefined ? { done: true as const, value: undefined } : await rest.next();
    if (next.done) break;
    progress(next.value.length);
    carry = carry.length === 0 ? next.value : Buffer.concat([carry, next.value]);
  }
  if (carry.length > 0) yield* emit(carry);
}

function toCells(record: readonly string[]): Cell[] {
  return record.map(textCell);
}

/** Opens a CSV file as a one-sheet {@link RawSource}. Throws `import.encoding` when no encoding fits its start. */
export async function openCsvSource(path: string, options: CsvSourceOptions): Promise<RawSource> {
  const stream = createReadStream(path, { highWaterMark: SNIFF_BYTES });
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let bytesRead = 0;
  const progress = (n: number) => {
    bytesRead += n;
    options.onProgress?.(bytesRead, options.size);
  };
  let opened: { head: Buffer; done: boolean };
  let detected: { decoder: TextDecoder; skip: number };
  try {
    opened = await readHead(chunks, SNIFF_BYTES);
    progress(opened.head.length);
    detected = detectCsvEncoding(opened.head, options.encoding);
  } catch (err) {
    stream.destroy();
    throw err;
  }
  const { decoder, skip } = detected;
  const first = opened.head.subarray(skip);
  const lastNl = first.lastIndexOf(0x0a);
  let delimiter = ",";
  try {
    delimiter = guessDelimiter(decoder.decode(lastNl >= 0 ? first.subarray(0, lastNl) : first));
  } catch {
    // An undecodable line in the sniffed block is reported with its row when the rows are read.
  }
  const failure: DecodeFailure = { failed: false };
  const encoding = decoder.encoding;

  async function* rows(): AsyncGenerator<RawRow> {
    // Parse errors must not destroy the stream (records already parsed would be lost): they arrive as "skip"
    // events; the first one ends the rows, and records parsed after it are ignored.
    const parser = parse({
      delimiter,
      relax_column_count: true,
      skip_empty_lines: false,
      skip_records_with_error: true,
      info: true,
      bom: false,
      max_record_size: MAX_LINE_BYTES,
    });
    let parseError: CsvError | undefined;
    /** Records parsed before the first error: those after it are not yielded. */
    let goodRecords = Number.POSITIVE_INFINITY;
    parser.on("skip", (err: CsvError) => {
      if (parseError !== undefined) return;
      parseError = err;
      goodRecords = typeof err.records === "number" ? err.records : 0;
    });
    const text = Readable.from(decodeLines(first, opened.done ? undefined : chunks, decoder, failure, progress));
    const done = pipeline(text, parser).then(
      () => undefined,
      (err: unknown) => err,
    );
    let row = 0;
    try {
      for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { records: number } }>) {
        if (info.records > goodRecords) break;
        row = info.records;
        yield { row, cells: toCells(record) };
      }
    } catch (err) {
      yield failureRow(row + 1, err, failure, encoding);
      return;
    } finally {
      stream.destroy();
    }
    const err = parseError ?? (await done);
    if (failure.failed || err !== undefined) yield failureRow(row + 1, err, failure, encoding);
  }

  const sheet: RawSheet = { rows: rows() };
  return {
    kind: "csv",
    encoding,
    delimiter,
    sheets: (async function* () {
      yield sheet;
    })(),
    close: async () => {
      stream.destroy();
    },
  };
}

function failureRow(row: number, err: unknown, failure: DecodeFailure, encoding: string): RawRow {
  if (failure.failed) {
    return {
      row,
      cells: [],
      failure: new TriadkitError(
        "import.encoding",
        `row ${row} is not valid ${encoding} (the start of the file was): give the right --encoding`,
        { row, encoding },
      ),
    };
  }
  if (err instanceof TriadkitError) return { row, cells: [], failure: err };
  const what = err instanceof CsvError ? err.code : "read error";
  return {
    row,
    cells: [],
    failure: new TriadkitError("import.unreadable_file", `the CSV cannot be parsed at row ${row} (${what})`, {
      row,
      reason: what,
    }),
  };
}
