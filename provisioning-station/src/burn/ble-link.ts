/**
 * Burning over BLE, station side (issue 9; docs/factory-protocol.md "Over BLE", docs/station.md): find the board
 * whose BLE MAC was scanned (its barcode), refuse it when it is not seen in time (`station.ble_not_found`) or its
 * signal is below the RSSI floor (`station.ble_rssi_low`: probably the neighbouring bench), connect, run the
 * factory BLE channel v1 handshake (the device must report the scanned MAC, `station.ble_wrong_device`; the anchor
 * signs the transcript), and hand back a {@link SerialLink} that `runBurnSession` / `FactoryClient` use unchanged.
 * No secret crosses before the channel is up: the handshake carries public keys, nonces, ids and a signature.
 */
import {
  createFactoryBleStation,
  FACTORY_BLE_RX_CHAR_UUID,
  FACTORY_BLE_SERVICE_UUID,
  FACTORY_BLE_TX_CHAR_UUID,
  isTriadkitError,
  normalizeMac,
  TriadkitError,
} from "@triadkit/protocol";
import {
  type BleCentral,
  type BleConnection,
  BleMessageSender,
  BleRecordLink,
  messageReceiver,
  normalizeBleAddress,
  type Random,
  type SerialLink,
} from "@triadkit/sdk";
import type { FactoryAnchor } from "../keys/factory-anchor.js";
import type { WorkOrder } from "../ledger/types.js";
import { runBurnSession } from "./burn-session.js";
import { type BurnContext, type DeviceOutcome, failure } from "./device-steps.js";
import { DEFAULT_REQUEST_TIMEOUT_MS } from "./factory-client.js";
import type { StartReconcileEntry } from "./reconcile.js";

/** Default RSSI floor: a board on the operator's bench is much louder than one a bench away. */
export const DEFAULT_RSSI_FLOOR_DBM = -60;
export const DEFAULT_BLE_SCAN_TIMEOUT_MS = 10_000;
export const DEFAULT_BLE_HANDSHAKE_TIMEOUT_MS = 10_000;

export interface OpenBleFactoryLinkOptions {
  readonly central: BleCentral;
  /** The scanned BLE MAC (barcode), any usual notation. */
  readonly mac: string;
  readonly anchor: Pick<FactoryAnchor, "publicKey" | "signBleHandshake">;
  readonly random: Random;
  /** Refuse a board weaker than this (dBm). Default −60. */
  readonly rssiFloorDbm?: number;
  readonly scanTimeoutMs?: number;
  /** Connect and handshake, each. */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

/** The encrypted link to one board, with what the handshake established. */
export interface BleFactoryLink extends SerialLink {
  /** The scanned MAC, normalised (12 lower-case hex). */
  readonly mac: string;
  readonly rssi: number;
  /** The chip id the device reported in the handshake (bound into the signed transcript). */
  readonly chipId: string;
}

/** Parses a scanned BLE MAC (`AA:BB:…`, `aa-bb-…`, `aabb…`); `config.invalid` otherwise. */
export function parseScannedMac(mac: string): string {
  try {
    return normalizeMac(mac);
  } catch {
    throw new TriadkitError("config.invalid", "a BLE MAC is 12 hex digits, with or without : or - separators");
  }
}

async function findBoard(
  central: BleCentral,
  mac: string,
  timeoutMs: number,
): Promise<{ address: string; rssi: number } | undefined> {
  const stop = new AbortController();
  let found: { address: string; rssi: number } | undefined;
  await central.scan({ serviceUuids: [FACTORY_BLE_SERVICE_UUID], timeoutMs, signal: stop.signal }, (p) => {
    if (found !== undefined || normalizeBleAddress(p.address) !== mac) return;
    found = { address: p.address, rssi: p.rssi };
    stop.abort();
  });
  return found;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TriadkitError("factory.timeout", `no ${what} in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Scan, check the RSSI floor, connect, handshake. The connection is dropped on any refusal. */
export async function openBleFactoryLink(options: OpenBleFactoryLinkOptions): Promise<BleFactoryLink> {
  const mac = parseScannedMac(options.mac);
  const floor = options.rssiFloorDbm ?? DEFAULT_RSSI_FLOOR_DBM;
  const timeoutMs = options.timeoutMs ?? DEFAULT_BLE_HANDSHAKE_TIMEOUT_MS;
  const board = await findBoard(options.central, mac, options.scanTimeoutMs ?? DEFAULT_BLE_SCAN_TIMEOUT_MS);
  if (board === undefined) {
    throw new TriadkitError("station.ble_not_found", `no board advertising the factory service at ${mac}`, { mac });
  }
  if (board.rssi < floor) {
    throw new TriadkitError(
      "station.ble_rssi_low",
      `board ${mac} is at ${board.rssi} dBm, below the floor of ${floor} dBm: bring it to this bench`,
      { mac, rssi: board.rssi, floor },
    );
  }
  const conn = await options.central.connect(board.address, { timeoutMs });
  try {
    return await handshake(conn, mac, board.rssi, options, timeoutMs);
  } catch (err) {
    await conn.disconnect().catch(() => undefined);
    throw err;
  }
}

async function handshake(
  conn: BleConnection,
  mac: string,
  rssi: number,
  options: OpenBleFactoryLinkOptions,
  timeoutMs: number,
): Promise<BleFactoryLink> {
  const inbox: Uint8Array[] = [];
  let waiting: ((m: Uint8Array) => void) | undefined;
  let link: BleRecordLink | undefined;
  let failure: TriadkitError | undefined;
  let gone: ((e: TriadkitError) => void) | undefined;
  const receiver = messageReceiver(
    options.now ?? Date.now,
    (m) => {
      if (link !== undefined) link.deliver(m);
      else if (waiting !== undefined) waiting(m);
      else inbox.push(m);
    },
    (err) => {
      failure = err;
      gone?.(err);
    },
  );
  const offDisconnect = conn.onDisconnect(() => {
    link?.end(new TriadkitError("serial.closed", "the board dropped the BLE connection"));
    gone?.(new TriadkitError("ble.not_connected", "the board dropped the BLE connection during the handshake"));
  });
  await conn.subscribe(FACTORY_BLE_SERVICE_UUID, FACTORY_BLE_TX_CHAR_UUID, (data) => receiver.push(data));
  const sender = new BleMessageSender(
    () => conn.mtu,
    (f) => conn.write(FACTORY_BLE_SERVICE_UUID, FACTORY_BLE_RX_CHAR_UUID, f, true),
  );
  const next = (what: string): Promise<Uint8Array> => {
    if (failure !== undefined) return Promise.reject(failure);
    const queued = inbox.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    const message = new Promise<Uint8Array>((resolve, reject) => {
      waiting = resolve;
      gone = reject;
    });
    return withTimeout(message, timeoutMs, what).finally(() => {
      waiting = undefined;
      gone = undefined;
    });
  };

  const station = createFactoryBleStation({
    random: (n) => options.random.bytes(n),
    expectedMac: mac,
    anchor: options.anchor.publicKey,
    sign: (hash) => options.anchor.signBleHandshake(hash),
  });
  await sender.send(station.hello);
  const device = station.receiveDeviceHello(await next("fble_device answer"));
  await sender.send(device.auth);
  const records = station.receiveAnswer(await next("fble_ok answer"));
  const recordLink = new BleRecordLink(
    records,
    (m) => sender.send(m),
    async () => {
      offDisconnect();
      recordLink.end(undefined);
      await conn.disconnect();
    },
  );
  link = recordLink;
  for (const m of inbox.splice(0)) recordLink.deliver(m);
  return Object.assign(recordLink, { mac, rssi, chipId: device.chipId });
}

export interface BurnOverBleOptions {
  readonly ctx: BurnContext;
  readonly central: BleCentral;
  /** The scanned BLE MAC (barcode). */
  readonly mac: string;
  readonly workOrder?: WorkOrder;
  readonly rssiFloorDbm?: number;
  readonly scanTimeoutMs?: number;
  /** Per factory request, and for connect and each handshake step. Default 2000 / 10 000 ms. */
  readonly timeoutMs?: number;
  readonly onReconcile?: (entry: StartReconcileEntry) => void;
}

/**
 * One board over BLE, the way a scan of its BLE MAC barcode starts it (CLI `burn --ble`, the web UI): open the
 * channel, then the same burn as on a serial fixture (`runBurnSession`, fixture `ble:<mac>`), the `hello`'s
 * `bleMac` checked against the scanned one. Never throws: a refusal is a failed outcome with its code
 * (`station.ble_not_found`, `station.ble_rssi_low`, `station.ble_wrong_device`, `factory.ble_refused`, …).
 */
export async function burnOverBle(options: BurnOverBleOptions): Promise<DeviceOutcome> {
  let fixture = `ble:${options.mac}`;
  let link: BleFactoryLink;
  try {
    link = await openBleFactoryLink({
      central: options.central,
      mac: options.mac,
      anchor: options.ctx.anchor,
      random: options.ctx.random,
      ...(options.rssiFloorDbm === undefined ? {} : { rssiFloorDbm: options.rssiFloorDbm }),
      ...(options.scanTimeoutMs === undefined ? {} : { scanTimeoutMs: options.scanTimeoutMs }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: Math.max(options.timeoutMs, 5000) }),
    });
  } catch (err) {
    return failure(
      fixture,
      err,
      isTriadkitError(err) && typeof err.context?.chipId === "string" ? { chipId: err.context.chipId } : {},
    );
  }
  fixture = `ble:${link.mac}`;
  try {
    const { outcomes } = await runBurnSession({
      ctx: options.ctx,
      ports: [{ fixture, link, expectedBleMac: link.mac }],
      ...(options.workOrder === undefined ? {} : { workOrder: options.workOrder }),
      watch: false,
      timeoutMs: options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      onOutcome: () => undefined,
      ...(options.onReconcile === undefined ? {} : { onReconcile: options.onReconcile }),
    });
    return outcomes[0] ?? failure(fixture, new TriadkitError("internal.unexpected", "the burn reported no outcome"));
  } catch (err) {
    return failure(fixture, err);
  } finally {
    await link.close();
  }
}
