/**
 * `triadkit-station`: the factory provisioning station's command line. Started by
 * `provisioning-station/bin/triadkit-station.js`, which calls {@link main}. Exit codes: 0 success (and `--help`),
 * 1 failure, 2 usage error. With `--json`, a failure is also reported on stdout as `{"ok":false,"error":{…}}`.
 */
import { type CliIo, CliUsageError, processIo } from "@triadkit/sdk";
import { Command, CommanderError } from "commander";
import { registerAuditCommand } from "./audit-command.js";
import { registerBurnCommand } from "./burn-command.js";
import { errorJson, errorText, ReportedFailure } from "./common.js";
import { registerExportCommand } from "./export-command.js";
import { registerFixturesCommand } from "./fixtures-command.js";
import { registerImportCommand } from "./import-command.js";
import { registerKeysCommand } from "./keys-command.js";
import { registerLabelCommand } from "./label-command.js";
import { registerOrdersCommand } from "./orders-command.js";
import { registerProductsCommand } from "./products-command.js";
import { registerReworkCommands } from "./rework-command.js";
import { registerServeCommand } from "./serve-command.js";
import { registerShelfCommand } from "./shelf-command.js";
import { registerShelfExport } from "./shelf-export-command.js";
import { registerStatusCommand } from "./status-command.js";
import { registerTriadsCommand } from "./triads-command.js";

export function buildProgram(
  io: CliIo = processIo(),
  env: Readonly<Record<string, string | undefined>> = process.env,
): Command {
  const program = new Command("triadkit-station")
    .description("triadkit provisioning station: the factory's triad ledger, import, burning and audit")
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  registerOrdersCommand(program, io, env);
  registerImportCommand(program, io, env);
  registerStatusCommand(program, io, env);
  registerTriadsCommand(program, io, env);
  registerKeysCommand(program, io, env);
  registerAuditCommand(program, io, env);
  registerFixturesCommand(program, io, env);
  registerBurnCommand(program, io, env);
  registerReworkCommands(program, io, env);
  registerProductsCommand(program, io, env);
  registerShelfCommand(program, io, env);
  registerLabelCommand(program, io, env);
  registerServeCommand(program, io, env);
  // `export imei|iccid|bindings|burns`; other export kinds are registrars in the last argument.
  registerExportCommand(program, io, env, [registerShelfExport]);
  return program;
}

/** Parses `argv` (as `process.argv`) and runs the command. Resolves with the exit code; never calls `process.exit`. */
export async function main(
  argv: readonly string[] = process.argv,
  io: CliIo = processIo(),
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<number> {
  const program = buildProgram(io, env);
  const json = argv.includes("--json");
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof ReportedFailure) return 1;
    if (err instanceof CliUsageError) {
      io.err(`triadkit-station: ${err.message}`);
      return 2;
    }
    if (json && err instanceof Error) io.out(errorJson(err));
    io.err(`triadkit-station: ${errorText(err)}`);
    return 1;
  }
}
