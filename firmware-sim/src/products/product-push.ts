/**
 * The platform side of product recommendation tables in the emulator: push a table to a set of devices through the
 * `UpdateProductTable` thing-model service and record what each device acknowledged (the version it holds now).
 * Reached as `emulator.products`; the local admin endpoint (./admin-server.ts) exposes it over HTTP.
 *
 * The acknowledged version of a device only moves up: a reply naming an older version than one seen before (a device
 * whose flash was wiped) is recorded as the latest reply but the highest version stays visible as `maxVersion`.
 * Records live in memory for the emulator's lifetime.
 */
import { EventEmitter } from "node:events";
import {
  type AlinkReply,
  type DeviceIdentity,
  isTriadkitError,
  PRODUCT_TABLE_SERVICE,
  type ProductPushResult,
  type ProductTable,
  type ProductTableWire,
  productPushOutcome,
  productTableToWire,
} from "@triadkit/protocol";

/** What the emulator knows about a device's table. */
export interface ProductAckRecord {
  readonly productKey: string;
  readonly deviceName: string;
  /** The version the device said it holds in its last ack; absent if it never acked. */
  readonly version?: number;
  readonly hash?: string;
  readonly ackedAtMs?: number;
  /** The highest version it ever acknowledged. */
  readonly maxVersion?: number;
  /** The last push to it, whatever came of it. */
  readonly last: ProductPushResult;
}

export interface ProductPushOptions {
  /** Per device; default 5000 ms. */
  readonly timeoutMs?: number;
  /** Devices called at once; default 16. */
  readonly concurrency?: number;
}

export interface ProductTablePushDeps {
  readonly invokeService: (
    identity: DeviceIdentity,
    name: string,
    params: Record<string, unknown>,
    options: { timeoutMs?: number },
  ) => Promise<AlinkReply>;
  readonly isOnline: (identity: DeviceIdentity) => boolean;
  readonly nowMs: () => number;
}

export interface ProductTablePushEvents {
  /** One device's result, as it arrives. */
  result: [result: ProductPushResult];
}

const key = (i: { productKey: string; deviceName: string }) => `${i.productKey}/${i.deviceName}`;

export class ProductTablePush extends EventEmitter<ProductTablePushEvents> {
  private readonly records = new Map<string, ProductAckRecord>();

  constructor(private readonly deps: ProductTablePushDeps) {
    super();
  }

  /**
   * Pushes `table` to every device (offline ones are reported `offline`, not queued); results in input order. Like the
   * platform, the emulator does not judge the table: a wire object is sent as given and the device validates it (its
   * `version` is what `pushed` reports, 0 when it has none).
   */
  async push(
    table: ProductTable | ProductTableWire | Readonly<Record<string, unknown>>,
    devices: readonly DeviceIdentity[],
    options: ProductPushOptions = {},
  ): Promise<ProductPushResult[]> {
    const params = ("format" in table ? { ...table } : productTableToWire(table as ProductTable)) as Record<
      string,
      unknown
    >;
    const version = typeof params["version"] === "number" ? params["version"] : 0;
    const results: ProductPushResult[] = new Array(devices.length);
    let next = 0;
    const worker = async () => {
      while (next < devices.length) {
        const index = next++;
        const identity = devices[index] as DeviceIdentity;
        const result = await this.pushOne(identity, version, params, options.timeoutMs ?? 5_000);
        results[index] = result;
        this.record(result);
        this.emit("result", result);
      }
    };
    const concurrency = Math.max(1, Math.min(options.concurrency ?? 16, devices.length));
    await Promise.all(Array.from({ length: concurrency }, worker));
    return results;
  }

  /** What is known about one device, if it was ever pushed to. */
  ack(identity: { productKey: string; deviceName: string }): ProductAckRecord | undefined {
    return this.records.get(key(identity));
  }

  /** Every device pushed to, by identity. */
  acks(): ProductAckRecord[] {
    return [...this.records.values()].sort((a, b) => key(a).localeCompare(key(b)));
  }

  private async pushOne(
    identity: DeviceIdentity,
    pushed: number,
    params: Record<string, unknown>,
    timeoutMs: number,
  ): Promise<ProductPushResult> {
    const base = { productKey: identity.productKey, deviceName: identity.deviceName, pushed };
    if (!this.deps.isOnline(identity)) return { ...base, status: "offline", atMs: this.deps.nowMs() };
    try {
      const reply = await this.deps.invokeService(identity, PRODUCT_TABLE_SERVICE, params, { timeoutMs });
      const outcome = productPushOutcome(reply);
      const atMs = this.deps.nowMs();
      if (outcome.status === "acked") {
        const { version, hash, applied } = outcome;
        return { ...base, status: "acked", version, hash, applied, atMs };
      }
      return {
        ...base,
        status: "refused",
        code: outcome.code ?? `reply ${outcome.replyCode}`,
        ...(outcome.message === undefined ? {} : { message: outcome.message }),
        atMs,
      };
    } catch (err) {
      const atMs = this.deps.nowMs();
      if (isTriadkitError(err, "alink.reply_timeout")) return { ...base, status: "timeout", atMs };
      if (isTriadkitError(err, "emulator.device_offline")) return { ...base, status: "offline", atMs };
      const code = isTriadkitError(err) ? err.code : "internal.unexpected";
      return { ...base, status: "error", code, message: (err as Error).message, atMs };
    }
  }

  private record(result: ProductPushResult): void {
    const old = this.records.get(key(result));
    const acked = result.status === "acked" && result.version !== undefined;
    const maxVersion = acked ? Math.max(old?.maxVersion ?? 0, result.version as number) : old?.maxVersion;
    const record: ProductAckRecord = {
      productKey: result.productKey,
      deviceName: result.deviceName,
      ...(acked
        ? { version: result.version, hash: result.hash, ackedAtMs: result.atMs }
        : old?.version === undefined
          ? {}
          : { version: old.version, hash: old.hash, ackedAtMs: old.ackedAtMs }),
      ...(maxVersion === undefined ? {} : { maxVersion }),
      last: result,
    };
    this.records.set(key(result), record);
  }
}
