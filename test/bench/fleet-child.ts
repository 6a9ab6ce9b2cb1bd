/**
 * A child process of the fleet and storm benchmarks: opens `count` devices of one kind against a broker, so their
 * memory is measured alone. Prints JSON lines on stdout:
 * - `{"event":"loaded","rss":…}` after the libraries are loaded and a full GC;
 * - `{"event":"online","count":…,"rss":…,"heapUsed":…}` once every device is online, after a full GC;
 * then stays (the storm benchmark restarts the broker under it) until its stdin closes.
 * Usage: node --expose-gc --conditions=source --import tsx fleet-child.ts <sdk|lite|mqtt|litebare|official> <brokerUrl> <triads.json>
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { type AlibabaTriad, signConnect } from "@triadkit/protocol";
import { createDevice, liteConnector } from "@triadkit/sdk";
import mqtt from "mqtt";

const require = createRequire(import.meta.url);

/** sdk: our SDK on MQTT.js; lite: our SDK on `liteConnector`; mqtt / litebare: bare signed connections. */
export type FleetKind = "sdk" | "lite" | "mqtt" | "litebare" | "official";

interface OfficialDevice {
  on(event: "connect", listener: () => void): void;
  on(event: "error", listener: (err: Error) => void): void;
}

function gcRss(): { rss: number; heapUsed: number; heapTotal: number; external: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run with --expose-gc");
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external };
}

function emit(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** Opens one device; resolves on its first connection. Keeps it (and its reconnects) alive. */
function open(kind: FleetKind, url: string, triad: AlibabaTriad, iot: (c: object) => OfficialDevice): Promise<void> {
  if (kind === "sdk" || kind === "lite") {
    const connector = kind === "lite" ? { connector: liteConnector } : {};
    return createDevice({ triad, brokerUrl: url, tls: false, ...connector }).connect();
  }
  if (kind === "litebare") {
    const conn = liteConnector(url, {
      ...signConnect({ triad, style: "c" }),
      keepalive: 300,
      connectTimeout: 30_000,
      rejectUnauthorized: true,
    });
    return new Promise((resolve) => conn.on("connect", () => resolve()));
  }
  if (kind === "mqtt") {
    const client = mqtt.connect(url, { ...signConnect({ triad, style: "c" }), protocolVersion: 4, keepalive: 300 });
    return new Promise((resolve) => client.once("connect", () => resolve()));
  }
  const device = iot({ ...triad, brokerUrl: url });
  return new Promise((resolve) => device.on("connect", () => resolve()));
}

async function main(): Promise<void> {
  const [kind, url, triadsFile] = process.argv.slice(2) as [FleetKind, string, string];
  const triads = JSON.parse(readFileSync(triadsFile, "utf8")) as AlibabaTriad[];
  const iot =
    kind === "official"
      ? (require("alibabacloud-iot-device-sdk") as { device(c: object): OfficialDevice }).device
      : () => {
          throw new Error("not the official SDK");
        };
  await new Promise((r) => setTimeout(r, 200));
  emit({ event: "loaded", ...gcRss() });
  const concurrency = 100;
  let next = 0;
  const worker = async () => {
    while (next < triads.length) {
      const triad = triads[next++] as AlibabaTriad;
      await open(kind, url, triad, iot);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await new Promise((r) => setTimeout(r, 1_000));
  emit({ event: "online", count: triads.length, ...gcRss() });
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`fleet-child: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
