/**
 * `triadkit-sim provision`: stands in for the phone app. Finds the device (on the virtual air over BLE, or at its
 * SoftAP URL), runs the secure session with the PoP from a file, gives it WiFi credentials (password from a file or
 * stdin), and prints each step. Secrets never come from argv (visible in `ps`) and are never printed.
 */
import { readFile } from "node:fs/promises";
import {
  decodeProvisioningAdvert,
  isTriadkitError,
  type ProvisioningAdvert,
  parsePop,
  toHex,
} from "@triadkit/protocol";
import {
  BleProvisioningClient,
  CryptoRandom,
  ImprovSerialClient,
  NodeSerialLink,
  type ProvisioningClient,
  provisionWifi,
  SoftApProvisioningClient,
} from "@triadkit/sdk";
import { type Command, InvalidArgumentError } from "commander";
import { connectAir } from "../air/air-client.js";
import { type CliIo, CliUsageError } from "./io.js";

type Transport = "ble" | "softap" | "improv-serial";

interface ProvisionOptions {
  readonly device?: string;
  readonly popFile?: string;
  readonly port?: string;
  readonly ssid: string;
  readonly passwordFile: string;
  readonly transport: Transport;
  readonly air?: string;
  readonly url?: string;
  readonly json?: boolean;
  readonly timeoutSec: number;
}

type Step = (name: string, detail?: Record<string, unknown>) => void;

export function registerProvisionCommand(program: Command, io: CliIo): void {
  program
    .command("provision")
    .description("provision a simulated device's WiFi over the virtual BLE air or SoftAP (stands in for the phone app)")
    .option("--pop-file <file>", "ble, softap: file holding the PoP text from the device's label (TKP1-…)")
    .requiredOption("--ssid <ssid>", "the network to join")
    .requiredOption("--password-file <file>", "file holding the WiFi password (- for stdin)")
    .option("--transport <t>", "ble, softap or improv-serial", parseTransport, "ble")
    .option("--port <path>", "improv-serial: the serial port (or `device --improv-pty`'s PTY)")
    .option("--device <name|address>", "ble: the device's DeviceName or its BLE address (12 hex)")
    .option("--air <url>", "ble: the virtual air, air://127.0.0.1:<port> (`triadkit-sim air`)")
    .option("--url <url>", "softap: the device's provisioning server, http://host:port")
    .option("--timeout-sec <n>", "give up after this long", (v) => Number(v), 60)
    .option("--json", "print each step as a JSON line")
    .action(async (options: ProvisionOptions) => {
      await provision(options, io);
    });
}

function parseTransport(value: string): Transport {
  if (value !== "ble" && value !== "softap" && value !== "improv-serial") {
    throw new InvalidArgumentError("ble, softap or improv-serial");
  }
  return value;
}

/** Checks the options the chosen transport needs before any secret is read or any connection made. */
function checkImprovOptions(options: ProvisionOptions): boolean {
  if (options.transport !== "improv-serial") {
    if (options.port !== undefined) throw new CliUsageError("--port is for --transport improv-serial");
    if (options.popFile === undefined)
      throw new CliUsageError(`--transport ${options.transport} needs --pop-file <file>`);
    return false;
  }
  if (options.port === undefined) throw new CliUsageError("--transport improv-serial needs --port <path>");
  if (options.air !== undefined || options.url !== undefined) {
    throw new CliUsageError("--air and --url are not for --transport improv-serial");
  }
  return true;
}

function checkTransportOptions(options: ProvisionOptions): void {
  if (options.transport === "ble") {
    if (options.device === undefined || options.air === undefined) {
      throw new CliUsageError("--transport ble needs --device <name|address> and --air <url>");
    }
    if (options.url !== undefined) throw new CliUsageError("--url is for --transport softap");
    return;
  }
  if (options.url === undefined) throw new CliUsageError("--transport softap needs --url http://host:port");
  if (options.air !== undefined) throw new CliUsageError("--air is for --transport ble");
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new CliUsageError("--url must be an http:// URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new CliUsageError("--url must be an http:// URL");
}

async function readSecret(file: string): Promise<string> {
  if (file === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks)
      .toString("utf8")
      .replace(/\r?\n$/, "");
  }
  return (await readFile(file, "utf8")).replace(/\r?\n$/, "");
}

async function provision(options: ProvisionOptions, io: CliIo): Promise<void> {
  const improv = checkImprovOptions(options);
  if (!improv) checkTransportOptions(options);
  const step: Step = (name: string, detail: Record<string, unknown> = {}) =>
    io.out(
      options.json
        ? JSON.stringify({ step: name, ...detail })
        : `${name}${Object.keys(detail).length ? ` ${JSON.stringify(detail)}` : ""}`,
    );
  if (improv) {
    // Improv serial has no PoP: physical access to the serial port is the authorisation (see docs/provisioning.md).
    const password = await readSecret(options.passwordFile);
    const link = await NodeSerialLink.open(options.port as string);
    const client = new ImprovSerialClient(link);
    try {
      const info = await client.deviceInfo();
      step("found", { port: options.port, device: info.deviceName, firmware: info.firmware });
      const redirect = await client.sendWifi(options.ssid, password, options.timeoutSec * 1000);
      step("status", {
        state: "connected",
        roundTrips: client.roundTrips,
        ...(redirect[0] ? { redirect: redirect[0] } : {}),
      });
    } finally {
      client.close();
      await link.close();
    }
    return;
  }
  let pop: Uint8Array;
  try {
    pop = parsePop((await readFile(options.popFile as string, "utf8")).trim());
  } catch (err) {
    throw new CliUsageError(isTriadkitError(err) ? err.message : `cannot read --pop-file: ${(err as Error).message}`);
  }
  const password = await readSecret(options.passwordFile);
  if (options.transport === "softap") {
    const url = (options.url as string).replace(/\/+$/, "");
    const res = await fetch(`${url}/prov/status`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`no provisioning server at ${url} (HTTP ${res.status})`);
    const state = (await res.json()) as { provisioned?: unknown; locked?: unknown };
    step("found", { url, flags: { provisioned: state.provisioned === true, locked: state.locked === true } });
    const client = await SoftApProvisioningClient.connect({ url, pop });
    step("session", { roundTrips: client.roundTrips });
    await finish(client, options, password, step);
    return;
  }
  const air = await connectAir(options.air as string);
  try {
    const central = air.central();
    const device = options.device as string;
    const wanted = device.toLowerCase().replace(/[:-]/g, "");
    let address: string | undefined;
    let flags: ProvisioningAdvert | undefined;
    const controller = new AbortController();
    await central.scan({ timeoutMs: 5_000, signal: controller.signal }, (found) => {
      const name = found.advertisement.localName ?? "";
      if (found.address === wanted || name === `TK-${device.slice(-8)}`) {
        address = found.address;
        flags = advertFlags(found.advertisement.manufacturerData);
        controller.abort();
      }
    });
    if (address === undefined) throw new Error(`device ${device} not found on the air`);
    step("found", { address, ...(flags === undefined ? {} : { flags }) });
    const client = await BleProvisioningClient.connect({ central, address, pop });
    step("session", { roundTrips: client.roundTrips, mtu: client.mtu });
    await finish(client, options, password, step);
  } finally {
    await air.close();
  }
}

/** The advertised state flags, or undefined when the advertisement carries none (or not ours). */
function advertFlags(data: Uint8Array | undefined): ProvisioningAdvert | undefined {
  if (data === undefined) return undefined;
  try {
    return decodeProvisioningAdvert(data);
  } catch {
    return undefined;
  }
}

async function finish(client: ProvisioningClient, options: ProvisionOptions, password: string, step: Step) {
  const token = new CryptoRandom().bytes(16);
  try {
    const result = await provisionWifi(client, {
      ssid: options.ssid,
      password,
      bindToken: token,
      pollMs: 200,
      maxPolls: options.timeoutSec * 5,
    });
    const status = result.status;
    step("status", {
      state: status.type === "status" ? status.state : status.type,
      ...(status.type === "status" && status.reason ? { reason: status.reason } : {}),
      roundTrips: result.roundTrips,
      bindToken: toHex(token),
    });
    if (status.type !== "status" || status.state !== "connected")
      throw new Error("provisioning did not connect the device");
  } finally {
    await client.close();
  }
}
