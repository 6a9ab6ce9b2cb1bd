/**
 * `triadkit-sim`: the firmware simulator's command line. Started by `firmware-sim/bin/triadkit-sim.js`, which calls
 * {@link main}. Exit codes: 0 success (and `--help`), 1 failure, 2 usage error.
 */
import { Command, CommanderError } from "commander";
import { registerAirCommand } from "./air-command.js";
import { registerBindingsCommand } from "./bindings-command.js";
import { registerCloudCommand } from "./cloud-command.js";
import { registerDeviceCommand } from "./device-command.js";
import { registerFleetCommand } from "./fleet-command.js";
import { type CliIo, CliUsageError, processIo } from "./io.js";
import { registerModemCommand } from "./modem-command.js";
import { registerProvisionCommand } from "./provision-command.js";

/** The program with every subcommand registered; `main` parses with it (tests may too). */
export function buildProgram(io: CliIo = processIo()): Command {
  const program = new Command("triadkit-sim")
    .description("triadkit firmware simulator: a local Alibaba Cloud IoT platform and virtual devices")
    .exitOverride() // set before the subcommands so they inherit it: errors come back to `main` as exceptions
    .showHelpAfterError("(run with --help for usage)");

  // ── Subcommands: one line each. A subcommand module exports a `CommandRegistrar` (see ./io.ts). ──
  registerCloudCommand(program, io);
  registerDeviceCommand(program, io);
  registerProvisionCommand(program, io);
  registerBindingsCommand(program, io);
  registerModemCommand(program, io);
  registerAirCommand(program, io);
  registerFleetCommand(program, io);

  return program;
}

/** Parses `argv` (as `process.argv`) and runs the command. Resolves with the exit code; never calls `process.exit`. */
export async function main(argv: readonly string[] = process.argv, io: CliIo = processIo()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2; // commander printed the message already
    if (err instanceof CliUsageError) {
      io.err(`triadkit-sim: ${err.message}`);
      return 2;
    }
    io.err(`triadkit-sim: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}
