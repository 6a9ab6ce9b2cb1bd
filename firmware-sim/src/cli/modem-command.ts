/**
 * `triadkit-sim modem`: serves one virtual modem on a PTY until SIGINT/SIGTERM. Prints `PTY <path>` on stdout once
 * serving (the host side: open it with the SDK, the station or any serial terminal); with `--verbose`, logs the AT
 * traffic to stderr. IMEI, ICCID and IMSI are identifiers, not secrets.
 */
import {
  checkIccidImsiOperators,
  isTriadkitError,
  parseIccid,
  parseImei,
  parseImsi,
  type Warning,
} from "@triadkit/protocol";
import type { ModemDialect } from "@triadkit/sdk";
import { type Command, InvalidArgumentError } from "commander";
import { serveModemOnPty } from "../modem/serve.js";
import { MODEM_DIALECTS, type TrafficDirection } from "../modem/types.js";
import { trafficText } from "../modem/virtual-modem.js";
import { type CliIo, CliUsageError } from "./io.js";

export interface ModemCommandOptions {
  readonly dialect: ModemDialect;
  readonly imei: string;
  readonly iccid: string;
  readonly imsi: string;
  readonly csq: number;
  readonly model?: string;
  /** `--no-sim`: start with an empty slot. */
  readonly sim: boolean;
  readonly verbose?: boolean;
}

function parseDialect(value: string): ModemDialect {
  if (!(MODEM_DIALECTS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`must be one of ${MODEM_DIALECTS.join(", ")}`);
  }
  return value as ModemDialect;
}

function parseCsq(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !(n <= 31 || n === 99)) throw new InvalidArgumentError("must be 0–31 or 99");
  return n;
}

/** Runs a protocol validator; its error becomes a usage error naming the option. */
function validated<T>(option: string, parse: () => { value: T; warnings: readonly Warning[] }, io: CliIo): T {
  try {
    const { value, warnings } = parse();
    for (const w of warnings) io.err(`warning: ${option}: ${w.message} (${w.code})`);
    return value;
  } catch (err) {
    if (isTriadkitError(err)) throw new CliUsageError(`${option}: ${err.message}`);
    throw err;
  }
}

/** One log line per chunk: direction, then the bytes as a JSON string (so \r and \n show). */
function trafficLogger(io: CliIo): (direction: TrafficDirection, data: Uint8Array) => void {
  return (direction, data) => io.err(`${direction === "in" ? "AT<" : "AT>"} ${JSON.stringify(trafficText(data))}`);
}

export async function runModem(opts: ModemCommandOptions, io: CliIo): Promise<void> {
  const imei = validated("--imei", () => parseImei(opts.imei), io);
  const iccid = validated("--iccid", () => parseIccid(opts.iccid), io).iccid;
  const imsi = validated("--imsi", () => parseImsi(opts.imsi), io).imsi;
  for (const w of checkIccidImsiOperators(iccid, imsi)) io.err(`warning: ${w.message} (${w.code})`);
  if (opts.model !== undefined && !/^[\x20-\x7e]{1,64}$/.test(opts.model)) {
    throw new CliUsageError("--model must be 1–64 printable ASCII characters");
  }
  const served = await serveModemOnPty({
    dialect: opts.dialect,
    imei,
    iccid,
    imsi,
    csq: opts.csq,
    simPresent: opts.sim,
    ...(opts.model === undefined ? {} : { model: opts.model }),
    ...(opts.verbose ? { onTraffic: trafficLogger(io) } : {}),
  });
  try {
    const { state } = served.modem;
    io.err(
      `modem ${opts.dialect} (${state.manufacturer} ${state.model}) imei=${imei} iccid=${iccid} imsi=${imsi}` +
        ` sim=${opts.sim ? "inserted" : "absent"} csq=${opts.csq} on ${served.path}`,
    );
    io.out(`PTY ${served.path}`);
    const signal = await io.shutdownSignal();
    io.err(`${signal}: closing`);
  } finally {
    await served.close();
  }
}

export function registerModemCommand(program: Command, io: CliIo): void {
  program
    .command("modem")
    .description("serve a virtual cellular modem (AT commands) on a pseudo-terminal")
    .requiredOption("--dialect <dialect>", `AT dialect: ${MODEM_DIALECTS.join(" | ")}`, parseDialect)
    .requiredOption("--imei <imei>", "IMEI the modem reports (15 digits, Luhn-valid)")
    .requiredOption("--iccid <iccid>", "ICCID of the SIM card (18–20 characters, hex letters allowed)")
    .requiredOption("--imsi <imsi>", "IMSI of the SIM card (6–15 digits)")
    .option("--csq <rssi>", "signal as AT+CSQ rssi: 0–31, or 99 for unknown", parseCsq, 20)
    .option("--model <name>", "model string (AT+CGMM, ATI) instead of the dialect's default")
    .option("--no-sim", "start with an empty SIM slot (identity commands answer +CME ERROR: 10)")
    .option("--verbose", "log the AT traffic to stderr")
    .action((opts: ModemCommandOptions) => runModem(opts, io));
}
