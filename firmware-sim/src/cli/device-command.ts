/**
 * `triadkit-sim device`: runs one simulated device from its state dir (its flash) with the real SDK.
 * Prints `READY device <productKey>/<deviceName> <cloud url>` on stdout once online; runs until SIGINT/SIGTERM.
 * With `--modem <dialect>` (or `--modem-port <path>`) the device also runs the binding reporter over a modem.
 * With `--factory-pty` it serves the factory protocol on a PTY (`PTY factory <path>`) and goes online (with `--cloud`)
 * once a station has burnt a triad; `--show` prints what it holds and exits (see ./device-factory.ts).
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type AlibabaTriad,
  derivePopVerifier,
  type ModemIdentity as FactoryModemIdentity,
  isTriadkitError,
  type PopVerifier,
  parseAlibabaTriad,
  parseIccid,
  parseImei,
  parseImsi,
  parsePop,
  TriadkitError,
  toHex,
} from "@triadkit/protocol";
import {
  CryptoRandom,
  createAtModem,
  createBindingReporter,
  createBleProvisioningService,
  createDevice,
  createLogger,
  createProductTableReceiver,
  FileMessageStore,
  loadDeviceCredentials,
  type Modem,
  type ModemDialect,
  NodeSerialLink,
  popVerifierRecord,
  propertiesRecord,
  reportShelfTags,
  SimulatedWifiManager,
  triadRecord,
  wifiRecord,
} from "@triadkit/sdk";
import { type Command, InvalidArgumentError } from "commander";
import { connectAir } from "../air/air-client.js";
import { SimulatedDeviceState } from "../flash/device-state.js";
import { createVirtualIdentity } from "../identity.js";
import { createVirtualModemPair } from "../modem/serve.js";
import {
  type ChipOptions,
  loadChipInfo,
  type ServedFactoryPty,
  serveFactoryPty,
  showDevice,
  waitForBurntTriad,
} from "./device-factory.js";
import { parseBleMac, serveFactoryBle } from "./device-factory-ble.js";
import { type ImprovPtyProvisioning, loadSimulatedNetworks, provisionOverImprovPty } from "./device-improv.js";
import { type CliIo, CliUsageError } from "./io.js";

export interface DeviceCommandOptions extends ChipOptions {
  readonly stateDir: string;
  /** Required unless `factoryPty` or `show`. */
  readonly cloud?: string;
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
  /** Join this virtual BLE air (`triadkit-sim air`) and wait for WiFi provisioning before going online. */
  readonly air?: string;
  /** The simulated WiFi's networks: `ssid<TAB>password` lines. */
  readonly wifiFile?: string;
  /** Burn the verifier of this PoP (text form) into a blank flash; the PoP itself is never stored. */
  readonly popFile?: string;
  /** The simulated WiFi's one network as `ssid:password` (visible in `ps`; prefer `wifiFile`). */
  readonly wifi?: string;
  /** Serve Improv serial on a PTY and wait for WiFi provisioning over it before going online. */
  readonly improvPty?: boolean;
  /** Serve the factory protocol on a PTY; with `cloud`, go online once a triad is burnt. */
  readonly factoryPty?: boolean;
  /** Serve the factory protocol over BLE on the air (`air`), until SIGINT/SIGTERM. */
  readonly factoryBle?: boolean;
  /** Print what the device holds (one JSON line, no secrets) and exit. */
  readonly show?: boolean;
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

/**
 * Loads the triad from flash (the factory record, else the legacy `triad` record); with `triadFile`, burns it first
 * into a blank flash as the legacy record (never over a different one).
 */
export async function loadOrBurnTriad(
  state: SimulatedDeviceState,
  triadFile: string | undefined,
): Promise<AlibabaTriad> {
  const held = await loadDeviceCredentials(state.store);
  if (held.genie !== undefined) {
    throw new TriadkitError("config.invalid", "the flash holds a Tmall Genie triad: no MQTT login for it");
  }
  const stored = held.triad;
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
    .option("--cloud <url>", "the platform: mqtt://host:port or mqtts://host:port (needed unless --factory-pty/--show)")
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
    .option("--air <url>", "join this virtual BLE air and wait for WiFi provisioning over BLE first")
    .option("--wifi-file <file>", "networks the simulated WiFi knows: ssid<TAB>password lines")
    .option("--pop-file <file>", "burn the verifier of this PoP (text) into a blank flash")
    .option("--wifi <ssid:password>", "the simulated WiFi's one network (the password shows in ps: prefer --wifi-file)")
    .option("--improv-pty", "serve Improv serial on a PTY (prints PTY improv <path>) and wait for WiFi over it first")
    .option("--factory-pty", "serve the factory protocol on a PTY (prints PTY factory <path>); online once burnt")
    .option(
      "--factory-ble",
      "serve the factory protocol over BLE on --air <url> (prints READY factory-ble <mac> <chip>)",
    )
    .option("--ble-mac <mac>", "BLE MAC of a new device (default: WiFi MAC + 2, kept in device.json)", parseBleMac)
    .option("--model <model>", "hardware model the device reports (kept in device.json; default triadkit-sim)")
    .option("--firmware <version>", "firmware version the device reports (kept in device.json; default 1.0.0)")
    .option("--chip-id <hex>", "chip id of a new device (default: generated once, kept in device.json)")
    .option("--show", "print what the device holds as one JSON line (never a secret) and exit")
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
  if (options.factoryBle) return runFactoryBle(options, io);
  const cloud = options.cloud;
  if (cloud === undefined && !options.factoryPty && !options.show) {
    throw new CliUsageError("--cloud <url> is required (unless --factory-pty or --show)");
  }
  if (cloud !== undefined && !/^mqtts?:\/\//.test(cloud)) {
    throw new CliUsageError("--cloud must be an mqtt:// or mqtts:// URL");
  }
  if (options.factoryPty && (options.triadFile !== undefined || options.improvPty)) {
    // The factory station burns the triad; the factory protocol and Improv would both own the console UART.
    throw new CliUsageError("--factory-pty cannot be combined with --triad-file or --improv-pty");
  }
  if (options.air !== undefined && options.improvPty) throw new CliUsageError("give --air or --improv-pty, not both");
  // Listening for SIGINT/SIGTERM replaces the default exit, so only once every wait before the main loop hears it.
  const early = options.factoryPty && !options.show ? io.shutdownSignal() : undefined;
  const state = await SimulatedDeviceState.open(options.stateDir);
  let factory: ServedFactoryPty | undefined;
  try {
    if (options.show) return await showDevice(state, options, io);
    if (early !== undefined) {
      const chip = await loadChipInfo(state, options);
      factory = await serveFactoryPty(state, chip, io, factoryModem(options));
    }
    let triad: AlibabaTriad | undefined;
    try {
      triad =
        factory === undefined || early === undefined
          ? await loadOrBurnTriad(state, options.triadFile)
          : await waitForBurntTriad(state, factory, early, io);
    } catch (err) {
      if (isTriadkitError(err) && err.code === "config.invalid") throw new CliUsageError(err.message);
      throw err;
    }
    const joined =
      triad !== undefined && cloud !== undefined && options.air !== undefined
        ? await provisionOverAir(state, triad, options, io, early)
        : true;
    if (triad === undefined || cloud === undefined || !joined) {
      io.err(`triadkit-sim device: ${await (early ?? io.shutdownSignal())}, closing`);
      return;
    }
    let improv: ImprovPtyProvisioning | undefined;
    if (options.improvPty) {
      const networks = await loadSimulatedNetworks(options, io);
      if (networks === undefined) throw new CliUsageError("--improv-pty needs --wifi-file or --wifi");
      improv = await provisionOverImprovPty(state, triad.deviceName, networks, io);
    }
    const queueDir = join(options.stateDir, "queue");
    await mkdir(queueDir, { recursive: true });
    const queue = await FileMessageStore.open(queueDir, { maxMessages: 1_000, maxBytes: 1 << 20 });
    const caPem = options.ca === undefined ? undefined : await readFile(options.ca, "utf8");
    const logger = createLogger({ level: "info", destination: { write: (line: string) => io.err(line.trimEnd()) } });
    const device = createDevice({
      triad,
      brokerUrl: cloud,
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
    // The shelf application's product table (UpdateProductTable): kept in the flash, logged when it arrives.
    const products = createProductTableReceiver({ device, store: state.store, logger });
    products.on("productTable", (t) =>
      io.err(
        `triadkit-sim device: product table v${t.version} (${t.scope.type} ${t.scope.id}, ${t.items.length} items) from ${t.source}`,
      ),
    );
    products.on("refused", (r) => io.err(`triadkit-sim device: product table refused (${r.code})`));
    await products.ready;
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
        io.out(`READY device ${triad.productKey}/${triad.deviceName} ${cloud}`);
      }
    });
    const shelf = (await loadDeviceCredentials(state.store)).record?.shelf;
    if (shelf !== undefined) {
      // A smart shelf reports its store id and device code each time it comes online (docs/top.md).
      device.on("online", () => {
        reportShelfTags(device, shelf).catch((err: unknown) =>
          io.err(`triadkit-sim device: shelf tags not reported (${isTriadkitError(err) ? err.code : "error"})`),
        );
      });
    }
    void device.connect().catch(() => undefined);
    await reporter?.start();
    const signal = await (early ?? io.shutdownSignal());
    io.err(`triadkit-sim device: ${signal}, closing`);
    await reporter?.stop();
    await improv?.close();
    await modem?.close();
    await device.close();
    await queue.close();
  } finally {
    await factory?.close();
    await state.close();
  }
}

/** `hello`'s modem identity with `--modem <dialect>`: read over AT from the device's virtual modem. */
/** `--factory-ble`: only with `--air`; not with the options that give the device a triad or a console otherwise. */
async function runFactoryBle(options: DeviceCommandOptions, io: CliIo): Promise<void> {
  if (options.air === undefined) throw new CliUsageError("--factory-ble needs --air <url> (triadkit-sim air)");
  if (options.factoryPty || options.improvPty || options.triadFile !== undefined || options.cloud !== undefined) {
    throw new CliUsageError(
      "--factory-ble cannot be combined with --factory-pty, --improv-pty, --triad-file or --cloud",
    );
  }
  const shutdown = io.shutdownSignal();
  const state = await SimulatedDeviceState.open(options.stateDir);
  try {
    if (options.show) return await showDevice(state, options, io);
    await serveFactoryBle(state, { ...options, air: options.air }, io, shutdown, factoryModem(options));
  } finally {
    await state.close();
  }
}

function factoryModem(options: DeviceCommandOptions): (() => Promise<FactoryModemIdentity | undefined>) | undefined {
  const dialect = options.modem;
  if (dialect === undefined) return undefined;
  return async () => {
    const config = await loadModemConfig(options.stateDir, dialect, options, "a1Factory00");
    const modem = await createAtModem({ link: createVirtualModemPair(config).hostLink, dialect: "auto" });
    try {
      const { imei, iccid, imsi } = await modem.readIdentity();
      return { imei, iccid, ...(imsi === undefined ? {} : { imsi }) };
    } finally {
      await modem.close();
    }
  };
}

/**
 * Until the flash holds WiFi credentials, the device advertises on the air and waits for a provisioner
 * (`triadkit-sim provision`); then it stores the network and resolves true, and the device goes online. Resolves
 * false when `shutdown` comes first.
 */
async function provisionOverAir(
  state: SimulatedDeviceState,
  triad: AlibabaTriad,
  options: DeviceCommandOptions,
  io: CliIo,
  shutdown?: Promise<NodeJS.Signals>,
): Promise<boolean> {
  const networks = await loadSimulatedNetworks(options, io);
  if (networks === undefined)
    throw new CliUsageError("--air needs --wifi-file or --wifi (the networks the simulated WiFi knows)");
  const wifi = new SimulatedWifiManager({ networks, joinDelayMs: 200 });
  const stored = await wifiRecord.load(state.store);
  if (stored !== undefined) {
    const joined = await wifi.join(stored);
    if (joined.ok) return true;
    io.err(`triadkit-sim device: stored WiFi ${stored.ssid} did not join (${joined.reason}); provisioning again`);
  }
  let verifier: PopVerifier | undefined = (await loadDeviceCredentials(state.store)).popVerifier;
  if (verifier === undefined && options.popFile !== undefined) {
    const pop = parsePop((await readFile(options.popFile, "utf8")).trim());
    verifier = derivePopVerifier(pop, new CryptoRandom().bytes(16));
    await popVerifierRecord.save(state.store, { salt: toHex(verifier.salt), key: toHex(verifier.key) });
  }
  if (verifier === undefined) throw new CliUsageError("the flash holds no PoP verifier: give --pop-file <file> once");
  const air = await connectAir(options.air as string);
  // A stable random-static-looking BLE address per device (top two bits set).
  const digest = createHash("sha256").update(triad.deviceName).digest();
  digest[0] = (digest[0] as number) | 0xc0;
  const address = toHex(new Uint8Array(digest.subarray(0, 6)));
  const service = createBleProvisioningService({
    peripheral: air.peripheral({ address }),
    wifi,
    verifier,
    info: { firmware: "triadkit-sim", productKey: triad.productKey, deviceName: triad.deviceName },
  });
  service.on("popFailed", (f) =>
    io.err(`triadkit-sim device: wrong PoP (${f.failures}); locked for ${f.lockedForMs} ms`),
  );
  service.on("joinFailed", (f) => io.err(`triadkit-sim device: WiFi ${f.ssid} refused (${f.reason})`));
  await service.start();
  io.out(`READY air-device ${address} ${triad.deviceName}`);
  try {
    const joined = await Promise.race([
      new Promise<{ ssid: string }>((resolve) => service.once("joined", resolve)),
      ...(shutdown === undefined ? [] : [shutdown.then(() => undefined)]),
    ]);
    if (joined === undefined) return false;
    const network = networks.find((n) => n.ssid === joined.ssid);
    if (network) await wifiRecord.save(state.store, { ssid: network.ssid, password: network.password });
    io.err(`triadkit-sim device: WiFi ${joined.ssid} joined over BLE provisioning`);
    await service.centralGone(); // let the provisioner read its last status before the radio goes quiet
    return true;
  } finally {
    await service.stop().catch(() => undefined);
    await air.close();
  }
}
