import {
  type AlibabaTriad,
  type DeviceIdentity,
  parseAlibabaTriad,
  parseProductKey,
  parseProductSecret,
  TriadkitError,
} from "@triadkit/protocol";

/** Where the platform looks up device secrets. The smallest thing the emulator can authenticate against. */
export interface DeviceDirectory {
  lookupSecret(identity: DeviceIdentity): string | undefined;
}

/** `deleted` is a soft delete: the row stays (the platform keeps history) but the device can no longer log in. */
export type DeviceStatus = "active" | "disabled" | "deleted";
export const DEVICE_STATUSES: readonly DeviceStatus[] = ["active", "disabled", "deleted"];

/** A device as the registry shows it: never the secret. */
export interface DeviceRecord extends DeviceIdentity {
  readonly status: DeviceStatus;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  /** First successful login; a pre-registered device hands out its secret only before this. */
  readonly activatedAtMs: number | undefined;
}

/** A product as the registry shows it: never the ProductSecret. */
export interface ProductRecord {
  readonly productKey: string;
  /** 一型一密 pre-registered dynamic registration (`authType=register`, HTTPS `/auth/register/device`). */
  readonly dynamicRegister: boolean;
  /** 一型一密 registration without pre-registration (`authType=regnwl`, MQTT only). */
  readonly regnwl: boolean;
  readonly createdAtMs: number;
}

export interface ProductInput {
  readonly productKey: string;
  /** Secret. */
  readonly productSecret: string;
  /** Default true. */
  readonly dynamicRegister?: boolean;
  /** Default false. */
  readonly regnwl?: boolean;
}

export interface DeviceFilter {
  readonly productKey?: string;
  readonly status?: DeviceStatus;
}

/**
 * The platform's device and product tables. Implementations: {@link MemoryDeviceDirectory} (in memory) and
 * `SqliteDeviceRegistry` (better-sqlite3, `:memory:` or a file). Both validate triads with `parseAlibabaTriad`.
 */
export interface DeviceRegistry extends DeviceDirectory {
  /** The device secret, for any status but `deleted`; `undefined` for an unknown or deleted device. */
  lookupSecret(identity: DeviceIdentity): string | undefined;
  /** The record, deleted ones included. */
  get(identity: DeviceIdentity): DeviceRecord | undefined;
  /**
   * Adds an active device. Throws `emulator.duplicate_device` when a non-deleted device has that name (unless
   * `replace`); a deleted one is replaced. Throws `triad.*` for a triad that breaks the documented rules.
   */
  add(triad: AlibabaTriad, options?: { readonly replace?: boolean }): DeviceRecord;
  /** Throws `emulator.unknown_device`. */
  setStatus(identity: DeviceIdentity, status: DeviceStatus): DeviceRecord;
  /** Records the first successful login (later calls keep the first time). */
  markActivated(identity: DeviceIdentity): void;
  list(filter?: DeviceFilter): DeviceRecord[];
  /** Adds or replaces a product. */
  addProduct(product: ProductInput): ProductRecord;
  getProduct(productKey: string): ProductRecord | undefined;
  lookupProductSecret(productKey: string): string | undefined;
  /** The token of a device registered without pre-registration (`regnwl`), used by its `authType=connwl` login. */
  setDeviceToken(identity: DeviceIdentity, token: string): void;
  lookupDeviceToken(identity: DeviceIdentity): string | undefined;
  close(): void;
}

export interface RegistryOptions {
  /** Wall clock for the timestamps. Default `Date.now`. */
  readonly nowMs?: () => number;
}

export function deviceKey(identity: DeviceIdentity): string {
  return `${identity.productKey}\u0000${identity.deviceName}`;
}

/** Validates a triad for the registry (documented rules only; conventions are not enforced). */
export function normaliseTriad(triad: AlibabaTriad): AlibabaTriad {
  return parseAlibabaTriad(triad).value;
}

export function normaliseProduct(product: ProductInput): Required<ProductInput> {
  return {
    productKey: parseProductKey(product.productKey).value,
    productSecret: parseProductSecret(product.productSecret),
    dynamicRegister: product.dynamicRegister ?? true,
    regnwl: product.regnwl ?? false,
  };
}

export function duplicateDevice(identity: DeviceIdentity): TriadkitError {
  return new TriadkitError("emulator.duplicate_device", "a device with this name already exists", {
    productKey: identity.productKey,
    deviceName: identity.deviceName,
  });
}

export function unknownDevice(identity: DeviceIdentity): TriadkitError {
  return new TriadkitError("emulator.unknown_device", "no such device in the registry", {
    productKey: identity.productKey,
    deviceName: identity.deviceName,
  });
}

interface MemoryDevice {
  record: DeviceRecord;
  secret: string;
  token: string | undefined;
}

/**
 * The in-memory {@link DeviceRegistry}. `new MemoryDeviceDirectory(triads)` and `add(triad)` keep the shape of the
 * first emulator version; `remove` deletes a row outright (no soft delete).
 */
export class MemoryDeviceDirectory implements DeviceRegistry {
  private readonly devices = new Map<string, MemoryDevice>();
  private readonly products = new Map<string, { record: ProductRecord; secret: string }>();
  private readonly nowMs: () => number;

  constructor(triads: Iterable<AlibabaTriad> = [], options: RegistryOptions = {}) {
    this.nowMs = options.nowMs ?? Date.now;
    for (const t of triads) this.add(t);
  }

  add(triad: AlibabaTriad, options: { readonly replace?: boolean } = {}): DeviceRecord {
    const t = normaliseTriad(triad);
    const existing = this.devices.get(deviceKey(t));
    if (existing && existing.record.status !== "deleted" && !options.replace) throw duplicateDevice(t);
    const now = this.nowMs();
    const record: DeviceRecord = {
      productKey: t.productKey,
      deviceName: t.deviceName,
      status: "active",
      createdAtMs: now,
      updatedAtMs: now,
      activatedAtMs: undefined,
    };
    this.devices.set(deviceKey(t), { record, secret: t.deviceSecret, token: undefined });
    return record;
  }

  remove(identity: DeviceIdentity): boolean {
    return this.devices.delete(deviceKey(identity));
  }

  lookupSecret(identity: DeviceIdentity): string | undefined {
    const device = this.devices.get(deviceKey(identity));
    return device === undefined || device.record.status === "deleted" ? undefined : device.secret;
  }

  get(identity: DeviceIdentity): DeviceRecord | undefined {
    return this.devices.get(deviceKey(identity))?.record;
  }

  setStatus(identity: DeviceIdentity, status: DeviceStatus): DeviceRecord {
    const device = this.devices.get(deviceKey(identity));
    if (device === undefined) throw unknownDevice(identity);
    device.record = { ...device.record, status, updatedAtMs: this.nowMs() };
    return device.record;
  }

  markActivated(identity: DeviceIdentity): void {
    const device = this.devices.get(deviceKey(identity));
    if (device !== undefined && device.record.activatedAtMs === undefined) {
      device.record = { ...device.record, activatedAtMs: this.nowMs() };
    }
  }

  list(filter: DeviceFilter = {}): DeviceRecord[] {
    return [...this.devices.values()]
      .map((d) => d.record)
      .filter((r) => filter.productKey === undefined || r.productKey === filter.productKey)
      .filter((r) => filter.status === undefined || r.status === filter.status)
      .sort((a, b) => a.productKey.localeCompare(b.productKey) || a.deviceName.localeCompare(b.deviceName));
  }

  addProduct(product: ProductInput): ProductRecord {
    const p = normaliseProduct(product);
    const record: ProductRecord = {
      productKey: p.productKey,
      dynamicRegister: p.dynamicRegister,
      regnwl: p.regnwl,
      createdAtMs: this.products.get(p.productKey)?.record.createdAtMs ?? this.nowMs(),
    };
    this.products.set(p.productKey, { record, secret: p.productSecret });
    return record;
  }

  getProduct(productKey: string): ProductRecord | undefined {
    return this.products.get(productKey)?.record;
  }

  lookupProductSecret(productKey: string): string | undefined {
    return this.products.get(productKey)?.secret;
  }

  setDeviceToken(identity: DeviceIdentity, token: string): void {
    const device = this.devices.get(deviceKey(identity));
    if (device === undefined) throw unknownDevice(identity);
    device.token = token;
  }

  lookupDeviceToken(identity: DeviceIdentity): string | undefined {
    const device = this.devices.get(deviceKey(identity));
    return device === undefined || device.record.status === "deleted" ? undefined : device.token;
  }

  /** Number of devices that are not deleted. */
  get size(): number {
    return [...this.devices.values()].filter((d) => d.record.status !== "deleted").length;
  }

  close(): void {}
}

function isRegistry(directory: DeviceDirectory): directory is DeviceRegistry {
  const r = directory as Partial<DeviceRegistry>;
  return typeof r.get === "function" && typeof r.setStatus === "function" && typeof r.addProduct === "function";
}

/**
 * Makes a full registry of any {@link DeviceDirectory}: a registry is returned as it is; a bare directory is
 * wrapped so its devices count as active, with status changes, products and new devices kept in memory.
 */
export function asDeviceRegistry(directory: DeviceDirectory, options: RegistryOptions = {}): DeviceRegistry {
  return isRegistry(directory) ? directory : new DirectoryAdapter(directory, options);
}

class DirectoryAdapter extends MemoryDeviceDirectory {
  constructor(
    private readonly inner: DeviceDirectory,
    options: RegistryOptions,
  ) {
    super([], options);
  }

  /** Copies a device the wrapped directory knows into the overlay the first time it is asked about. */
  private adopt(identity: DeviceIdentity): void {
    if (super.get(identity) !== undefined) return;
    const secret = this.inner.lookupSecret(identity);
    if (secret === undefined) return;
    try {
      this.add({ productKey: identity.productKey, deviceName: identity.deviceName, deviceSecret: secret });
    } catch {
      // A name or secret the registry rules refuse stays unknown to the platform.
    }
  }

  override lookupSecret(identity: DeviceIdentity): string | undefined {
    this.adopt(identity);
    return super.lookupSecret(identity);
  }

  override get(identity: DeviceIdentity): DeviceRecord | undefined {
    this.adopt(identity);
    return super.get(identity);
  }

  override setStatus(identity: DeviceIdentity, status: DeviceStatus): DeviceRecord {
    this.adopt(identity);
    return super.setStatus(identity, status);
  }
}
