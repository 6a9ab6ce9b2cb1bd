/**
 * BLE behind two small interfaces. The device side is a GATT server (`BlePeripheral`: bleno on real boards, the
 * virtual radio in tests); the provisioner side is a GATT client (`BleCentral`: noble or node-ble on a PC, the
 * virtual radio in tests). Values are plain `Uint8Array`s; UUIDs are lowercase, 4 hex (16-bit) or 36 chars (128-bit).
 */
export interface BleAdvertisement {
  readonly localName?: string;
  readonly serviceUuids: readonly string[];
  /** Manufacturer data, company id first (little-endian), as on air. */
  readonly manufacturerData?: Uint8Array;
  /** Service Data for a 16-bit service UUID (4 hex), as on air after the UUID (e.g. Improv's `4677`). */
  readonly serviceData?: { readonly uuid: string; readonly data: Uint8Array };
}

export interface GattCharacteristicSpec {
  readonly uuid: string;
  readonly properties: readonly ("read" | "write" | "writeWithoutResponse" | "notify" | "indicate")[];
  /** Called for writes from the connected central. */
  onWrite?(data: Uint8Array, central: BleCentralRef): void | Promise<void>;
  /** Called for reads. */
  onRead?(central: BleCentralRef): Uint8Array | Promise<Uint8Array>;
}

export interface GattServiceSpec {
  readonly uuid: string;
  readonly characteristics: readonly GattCharacteristicSpec[];
}

/** A connected central as the peripheral sees it. */
export interface BleCentralRef {
  /** 12 lowercase hex, or an opaque id on the virtual radio. */
  readonly address: string;
  /** Negotiated ATT MTU (23–517). */
  readonly mtu: number;
}

export interface BlePeripheralEvents {
  connect: [central: BleCentralRef];
  disconnect: [central: BleCentralRef];
}

export interface BlePeripheral {
  /** This device's BLE address (12 lowercase hex) when known. */
  readonly address: string | undefined;
  setServices(services: readonly GattServiceSpec[]): Promise<void>;
  startAdvertising(advertisement: BleAdvertisement): Promise<void>;
  stopAdvertising(): Promise<void>;
  /** Sends a notification on a notify characteristic to the connected central. */
  notify(characteristicUuid: string, data: Uint8Array): Promise<void>;
  disconnect(): Promise<void>;
  on<E extends keyof BlePeripheralEvents>(event: E, listener: (...args: BlePeripheralEvents[E]) => void): this;
  off<E extends keyof BlePeripheralEvents>(event: E, listener: (...args: BlePeripheralEvents[E]) => void): this;
  close(): Promise<void>;
}

export interface DiscoveredPeripheral {
  readonly address: string;
  readonly rssi: number;
  readonly advertisement: BleAdvertisement;
}

/** A GATT connection from the central side. */
export interface BleConnection {
  readonly address: string;
  readonly mtu: number;
  write(serviceUuid: string, characteristicUuid: string, data: Uint8Array, withResponse?: boolean): Promise<void>;
  read(serviceUuid: string, characteristicUuid: string): Promise<Uint8Array>;
  subscribe(
    serviceUuid: string,
    characteristicUuid: string,
    listener: (data: Uint8Array) => void,
  ): Promise<() => Promise<void>>;
  onDisconnect(listener: () => void): () => void;
  disconnect(): Promise<void>;
}

export interface BleCentral {
  /** Scans until `signal` aborts or `timeoutMs`; calls `onFound` for each advertisement seen. */
  scan(
    options: { serviceUuids?: readonly string[]; timeoutMs: number; signal?: AbortSignal },
    onFound: (peripheral: DiscoveredPeripheral) => void,
  ): Promise<void>;
  connect(address: string, options?: { mtu?: number; timeoutMs?: number }): Promise<BleConnection>;
  close(): Promise<void>;
}
