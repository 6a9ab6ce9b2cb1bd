/**
 * The ISV's TOP credentials file: app key and secret from the open platform, the merchant's session and refresh
 * token from the authorisation page (seed 001's "SessionKey获取辅助工具"). JSON, mode 0600, never on a device:
 *
 *   {"format":"triadkit-top-credentials","version":1,"appKey":"12345678","appSecret":"…",
 *    "session":"…","refreshToken":"…","sessionExpiresAt":"2026-05-01T00:00:00.000Z"}
 *
 * `session`, `refreshToken` and `sessionExpiresAt` are optional. A file group or others can read is refused.
 */
import { closeSync, fchmodSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync } from "node:fs";
import { TriadkitError } from "@triadkit/protocol";

export const TOP_CREDENTIALS_FORMAT = "triadkit-top-credentials";

export interface TopCredentials {
  readonly appKey: string;
  readonly appSecret: string;
  readonly session?: string;
  readonly refreshToken?: string;
  /** When the session expires, ms since the epoch, if known. */
  readonly sessionExpiresAtMs?: number;
}

function bad(message: string, path: string, errno?: string): TriadkitError {
  return new TriadkitError("top.bad_credentials", message, { path, ...(errno === undefined ? {} : { errno }) });
}

function optionalText(j: Record<string, unknown>, key: string, path: string): string | undefined {
  const value = j[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "" || /\s/.test(value)) {
    throw bad(`the TOP credentials file's ${key} must be a non-empty string without spaces`, path);
  }
  return value;
}

/** Reads and checks a credentials file. Throws `top.bad_credentials` (never echoing a value). */
export function loadTopCredentials(path: string): TopCredentials {
  let mode: number;
  let text: string;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, "utf8");
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    throw bad(`cannot read the TOP credentials file (${errno ?? "error"})`, path, errno);
  }
  if (process.platform !== "win32" && (mode & 0o077) !== 0) {
    throw bad(
      `the TOP credentials file is accessible to group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`,
      path,
    );
  }
  let j: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
    j = parsed as Record<string, unknown>;
  } catch {
    throw bad("the TOP credentials file is not a JSON object", path);
  }
  if (j.format !== TOP_CREDENTIALS_FORMAT || j.version !== 1) {
    throw bad(`not a version 1 ${TOP_CREDENTIALS_FORMAT} file`, path);
  }
  const appKey = optionalText(j, "appKey", path);
  const appSecret = optionalText(j, "appSecret", path);
  if (appKey === undefined || appSecret === undefined)
    throw bad("the TOP credentials file needs appKey and appSecret", path);
  const session = optionalText(j, "session", path);
  const refreshToken = optionalText(j, "refreshToken", path);
  let sessionExpiresAtMs: number | undefined;
  if (j.sessionExpiresAt !== undefined) {
    sessionExpiresAtMs = typeof j.sessionExpiresAt === "string" ? Date.parse(j.sessionExpiresAt) : Number.NaN;
    if (Number.isNaN(sessionExpiresAtMs)) throw bad("sessionExpiresAt must be an ISO 8601 time", path);
  }
  return {
    appKey,
    appSecret,
    ...(session === undefined ? {} : { session }),
    ...(refreshToken === undefined ? {} : { refreshToken }),
    ...(sessionExpiresAtMs === undefined ? {} : { sessionExpiresAtMs }),
  };
}

/**
 * Writes a credentials file atomically (a 0600 temporary beside it, fsync, rename), e.g. from a TopClient's
 * `onSessionRefreshed`. Throws `top.bad_credentials` when it cannot.
 */
export function saveTopCredentials(path: string, credentials: TopCredentials): void {
  const { appKey, appSecret, session, refreshToken, sessionExpiresAtMs } = credentials;
  const text = JSON.stringify(
    {
      format: TOP_CREDENTIALS_FORMAT,
      version: 1,
      appKey,
      appSecret,
      ...(session === undefined ? {} : { session }),
      ...(refreshToken === undefined ? {} : { refreshToken }),
      ...(sessionExpiresAtMs === undefined ? {} : { sessionExpiresAt: new Date(sessionExpiresAtMs).toISOString() }),
    },
    null,
    2,
  );
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, "w", 0o600);
    try {
      if (process.platform !== "win32") fchmodSync(fd, 0o600);
      writeSync(fd, `${text}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    throw bad(`cannot write the TOP credentials file (${errno ?? "error"})`, path, errno);
  }
}
