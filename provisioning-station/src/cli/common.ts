/**
 * What every `triadkit-station` command shares: `--db`, `--key-file`, `--operator`, `--json`; opening the station
 * (ledger + keys) and closing it; printing results as text or one JSON document; turning errors into exit codes.
 */
import { statSync } from "node:fs";
import { userInfo } from "node:os";
import { resolve } from "node:path";
import { isTriadkitError, TriadkitError } from "@triadkit/protocol";
import { type CliIo, CliUsageError } from "@triadkit/sdk";
import type { Command } from "commander";
import { STATION_KEY_ENV } from "../keys/station-key.js";
import { isPostgresUrl, openStation, redactUrlPasswords, type Station } from "../ledger/open-station.js";
import type { Actor } from "../ledger/types.js";

export const DB_ENV = "TRIADKIT_STATION_DB";
export const OPERATOR_ENV = "TRIADKIT_OPERATOR";
export const DEFAULT_DB = "triadkit-station.db";

export interface StationCliOptions {
  readonly db?: string;
  readonly keyFile?: string;
  readonly operator?: string;
  readonly json?: boolean;
}

/** How a station subcommand plugs into the program. */
export type StationRegistrar = (program: Command, io: CliIo, env: Readonly<Record<string, string | undefined>>) => void;

/** Adds the options every station command takes; `json` may give the `--json` help text (or false: no --json). */
export function stationOptions(cmd: Command, opts: { json?: boolean | string } = { json: true }): Command {
  cmd
    .option(
      "--db <file|url>",
      `ledger: a SQLite file, or postgres://… of a shared pool (?schema=<name>); default $${DB_ENV}, else ./${DEFAULT_DB}`,
    )
    .option(
      "--key-file <file>",
      "station key file; default $TRIADKIT_STATION_KEY_FILE, else <db>.key beside a new SQLite database (required with a URL)",
    )
    .option(
      "--operator <name>",
      `who is at the station, for the audit trail; default $${OPERATOR_ENV}, else the login name`,
    );
  if (opts.json !== false) {
    cmd.option(
      "--json",
      typeof opts.json === "string" ? opts.json : "print one JSON document on stdout instead of text",
    );
  }
  return cmd;
}

function operatorName(options: StationCliOptions, env: Readonly<Record<string, string | undefined>>): string {
  const name = options.operator ?? env[OPERATOR_ENV] ?? safeLogin();
  if (name.trim() === "" || name.length > 64) throw new CliUsageError("--operator must be 1–64 characters");
  return name.trim();
}

function safeLogin(): string {
  try {
    return userInfo().username;
  } catch {
    return "operator";
  }
}

/**
 * The ledger a command uses: `--db`, else $TRIADKIT_STATION_DB, else ./triadkit-station.db; a path is made
 * absolute, a `postgres://` URL is kept as given.
 */
export function dbPathOf(options: StationCliOptions, env: Readonly<Record<string, string | undefined>>): string {
  const db = options.db ?? env[DB_ENV] ?? DEFAULT_DB;
  return isPostgresUrl(db) ? db : resolve(db);
}

/** The station key file given for a pool URL (`--key-file`, else $TRIADKIT_STATION_KEY_FILE); usage error without. */
function urlKeyFile(options: StationCliOptions, env: Readonly<Record<string, string | undefined>>): string {
  const keyFile = options.keyFile ?? env[STATION_KEY_ENV];
  if (keyFile === undefined || keyFile === "") {
    throw new CliUsageError(
      `--key-file (or $${STATION_KEY_ENV}) is required with a PostgreSQL --db: a URL has no key file beside it`,
    );
  }
  return keyFile;
}

/**
 * The local file that station files (fixtures config `<x>.fixtures.json`, fixtures lock) sit beside: the SQLite
 * database, or with a PostgreSQL pool the station key file.
 */
export function localBaseOf(options: StationCliOptions, env: Readonly<Record<string, string | undefined>>): string {
  const db = dbPathOf(options, env);
  return isPostgresUrl(db) ? resolve(urlKeyFile(options, env)) : db;
}

/** Opens the station for one command, warns about a key file created now, and always closes it. */
export async function withStation<T>(
  options: StationCliOptions,
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
  run: (station: Station, actor: Actor) => Promise<T>,
  opts: { readonly create?: boolean; readonly quietHead?: boolean } = {},
): Promise<T> {
  const dbPath = dbPathOf(options, env);
  const operator = operatorName(options, env);
  const url = isPostgresUrl(dbPath);
  if (url) urlKeyFile(options, env);
  // Only a command that starts a ledger (`orders add`) may create one: a mistyped --db must not quietly give a
  // fresh, empty ledger with a new key that `status` or `audit verify` then report as fine. With a pool URL the
  // same holds for the key file: only `orders add` creates a missing one (a new station of the pool).
  if (!url && !opts.create && !ledgerExists(dbPath)) {
    throw new TriadkitError(
      "ledger.open_failed",
      `no ledger at ${dbPath}: check --db (or $${DB_ENV}); a new ledger is started with \`triadkit-station orders add\``,
      { path: dbPath },
    );
  }
  const station = await openStation({
    dbPath,
    ...(options.keyFile === undefined ? {} : { keyFile: options.keyFile }),
    env,
    operator,
    create: opts.create === true,
    onHeadError: (err) => {
      if (!opts.quietHead)
        io.err(`triadkit-station: warning: could not update the audit head file (${errorText(err)})`);
    },
  });
  if (station.created.keyFile) {
    io.err(
      `triadkit-station: warning: created a new station key ${station.keyFile.path} (mode 0600). Back it up ` +
        "apart from the database: without it the triads cannot be decrypted, and anyone holding both can read them.",
    );
  }
  try {
    return await run(station, station.actor(operator));
  } finally {
    await station.close();
  }
}

export function errorText(err: unknown): string {
  return redactUrlPasswords(err instanceof Error ? err.message : String(err));
}

/** `{ ok: false, error: { code, message } }` for `--json` failures (context never carries secrets). */
export function errorJson(err: TriadkitError | Error): string {
  return redactUrlPasswords(
    JSON.stringify({
      ok: false,
      error: isTriadkitError(err)
        ? { code: err.code, message: err.message, context: err.context }
        : { code: "internal.unexpected", message: err.message },
    }),
  );
}

/** Left-aligned text table for humans (stdout). */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...cell].length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell + " ".repeat((widths[i] ?? 0) - [...cell].length)))
      .join("  "),
  );
}

export function parsePositiveInt(value: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(value)) throw new CliUsageError(`not a positive whole number: ${value}`);
  return Number(value);
}

/** A failure the command has already reported (text and `--json`): `main` exits 1 without printing it again. */
export class ReportedFailure extends Error {
  override readonly name = "ReportedFailure";
}

function ledgerExists(path: string): boolean {
  try {
    return statSync(path).size > 0;
  } catch {
    return false;
  }
}
