/**
 * `triadkit-sim device`: runs one simulated device from its state dir (its flash) with the real SDK.
 * Prints `READY device <productKey>/<deviceName> <cloud url>` on stdout once online; runs until SIGINT/SIGTERM.
 * Later issues add the modem, radio and factory port options to this same command.
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { type AlibabaTriad, isTriadkitError, parseAlibabaTriad, TriadkitError } from "@triadkit/protocol";
import { createDevice, createLogger, FileMessageStore, propertiesRecord, triadRecord } from "@triadkit/sdk";
import { type Command, InvalidArgumentError } from "commander";
import { SimulatedDeviceState } from "../flash/device-state.js";
import { type CliIo, CliUsageError } from "./io.js";

export interface DeviceCommandOptions {
  readonly stateDir: string;
  readonly cloud: string;
  readonly ca?: string;
  readonly triadFile?: string;
  readonly wireStyle: "node" | "c";
  readonly keepaliveSec: number;
  readonly json?: boolean;
}

/** Reads a triad from a file (JSON `{productKey, deviceName, deviceSecret}` or one CSV line `pk,dn,ds`). */
export async function readTriadFile(file: string): Promise<AlibabaTriad> {
  const text = (await readFile(file, "utf8")).trim();
  let raw: { productKey: string; deviceName: string; deviceSecret: string };
  if (text.startsWith("{")) {
    raw = JSON.parse(text) as typeof raw;
  } else {
    const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
    const last = (lines.at(-1) ?? "").split(",").map((c) => c.trim());
    raw = { productKey: last[0] ?? "", deviceName: last[1] ?? "", deviceSecret: last[2] ?? "" };
  }
  return parseAlibabaTriad(raw).value;
}

/** Loads the triad from flash; with `triadFile`, burns it first into a blank flash (never over a different one). */
export async function loadOrBurnTriad(
  state: SimulatedDeviceState,
  triadFile: string | undefined,
): Promise<AlibabaTriad> {
  const stored = await triadRecord.load(state.store);
  if (triadFile !== undefined) {
    const given = await readTriadFile(triadFile);
    if (stored === undefined) {
      await triadRecord.save(state.store, given);
      return given;
    }
    if (
      stored.productKey !== given.productKey ||
      stored.deviceName !== given.deviceName ||
      stored.deviceSecret !== given.deviceSecret
    ) {
      throw new TriadkitError("config.invalid", "the flash already holds a different triad; refusing to overwrite it", {
        productKey: stored.productKey,
        deviceName: stored.deviceName,
      });
    }
  }
  if (stored === undefined) {
    throw new TriadkitError(
      "config.invalid",
      "the flash holds no triad: burn one with --triad-file <file> (or the factory station)",
    );
  }
  return stored;
}

export function registerDeviceCommand(program: Command, io: CliIo): void {
  program
    .command("device")
    .description("run one simulated device from its state dir (its flash) with the real SDK")
    .requiredOption("--state-dir <dir>", "the device's state dir (flash.img, device.json, queue/)")
    .requiredOption("--cloud <url>", "the platform: mqtt://host:port or mqtts://host:port")
    .option("--ca <file>", "CA bundle (PEM) to verify an mqtts:// platform")
    .option("--triad-file <file>", "burn this triad (JSON or a CSV line pk,dn,ds) into a blank flash first")
    .option("--wire-style <style>", "login style: c (Link SDK C) or node (Node SDK)", parseStyle, "c")
    .option("--keepalive-sec <n>", "MQTT keepalive, 30–1200", parseKeepalive, 300)
    .option("--json", "log events as JSON lines on stderr")
    .action(async (options: DeviceCommandOptions) => {
      await runDevice(options, io);
    });
}

function parseStyle(value: string): "node" | "c" {
  if (value !== "node" && value !== "c") throw new InvalidArgumentError("must be c or node");
  return value;
}

function parseKeepalive(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 30 || n > 1200) throw new InvalidArgumentError("must be an integer 30–1200");
  return n;
}

async function runDevice(options: DeviceCommandOptions, io: CliIo): Promise<void> {
  if (!/^mqtts?:\/\//.test(options.cloud)) throw new CliUsageError("--cloud must be an mqtt:// or mqtts:// URL");
  const state = await SimulatedDeviceState.open(options.stateDir);
  try {
    let triad: AlibabaTriad;
    try {
      triad = await loadOrBurnTriad(state, options.triadFile);
    } catch (err) {
      if (isTriadkitError(err) && err.code === "config.invalid") throw new CliUsageError(err.message);
      throw err;
    }
    const queueDir = join(options.stateDir, "queue");
    await mkdir(queueDir, { recursive: true });
    const queue = await FileMessageStore.open(queueDir, { maxMessages: 1_000, maxBytes: 1 << 20 });
    const caPem = options.ca === undefined ? undefined : await readFile(options.ca, "utf8");
    const logger = createLogger({ level: "info", destination: { write: (line: string) => io.err(line.trimEnd()) } });
    const device = createDevice({
      triad,
      brokerUrl: options.cloud,
      wireStyle: options.wireStyle,
      keepaliveSec: options.keepaliveSec,
      ...(caPem === undefined ? {} : { caPem }),
      queue,
      logger,
    });
    let properties = (await propertiesRecord.load(state.store)) ?? {};
    device.onPropertySet(async (props) => {
      properties = { ...properties, ...props };
      await propertiesRecord.save(state.store, properties);
    });
    device.onPropertyGet((keys) =>
      Object.fromEntries(keys.filter((k) => k in properties).map((k) => [k, properties[k]])),
    );
    device.onService("Echo", (params) => params);
    let ready = false;
    device.on("online", () => {
      if (!ready) {
        ready = true;
        io.out(`READY device ${triad.productKey}/${triad.deviceName} ${options.cloud}`);
      }
    });
    void device.connect().catch(() => undefined);
    const signal = await io.shutdownSignal();
    io.err(`triadkit-sim device: ${signal}, closing`);
    await device.close();
    await queue.close();
  } finally {
    await state.close();
  }
}
