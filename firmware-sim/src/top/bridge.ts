/**
 * The ISV side of the smart shelf, next to the platform emulator: it learns each device's store id and device code
 * from the tags the device reports (`thing.deviceinfo.update`: `shelfStoreId`, `shelfDeviceCode`) and turns the
 * device's online/offline transitions into `taobao.smartstore.device.status.feedback` calls through a TopClient
 * (`ONLINE_WITH_CONTENT` / `OFFLINE`, with the time of the transition). The app key, secret and session live in
 * the TopClient, on the ISV side; the device never sees them.
 *
 * Reports for one device are sent in order, one at a time. A failed report is not retried (the `failed` event and
 * a warning say so); the next transition reports again.
 */
import { EventEmitter } from "node:events";
import {
  DEVICEINFO_UPDATE_METHOD,
  type DeviceIdentity,
  type ErrorCode,
  isTriadkitError,
  type ShelfCodes,
  type ShelfDeviceStatus,
  shelfCodesOfTags,
} from "@triadkit/protocol";
import {
  type Clock,
  type Logger,
  reportShelfDeviceStatus,
  SystemClock,
  silentLogger,
  type TopClient,
} from "@triadkit/sdk";
import type { PlatformEmulatorEvents } from "../emulator/options.js";

/** What the bridge needs of the platform emulator. */
export interface ShelfBridgePlatform {
  on<K extends keyof PlatformEmulatorEvents>(event: K, listener: (...args: PlatformEmulatorEvents[K]) => void): unknown;
  off<K extends keyof PlatformEmulatorEvents>(
    event: K,
    listener: (...args: PlatformEmulatorEvents[K]) => void,
  ): unknown;
  isOnline(identity: DeviceIdentity): boolean;
}

export interface ShelfBridgeOptions {
  readonly platform: ShelfBridgePlatform;
  readonly client: TopClient;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

export interface ShelfReport {
  readonly identity: DeviceIdentity;
  readonly deviceCode: string;
  readonly status: ShelfDeviceStatus;
  readonly statusTimeMs: number;
}

export interface ShelfBridgeEvents {
  /** A device reported shelf tags (new or changed codes). */
  shelfTags: [tags: { identity: DeviceIdentity } & ShelfCodes];
  /** A status feedback the gateway accepted. */
  reported: [report: ShelfReport];
  /** A status feedback that failed (the TOP error's code, or the transport's). */
  failed: [failure: ShelfReport & { code: ErrorCode; topCode?: number }];
}

interface DeviceEntry {
  readonly identity: DeviceIdentity;
  codes?: ShelfCodes;
  /** The last status queued for the device, and under which code. */
  last?: { deviceCode: string; status: ShelfDeviceStatus };
}

const keyOf = (identity: DeviceIdentity): string => `${identity.productKey}/${identity.deviceName}`;

export class ShelfBridge extends EventEmitter<ShelfBridgeEvents> {
  private readonly devices = new Map<string, DeviceEntry>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private closed = false;

  private readonly onOnline = (identity: DeviceIdentity): void => {
    const entry = this.devices.get(keyOf(identity));
    if (entry?.codes !== undefined) this.transition(entry, "ONLINE_WITH_CONTENT", entry.codes.deviceCode);
  };

  private readonly onOffline = (identity: DeviceIdentity): void => {
    const entry = this.devices.get(keyOf(identity));
    // A device that logged in again elsewhere is still online: its older connection closing is no transition.
    if (entry?.codes === undefined || this.options.platform.isOnline(identity)) return;
    this.transition(entry, "OFFLINE", entry.codes.deviceCode);
  };

  private readonly onRequest = (request: PlatformEmulatorEvents["request"][0]): void => {
    if (request.message.method !== DEVICEINFO_UPDATE_METHOD) return;
    const codes = shelfCodesOfTags(request.message.params);
    if (codes === undefined) return;
    const key = keyOf(request.identity);
    const entry = this.devices.get(key) ?? { identity: request.identity };
    this.devices.set(key, entry);
    const before = entry.codes;
    entry.codes = codes;
    if (before?.deviceCode !== codes.deviceCode || before.storeId !== codes.storeId) {
      this.emit("shelfTags", { identity: request.identity, ...codes });
      this.log.info(
        {
          event: "shelfTags",
          ...identityFields(request.identity),
          storeId: codes.storeId,
          deviceCode: codes.deviceCode,
        },
        "device reported its shelf codes",
      );
    }
    if (!this.options.platform.isOnline(request.identity)) return;
    // The code changed under a device reported online: the old code goes offline first.
    if (entry.last?.status === "ONLINE_WITH_CONTENT" && entry.last.deviceCode !== codes.deviceCode) {
      this.transition(entry, "OFFLINE", entry.last.deviceCode);
    }
    this.transition(entry, "ONLINE_WITH_CONTENT", codes.deviceCode);
  };

  constructor(private readonly options: ShelfBridgeOptions) {
    super();
    this.clock = options.clock ?? new SystemClock();
    this.log = (options.logger ?? silentLogger).child({ component: "shelfBridge" });
    options.platform.on("online", this.onOnline);
    options.platform.on("offline", this.onOffline);
    options.platform.on("request", this.onRequest);
  }

  /** The shelf codes last reported by a device. */
  shelfOf(identity: DeviceIdentity): ShelfCodes | undefined {
    return this.devices.get(keyOf(identity))?.codes;
  }

  /** Resolves when every report queued so far has been answered (or has failed). */
  async idle(): Promise<void> {
    let pending: Promise<void>[];
    do {
      pending = [...this.queues.values()];
      await Promise.all(pending);
    } while ([...this.queues.values()].some((q) => !pending.includes(q)));
  }

  /** Stops listening and waits for the reports in flight. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.options.platform.off("online", this.onOnline);
    this.options.platform.off("offline", this.onOffline);
    this.options.platform.off("request", this.onRequest);
    await this.idle();
  }

  private transition(entry: DeviceEntry, status: ShelfDeviceStatus, deviceCode: string): void {
    if (entry.last?.status === status && entry.last.deviceCode === deviceCode) return;
    if (status === "OFFLINE" && entry.last === undefined) return; // never reported online: nothing to take back
    entry.last = { deviceCode, status };
    const report: ShelfReport = { identity: entry.identity, deviceCode, status, statusTimeMs: this.clock.nowMs() };
    const key = keyOf(entry.identity);
    const next = (this.queues.get(key) ?? Promise.resolve()).then(() => this.send(report));
    this.queues.set(key, next);
  }

  private async send(report: ShelfReport): Promise<void> {
    const fields = { ...identityFields(report.identity), deviceCode: report.deviceCode, status: report.status };
    try {
      await reportShelfDeviceStatus(this.options.client, report);
      this.log.info({ event: "shelfStatusReported", ...fields }, "status feedback accepted");
      this.emit("reported", report);
    } catch (err) {
      const code: ErrorCode = isTriadkitError(err) ? err.code : "internal.unexpected";
      const topCode = isTriadkitError(err) && typeof err.context?.code === "number" ? err.context.code : undefined;
      this.log.warn({ event: "shelfStatusFailed", ...fields, code, topCode }, "status feedback failed");
      this.emit("failed", { ...report, code, ...(topCode === undefined ? {} : { topCode }) });
    }
  }
}

function identityFields(identity: DeviceIdentity): { productKey: string; deviceName: string } {
  return { productKey: identity.productKey, deviceName: identity.deviceName };
}
