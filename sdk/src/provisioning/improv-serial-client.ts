import {
  decodeImprovMessage,
  encodeRpcPacket,
  encodeWifiSettingsPacket,
  ImprovCommand,
  ImprovError,
  type ImprovMessage,
  ImprovSerialParser,
  ImprovState,
  parseDeviceInfo,
  TriadkitError,
} from "@triadkit/protocol";
import { type Clock, SystemClock } from "../clock.js";
import type { SerialLink } from "../modem/serial-link.js";

/**
 * A small Improv WiFi serial client (what ESP Web Tools does in a browser), for `triadkit-sim provision
 * --transport improv-serial` and for scripts: device info, state, and sending WiFi settings. Each request is one
 * round trip; the answer is the next state / error / result packet.
 */
export class ImprovSerialClient {
  private readonly parser = new ImprovSerialParser();
  private readonly inbox: ImprovMessage[] = [];
  private waiter: (() => void) | undefined;
  private readonly unsubscribe: () => void;
  roundTrips = 0;

  constructor(
    private readonly link: SerialLink,
    private readonly clock: Clock = new SystemClock(),
  ) {
    this.unsubscribe = link.onData((chunk) => {
      for (const event of this.parser.push(chunk)) {
        if (event.kind !== "packet") continue;
        try {
          this.inbox.push(decodeImprovMessage(event.packet));
          this.waiter?.();
        } catch {
          // an undecodable packet is ignored; the request then times out
        }
      }
    });
  }

  async deviceInfo(timeoutMs = 5_000): Promise<ReturnType<typeof parseDeviceInfo>> {
    const result = await this.rpc(
      ImprovCommand.RequestDeviceInfo,
      encodeRpcPacket(ImprovCommand.RequestDeviceInfo),
      timeoutMs,
    );
    return parseDeviceInfo(result);
  }

  async currentState(timeoutMs = 5_000): Promise<number> {
    this.inbox.length = 0;
    await this.link.write(encodeRpcPacket(ImprovCommand.RequestCurrentState));
    const message = await this.next((m) => m.kind === "state", timeoutMs);
    this.roundTrips++;
    return (message as { state: number }).state;
  }

  /** Sends WiFi settings; resolves with the redirect URL strings once provisioned, or rejects on an error state. */
  async sendWifi(ssid: string, password: string, timeoutMs = 45_000): Promise<readonly string[]> {
    return this.rpc(ImprovCommand.SendWifiSettings, encodeWifiSettingsPacket({ ssid, password }), timeoutMs);
  }

  close(): void {
    this.unsubscribe();
  }

  private async rpc(command: number, packet: Uint8Array, timeoutMs: number): Promise<readonly string[]> {
    this.inbox.length = 0;
    await this.link.write(packet);
    const deadline = this.clock.monotonicMs() + timeoutMs;
    for (;;) {
      const message = await this.next(() => true, deadline - this.clock.monotonicMs());
      if (message.kind === "result" && message.command === command) {
        this.roundTrips++;
        return message.strings;
      }
      if (message.kind === "error" && message.error !== ImprovError.None) {
        this.roundTrips++;
        const name = Object.entries(ImprovError).find(([, v]) => v === message.error)?.[0] ?? String(message.error);
        throw new TriadkitError("prov.bad_message", `device answered Improv error ${name}`, {
          improvError: message.error,
        });
      }
      if (
        message.kind === "state" &&
        message.state === ImprovState.Provisioned &&
        command === ImprovCommand.SendWifiSettings
      ) {
        // The result with the redirect URL follows; keep waiting for it.
      }
    }
  }

  private async next(match: (m: ImprovMessage) => boolean, timeoutMs: number): Promise<ImprovMessage> {
    const deadline = this.clock.monotonicMs() + Math.max(0, timeoutMs);
    for (;;) {
      const index = this.inbox.findIndex(match);
      if (index >= 0) return this.inbox.splice(index, 1)[0] as ImprovMessage;
      this.inbox.length = 0;
      const remaining = deadline - this.clock.monotonicMs();
      if (remaining <= 0) throw new TriadkitError("ble.timeout", "the Improv device did not answer in time");
      await new Promise<void>((resolve) => {
        const timer = this.clock.setTimeout(resolve, remaining);
        this.waiter = () => {
          timer.cancel();
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }
}
