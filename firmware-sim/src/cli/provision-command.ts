/**
 * `triadkit-sim provision`: stands in for the phone app. Finds the device on the virtual air, runs the secure
 * session with the PoP from a file, gives it WiFi credentials (password from a file or stdin), and prints each step.
 * Secrets never come from argv (visible in `ps`) and are never printed.
 */
import { readFile } from "node:fs/promises";
import { isTriadkitError, parsePop, toHex } from "@triadkit/protocol";
import { BleProvisioningClient, CryptoRandom, provisionWifi } from "@triadkit/sdk";
import { type Command, InvalidArgumentError } from "commander";
import { connectAir } from "../air/air-client.js";
import { type CliIo, CliUsageError } from "./io.js";

interface ProvisionOptions {
  readonly device: string;
  readonly popFile: string;
  readonly ssid: string;
  readonly passwordFile: string;
  readonly transport: "ble";
  readonly air: string;
  readonly json?: boolean;
  readonly timeoutSec: number;
}

export function registerProvisionCommand(program: Command, io: CliIo): void {
  program
    .command("provision")
    .description("provision a simulated device's WiFi over the virtual BLE air (stands in for the phone app)")
    .requiredOption("--device <name|address>", "the device's DeviceName or its BLE address (12 hex)")
    .requiredOption("--pop-file <file>", "file holding the PoP text from the device's label (TKP1-…)")
    .requiredOption("--ssid <ssid>", "the network to join")
    .requiredOption("--password-file <file>", "file holding the WiFi password (- for stdin)")
    .requiredOption("--air <url>", "the virtual air: air://127.0.0.1:<port> (`triadkit-sim air`)")
    .option("--transport <t>", "ble (softap and improv-serial: see the docs)", parseTransport, "ble")
    .option("--timeout-sec <n>", "give up after this long", (v) => Number(v), 60)
    .option("--json", "print each step as a JSON line")
    .action(async (options: ProvisionOptions) => {
      await provision(options, io);
    });
}

function parseTransport(value: string): "ble" {
  if (value !== "ble") throw new InvalidArgumentError("only ble is available from this command so far");
  return value;
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
  const step = (name: string, detail: Record<string, unknown> = {}) =>
    io.out(
      options.json
        ? JSON.stringify({ step: name, ...detail })
        : `${name}${Object.keys(detail).length ? ` ${JSON.stringify(detail)}` : ""}`,
    );
  let pop: Uint8Array;
  try {
    pop = parsePop((await readFile(options.popFile, "utf8")).trim());
  } catch (err) {
    throw new CliUsageError(isTriadkitError(err) ? err.message : `cannot read --pop-file: ${(err as Error).message}`);
  }
  const password = await readSecret(options.passwordFile);
  const air = await connectAir(options.air);
  try {
    const central = air.central();
    const wanted = options.device.toLowerCase().replace(/[:-]/g, "");
    let address: string | undefined;
    const controller = new AbortController();
    await central.scan({ timeoutMs: 5_000, signal: controller.signal }, (found) => {
      const name = found.advertisement.localName ?? "";
      if (found.address === wanted || name === `TK-${options.device.slice(-8)}`) {
        address = found.address;
        controller.abort();
      }
    });
    if (address === undefined) throw new Error(`device ${options.device} not found on the air`);
    step("found", { address });
    const client = await BleProvisioningClient.connect({ central, address, pop });
    step("session", { roundTrips: client.roundTrips, mtu: client.mtu });
    const token = new CryptoRandom().bytes(16);
    const result = await provisionWifi(client, {
      ssid: options.ssid,
      password,
      bindToken: token,
      pollMs: 200,
      maxPolls: options.timeoutSec * 5,
    });
    await client.close();
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
    await air.close();
  }
}
