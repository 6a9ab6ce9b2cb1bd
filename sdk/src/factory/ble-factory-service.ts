/**
 * The factory protocol over BLE, device side (docs/factory-protocol.md, "Over BLE"): a GATT service on a
 * {@link BlePeripheral} (station writes on `rx`, device notifies on `tx`, BLE framing for any MTU), advertising the
 * factory service UUID. Each connection runs the factory BLE channel v1 handshake: the device reports its chip id
 * and BLE MAC, and accepts only a station whose anchor-signed transcript names this MAC (and, once the device holds
 * a record, only that record's anchor). Then a fresh {@link FactoryResponder} serves the unchanged factory protocol
 * over a {@link BleRecordLink}. One central at a time; a dropped connection closes the link and the responder.
 */
import { EventEmitter } from "node:events";
import {
  createFactoryBleDevice,
  FACTORY_BLE_RX_CHAR_UUID,
  FACTORY_BLE_SERVICE_UUID,
  FACTORY_BLE_TX_CHAR_UUID,
  type FactoryBleDevice,
  type FactoryBleRefusal,
  isTriadkitError,
  TriadkitError,
} from "@triadkit/protocol";
import type { BleAdvertisement, BleCentralRef, BlePeripheral } from "../ble/ble.js";
import { type Clock, SystemClock } from "../clock.js";
import type { Logger } from "../logging/logger.js";
import { silentLogger } from "../logging/memory-logger.js";
import type { FlashStore } from "../storage/flash-store.js";
import { BleMessageSender, BleRecordLink, messageReceiver } from "./ble-record-link.js";
import { FactoryCredentialStore } from "./credential-store.js";
import {
  type FactoryChipInfo,
  FactoryResponder,
  type FactoryResponderEvents,
  type FactoryResponderOptions,
} from "./factory-responder.js";

export interface BleFactoryServiceOptions
  extends Pick<FactoryResponderOptions, "modem" | "random" | "challengeTtlMs" | "logger"> {
  readonly peripheral: BlePeripheral;
  readonly store: FactoryCredentialStore | FlashStore;
  /** `bleMac` is required: the channel is bound to it. */
  readonly chip: FactoryChipInfo & { readonly bleMac: string };
  readonly clock?: Clock;
  /** Advertised local name; default `TK-F-` + the last 6 hex digits of the BLE MAC. */
  readonly localName?: string;
  /**
   * A central that has not completed the handshake this long after connecting is dropped, so a silent one cannot hold
   * the board (one central at a time). Default 10 000 ms.
   */
  readonly handshakeTimeoutMs?: number;
}

export interface BleFactoryServiceEvents extends FactoryResponderEvents {
  /** A station opened the encrypted channel (its central address). */
  channel: [info: { central: string }];
  /** A handshake was refused (wrong MAC, another anchor, bad signature, malformed, busy). */
  handshakeRefused: [info: { central: string; reason: FactoryBleRefusal }];
  /** The connection carrying a channel ended (error when a record failed). */
  channelClosed: [info: { central: string; code?: string }];
}

type Session =
  | { readonly central: BleCentralRef; step: "handshake"; handshake: FactoryBleDevice | undefined }
  | { readonly central: BleCentralRef; step: "open"; link: BleRecordLink; responder: FactoryResponder }
  | { readonly central: BleCentralRef; step: "refused" };

/** Create with {@link createBleFactoryService}, then `start()`. */
export class BleFactoryService extends EventEmitter<BleFactoryServiceEvents> {
  private readonly peripheral: BlePeripheral;
  private readonly credentials: FactoryCredentialStore;
  private readonly clock: Clock;
  private readonly log: Logger;
  private session: Session | undefined;
  private readonly sender: BleMessageSender;
  private readonly receiver: ReturnType<typeof messageReceiver>;
  private advertising = false;

  constructor(private readonly options: BleFactoryServiceOptions) {
    super();
    this.peripheral = options.peripheral;
    this.credentials =
      options.store instanceof FactoryCredentialStore ? options.store : new FactoryCredentialStore(options.store);
    this.clock = options.clock ?? new SystemClock();
    this.log = (options.logger ?? silentLogger).child({ component: "factory-ble" });
    this.sender = new BleMessageSender(
      () => this.session?.central.mtu ?? 23,
      (f) => this.peripheral.notify(FACTORY_BLE_TX_CHAR_UUID, f),
    );
    this.receiver = messageReceiver(
      () => this.clock.monotonicMs(),
      (m) => void this.onMessage(m),
      (err) => this.log.warn({ code: err.code }, "factory BLE: bad fragment"),
    );
  }

  advertisement(): BleAdvertisement {
    return {
      localName: this.options.localName ?? `TK-F-${this.options.chip.bleMac.slice(-6)}`,
      serviceUuids: [FACTORY_BLE_SERVICE_UUID],
    };
  }

  async start(): Promise<void> {
    this.peripheral.on("connect", this.onConnect);
    this.peripheral.on("disconnect", this.onDisconnect);
    await this.peripheral.setServices([
      {
        uuid: FACTORY_BLE_SERVICE_UUID,
        characteristics: [
          {
            uuid: FACTORY_BLE_RX_CHAR_UUID,
            properties: ["write", "writeWithoutResponse"],
            onWrite: (data, central) => this.onWrite(data, central),
          },
          { uuid: FACTORY_BLE_TX_CHAR_UUID, properties: ["notify"] },
        ],
      },
    ]);
    await this.peripheral.startAdvertising(this.advertisement());
    this.advertising = true;
  }

  async stop(): Promise<void> {
    this.peripheral.off("connect", this.onConnect);
    this.peripheral.off("disconnect", this.onDisconnect);
    await this.endSession(undefined);
    if (this.advertising) {
      this.advertising = false;
      await this.peripheral.stopAdvertising();
    }
  }

  private readonly onConnect = (central: BleCentralRef): void => {
    if (this.session !== undefined) {
      // One central at a time: a second one is told so and dropped (a radio that allows it would get here).
      this.emit("handshakeRefused", { central: central.address, reason: "busy" });
      return;
    }
    this.receiver.reset();
    const session: Session = { central, step: "handshake", handshake: undefined };
    this.session = session;
    this.clock.setTimeout(() => {
      if (this.session !== session || session.step !== "handshake") return;
      this.log.warn({ central: central.address }, "factory BLE: no handshake in time; dropping the central");
      this.session = { central, step: "refused" };
      void this.peripheral.disconnect().catch(() => undefined);
    }, this.options.handshakeTimeoutMs ?? 10_000);
  };

  private readonly onDisconnect = (central: BleCentralRef): void => {
    if (this.session?.central.address === central.address) void this.endSession(undefined);
  };

  private onWrite(data: Uint8Array, central: BleCentralRef): void {
    if (this.session?.central.address !== central.address) return;
    this.receiver.push(data);
  }

  private async onMessage(message: Uint8Array): Promise<void> {
    const session = this.session;
    if (session === undefined) return;
    if (session.step === "open") {
      session.link.deliver(message);
      return;
    }
    if (session.step === "refused") return;
    try {
      if (session.handshake === undefined) {
        const snapshot = await this.credentials.snapshot();
        const anchor = snapshot.record?.anchor.publicKey;
        session.handshake = createFactoryBleDevice({
          random: (n) => this.options.random.bytes(n),
          chipId: this.options.chip.chipId,
          bleMac: this.options.chip.bleMac,
          ...(anchor === undefined ? {} : { anchor }),
        });
        await this.sender.send(session.handshake.receiveHello(message));
        return;
      }
      const result = session.handshake.receiveAuth(message);
      if ("refused" in result) {
        this.session = { central: session.central, step: "refused" };
        this.log.warn({ reason: result.refused }, "factory BLE: handshake refused");
        this.emit("handshakeRefused", { central: session.central.address, reason: result.refused });
        await this.sender.send(result.answer);
        await this.peripheral.disconnect();
        return;
      }
      this.openChannel(session.central, result.records, result.anchor);
      await this.sender.send(result.answer);
    } catch (err) {
      this.log.warn({ code: isTriadkitError(err) ? err.code : "?" }, "factory BLE: handshake failed");
      if (this.session === session) this.session = { central: session.central, step: "refused" };
      await this.peripheral.disconnect().catch(() => undefined);
    }
  }

  private openChannel(
    central: BleCentralRef,
    records: ConstructorParameters<typeof BleRecordLink>[0],
    channelAnchor: Uint8Array,
  ): void {
    const link = new BleRecordLink(
      records,
      (m) => this.sender.send(m),
      () => this.peripheral.disconnect(),
    );
    const responder = new FactoryResponder({
      link,
      store: this.credentials,
      chip: this.options.chip,
      random: this.options.random,
      clock: this.clock,
      channelAnchor,
      ...(this.options.modem === undefined ? {} : { modem: this.options.modem }),
      ...(this.options.challengeTtlMs === undefined ? {} : { challengeTtlMs: this.options.challengeTtlMs }),
      ...(this.options.logger === undefined ? {} : { logger: this.options.logger }),
    });
    responder.on("stateChanged", (change) => this.emit("stateChanged", change));
    responder.on("refused", (refusal) => this.emit("refused", refusal));
    responder.on("framingError", (error) => this.emit("framingError", error));
    link.onClose((error) => {
      if (error !== undefined) this.log.warn({ code: codeOf(error) }, "factory BLE: channel failed");
      this.emit("channelClosed", { central: central.address, ...(error === undefined ? {} : { code: codeOf(error) }) });
    });
    this.session = { central, step: "open", link, responder };
    this.emit("channel", { central: central.address });
  }

  private async endSession(error: Error | undefined): Promise<void> {
    const session = this.session;
    this.session = undefined;
    this.receiver.reset();
    if (session?.step !== "open") return;
    session.link.end(error);
    await session.responder.close();
  }
}

function codeOf(error: Error): string {
  return error instanceof TriadkitError ? error.code : "internal.unexpected";
}

export function createBleFactoryService(options: BleFactoryServiceOptions): BleFactoryService {
  return new BleFactoryService(options);
}
