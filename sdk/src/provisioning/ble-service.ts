import {
  encodeProvisioningAdvert,
  encodeProvisioningInfo,
  fragment,
  isTriadkitError,
  Reassembler,
  TRIADKIT_PROV_INFO_CHAR_UUID,
  TRIADKIT_PROV_REQUEST_CHAR_UUID,
  TRIADKIT_PROV_RESPONSE_CHAR_UUID,
  TRIADKIT_PROV_SERVICE_UUID,
} from "@triadkit/protocol";
import type { BleAdvertisement, BleCentralRef, BlePeripheral } from "../ble/ble.js";
import { type Clock, SystemClock, type TimerHandle } from "../clock.js";
import { ProvisioningCore, type ProvisioningCoreOptions } from "./provisioning-core.js";

export interface ProvisioningServiceOptions extends ProvisioningCoreOptions {
  readonly peripheral: BlePeripheral;
  /** How long the device advertises before closing the provisioning window. Default 10 min. */
  readonly windowMs?: number;
  /** After WiFi is joined, keep advertising (provisioned flag set) this long so scanners see it, then stop. Default 30 s. */
  readonly provisionedAdvertMs?: number;
}

/**
 * WiFi provisioning over BLE: advertises the triadkit provisioning service (request write / response notify / info
 * read), reassembles fragments for the link's MTU, and hands whole messages to the {@link ProvisioningCore}. The
 * advertisement carries the public state as manufacturer data (`encodeProvisioningAdvert`: provisioned, PoP-locked,
 * capabilities) and is refreshed when it changes. Stops advertising `provisionedAdvertMs` after WiFi is joined or
 * when the provisioning window closes.
 */
export class BleProvisioningService extends ProvisioningCore {
  private readonly peripheral: BlePeripheral;
  private readonly clockRef: Clock;
  private readonly reassembler: Reassembler;
  private seq = 0;
  private windowTimer: TimerHandle | undefined;
  private unlockTimer: TimerHandle | undefined;
  private provisionedTimer: TimerHandle | undefined;
  private advertising = false;

  constructor(private readonly bleOptions: ProvisioningServiceOptions) {
    super({ ...bleOptions, capabilities: ["ble", ...(bleOptions.capabilities ?? [])] });
    this.peripheral = bleOptions.peripheral;
    this.clockRef = bleOptions.clock ?? new SystemClock();
    this.reassembler = new Reassembler({ now: () => this.clockRef.monotonicMs() });
    this.on("popFailed", ({ lockedForMs }) => {
      this.readvertise();
      this.unlockTimer?.cancel();
      this.unlockTimer = this.clockRef.setTimeout(() => this.readvertise(), lockedForMs + 1);
    });
    this.on("joined", () => {
      this.readvertise();
      this.provisionedTimer?.cancel();
      this.provisionedTimer = this.clockRef.setTimeout(
        () => void this.stopAdvertising(),
        this.bleOptions.provisionedAdvertMs ?? 30_000,
      );
    });
  }

  /**
   * What the device advertises: the provisioning service UUID and the state flags (advertising data: 3 + 18 + 6 =
   * 27 of 31 bytes) and `TK-` + the last 8 characters of the DeviceName (scan response: at most 13 of 31 bytes).
   */
  advertisement(): BleAdvertisement {
    const state = this.publicState();
    const caps = this.capabilities;
    return {
      localName: `TK-${this.bleOptions.info.deviceName.slice(-8)}`,
      serviceUuids: [TRIADKIT_PROV_SERVICE_UUID],
      manufacturerData: encodeProvisioningAdvert({
        provisioned: state.provisioned,
        locked: state.locked,
        softap: caps.includes("softap"),
        improv: caps.includes("improv"),
        wifiScan: caps.includes("wifi_scan"),
      }),
    };
  }

  override physicalReset(): void {
    super.physicalReset();
    this.unlockTimer?.cancel();
    this.readvertise();
  }

  /** Advertises the current state again (scanners report a changed advertisement anew). */
  private readvertise(): void {
    if (!this.advertising) return;
    this.peripheral.startAdvertising(this.advertisement()).catch((err: unknown) => {
      this.log.warn({ code: isTriadkitError(err) ? err.code : "?" }, "could not refresh the advertisement");
    });
  }

  async start(): Promise<void> {
    this.peripheral.on("connect", this.onConnect);
    this.peripheral.on("disconnect", this.onDisconnect);
    await this.peripheral.setServices([
      {
        uuid: TRIADKIT_PROV_SERVICE_UUID,
        characteristics: [
          {
            uuid: TRIADKIT_PROV_REQUEST_CHAR_UUID,
            properties: ["write", "writeWithoutResponse"],
            onWrite: (data, central) => this.onWrite(data, central),
          },
          { uuid: TRIADKIT_PROV_RESPONSE_CHAR_UUID, properties: ["notify"] },
          {
            uuid: TRIADKIT_PROV_INFO_CHAR_UUID,
            properties: ["read"],
            onRead: () => encodeProvisioningInfo({ framingVersion: 1, protocolVersion: 1, securityVersions: [1] }),
          },
        ],
      },
    ]);
    await this.peripheral.startAdvertising(this.advertisement());
    this.advertising = true;
    this.windowTimer = this.clockRef.setTimeout(() => {
      void this.stopAdvertising().then(() => this.emit("windowClosed"));
    }, this.bleOptions.windowMs ?? 600_000);
  }

  /** Resolves when the connected provisioner has gone (or at once if none is connected), at most after `timeoutMs`. */
  async centralGone(timeoutMs = 5_000): Promise<void> {
    if (!this.linked) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        timer.cancel();
        this.peripheral.off("disconnect", done);
        resolve();
      };
      const timer = this.clockRef.setTimeout(done, timeoutMs);
      this.peripheral.on("disconnect", done);
    });
  }

  async stop(): Promise<void> {
    this.windowTimer?.cancel();
    this.unlockTimer?.cancel();
    this.provisionedTimer?.cancel();
    await this.stopAdvertising();
    this.peripheral.off("connect", this.onConnect);
    this.peripheral.off("disconnect", this.onDisconnect);
  }

  private async stopAdvertising(): Promise<void> {
    if (!this.advertising) return;
    this.advertising = false;
    await this.peripheral.stopAdvertising();
  }

  private linked = false;

  private readonly onConnect = (): void => {
    this.linked = true;
    this.reassembler.reset();
  };

  private readonly onDisconnect = (): void => {
    this.linked = false;
    this.linkClosed();
    this.reassembler.reset();
  };

  private async onWrite(data: Uint8Array, central: BleCentralRef): Promise<void> {
    let message: Uint8Array;
    try {
      const done = this.reassembler.push(data);
      if (done === undefined) return;
      message = done.message;
    } catch (err) {
      this.log.warn({ code: isTriadkitError(err) ? err.code : "?" }, "bad BLE fragment");
      return;
    }
    // Messages are answered one at a time, in order: a flight's answers must not interleave their fragments on the
    // response characteristic (a remote radio makes each notify asynchronous), and session records stay in order.
    const turn = this.answering.then(() => this.answer(message, central));
    this.answering = turn.catch(() => undefined);
    await turn;
  }

  private answering: Promise<void> = Promise.resolve();

  private async answer(message: Uint8Array, central: BleCentralRef): Promise<void> {
    const answer = await this.onMessage(message);
    try {
      if (answer.reply) {
        const seq = this.seq++ % 64;
        for (const frame of fragment(answer.reply, central.mtu, { seq })) {
          await this.peripheral.notify(TRIADKIT_PROV_RESPONSE_CHAR_UUID, frame);
        }
      }
      if (answer.close) await this.peripheral.disconnect();
    } catch (err) {
      // The central left (or the radio went away) while we answered: nothing to deliver it to.
      this.log.warn({ code: isTriadkitError(err) ? err.code : "?" }, "could not deliver a provisioning answer");
    }
  }
}

export function createBleProvisioningService(options: ProvisioningServiceOptions): BleProvisioningService {
  return new BleProvisioningService(options);
}
