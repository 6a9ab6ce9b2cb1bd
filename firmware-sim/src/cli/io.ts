/** The CLI plumbing lives in @triadkit/sdk (shared with `triadkit-station`); re-exported for the sim's commands. */

import type { CliIo } from "@triadkit/sdk";
import type { Command } from "commander";

export { type CliIo, CliUsageError, processIo } from "@triadkit/sdk";

/** How a subcommand plugs into the program: `registerXCommand(program, io)`. */
export type CommandRegistrar = (program: Command, io: CliIo) => void;
