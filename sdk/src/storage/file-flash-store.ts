/**
 * FileFlashStore: the FlashStore of a board that has a real filesystem (Linux, OpenWrt, Android), in one directory
 * the store owns. Each key is a pair of slot files holding one encoded record each (see record-format.ts):
 *
 * ```
 * <dir>/<key>.a.rec      slot A
 * <dir>/<key>.b.rec      slot B
 * <dir>/<key>.a.rec.tmp  a slot being written (only during a write; removed on open if a crash left one)
 * ```
 *
 * A slot write is write-new-file → fsync(file) → rename over the slot → fsync(directory), so a slot file is either
 * the old one or the complete new one; the two-slot scheme (two-slot-store.ts) adds a second copy that survives a
 * damaged file. Files are created 0600 and the directory 0700: the triad secret lives here.
 *
 * Filesystem assumptions (the guarantee holds only where they hold):
 * - `rename(2)` over an existing file is atomic, and after fsync of the directory it is durable;
 * - fsync(file) makes the data durable before the rename becomes visible after a crash.
 * That is ext4 (data=ordered, the default, or data=journal; writeback is also safe here because the file is
 * fsynced before the rename), f2fs, UBIFS (fsync writes through its write-back cache), btrfs and XFS.
 * Not FAT/vfat/exFAT: no journal, rename rewrites directory entries in place, and a power cut can leave a lost
 * or cross-linked cluster chain that only fsck repairs (the CRC then at least detects a damaged slot). Not network
 * filesystems (NFS, SMB, sshfs): rename and fsync semantics depend on the server and client caches. Not tmpfs for
 * anything that must survive a reboot. Storage hardware that acknowledges a cache flush it has not done (some cheap
 * SD cards and USB sticks) defeats every filesystem; use industrial-grade eMMC/NAND.
 *
 * One store instance per directory: two processes writing the same directory are not coordinated.
 */
import type { FileHandle } from "node:fs/promises";
import { mkdir, open, readdir, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { TriadkitError } from "@triadkit/protocol";
import { assertIntegerOption } from "./checks.js";
import { FLASH_KEY_PATTERN } from "./flash-store.js";
import { recordBytes } from "./record-format.js";
import { type SlotIndex, type SlotMedium, TwoSlotFlashStore } from "./two-slot-store.js";

export interface FileFlashStoreOptions {
  /** Largest value accepted; default 1 MiB, at most 256 MiB. */
  readonly maxValueBytes?: number;
  /**
   * fsync the directory after each rename and unlink. Default true except on Windows, where directories cannot be
   * opened for fsync (NTFS journals the rename itself).
   */
  readonly syncDirectory?: boolean;
}

export const DEFAULT_FILE_STORE_MAX_VALUE_BYTES = 1024 * 1024;
const SLOT_SUFFIX = [".a.rec", ".b.rec"] as const;
const TMP_SUFFIX = ".tmp";

/** A FlashStore in a directory of slot files; see the module comment for layout and filesystem assumptions. */
export class FileFlashStore extends TwoSlotFlashStore {
  private constructor(
    readonly dir: string,
    medium: FileSlotMedium,
  ) {
    super(medium);
  }

  /**
   * Opens (creating it, mode 0700, if missing) the store directory `dir` and removes temporary files a crash left.
   * Throws `config.invalid` for bad options, `store.io` if the directory cannot be used.
   */
  static async open(dir: string, options: FileFlashStoreOptions = {}): Promise<FileFlashStore> {
    const maxValueBytes = options.maxValueBytes ?? DEFAULT_FILE_STORE_MAX_VALUE_BYTES;
    assertIntegerOption("maxValueBytes", maxValueBytes, 0, 256 * 1024 * 1024);
    if (typeof dir !== "string" || dir === "") throw new TriadkitError("config.invalid", "dir must be a path");
    const syncDirectory = options.syncDirectory ?? process.platform !== "win32";
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      if (!(await stat(dir)).isDirectory()) throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
      for (const name of await readdir(dir)) {
        if (SLOT_SUFFIX.some((s) => name.endsWith(s + TMP_SUFFIX))) await unlink(join(dir, name));
      }
    } catch (err) {
      throw ioError("open", dir, err);
    }
    return new FileFlashStore(dir, new FileSlotMedium(dir, maxValueBytes, syncDirectory));
  }
}

class FileSlotMedium implements SlotMedium {
  private readonly maxRecordBytes: number;

  constructor(
    private readonly dir: string,
    readonly maxValueBytes: number,
    private readonly syncDirectory: boolean,
  ) {
    this.maxRecordBytes = recordBytes(64, maxValueBytes);
  }

  async listKeys(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      throw ioError("list", this.dir, err);
    }
    const keys = new Set<string>();
    for (const name of names) {
      const suffix = SLOT_SUFFIX.find((s) => name.endsWith(s));
      const key = suffix === undefined ? undefined : name.slice(0, -suffix.length);
      if (key !== undefined && FLASH_KEY_PATTERN.test(key)) keys.add(key);
    }
    return [...keys];
  }

  async readSlot(key: string, slot: SlotIndex): Promise<Uint8Array | undefined> {
    const path = this.path(key, slot);
    let handle: FileHandle | undefined;
    try {
      handle = await open(path, "r");
      // Never read more than the largest valid record: an oversized file fails validation as truncated.
      const size = Math.min((await handle.stat()).size, this.maxRecordBytes);
      const bytes = new Uint8Array(size);
      let filled = 0;
      while (filled < size) {
        const { bytesRead } = await handle.read(bytes, filled, size - filled, filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return bytes.subarray(0, filled);
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return undefined;
      throw ioError("read", path, err);
    } finally {
      await handle?.close().catch(() => undefined);
    }
  }

  async writeSlot(key: string, slot: SlotIndex, record: Uint8Array): Promise<void> {
    const path = this.path(key, slot);
    const tmp = path + TMP_SUFFIX;
    try {
      const handle = await open(tmp, "w", 0o600);
      try {
        await handle.writeFile(record);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, path);
      await this.syncDir();
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw ioError("write", path, err);
    }
  }

  async clearSlot(key: string, slot: SlotIndex): Promise<void> {
    const path = this.path(key, slot);
    try {
      await unlink(path);
      await this.syncDir();
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw ioError("delete", path, err);
    }
  }

  async close(): Promise<void> {}

  private path(key: string, slot: SlotIndex): string {
    return join(this.dir, key + SLOT_SUFFIX[slot]);
  }

  private async syncDir(): Promise<void> {
    if (!this.syncDirectory) return;
    const handle = await open(this.dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

function ioError(op: string, path: string, err: unknown): TriadkitError {
  return new TriadkitError(
    "store.io",
    `flash store ${op} failed: ${errnoCode(err) ?? "error"}`,
    {
      op,
      path,
      errno: errnoCode(err),
    },
    { cause: err },
  );
}
