/**
 * The state directory of one simulated device (`triadkit-sim device --state-dir <dir>`):
 *
 * ```
 * <dir>/            mode 0700
 *   flash.img       the device's raw flash (SimulatedFlash image). Everything the firmware persists lives here,
 *                   in the FlashStore region: triad, PoP verifier, WiFi credentials, counters. Secrets included.
 *   device.json     non-secret metadata: flash geometry, store region, free-form labels. Never secrets.
 * ```
 *
 * device.json, format 1:
 * ```json
 * { "format": 1,
 *   "flash": { "image": "flash.img", "pageSize": 256, "pagesPerBlock": 16, "blockCount": 128 },
 *   "store": { "firstBlock": 0, "blockCount": 128, "blocksPerSlot": 1 },
 *   "labels": { "model": "lamp-v2" } }
 * ```
 * The geometry and region are fixed when the device is created; deleting flash.img erases the device (a fresh
 * image is created on the next open). One process per state directory.
 */
import { mkdir, open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { TriadkitError } from "@triadkit/protocol";
import { type FlashGeometry, SimulatedFlash } from "./simulated-flash.js";
import { SimulatedFlashStore, type SimulatedFlashStoreOptions } from "./simulated-flash-store.js";

export const DEVICE_STATE_FILE = "device.json";
export const FLASH_IMAGE_FILE = "flash.img";
export const DEVICE_STATE_FORMAT = 1;

export interface DeviceStateMetadata {
  readonly format: typeof DEVICE_STATE_FORMAT;
  readonly flash: FlashGeometry & { readonly image: typeof FLASH_IMAGE_FILE };
  readonly store: Required<SimulatedFlashStoreOptions>;
  /** Non-secret labels (model, batch, …): at most 32, keys 1-64 of [A-Za-z0-9_.-], values ≤ 256 characters. */
  readonly labels: Readonly<Record<string, string>>;
}

export interface OpenDeviceStateOptions {
  /** Geometry of a new device; for an existing one it must match (or be omitted). */
  readonly geometry?: Partial<FlashGeometry>;
  /** FlashStore region of a new device; for an existing one it must match (or be omitted). */
  readonly store?: SimulatedFlashStoreOptions;
  /** Labels of a new device (ignored for an existing one; use setLabels). */
  readonly labels?: Readonly<Record<string, string>>;
}

const SECRET_LABEL = /secret|password|passwd|psk|token|private|pop/i;

export class SimulatedDeviceState {
  private current: SimulatedFlashStore;

  private constructor(
    readonly dir: string,
    private meta: DeviceStateMetadata,
    readonly flash: SimulatedFlash,
    store: SimulatedFlashStore,
  ) {
    this.current = store;
  }

  /**
   * Opens the state directory, creating the device (directory, erased flash.img, device.json) if it is new.
   * Throws `config.invalid` (options contradict the existing device, bad labels), `store.corrupt_record` /
   * `store.unsupported_version` (device.json unreadable / of a newer format), `store.io`.
   */
  static async open(dir: string, options: OpenDeviceStateOptions = {}): Promise<SimulatedDeviceState> {
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw ioError("create state dir", err);
    }
    let meta = await readMetadata(dir);
    if (meta === undefined) {
      // Validates geometry and region (config.invalid) before anything is written.
      const probe = SimulatedFlash.inMemory(options.geometry);
      const layout = (await SimulatedFlashStore.open(probe, options.store)).layout;
      meta = {
        format: DEVICE_STATE_FORMAT,
        flash: { image: FLASH_IMAGE_FILE, ...probe.geometry },
        store: { firstBlock: layout.firstBlock, blockCount: layout.blockCount, blocksPerSlot: layout.blocksPerSlot },
        labels: checkLabels(options.labels ?? {}),
      };
      // device.json first: a crash before the image exists leaves a device whose flash is simply erased.
      await writeMetadata(dir, meta);
    } else {
      for (const [name, value] of Object.entries(options.geometry ?? {})) {
        if (value !== undefined && meta.flash[name as keyof FlashGeometry] !== value) throw mismatch(`flash.${name}`);
      }
      for (const [name, value] of Object.entries(options.store ?? {})) {
        if (value !== undefined && meta.store[name as keyof SimulatedFlashStoreOptions] !== value) {
          throw mismatch(`store.${name}`);
        }
      }
    }
    const { image: _image, ...geometry } = meta.flash;
    const flash = SimulatedFlash.openImage(join(dir, FLASH_IMAGE_FILE), geometry);
    try {
      const store = await SimulatedFlashStore.open(flash, meta.store);
      return new SimulatedDeviceState(dir, meta, flash, store);
    } catch (err) {
      flash.close();
      throw err;
    }
  }

  get metadata(): DeviceStateMetadata {
    return this.meta;
  }

  /** The device's FlashStore (a new one after each {@link reboot}). */
  get store(): SimulatedFlashStore {
    return this.current;
  }

  /** Replaces the labels in device.json (atomically). */
  async setLabels(labels: Readonly<Record<string, string>>): Promise<void> {
    const next = { ...this.meta, labels: checkLabels(labels) };
    await writeMetadata(this.dir, next);
    this.meta = next;
  }

  /** Power back after a (simulated) cut or reset: reboots the flash and reopens the store. */
  async reboot(): Promise<SimulatedFlashStore> {
    await this.current.close();
    this.flash.reboot();
    this.current = await SimulatedFlashStore.open(this.flash, this.meta.store);
    return this.current;
  }

  /** Closes the store and the image (fsynced). */
  async close(): Promise<void> {
    try {
      await this.current.close();
    } finally {
      this.flash.close();
    }
  }
}

async function readMetadata(dir: string): Promise<DeviceStateMetadata | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, DEVICE_STATE_FILE), "utf8");
  } catch (err) {
    if ((err as { code?: unknown }).code === "ENOENT") return undefined;
    throw ioError("read device.json", err);
  }
  const bad = (why: string, cause?: unknown) =>
    new TriadkitError("store.corrupt_record", `device.json: ${why}`, { file: DEVICE_STATE_FILE }, { cause });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw bad("not JSON", err);
  }
  const m = raw as Partial<Record<keyof DeviceStateMetadata, unknown>> | null;
  if (typeof m !== "object" || m === null || Array.isArray(m)) throw bad("not an object");
  if (typeof m.format === "number" && m.format > DEVICE_STATE_FORMAT) {
    throw new TriadkitError("store.unsupported_version", `device.json format ${m.format}`, {
      version: m.format,
      supported: DEVICE_STATE_FORMAT,
    });
  }
  const flash = m.flash as Record<string, unknown> | undefined;
  const store = m.store as Record<string, unknown> | undefined;
  const ints = (o: Record<string, unknown> | undefined, names: string[]) =>
    typeof o === "object" && o !== null && names.every((n) => Number.isInteger(o[n]));
  if (
    m.format !== DEVICE_STATE_FORMAT ||
    !ints(flash, ["pageSize", "pagesPerBlock", "blockCount"]) ||
    flash?.image !== FLASH_IMAGE_FILE ||
    !ints(store, ["firstBlock", "blockCount", "blocksPerSlot"])
  ) {
    throw bad("missing or malformed fields");
  }
  let labels: Readonly<Record<string, string>>;
  try {
    labels = checkLabels((m.labels ?? {}) as Record<string, string>);
  } catch (err) {
    throw bad("bad labels", err);
  }
  return { ...(m as DeviceStateMetadata), labels };
}

async function writeMetadata(dir: string, meta: DeviceStateMetadata): Promise<void> {
  const path = join(dir, DEVICE_STATE_FILE);
  const tmp = `${path}.tmp`;
  try {
    const handle = await open(tmp, "w", 0o644);
    try {
      await handle.writeFile(`${JSON.stringify(meta, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    throw ioError("write device.json", err);
  }
}

function checkLabels(labels: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  if (typeof labels !== "object" || labels === null || Array.isArray(labels)) {
    throw new TriadkitError("config.invalid", "labels must be an object of strings");
  }
  const entries = Object.entries(labels);
  if (entries.length > 32) throw new TriadkitError("config.invalid", "at most 32 labels");
  for (const [name, value] of entries) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name) || typeof value !== "string" || value.length > 256) {
      throw new TriadkitError("config.invalid", "labels are name (1-64 of A-Za-z0-9_.-) → string (≤ 256)", {
        label: name,
      });
    }
    if (SECRET_LABEL.test(name)) {
      throw new TriadkitError("config.invalid", "device.json never holds secrets: store them in the flash", {
        label: name,
      });
    }
  }
  return Object.fromEntries(entries);
}

function mismatch(field: string): TriadkitError {
  return new TriadkitError("config.invalid", `${field} differs from the existing device's device.json`, { field });
}

function ioError(op: string, err: unknown): TriadkitError {
  return new TriadkitError(
    "store.io",
    `device state: ${op} failed`,
    { op, errno: (err as { code?: unknown }).code },
    {
      cause: err,
    },
  );
}
