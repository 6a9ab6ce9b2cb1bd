/**
 * `triadkit-sim device --factory-ble --air <url>`: the simulated device serves the factory protocol over BLE (the
 * factory BLE channel v1, docs/factory-protocol.md "Over BLE") on a cross-process air (`triadkit-sim air`), with its
 * BLE MAC (device.json label `bleMac`, or `--ble-mac` for a new device) as its address. Prints
 * `READY factory-ble <bleMac> <chipId>` once advertising, logs channels, refusals and state changes on stderr (codes
 * and identities only), and serves until SIGINT/SIGTERM.
 */
import { type ModemIdentity as FactoryModemIdentity, normalizeMac } from "@triadkit/protocol";
import { CryptoRandom, connectAir, createBleFactoryService, createLogger } from "@triadkit/sdk";
import type { SimulatedDeviceState } from "../flash/device-state.js";
import { type ChipOptions, describeIdentity, loadChipInfo } from "./device-factory.js";
import { type CliIo, CliUsageError } from "./io.js";

/** `--ble-mac`: 12 hex digits, separators allowed; stored lower-case without them. */
export function parseBleMac(value: string): string {
  try {
    return normalizeMac(value);
  } catch {
    throw new CliUsageError("--ble-mac must be 12 hex digits (AA:BB:CC:DD:EE:FF, aa-bb-…, or aabbccddeeff)");
  }
}

export async function serveFactoryBle(
  state: SimulatedDeviceState,
  options: ChipOptions & { readonly air: string },
  io: CliIo,
  shutdown: Promise<NodeJS.Signals>,
  modem?: () => Promise<FactoryModemIdentity | undefined>,
): Promise<void> {
  const chip = await loadChipInfo(state, options);
  const bleMac = chip.bleMac as string;
  const air = await connectAir(options.air);
  const logger = createLogger({ level: "warn", destination: { write: (line: string) => io.err(line.trimEnd()) } });
  const service = createBleFactoryService({
    peripheral: air.peripheral({ address: bleMac }),
    store: state.store,
    chip: { ...chip, bleMac },
    random: new CryptoRandom(),
    logger,
    ...(modem === undefined ? {} : { modem }),
  });
  const say = (text: string) => io.err(`triadkit-sim device: ${text}`);
  service.on("channel", ({ central }) => say(`factory BLE channel open with ${central}`));
  service.on("handshakeRefused", ({ reason }) => say(`factory BLE handshake refused (${reason})`));
  service.on("channelClosed", ({ code }) => say(`factory BLE channel closed${code === undefined ? "" : ` (${code})`}`));
  service.on("stateChanged", (change) => {
    const who = change.identity === undefined ? "" : ` ${describeIdentity(change.identity)}`;
    say(`factory state ${change.state}${who}`);
  });
  service.on("refused", (r) => say(`factory ${r.request} refused (${r.code})`));
  try {
    await service.start();
    io.out(`READY factory-ble ${bleMac} ${chip.chipId}`);
    say(`factory BLE for chip ${chip.chipId} (${chip.model} ${chip.firmware}) at ${bleMac}`);
    say(`${await shutdown}, closing`);
  } finally {
    await service.stop().catch(() => undefined);
    await air.close();
  }
}
