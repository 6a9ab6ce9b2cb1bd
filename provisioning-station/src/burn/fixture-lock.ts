/**
 * One process owns the fixtures of a station at a time (the CLI's `burn` and `rework`, or the web UI of a later
 * issue), so two programs never drive the same serial port.
 *
 * Scheme: the lock is a kernel file lock, not a file's existence. The lock file `<db>.fixtures.lock` (beside the
 * database) is opened as a SQLite database and the owner holds `BEGIN EXCLUSIVE` on it for as long as it runs.
 * SQLite takes POSIX advisory locks (fcntl) on the file; the kernel drops them when the process ends in any way,
 * SIGKILL and power loss included, so there is never a stale lock to take over and no pid-reuse race. A second
 * process (or a second connection in the same process) gets SQLITE_BUSY at once: `station.fixture_locked`.
 *
 * Who holds it is written beside it, after the lock is won, in `<lock>.owner` (JSON: pid, start time, command,
 * host): only to name the owner in the refusal; it is never trusted for the decision. Limits: POSIX locks are
 * unreliable on some network filesystems; keep the database on a local disk.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { TriadkitError } from "@triadkit/protocol";
import Database from "better-sqlite3";

export interface FixtureLockOwner {
  readonly pid: number;
  readonly startedAt: string;
  readonly command: string;
  readonly host: string;
}

export interface FixtureLock {
  readonly path: string;
  readonly owner: FixtureLockOwner;
  /**
   * Releases the lock (idempotent). The process ending releases it too. Keep this object referenced for as long
   * as the fixtures are owned: a dropped lock is garbage, and collecting it closes the connection that holds it.
   */
  release(): void;
}

export function fixtureLockPathFor(dbPath: string): string {
  return `${dbPath}.fixtures.lock`;
}

export function readLockOwner(lockPath: string): FixtureLockOwner | undefined {
  try {
    const j = JSON.parse(readFileSync(`${lockPath}.owner`, "utf8")) as Partial<FixtureLockOwner>;
    if (typeof j.pid !== "number" || typeof j.startedAt !== "string") return undefined;
    return {
      pid: j.pid,
      startedAt: j.startedAt,
      command: typeof j.command === "string" ? j.command : "?",
      host: typeof j.host === "string" ? j.host : "?",
    };
  } catch {
    return undefined;
  }
}

function writeOwner(lockPath: string, owner: FixtureLockOwner): void {
  const tmp = `${lockPath}.owner.${process.pid}.tmp`;
  const fd = openSync(tmp, "w", 0o644);
  try {
    writeSync(fd, `${JSON.stringify(owner)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, `${lockPath}.owner`);
}

/** Takes the fixtures lock or throws `station.fixture_locked` naming the owner's pid. */
export function acquireFixtureLock(lockPath: string, command: string): FixtureLock {
  let db: Database.Database;
  try {
    db = new Database(lockPath, { timeout: 0 });
  } catch (err) {
    throw new TriadkitError("station.bad_config", `cannot open the fixtures lock file ${lockPath}`, {
      path: lockPath,
      errno: (err as NodeJS.ErrnoException).code,
    });
  }
  try {
    db.exec("BEGIN EXCLUSIVE");
  } catch (err) {
    db.close();
    const code = (err as { code?: string }).code ?? "";
    if (!code.startsWith("SQLITE_BUSY") && !code.startsWith("SQLITE_LOCKED")) throw err;
    const owner = readLockOwner(lockPath);
    const who =
      owner === undefined
        ? "another process"
        : `pid ${owner.pid} on ${owner.host} (${owner.command}, since ${owner.startedAt})`;
    throw new TriadkitError(
      "station.fixture_locked",
      `the fixtures are owned by ${who}: stop it or wait (one program drives the fixtures at a time)`,
      { path: lockPath, ...(owner === undefined ? {} : { pid: owner.pid, host: owner.host }) },
    );
  }
  const owner: FixtureLockOwner = {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    command,
    host: hostname(),
  };
  try {
    writeOwner(lockPath, owner);
  } catch {
    // The owner file only names the holder in a refusal; the lock stands without it.
  }
  let held = true;
  return {
    path: lockPath,
    owner,
    release() {
      if (!held) return;
      held = false;
      if (readLockOwner(lockPath)?.pid === process.pid) rmSync(`${lockPath}.owner`, { force: true });
      try {
        db.exec("ROLLBACK");
      } finally {
        db.close();
      }
    },
  };
}
