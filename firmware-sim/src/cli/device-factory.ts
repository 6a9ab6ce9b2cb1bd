/**
 * `triadkit-sim device --factory-pty` and `--show`: the simulated device's factory side (issue 7).
 *
 * - The chip identity (chip id, WiFi and BLE MACs) is generated once per state dir and kept in device.json labels
 *   (`chipId`, `wifiMac`, `bleMac`; not secret), as are `model` and `firmware` (`--model` / `--firmware` change them).
 * - `--factory-pty` serves the SDK's factory responder on a socat PTY (prints `PTY factory <path>` on stdout) over
 *   the device's flash, so a station can burn it through a real serial port.
 * - `--show` prints what the device holds as one JSON line: identity only, never the secret or the PoP verifier.
 */
import {
  type AlibabaTriad,
  type ModemIdentity as FactoryModemIdentity,
  factoryRecordHash,
  toHex,
} from "@triadkit/protocol";
import {
  CryptoRandom,
  createFactoryResponder,
  createLogger,
  type FactoryChipInfo,
  type FactoryResponder,
  loadDeviceCredentials,
  NodeSerialLink,
  type Random,
  type SerialLink,
} from "@triadkit/sdk";
import type { SimulatedDeviceState } from "../flash/device-state.js";
import { createPtyPair } from "../pty/pty-pair.js";
import { type CliIo, CliUsageError } from "./io.js";

export const DEFAULT_SIM_MODEL = "triadkit-sim";
export const DEFAULT_SIM_FIRMWARE = "1.0.0";

export interface ChipOptions {
  readonly model?: string | undefined;
  readonly firmware?: string | undefined;
  readonly chipId?: string | undefined;
  /** BLE MAC of a new device (12 lower-case hex); default WiFi MAC + 2. */
  readonly bleMac?: string | undefined;
}

/** `--chip-id`: 8–64 hex digits, stored lower-case. */
export function parseChipId(value: string): string {
  if (!/^[0-9a-fA-F]{8,64}$/.test(value)) throw new CliUsageError("--chip-id must be 8–64 hex digits");
  return value.toLowerCase();
}

function checkText(flag: string, value: string): string {
  if (!/^[\x21-\x7e][\x20-\x7e]{0,63}$/.test(value)) throw new CliUsageError(`${flag} must be 1–64 printable ASCII`);
  return value;
}

/** A locally administered unicast MAC (12 lower-case hex digits). */
function randomMac(random: Random): string {
  const bytes = random.bytes(6);
  bytes[0] = ((bytes[0] as number) & 0xfc) | 0x02;
  return toHex(bytes);
}

/** `mac + n` over 48 bits (ESP32-style: the BLE MAC is the base MAC + 2). */
function macPlus(mac: string, n: number): string {
  return ((BigInt(`0x${mac}`) + BigInt(n)) & 0xffff_ffff_ffffn).toString(16).padStart(12, "0");
}

/**
 * The device's chip identity, model and firmware: from device.json labels, generated once (chip id, MACs) or
 * defaulted (model, firmware) and persisted. `--chip-id` may name the id of a new device; an existing device's id
 * never changes (usage error).
 */
export async function loadChipInfo(
  state: SimulatedDeviceState,
  options: ChipOptions,
  random: Random = new CryptoRandom(),
): Promise<FactoryChipInfo> {
  const labels = { ...state.metadata.labels };
  const wanted = options.chipId === undefined ? undefined : parseChipId(options.chipId);
  if (wanted !== undefined && labels["chipId"] !== undefined && labels["chipId"] !== wanted) {
    throw new CliUsageError(`this device's chip id is ${labels["chipId"]}; a chip id never changes`);
  }
  if (options.bleMac !== undefined && labels["bleMac"] !== undefined && labels["bleMac"] !== options.bleMac) {
    throw new CliUsageError(`this device's BLE MAC is ${labels["bleMac"]}; a BLE MAC never changes`);
  }
  const wifiMac = labels["wifiMac"] ?? randomMac(random);
  const next: Record<string, string> = {
    ...labels,
    chipId: labels["chipId"] ?? wanted ?? toHex(random.bytes(8)),
    wifiMac,
    bleMac: labels["bleMac"] ?? options.bleMac ?? macPlus(wifiMac, 2),
    model: options.model === undefined ? (labels["model"] ?? DEFAULT_SIM_MODEL) : checkText("--model", options.model),
    firmware:
      options.firmware === undefined
        ? (labels["firmware"] ?? DEFAULT_SIM_FIRMWARE)
        : checkText("--firmware", options.firmware),
  };
  if (Object.entries(next).some(([k, v]) => labels[k] !== v)) await state.setLabels(next);
  return {
    chipId: next["chipId"] as string,
    wifiMac: next["wifiMac"] as string,
    bleMac: next["bleMac"] as string,
    model: next["model"] as string,
    firmware: next["firmware"] as string,
  };
}

/** `--show`: one JSON line of what the device holds (never the secret, never the PoP verifier). */
export async function showDevice(state: SimulatedDeviceState, options: ChipOptions, io: CliIo): Promise<void> {
  const chip = await loadChipInfo(state, options);
  const held = await loadDeviceCredentials(state.store);
  const record = held.record;
  io.out(
    JSON.stringify({
      state: held.factoryState,
      credentials: held.source,
      identity: held.identity ?? null,
      ...chip,
      shelf: record?.shelf ?? null,
      workOrderId: record?.workOrderId ?? null,
      triadId: record?.triadId ?? null,
      stationId: record?.stationId ?? null,
      poolId: record?.anchor.poolId ?? null,
      writtenAt: record?.writtenAt ?? null,
      recordHash: record === undefined ? null : toHex(factoryRecordHash(record)),
      popVerifier: held.popVerifier !== undefined,
    }),
  );
}

export interface ServedFactoryPty {
  readonly path: string;
  readonly responder: FactoryResponder;
  close(): Promise<void>;
}

/**
 * Serves the factory responder on a new PTY over the device's flash and prints `PTY factory <path>`. Logs state
 * changes and refusals (codes only) on stderr.
 */
export async function serveFactoryPty(
  state: SimulatedDeviceState,
  chip: FactoryChipInfo,
  io: CliIo,
  modem?: () => Promise<FactoryModemIdentity | undefined>,
): Promise<ServedFactoryPty> {
  const pair = await createPtyPair();
  let link: SerialLink;
  try {
    link = await NodeSerialLink.open(pair.a);
  } catch (err) {
    await pair.close();
    throw err;
  }
  const logger = createLogger({ level: "warn", destination: { write: (line: string) => io.err(line.trimEnd()) } });
  const responder = createFactoryResponder({
    link,
    store: state.store,
    chip,
    random: new CryptoRandom(),
    logger,
    ...(modem === undefined ? {} : { modem }),
  });
  responder.on("stateChanged", (change) => {
    const who = change.identity === undefined ? "" : ` ${describeIdentity(change.identity)}`;
    io.err(`triadkit-sim device: factory state ${change.state}${who}`);
  });
  responder.on("refused", (r) => io.err(`triadkit-sim device: factory ${r.request} refused (${r.code})`));
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await responder.close();
      await link.close().catch(() => undefined);
      await pair.close();
    })();
    return closing;
  };
  io.out(`PTY factory ${pair.b}`);
  io.err(`triadkit-sim device: factory port for chip ${chip.chipId} (${chip.model} ${chip.firmware})`);
  return { path: pair.b, responder, close };
}

export function describeIdentity(identity: { family: string; [k: string]: unknown }): string {
  return identity.family === "alibaba"
    ? `${identity["productKey"]}/${identity["deviceName"]}`
    : `genie ${identity["productId"]}/${identity["mac"]}`;
}

/**
 * Waits until the flash holds an Alibaba triad (burnt by the station, or already there), or the shutdown signal.
 * A Genie record is reported once per change and not used: the simulated device only speaks Alibaba MQTT.
 */
export async function waitForBurntTriad(
  state: SimulatedDeviceState,
  served: ServedFactoryPty,
  shutdown: Promise<NodeJS.Signals>,
  io: CliIo,
): Promise<AlibabaTriad | undefined> {
  const stop = shutdown.then(() => "stop" as const);
  for (;;) {
    const changed = new Promise<void>((resolve) => served.responder.once("stateChanged", () => resolve()));
    const held = await loadDeviceCredentials(state.store);
    if (held.triad !== undefined) return held.triad;
    if (held.genie !== undefined) {
      io.err("triadkit-sim device: the flash holds a Tmall Genie triad; the simulated device only speaks Alibaba MQTT");
    } else {
      io.err("triadkit-sim device: blank; waiting for the factory station to burn a triad");
    }
    if ((await Promise.race([changed, stop])) === "stop") return undefined;
  }
}
