/**
 * `triadkit-sim air`: serves a virtual BLE radio over TCP until SIGINT/SIGTERM, so a simulated peripheral in one
 * process and a central (the provisioning station) in another meet. Prints `READY air://host:port` on stdout once
 * listening; connections and disconnects go to stderr. Loopback by default: the air has no authentication.
 */
import { isTriadkitError } from "@triadkit/protocol";
import { SeededRandom } from "@triadkit/sdk";
import { type Command, InvalidArgumentError } from "commander";
import { type AirServer, type AirServerEvent, startAirServer } from "../air/air-server.js";
import { type CliIo, CliUsageError } from "./io.js";

export interface AirCommandOptions {
  readonly port: number;
  readonly host: string;
  readonly mtu: number;
  readonly latencyMs: number;
  readonly lossRate: number;
  readonly seed?: number;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError("must be a port number 0–65535");
  return n;
}

function parseNumber(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be a number ${min}–${max}`);
    }
    return n;
  };
}

function parseInteger(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value) || n < min || n > max)
      throw new InvalidArgumentError(`must be an integer ${min}–${max}`);
    return n;
  };
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

function describe(event: AirServerEvent): string {
  switch (event.type) {
    case "client":
      return `client ${event.client} from ${event.remote}`;
    case "clientGone":
      return `client ${event.client} gone (${event.reason})`;
    case "connect":
      return `connect peripheral=${event.peripheral} central=${event.central} mtu=${event.mtu}`;
    case "disconnect":
      return `disconnect peripheral=${event.peripheral} central=${event.central}`;
  }
}

export async function runAir(opts: AirCommandOptions, io: CliIo): Promise<void> {
  if (!LOOPBACK.test(opts.host)) {
    io.err(`warning: serving the air on ${opts.host}: anyone who can reach it can join (there is no authentication)`);
  }
  let server: AirServer | undefined;
  try {
    server = await startAirServer({
      host: opts.host,
      port: opts.port,
      air: {
        mtu: opts.mtu,
        latencyMs: opts.latencyMs,
        lossRate: opts.lossRate,
        ...(opts.seed === undefined ? {} : { random: new SeededRandom(opts.seed) }),
      },
      onEvent: (event) => io.err(`${new Date().toISOString()} ${describe(event)}`),
    });
    io.out(`READY ${server.url}`);
    const signal = await io.shutdownSignal();
    io.err(`${signal}: closing`);
  } catch (err) {
    if (isTriadkitError(err) && err.code === "config.invalid") throw new CliUsageError(err.message);
    throw err;
  } finally {
    await server?.close();
  }
}

export function registerAirCommand(program: Command, io: CliIo): void {
  program
    .command("air")
    .description("serve a virtual BLE radio over TCP so peripherals and centrals in different processes meet")
    .option("--port <n>", "TCP port (0: a free port; the READY line says which)", parsePort, 0)
    .option("--host <addr>", "address to listen on (loopback by default; the air has no authentication)", "127.0.0.1")
    .option("--mtu <n>", "largest ATT MTU on this air, 23–517", parseInteger(23, 517), 247)
    .option(
      "--latency-ms <ms>",
      "one-way delay of every packet (about one connection interval)",
      parseNumber(0, 60_000),
      0,
    )
    .option("--loss-rate <p>", "probability 0–1 that a packet is lost", parseNumber(0, 1), 0)
    .option("--seed <n>", "seed for the loss model (default: a fixed seed)", parseInteger(-2147483648, 4294967295))
    .action((opts: AirCommandOptions) => runAir(opts, io));
}
