/**
 * The demo's cloud and air, in this process: the platform emulator on TLS with the binding monitor, the TOP gateway
 * with the smart-shelf bridge, and the virtual BLE air. It records what the devices did, by DeviceName.
 */

import type { DeviceIdentity } from "@triadkit/protocol";
import { type AirServer, startAirServer } from "../air/air-server.js";
import type { BindingAlert } from "../binding/types.js";
import { importTriadCsv } from "../emulator/csv-import.js";
import { PlatformEmulator } from "../emulator/platform-emulator.js";
import { SqliteDeviceRegistry } from "../emulator/sqlite-registry.js";
import { startShelfTop } from "../top/shelf-top.js";

export interface Seen {
  online: boolean;
  tls: boolean;
  identityReports: number;
  heartbeats: number;
  changed: number;
}

export interface DemoPlatformOptions {
  readonly tls: { readonly certPem: string; readonly keyPem: string };
  readonly triadsCsv: string;
  readonly expectedBindingsCsv: string;
  readonly heartbeatSec: number;
  readonly topCredentials: string;
}

export class DemoPlatform {
  readonly seen = new Map<string, Seen>();
  readonly alerts: BindingAlert[] = [];
  /** The status the shelf bridge last told TOP, by device code. */
  readonly topStatus = new Map<string, string>();

  private constructor(
    readonly emulator: PlatformEmulator,
    private readonly registry: SqliteDeviceRegistry,
    readonly topUrl: string,
    readonly air: AirServer,
    private readonly closers: (() => Promise<void>)[],
  ) {
    emulator.on("online", (id) => {
      const s = this.of(id);
      s.online = true;
      s.tls = emulator.onlineDevices().some((d) => d.identity.deviceName === id.deviceName && d.transport === "tls");
    });
    emulator.on("offline", (id) => {
      this.of(id).online = false;
    });
    emulator.on("identityReport", ({ identity }) => {
      this.of(identity).identityReports++;
    });
    emulator.on("bindingEvent", ({ identity, value }) => {
      if (value.kind === "BindingHeartbeat") this.of(identity).heartbeats++;
      if (value.kind === "BindingChanged") this.of(identity).changed++;
    });
    emulator.on("bindingAlert", (alert) => this.alerts.push(alert));
  }

  static async start(options: DemoPlatformOptions): Promise<{ platform: DemoPlatform; imported: number }> {
    const registry = new SqliteDeviceRegistry(":memory:");
    const closers: (() => Promise<void>)[] = [];
    try {
      const report = importTriadCsv(registry, options.triadsCsv);
      const emulator = await PlatformEmulator.start({
        registry,
        tls: { certPem: options.tls.certPem, keyPem: options.tls.keyPem, port: 0 },
        bindings: { expectedCsv: options.expectedBindingsCsv, heartbeatIntervalSec: options.heartbeatSec },
      });
      closers.push(() => emulator.close());
      const top = await startShelfTop({ platform: emulator, credentialsPath: options.topCredentials, port: 0 });
      closers.unshift(() => top.close());
      const air = await startAirServer({ port: 0 });
      closers.unshift(() => air.close());
      const platform = new DemoPlatform(emulator, registry, top.gateway.url, air, closers);
      top.onEvent((e) => {
        if (e.event === "topStatus") platform.topStatus.set(e.fields.deviceCode, e.fields.status);
      });
      return { platform, imported: report.added };
    } catch (err) {
      for (const close of closers) await close().catch(() => undefined);
      registry.close();
      throw err;
    }
  }

  get tlsUrl(): string {
    return this.emulator.tlsUrl as string;
  }

  get airUrl(): string {
    return this.air.url;
  }

  of(id: DeviceIdentity): Seen {
    let s = this.seen.get(id.deviceName);
    if (s === undefined) {
      s = { online: false, tls: false, identityReports: 0, heartbeats: 0, changed: 0 };
      this.seen.set(id.deviceName, s);
    }
    return s;
  }

  async close(): Promise<void> {
    for (const close of this.closers) await close().catch(() => undefined);
    this.registry.close();
  }
}
