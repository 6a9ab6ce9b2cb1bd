/**
 * `triadkit-sim cloud`: runs the platform emulator until SIGINT/SIGTERM. Prints `READY mqtt://host:port` (then
 * `READY mqtts://…` with TLS, `READY http(s)://…` with the registration endpoint) on stdout once listening; events
 * go to stderr, as text or JSON lines. Never prints a secret.
 * With `--top-credentials` it also serves a TOP gateway (`READY top http://…/router/rest`) and runs the
 * smart-shelf bridge against it (docs/top.md).
 */
import { readFileSync } from "node:fs";
import { isTriadkitError } from "@triadkit/protocol";
import { type Command, InvalidArgumentError, Option } from "commander";
import { pino } from "pino";
import type { BindingOptions } from "../binding/options.js";
import { importProductCsv, importTriadCsv } from "../emulator/csv-import.js";
import type { PlatformEmulatorEvents } from "../emulator/options.js";
import { PlatformEmulator } from "../emulator/platform-emulator.js";
import { SqliteDeviceRegistry } from "../emulator/sqlite-registry.js";
import { type ProductAdminServer, startProductAdminServer } from "../products/admin-server.js";
import { formatShelfTopEvent, type ShelfTop, startShelfTop } from "../top/shelf-top.js";
import { type CliIo, CliUsageError } from "./io.js";

export interface CloudOptions {
  readonly port: number;
  readonly host: string;
  readonly tlsPort?: number;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly httpPort?: number;
  readonly httpTls?: boolean;
  readonly db?: string;
  readonly triads?: string;
  readonly products?: string;
  readonly refuseWeakSignMethods?: boolean;
  readonly rateLimit: number;
  readonly rateBurst?: number;
  readonly strictRegistration?: boolean;
  readonly json?: boolean;
  readonly bindings?: string;
  readonly bindingPolicy?: "suspend";
  readonly bindingWebhook?: string;
  readonly heartbeatSec?: number;
  readonly silentAfter?: number;
  readonly bindingOperator?: string;
  /** TOP gateway port (0: a free one); needs `topCredentials`. */
  readonly topPort?: number;
  /** The ISV's TOP credentials file: seeds the gateway and drives the shelf bridge. */
  readonly topCredentials?: string;
  /** Lifetime of the sessions the TOP gateway issues, seconds. */
  readonly topSessionTtlSec?: number;
  /** The invented local admin endpoint for product tables (docs/emulator.md). */
  readonly adminPort?: number;
}

/** Where `--binding-operator` takes its password from (never from the command line). */
export const OPERATOR_PASSWORD_ENV = "TRIADKIT_SIM_OPERATOR_PASSWORD";

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError("must be a port number 0–65535");
  return n;
}

function parseRate(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1_000_000) throw new InvalidArgumentError("must be a number 0–1000000");
  return n;
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1_000_000) throw new InvalidArgumentError("must be an integer 1–1000000");
  return n;
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`cannot read ${what} file ${file}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
  }
}

const EVENTS: readonly (keyof PlatformEmulatorEvents)[] = [
  "online",
  "offline",
  "rejected",
  "aclDenied",
  "kicked",
  "registered",
  "rateLimited",
  "badMessage",
  "bindingAlert",
  "bindingRecovered",
];

/** The loggable fields of an event: identities, client ids, topics and codes (events carry no secrets). */
function fieldsOf(event: keyof PlatformEmulatorEvents, args: readonly unknown[]): Record<string, unknown> {
  const [first, second] = args;
  if (event === "online" || event === "offline") {
    const { productKey, deviceName } = first as { productKey: string; deviceName: string };
    return { productKey, deviceName, clientId: second };
  }
  const { identity, ...rest } = first as { identity?: { productKey: string; deviceName: string } } & Record<
    string,
    unknown
  >;
  return identity === undefined ? rest : { productKey: identity.productKey, deviceName: identity.deviceName, ...rest };
}

function logEvents(emulator: PlatformEmulator, io: CliIo, json: boolean): void {
  for (const event of EVENTS) {
    emulator.on(event, ((...args: unknown[]) => {
      const fields = fieldsOf(event, args);
      if (json) io.err(JSON.stringify({ time: new Date().toISOString(), event, ...fields }));
      else {
        const text = Object.entries(fields)
          .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
          .join(" ");
        io.err(`${new Date().toISOString()} ${event} ${text}`);
      }
    }) as never);
  }
}

/** The monitor's options from the command line, or undefined when no binding option was given. */
function bindingOptions(opts: CloudOptions, env: NodeJS.ProcessEnv): BindingOptions | undefined {
  const { bindings, bindingPolicy, bindingWebhook, heartbeatSec, silentAfter, bindingOperator } = opts;
  const given = [bindings, bindingPolicy, bindingWebhook, heartbeatSec, silentAfter, bindingOperator];
  if (given.every((v) => v === undefined)) return undefined;
  const password = env[OPERATOR_PASSWORD_ENV];
  if (bindingOperator !== undefined && (password === undefined || password === "")) {
    throw new CliUsageError(
      `--binding-operator needs the password in the ${OPERATOR_PASSWORD_ENV} environment variable`,
    );
  }
  return {
    ...(bindings === undefined ? {} : { expectedCsv: readText(bindings, "--bindings") }),
    ...(bindingPolicy === undefined ? {} : { policy: bindingPolicy }),
    ...(bindingWebhook === undefined ? {} : { webhookUrl: bindingWebhook }),
    ...(heartbeatSec === undefined ? {} : { heartbeatIntervalSec: heartbeatSec }),
    ...(silentAfter === undefined ? {} : { silentAfterIntervals: silentAfter }),
    ...(bindingOperator === undefined ? {} : { operator: { username: bindingOperator, password: password ?? "" } }),
    ...(opts.db === undefined ? {} : { db: opts.db }),
  };
}

export async function runCloud(opts: CloudOptions, io: CliIo): Promise<void> {
  if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) {
    throw new CliUsageError("--tls-cert and --tls-key go together");
  }
  if ((opts.tlsPort !== undefined || opts.httpTls) && opts.tlsCert === undefined) {
    throw new CliUsageError("TLS needs --tls-cert <file> and --tls-key <file>");
  }
  if (opts.httpTls && opts.httpPort === undefined) throw new CliUsageError("--http-tls needs --http-port");
  if ((opts.topPort !== undefined || opts.topSessionTtlSec !== undefined) && opts.topCredentials === undefined) {
    throw new CliUsageError("--top-port and --top-session-ttl-sec need --top-credentials <file>");
  }
  const tls =
    opts.tlsCert !== undefined && opts.tlsKey !== undefined
      ? {
          certPem: readText(opts.tlsCert, "--tls-cert"),
          keyPem: readText(opts.tlsKey, "--tls-key"),
          port: opts.tlsPort ?? 0,
        }
      : undefined;
  const bindings = bindingOptions(opts, process.env);
  const registry = new SqliteDeviceRegistry(opts.db ?? ":memory:");
  let emulator: PlatformEmulator | undefined;
  let top: ShelfTop | undefined;
  let admin: ProductAdminServer | undefined;
  try {
    for (const [file, what, importer] of [
      [opts.products, "products", importProductCsv],
      [opts.triads, "devices", importTriadCsv],
    ] as const) {
      if (file === undefined) continue;
      const report = importer(registry, readText(file, `--${what === "devices" ? "triads" : "products"}`));
      for (const e of report.errors) io.err(`${file}: ${e.message}`);
      io.err(`imported ${report.added} ${what} from ${file} (${report.errors.length} rows refused)`);
    }
    emulator = await PlatformEmulator.start({
      registry,
      host: opts.host,
      port: opts.port,
      ...(tls === undefined ? {} : { tls }),
      ...(opts.httpPort === undefined ? {} : { http: { port: opts.httpPort, tls: opts.httpTls ?? false } }),
      refuseWeakSignMethods: opts.refuseWeakSignMethods ?? false,
      rateLimit:
        opts.rateLimit === 0
          ? false
          : { messagesPerSecond: opts.rateLimit, burst: opts.rateBurst ?? Math.max(1, Math.ceil(opts.rateLimit)) },
      registration: {
        strictPreRegistration: opts.strictRegistration ?? false,
        requireTls: opts.strictRegistration ?? false,
      },
      logger: pino({ level: "error" }, pino.destination(2)),
      ...(bindings === undefined ? {} : { bindings }),
    });
    const expected = bindings && emulator.binding.initialImport;
    if (expected !== undefined) {
      for (const e of expected.errors) io.err(`${opts.bindings}: ${e.message}`);
      const kept = expected.added + expected.unchanged;
      io.err(`imported ${kept} expected bindings from ${opts.bindings} (${expected.errors.length} rows refused)`);
    }
    logEvents(emulator, io, opts.json ?? false);
    io.out(`READY ${emulator.url}`);
    if (emulator.tlsUrl !== undefined) io.out(`READY ${emulator.tlsUrl}`);
    if (emulator.httpUrl !== undefined) io.out(`READY ${emulator.httpUrl}`);
    if (opts.topCredentials !== undefined) {
      top = await startShelfTop({
        platform: emulator,
        credentialsPath: opts.topCredentials,
        host: opts.host,
        port: opts.topPort ?? 0,
        ...(opts.topSessionTtlSec === undefined ? {} : { sessionLifetimeMs: opts.topSessionTtlSec * 1000 }),
        logger: pino({ level: "error" }, pino.destination(2)),
      });
      top.onEvent((e) => io.err(formatShelfTopEvent(e, opts.json ?? false)));
      io.out(`READY top ${top.gateway.url}`);
    }
    if (opts.adminPort !== undefined) {
      admin = await startProductAdminServer(emulator.products, { port: opts.adminPort, host: opts.host });
      io.out(`READY admin ${admin.url}`);
      emulator.products.on("result", (r) =>
        io.err(
          `${new Date().toISOString()} productTable device=${r.productKey}/${r.deviceName} pushed=${r.pushed} ` +
            `status=${r.status}${r.version === undefined ? "" : ` version=${r.version}`}${r.code ? ` code=${r.code}` : ""}`,
        ),
      );
    }
    const signal = await io.shutdownSignal();
    io.err(`${signal}: closing`);
  } catch (err) {
    if (isTriadkitError(err) && err.code === "config.invalid") throw new CliUsageError(err.message);
    throw err;
  } finally {
    await admin?.close();
    await top?.close();
    await emulator?.close();
    registry.close();
  }
}

export function registerCloudCommand(program: Command, io: CliIo): void {
  program
    .command("cloud")
    .description("run a local stand-in for the Alibaba Cloud IoT platform (MQTT broker, registry, registration)")
    .option("--port <n>", "MQTT over TCP port (0: a free port; the READY line says which)", parsePort, 0)
    .option("--host <addr>", "address to listen on", "127.0.0.1")
    .option("--tls-port <n>", "MQTT over TLS port (needs --tls-cert and --tls-key; default 0)", parsePort)
    .option("--tls-cert <file>", "PEM server certificate (chain) for TLS")
    .option("--tls-key <file>", "PEM private key of the certificate")
    .option("--http-port <n>", "dynamic registration endpoint POST /auth/register/device", parsePort)
    .option("--http-tls", "serve the registration endpoint over HTTPS with the TLS certificate")
    .option(
      "--admin-port <n>",
      "invented local admin endpoint: push product tables, read acks (loopback only)",
      parsePort,
    )
    .option("--db <file>", "SQLite registry file (default: in memory, gone on exit)")
    .option("--triads <csv>", "import devices from CSV (productKey, deviceName, deviceSecret; any header case)")
    .option("--products <csv>", "import products from CSV (productKey, productSecret[, dynamicRegister, regnwl])")
    .option("--refuse-weak-sign-methods", "refuse hmacmd5 and hmacsha1 logins")
    .option("--rate-limit <perSecond>", "per-device upstream messages per second, 0 = off", parseRate, 30)
    .option("--rate-burst <n>", "per-device burst (default: the rate)", parseCount)
    .option("--strict-registration", "dynamic registration only over TLS and for pre-registered devices")
    .option("--bindings <csv>", "binding monitor: expected bindings (imei, iccid, imsi; any header case)")
    .addOption(
      new Option("--binding-policy <policy>", "binding monitor: suspend cards found in mismatch").choices(["suspend"]),
    )
    .option("--binding-webhook <url>", "binding monitor: also POST alerts (JSON) to this http(s) URL")
    .option(
      "--heartbeat-sec <n>",
      "binding monitor: the devices' heartbeat interval in seconds (default 300)",
      parseCount,
    )
    .option(
      "--silent-after <n>",
      "binding monitor: intervals without a heartbeat before `silent` (default 3)",
      parseCount,
    )
    .option(
      "--binding-operator <username>",
      `binding monitor: MQTT login that may subscribe to /triadkit/binding/alerts/# (password: $${OPERATOR_PASSWORD_ENV})`,
    )
    .option(
      "--top-credentials <file>",
      "serve a TOP gateway for this ISV app and run the smart-shelf bridge (JSON, 0600)",
    )
    .option("--top-port <n>", "TOP gateway port (default 0: a free port; READY top says which)", parsePort)
    .option("--top-session-ttl-sec <n>", "TOP gateway: lifetime of the sessions it issues (default 86400)", parseCount)
    .option("--json", "log events to stderr as JSON lines")
    .action((opts: CloudOptions) => runCloud(opts, io));
}
