/**
 * Splits one AT command line (ITU-T V.250 §5.2) into its commands, the way a modem does: the `AT` prefix, then
 * basic commands written back to back (`ATE0V1`), then extended ones separated by `;` (`AT+CMEE=1;+CGSN`).
 * Outside double quotes, case does not matter and spaces are ignored.
 */

/** Result of {@link parseCommandLine}. */
export type ParsedLine =
  /** Not a command line (no `AT` prefix): modems ignore it. */
  | { readonly kind: "ignored" }
  /** A malformed command line: the modem answers `ERROR`. */
  | { readonly kind: "invalid" }
  /** The commands, each normalised with its own `AT` prefix (`["ATE0", "AT+CGSN"]`); empty for a bare `AT`. */
  | { readonly kind: "commands"; readonly commands: readonly string[] };

/** Prefix characters of extended commands: `+` (standard) and the usual vendor ones. */
const EXTENDED_PREFIX = /[+^*$#%]/;

/** Upper-cases outside quotes and drops spaces/control characters there; `undefined` if a quote is unclosed. */
function normalise(body: string): string | undefined {
  let out = "";
  let quoted = false;
  for (const ch of body) {
    if (ch === '"') {
      quoted = !quoted;
      out += ch;
    } else if (quoted) {
      out += ch;
    } else if (ch > " " && ch !== "\x7f") {
      out += ch.toUpperCase();
    }
  }
  return quoted ? undefined : out;
}

export function parseCommandLine(line: string): ParsedLine {
  const start = line.trimStart();
  if (!/^at/i.test(start)) return { kind: "ignored" };
  const body = normalise(start.slice(2));
  if (body === undefined) return { kind: "invalid" };
  const commands: string[] = [];
  let i = 0;
  while (i < body.length) {
    const ch = body[i] as string;
    if (ch === ";") {
      i++;
      continue;
    }
    let end: number;
    if (EXTENDED_PREFIX.test(ch)) {
      // Extended: up to the next `;` outside quotes.
      end = i + 1;
      let quoted = false;
      while (end < body.length && (quoted || body[end] !== ";")) {
        if (body[end] === '"') quoted = !quoted;
        end++;
      }
      if (end === i + 1) return { kind: "invalid" };
    } else if (ch === "D") {
      end = body.length; // dial: the rest of the line
    } else if (ch === "S") {
      const m = /^S\d+(?:=\d*|\?)/.exec(body.slice(i));
      if (m === null) return { kind: "invalid" };
      end = i + m[0].length;
    } else if (ch === "&") {
      const m = /^&[A-Z]\d*/.exec(body.slice(i));
      if (m === null) return { kind: "invalid" };
      end = i + m[0].length;
    } else if (/[A-Z]/.test(ch)) {
      const m = /^[A-Z]\d*/.exec(body.slice(i)) as RegExpExecArray;
      end = i + m[0].length;
    } else {
      return { kind: "invalid" };
    }
    commands.push(`AT${body.slice(i, end)}`);
    i = end;
  }
  return { kind: "commands", commands };
}

/**
 * The parameters of a normalised command after its `=`, split on commas outside quotes, each unquoted:
 * `AT+CRSM=176,12258,0,0,10` → `["176", "12258", "0", "0", "10"]`; `AT+CPIN="1234"` → `["1234"]`.
 * Empty for commands without `=`.
 */
export function commandParams(command: string): string[] {
  const eq = command.indexOf("=");
  if (eq < 0) return [];
  const params: string[] = [];
  let current = "";
  let quoted = false;
  for (const ch of command.slice(eq + 1)) {
    if (ch === '"') quoted = !quoted;
    else if (ch === "," && !quoted) {
      params.push(current);
      current = "";
    } else current += ch;
  }
  params.push(current);
  return params;
}
