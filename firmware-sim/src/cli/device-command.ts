/**
 * `triadkit-sim device`: runs one simulated device from its state dir (its flash) with the real SDK.
 * Prints `READY device <productKey>/<deviceName> <cloud url>` on stdout once online; runs until SIGINT/SIGTERM.
 * With `--modem <dialect>` (or `--modem-port <path>`) the device also runs the binding reporter over a modem.
 * Later issues add the radio and factory port options to this same command.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type AlibabaTriad,
  isTriadkitError,
  parseAlibabaTriad,
  parseIccid,
  parseImei,
  parseImsi,
  TriadkitError,
} from "@triadkit/protocol";
import {
  CryptoRandom,
  createAtModem,
  createBindingReporter,
  createDevice,
  createLogger,
  FileMessageStore,
  type Modem,
  type ModemDialect,
  NodeSerialLink,
  propertiesRecord,
  triadRecord,
} from "@triadkit/sdk";
import { type Command, InvalidArgumentError } from "commander";
import { SimulatedDeviceState } from "../flash/device-state.js";
import { createVirtualIdentity } from "../identity.js";
import { createVirtualModemPair } from "../modem/serve.js";
import { type CliIo, CliUsageError } from "./io.js";

export interface DeviceCommandOptions {
  readonly stateDir: string;
  readonly cloud: string;
  readonly ca?: string;
  readonly triadFile?: string;
  readonly wireStyle: "node" | "c";
  readonly keepaliveSec: number;
  readonly json?: boolean;
  /** Give the device an in-process virtual modem of this dialect (identity kept in `<state-dir>/modem.json`). */
  readonly modem?: ModemDialect;
  /** Or use a modem on a serial line (a real one, or `triadkit-sim modem`'s PTY). */
  readonly modemPort?: string;
  readonly imei?: string;
  readonly iccid?: string;
  readonly imsi?: string;
  readonly heartbeatSec: number;
}

/** The virtual modem's hardware identity: the modem's IMEI and the card in its slot. Not secret. */
interface VirtualModemConfig {
  readonly dialect: ModemDialect;
  readonly imei: string;
  readonly iccid: string;
  readonly imsi: string;
}

const DIALECTS: readonly ModemDialect[] = ["generic", "quectel", "simcom", "sim800", "ml307"];

/**
 * Loads `<state-dir>/modem.json` (created on first use with a fresh valid identity), applies `--imei/--iccid/--imsi`
 * (a different card = a SIM swap, as on a real board) and writes it back atomically.
 */
export async function loadModemConfig(
  stateDir: string,
  dialect: ModemDialect,
  overrides: { imei?: string | undefined; iccid?: string | undefined; imsi?: string | undefined },
  productKey: string,
): Promise<VirtualModemConfig> {
  const file = join(stateDir, "modem.json");
  let current: VirtualModemConfig | undefined;
  try {
    current = JSON.parse(await readFile(file, "utf8")) as VirtualModemConfig;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const fresh = createVirtualIdentity(new CryptoRandom(), { productKey });
  const base = current ?? { dialect, imei: fresh.imei, iccid: fresh.iccid, imsi: fresh.imsi };
  const next: VirtualModemConfig = {
    dialect,
    imei: overrides.imei === undefined ? base.imei : parseImei(overrides.imei).value,
    iccid: overrides.iccid === undefined ? base.iccid : parseIccid(overrides.iccid).value.iccid,
    imsi: overrides.imsi === undefined ? base.imsi : parseImsi(overrides.imsi).value.imsi,
  };
  await writeFile(`${file}.tmp`, `${JSON.stringify(next, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
  return next;
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
    .option("--modem <dialect>", `give the device a virtual modem: ${DIALECTS.join(", ")}`, parseDialect)
    .option("--modem-port <path>", "use the modem on this serial port instead (e.g. the PTY of `triadkit-sim modem`)")
    .option("--imei <imei>", "the virtual modem's IMEI (default: kept in modem.json, generated once)")
    .option("--iccid <iccid>", "the card in the virtual modem (a different one than before = a SIM swap)")
    .option("--imsi <imsi>", "the card's IMSI (give it with --iccid)")
    .option("--heartbeat-sec <n>", "binding heartbeat interval, 10–86400", parseHeartbeat, 300)
    .action(async (options: DeviceCommandOptions) => {
      await runDevice(options, io);
    });
}

function parseDialect(value: string): ModemDialect {
  if (!(DIALECTS as readonly string[]).includes(value))
    throw new InvalidArgumentError(`must be one of ${DIALECTS.join(", ")}`);
  return value as ModemDialect;
}

function parseHeartbeat(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 10 || n > 86_400) throw new InvalidArgumentError("must be an integer 10–86400");
  return n;
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
    let modem: Modem | undefined;
    if (options.modem !== undefined && options.modemPort !== undefined) {
      throw new CliUsageError("give either --modem (virtual) or --modem-port (a serial port), not both");
    }
    if (options.modem !== undefined) {
      let config: VirtualModemConfig;
      try {
        config = await loadModemConfig(options.stateDir, options.modem, options, triad.productKey);
      } catch (err) {
        if (isTriadkitError(err)) throw new CliUsageError(err.message);
        throw err;
      }
      const { hostLink } = createVirtualModemPair(config);
      modem = await createAtModem({ link: hostLink, dialect: "auto" });
      io.err(`triadkit-sim device: virtual ${config.dialect} modem, IMEI ${config.imei}, ICCID ${config.iccid}`);
    } else if (options.modemPort !== undefined) {
      modem = await createAtModem({ link: await NodeSerialLink.open(options.modemPort), dialect: "auto" });
    }
    const reporter =
      modem === undefined
        ? undefined
        : createBindingReporter({ device, modem, store: state.store, intervalSec: options.heartbeatSec, logger });
    reporter?.on("suspended", (info) =>
      io.err(`triadkit-sim device: card suspended by the platform (${info.reason ?? "?"})`),
    );
    let ready = false;
    device.on("online", () => {
      if (!ready) {
        ready = true;
        io.out(`READY device ${triad.productKey}/${triad.deviceName} ${options.cloud}`);
      }
    });
    void device.connect().catch(() => undefined);
    await reporter?.start();
    const signal = await io.shutdownSignal();
    io.err(`triadkit-sim device: ${signal}, closing`);
    await reporter?.stop();
    await modem?.close();
    await device.close();
    await queue.close();
  } finally {
    await state.close();
  }
}
