/**
 * The station config: which fixtures exist and which serial port each one is. JSON, by default `<db>.fixtures.json`
 * beside the database (or `--config <file>`):
 *
 *   {
 *     "fixtures": {
 *       "A1": { "port": "/dev/serial/by-path/pci-0000:00:14.0-usb-0:1.1:1.0-port0", "baudRate": 115200 },
 *       "A2": { "port": "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10KXYZ-if00-port0" }
 *     }
 *   }
 *
 * Ports should be stable names: `/dev/serial/by-path/…` (the USB socket: survives swapping adapters) or
 * `/dev/serial/by-id/…` (the adapter's serial number: survives moving it), never `/dev/ttyUSBn`, which renumbers
 * on replug. `baudRate` defaults to 115200. Problems are `station.bad_config` naming the field.
 */
import { readFileSync } from "node:fs";
import { isAbsolute } from "node:path";
import { TriadkitError } from "@triadkit/protocol";
import { DEFAULT_BAUD_RATE } from "@triadkit/sdk";
import { z } from "zod";

export const FIXTURE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;

export interface FixtureConfig {
  readonly name: string;
  readonly port: string;
  readonly baudRate: number;
  readonly description?: string;
}

export interface StationConfig {
  /** Where it was read from; undefined when the default file does not exist (no fixtures). */
  readonly path?: string;
  readonly fixtures: readonly FixtureConfig[];
}

const fixtureSchema = z
  .object({
    port: z.string().min(1).refine(isAbsolute, "must be an absolute device path"),
    baudRate: z.number().int().min(300).max(4_000_000).optional(),
    description: z.string().max(200).optional(),
  })
  .strict();

const configSchema = z
  .object({
    fixtures: z.record(z.string().regex(FIXTURE_NAME, "1–32 letters, digits, '.', '_' or '-'"), fixtureSchema),
  })
  .strict();

export function stationConfigPathFor(dbPath: string): string {
  return `${dbPath}.fixtures.json`;
}

/** True for a kernel-numbered name that may point at another adapter after a replug. */
export function isUnstablePort(port: string): boolean {
  return /^\/dev\/tty(USB|ACM|S|AMA)\d+$/.test(port);
}

export function parseStationConfig(text: string, path?: string): StationConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new TriadkitError("station.bad_config", `the station config ${path ?? ""} is not JSON`.trim(), {
      path,
      field: "(file)",
    });
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue === undefined ? "(file)" : issue.path.join(".") || "(file)";
    throw new TriadkitError("station.bad_config", `station config: ${field}: ${issue?.message ?? "invalid"}`, {
      path,
      field,
    });
  }
  const fixtures = Object.entries(parsed.data.fixtures).map(([name, f]) => ({
    name,
    port: f.port,
    baudRate: f.baudRate ?? DEFAULT_BAUD_RATE,
    ...(f.description === undefined ? {} : { description: f.description }),
  }));
  const ports = new Map<string, string>();
  for (const f of fixtures) {
    const other = ports.get(f.port);
    if (other !== undefined) {
      throw new TriadkitError("station.bad_config", `fixtures ${other} and ${f.name} name the same port ${f.port}`, {
        path,
        field: `fixtures.${f.name}.port`,
      });
    }
    ports.set(f.port, f.name);
  }
  return { ...(path === undefined ? {} : { path }), fixtures };
}

/**
 * Reads the config: `explicitPath` must exist; the default path may be missing (a station without fixtures,
 * driven with `--port`).
 */
export function loadStationConfig(options: { readonly explicitPath?: string; readonly dbPath: string }): StationConfig {
  const path = options.explicitPath ?? stationConfigPathFor(options.dbPath);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    if (errno === "ENOENT" && options.explicitPath === undefined) return { fixtures: [] };
    throw new TriadkitError("station.bad_config", `cannot read the station config ${path} (${errno ?? "error"})`, {
      path,
      field: "(file)",
    });
  }
  return parseStationConfig(text, path);
}

/** The named fixtures, in the order given; `station.unknown_fixture` for a name the config lacks. */
export function pickFixtures(config: StationConfig, names: readonly string[]): FixtureConfig[] {
  return names.map((name) => {
    const f = config.fixtures.find((x) => x.name === name);
    if (f === undefined) {
      const known = config.fixtures.map((x) => x.name).join(", ") || "none";
      throw new TriadkitError(
        "station.unknown_fixture",
        `no fixture ${name} in the station config ${config.path ?? "(none found)"} (fixtures: ${known})`,
        { fixture: name },
      );
    }
    return f;
  });
}
