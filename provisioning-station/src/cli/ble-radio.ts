/**
 * The radio a BLE burn scans with, for `burn --ble` and `serve`: the virtual air (`--air <url>`, `triadkit-sim air`),
 * or the PC's own adapter through noble (HCI) or node-ble (BlueZ over D-Bus). The native adapters load only when
 * chosen; a PC without an adapter gets `ble.unavailable` when the radio is opened.
 */
import { type BleCentral, CliUsageError, connectAir, createNobleCentral, createNodeBleCentral } from "@triadkit/sdk";

export type BleAdapter = "air" | "noble" | "node-ble";

export interface BleRadio {
  readonly central: BleCentral;
  close(): Promise<void>;
}

export function parseBleAdapter(value: string): BleAdapter {
  if (value !== "air" && value !== "noble" && value !== "node-ble") {
    throw new CliUsageError(`--ble-adapter must be air, noble or node-ble: ${value}`);
  }
  return value;
}

/**
 * Which radio the options name: `--ble-adapter`, or `air` when only `--air` is given; undefined when neither is.
 * `--air` goes with the air adapter and only with it (a usage error otherwise).
 */
export function chooseBleAdapter(options: {
  readonly bleAdapter?: BleAdapter;
  readonly air?: string;
}): BleAdapter | undefined {
  const adapter = options.bleAdapter ?? (options.air === undefined ? undefined : "air");
  if (adapter !== undefined && (adapter === "air") !== (options.air !== undefined)) {
    throw new CliUsageError("--air <url> goes with --ble-adapter air (the default), and only with it");
  }
  return adapter;
}

export async function openBleRadio(
  adapter: BleAdapter,
  airUrl: string | undefined,
  timeoutMs: number,
): Promise<BleRadio> {
  if (adapter === "noble") return { central: await createNobleCentral(), close: async () => undefined };
  if (adapter === "node-ble") {
    return {
      central: await createNodeBleCentral({ timeoutMs: Math.max(timeoutMs, 5000) }),
      close: async () => undefined,
    };
  }
  const air = await connectAir(airUrl as string);
  return { central: air.central(), close: () => air.close() };
}
