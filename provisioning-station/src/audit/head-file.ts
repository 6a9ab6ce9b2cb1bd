/**
 * The head counter kept outside the database: the last committed (seq, MAC) of this station's chain, signed like a
 * checkpoint, in a small JSON file beside the database (`<db>.audit-head`). It is rewritten atomically (temporary
 * file, fsync, rename, fsync of the folder) after every committed audit write. A crash between the database commit
 * and the rename leaves the head *behind* the table, which is normal; a head *ahead* of the table means the tail was
 * deleted or the database was replaced by an older copy.
 *
 * File: {"format":"triadkit-audit-head","version":1,"stationId","seq","mac":hex,"time","signature":hex}
 */

import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname } from "node:path";
import { TriadkitError } from "@triadkit/protocol";
import { macEqual, signCheckpoint } from "./encoding.js";
import type { AuditCheckpoint, AuditKeys } from "./types.js";

const FORMAT = "triadkit-audit-head";

export type HeadRead =
  | { readonly kind: "missing" }
  | { readonly kind: "unreadable"; readonly reason: string }
  | { readonly kind: "ok"; readonly head: AuditCheckpoint };

/** The conventional head file of a database file. */
export function auditHeadPathFor(dbPath: string): string {
  return `${dbPath}.audit-head`;
}

export function readAuditHead(path: string): HeadRead {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { kind: "missing" };
    return { kind: "unreadable", reason: (err as NodeJS.ErrnoException).code ?? "read error" };
  }
  try {
    const j = JSON.parse(text) as Record<string, unknown>;
    const hex = (v: unknown, len: number) =>
      typeof v === "string" && new RegExp(`^[0-9a-f]{${len * 2}}$`).test(v) ? Buffer.from(v, "hex") : undefined;
    const mac = hex(j["mac"], 32);
    const signature = hex(j["signature"], 64);
    const { stationId, seq, time } = j;
    if (
      j["format"] !== FORMAT ||
      j["version"] !== 1 ||
      typeof stationId !== "string" ||
      !Number.isSafeInteger(seq) ||
      !Number.isSafeInteger(time) ||
      mac === undefined ||
      signature === undefined
    ) {
      return { kind: "unreadable", reason: "not a triadkit audit head file" };
    }
    return {
      kind: "ok",
      head: {
        stationId,
        seq: seq as number,
        time: time as number,
        headMac: new Uint8Array(mac),
        signature: new Uint8Array(signature),
      },
    };
  } catch {
    return { kind: "unreadable", reason: "not JSON" };
  }
}

/**
 * Records (seq, mac) as the head, unless the file already names a later seq (another process of this station
 * committed after us and wrote first), or names an entry the chain no longer has (`macAt` disagrees: the database
 * was replaced by an older copy and written since): that head is evidence and stays until a human deals with it.
 * A racing writer's worst outcome is a head behind.
 */
export function advanceAuditHead(
  path: string,
  keys: AuditKeys,
  entry: { readonly seq: number; readonly mac: Uint8Array; readonly time: number },
  macAt: (seq: number) => Uint8Array | undefined,
  options: { readonly mayCreate?: boolean } = {},
): void {
  const { seq } = entry;
  const current = readAuditHead(path);
  const foreign = current.kind === "ok" && current.head.stationId !== keys.stationId;
  if ((current.kind !== "ok" || foreign) && options.mayCreate === false) {
    // The chain existed before, so its head file must too: recreating it now would hide a deleted tail.
    throw new TriadkitError(
      "audit.head_missing",
      `the audit head file ${basename(path)} is ${foreign ? "another station's" : current.kind}; not replaced (run \`audit verify\`, then \`audit accept-head\`)`,
      { headFile: basename(path) },
    );
  }
  if (current.kind === "ok" && current.head.stationId === keys.stationId) {
    if (current.head.seq >= seq) return;
    const there = current.head.seq === 0 ? current.head.headMac : macAt(current.head.seq);
    if (there === undefined || !macEqual(there, current.head.headMac)) return;
  }
  writeAuditHead(path, keys, entry);
}

/**
 * Writes (seq, mac) as the head unconditionally (temporary file, fsync, rename, fsync of the folder). Only for a
 * recorded human decision (`audit accept-head`); every commit goes through {@link advanceAuditHead}.
 */
export function writeAuditHead(
  path: string,
  keys: AuditKeys,
  entry: { readonly seq: number; readonly mac: Uint8Array; readonly time: number },
): void {
  const head = signCheckpoint(keys, { seq: entry.seq, headMac: entry.mac, time: entry.time });
  const text = JSON.stringify({
    format: FORMAT,
    version: 1,
    stationId: head.stationId,
    seq: head.seq,
    mac: Buffer.from(head.headMac).toString("hex"),
    time: head.time,
    signature: Buffer.from(head.signature).toString("hex"),
  });
  const tmp = `${dirname(path)}/.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, `${text}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dirname(path));
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
