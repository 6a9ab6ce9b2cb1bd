/**
 * `npm run demo`: a factory day end to end, with no service installed. The cloud (platform emulator on TLS with the
 * binding monitor and the TOP gateway) and the virtual BLE air run in this process; the station is driven the way
 * an operator drives it, through `triadkit-station` (nothing imports the station); the boards are
 * `triadkit-sim device` processes on PTYs. Every step prints one line; no secret or PoP is ever printed.
 * Exit 0 when every step passed; on a failure its code is printed and the exit code is 1. Every child is stopped.
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  formatPop,
  type GenieTriad,
  genieAuthValue,
  genieDeviceUuid,
  isTriadkitError,
  toHex,
} from "@triadkit/protocol";
import { CryptoRandom, type Random } from "@triadkit/sdk";
import { createVirtualIdentity, type VirtualIdentity } from "../identity.js";
import { type Child, Children, lineStarting, SIM_BIN, STATION_BIN, stepFailed, until } from "./children.js";
import {
  expectedBindingsCsv,
  makeTls,
  writeAlibabaSheet,
  writeGenieSheet,
  writeTopCredentials,
  writeWifi,
} from "./files.js";
import { readDeviceLabel } from "./label-pop.js";
import { DemoPlatform } from "./platform.js";
import { provisionOverAir } from "./provision-ble.js";
import { formatSummary, type SummaryRow } from "./summary.js";

const PRODUCT = "a1DemoPk0Tk";
const GENIE_PRODUCT = 4455667;
const MODEL = "TK-PLUG-2";
const GENIE_MODEL = "TG-LIGHT-1";
const ORDER = "WO-DEMO-1";
const GENIE_ORDER = "WO-DEMO-G";
const BRAND = "友鱼";
const STORE = "184454101";
const SHELF_CODE = "8F6A77C73E";
const SSID = "factory-demo";
const HEARTBEAT_SEC = 10;

/** Prints a line and keeps it, to prove at the end that no secret was among the lines. */
type Log = (line: string) => void;

interface Board {
  readonly name: string;
  readonly stateDir: string;
  readonly sim: VirtualIdentity;
  readonly shelf: boolean;
  child: Child;
  pty: string;
  chipId?: string;
  deviceName?: string;
  burn?: string;
  wifi?: string;
}

interface BurnLine {
  readonly fixture: string;
  readonly result: string;
  readonly chipId: string;
  readonly triad?: { readonly identity: string };
}

/** Everything the steps share. */
class Demo {
  /** Every secret and PoP of the run: none may appear in anything printed. */
  readonly secrets: string[] = [];

  constructor(
    readonly log: Log,
    readonly random: Random,
    readonly dir: string,
    readonly children: Children,
    readonly platform: DemoPlatform,
    readonly files: { sheet: string; topCredentials: string; wifi: { file: string; ssid: string; password: string } },
  ) {}

  /** One step's line, with the seconds since this process started (module loading included). */
  step(n: number, text: string): void {
    this.log(`[${n}/8 ${process.uptime().toFixed(1).padStart(5)} s] ${text}`);
  }

  station(name: string, args: readonly string[]) {
    const common = ["--db", join(this.dir, "station.db"), "--key-file", join(this.dir, "station.key")];
    return this.children.run(name, STATION_BIN, [...args, ...common, "--operator", "demo"]);
  }

  /** `triadkit-sim device` for a board: TLS cloud, air, simulated WiFi, a virtual Quectel modem. */
  deviceArgs(stateDir: string): string[] {
    const { platform, files } = this;
    return [
      ...["device", "--state-dir", stateDir, "--cloud", platform.tlsUrl, "--ca", join(this.dir, "cloud-cert.pem")],
      ...["--air", platform.airUrl, "--wifi-file", files.wifi.file, "--modem", "quectel"],
      ...["--heartbeat-sec", String(HEARTBEAT_SEC)],
    ];
  }

  /** A blank board on a factory PTY; `cloud`: it provisions and goes online once burnt. */
  startBoard(name: string, model: string, extra: readonly string[], cloud: boolean): Child {
    const stateDir = join(this.dir, name);
    const base = cloud ? this.deviceArgs(stateDir) : ["device", "--state-dir", stateDir];
    const args = [...base, "--factory-pty", "--model", model, "--firmware", "1.3.0", ...extra];
    return this.children.start(name, SIM_BIN, args);
  }

  async burn(name: string, order: string, ports: readonly string[], extra: readonly string[] = []) {
    const args = ["burn", ...ports.flatMap((p) => ["--port", p]), "--work-order", order, ...extra, "--json"];
    const r = await this.station(name, args);
    return r.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as BurnLine);
  }
}

async function main(children: Children, dir: string, log: Log, printed: readonly string[]): Promise<void> {
  const random = new CryptoRandom();
  const identities = [0, 1, 2].map(() => createVirtualIdentity(random, { productKey: PRODUCT }));
  const sheet = await writeAlibabaSheet(dir, identities);
  const tls = await makeTls(dir);
  const top = await writeTopCredentials(dir, random);
  const topCredentials = top.file;
  const wifi = await writeWifi(dir, SSID, random);
  const { platform, imported } = await DemoPlatform.start({
    tls,
    triadsCsv: await readFile(sheet, "utf8"),
    expectedBindingsCsv: expectedBindingsCsv(identities),
    heartbeatSec: HEARTBEAT_SEC,
    topCredentials,
  });
  try {
    const demo = new Demo(log, random, dir, children, platform, { sheet, topCredentials, wifi });
    demo.secrets.push(...identities.map((i) => i.triad.deviceSecret), ...top.secrets, wifi.password);
    demo.step(
      1,
      `cloud ${platform.tlsUrl} (TLS, binding monitor, ${imported} devices registered), TOP ${platform.topUrl}, air ${platform.airUrl}`,
    );
    const rows = await run(demo, identities);
    demo.step(8, "summary:");
    log(formatSummary(rows));
    const expected = ["bound", "bound", "mismatch"];
    if (rows.some((r, i) => r.binding !== expected[i] || r.online !== "TLS" || r.wifi !== SSID || r.burn !== "PASS")) {
      throw stepFailed("summary", "a board is not in the expected state");
    }
    const everything = [...printed, ...children.outputs()].join("\n").toLowerCase();
    if (demo.secrets.some((secret) => everything.includes(secret.toLowerCase()))) {
      throw stepFailed("secrets", "a secret or PoP was printed");
    }
    demo.step(8, `demo OK; none of the ${demo.secrets.length} secrets and PoPs of the run was printed`);
  } finally {
    await children.stopAll();
    await platform.close();
  }
}

async function run(demo: Demo, identities: readonly VirtualIdentity[]): Promise<SummaryRow[]> {
  const { platform, children, dir, files } = demo;
  // The boards start now (a CLI start takes seconds here) while the station gets its work orders.
  const boards: Board[] = identities.map((sim, i) => {
    const name = `board-${i + 1}`;
    const child = demo.startBoard(name, MODEL, ["--imei", sim.imei, "--iccid", sim.iccid, "--imsi", sim.imsi], true);
    return { name, stateDir: join(dir, name), sim, shelf: i === 0, child, pty: "" };
  });
  const genieBoard = demo.startBoard("board-genie", GENIE_MODEL, [], false);

  // 2. The sheets.
  const genie = await writeGenieSheet(dir, GENIE_PRODUCT, demo.random, 3);
  demo.secrets.push(...genie.triads.flatMap((t) => [t.secret, toHex(genieAuthValue(t))]));
  demo.step(
    2,
    `sheets written: ${files.sheet} (3 Alibaba triads, also registered in the cloud), ${genie.file} (3 Tmall Genie triads)`,
  );

  // 3. Work orders, imports, the shelf's store and device code (the first command makes the station key; then the
  // Alibaba and the Genie paths run side by side).
  const order = ["--model", MODEL, "--min-firmware", "1.2.0", "--brand", BRAND];
  await demo.station("orders add", ["orders", "add", ORDER, "--product", PRODUCT, ...order]);
  const genieOrder = ["--product", String(GENIE_PRODUCT), "--model", GENIE_MODEL, "--min-firmware", "1.0.0"];
  const shelf = ["--store", STORE, "--code", SHELF_CODE, "--brand", BRAND, "--name", "demo store"];
  await Promise.all([
    demo
      .station("import", ["import", files.sheet, "--work-order", ORDER])
      .then(() => demo.station("shelf add", ["shelf", "add", ...shelf])),
    demo
      .station("orders add genie", ["orders", "add", GENIE_ORDER, ...genieOrder])
      .then(() => demo.station("import genie", ["import", genie.file, "--work-order", GENIE_ORDER])),
  ]);
  demo.step(
    3,
    `station: ${ORDER} (${MODEL}, brand ${BRAND}) and ${GENIE_ORDER} (Genie ${GENIE_PRODUCT}), 3 + 3 triads imported, store ${STORE} device code ${SHELF_CODE}`,
  );

  // 4. Burning over PTY serial: the first board with its shelf code, the other two together, then the Genie board
  // (while the labels print).
  for (const b of boards) b.pty = await ptyOf(b.child);
  const [b1, b2, b3] = boards as [Board, Board, Board];
  const lines = [
    ...(await demo.burn("burn --shelf", ORDER, [b1.pty], ["--shelf"])),
    ...(await demo.burn("burn", ORDER, [b2.pty, b3.pty])),
  ];
  for (const j of lines) {
    const board = boards.find((b) => b.pty === j.fixture);
    if (board === undefined) continue;
    board.chipId = j.chipId;
    board.burn = j.result.toUpperCase();
    board.deviceName = j.triad?.identity.split("/").at(-1);
  }
  for (const b of boards) {
    if (b.burn !== "PASS" || b.deviceName === undefined) throw stepFailed("burn", `${b.name} was not burnt`);
  }
  demo.step(
    4,
    `burnt over PTY: ${boards.map((b) => `${b.deviceName} (chip ${b.chipId}, ${b.pty}${b.shelf ? ", shelf code" : ""})`).join(", ")}`,
  );
  const genieBurnt = burnGenie(demo, genieBoard, genie.triads);

  // 5. Labels; the PoP read back from each label's QR; WiFi over the virtual radio with it.
  const labels = join(dir, "labels");
  await mkdir(labels);
  const print = ["label", "print", "--work-order", ORDER, "--all-verified", "--format", "png", "--out", labels];
  await demo.station("label print", [...print, "--json"]);
  const shelfCodes = await Promise.all(boards.map((b) => provision(demo, b, labels)));
  demo.step(4, await genieBurnt);
  demo.step(
    5,
    `device labels printed (PNG), PoP read back from each QR (shelf code on ${b1.deviceName}'s: ${shelfCodes[0] ?? "none"}); ` +
      `WiFi over BLE: ${boards.map((b) => `${b.deviceName} ${b.wifi}`).join(", ")}`,
  );

  // 6. Online over TLS with their identity reports; then, side by side, one SIM swap and the shelf activation (7),
  // while the heartbeats come in.
  for (const b of boards) await lineStarting(b.child, "READY device ", 30_000);
  const seen = (b: Board) => platform.seen.get(b.deviceName as string);
  const all = (check: (b: Board) => boolean) => boards.every(check) || undefined;
  await until("online", "identity reports from every board over TLS", 30_000, () =>
    all((b) => seen(b)?.tls === true && (seen(b)?.identityReports ?? 0) > 0),
  );
  const state = (b: Board) =>
    platform.emulator.binding.state({ productKey: PRODUCT, deviceName: b.deviceName as string });
  demo.step(
    6,
    `online over TLS, IMEI/ICCID/IMSI reported: ${boards.map((b) => `${b.deviceName} ${state(b)?.state}`).join(", ")}`,
  );
  const swap = async () => {
    const card = createVirtualIdentity(demo.random, { productKey: PRODUCT });
    await children.stop(b3.child);
    const swapArgs = [...demo.deviceArgs(b3.stateDir), "--iccid", card.iccid, "--imsi", card.imsi];
    b3.child = children.start(`${b3.name} (new SIM)`, SIM_BIN, swapArgs);
    return until("sim swap", "a mismatch alert", 30_000, () =>
      platform.alerts.find((a) => a.deviceName === b3.deviceName && a.state === "mismatch"),
    );
  };
  const activate = async () => {
    await until("shelf", "the shelf bridge's status feedback", 30_000, () => platform.topStatus.get(SHELF_CODE));
    const top = ["--top-credentials", files.topCredentials, "--top-url", platform.topUrl, "--json"];
    const status = await demo.station("shelf status", ["shelf", "status", ...top]);
    const report = JSON.parse(status.stdout) as {
      devices: { deviceCode: string; after: string; platformStatus: string }[];
    };
    const device = report.devices.find((d) => d.deviceCode === SHELF_CODE);
    if (device?.after !== "activated") throw stepFailed("shelf", `device code ${SHELF_CODE} not activated`);
    return device;
  };
  const [alert, activated] = await Promise.all([swap(), activate()]);
  await until("heartbeats", "a binding heartbeat from every board", 30_000, () =>
    all((b) => (seen(b)?.heartbeats ?? 0) > 0),
  );
  demo.step(
    6,
    `binding heartbeats: ${boards.map((b) => `${b.deviceName} ${seen(b)?.heartbeats}`).join(", ")}; ` +
      `SIM swapped in ${b3.deviceName}: the monitor raised ${alert.state}: ${alert.reason}`,
  );
  // 7. The shelf device's tags reached TOP through the bridge; the station asked TOP and activated it.
  demo.step(7, `shelf device code ${SHELF_CODE}: TOP says ${activated.platformStatus}; station: ${activated.after}`);

  return boards.map((b) => {
    const s = platform.seen.get(b.deviceName as string);
    const binding = state(b);
    return {
      device: b.deviceName as string,
      identity: `${binding?.imei ?? "?"} / ${binding?.iccid ?? "?"} / ${binding?.imsi ?? "?"}`,
      fixture: b.pty,
      burn: b.burn ?? "?",
      wifi: b.wifi ?? "-",
      online: s?.online ? (s.tls ? "TLS" : "TCP") : "no",
      binding: binding?.state ?? "?",
      shelf: b.shelf ? activated.after : "-",
    };
  });
}

const ptyOf = async (child: Child) => (await lineStarting(child, "PTY factory ", 60_000)).slice(12).trim();

/** Burns the Genie board and says which triad it got, with its mesh UUID (the AuthValue is a credential). */
async function burnGenie(demo: Demo, board: Child, triads: readonly GenieTriad[]): Promise<string> {
  const pty = await ptyOf(board);
  const [line] = await demo.burn("burn genie", GENIE_ORDER, [pty]);
  await demo.children.stop(board);
  const mac = line?.triad?.identity.split("/").at(-1);
  const burnt = triads.find((t) => t.mac === mac);
  if (line?.result !== "pass" || burnt === undefined) throw stepFailed("burn genie", "the Genie board was not burnt");
  return (
    `burnt Genie ${burnt.productId}/${burnt.mac} into chip ${line.chipId} (${pty}): mesh UUID ${toHex(genieDeviceUuid(burnt))}, ` +
    `static OOB AuthValue ${genieAuthValue(burnt).length} bytes (a credential: not shown)`
  );
}

/** Reads the board's device label and provisions WiFi over the air with the PoP it holds. */
async function provision(demo: Demo, b: Board, labels: string): Promise<string | undefined> {
  const label = await readDeviceLabel(join(labels, `device-${b.chipId}.png`));
  if (label.identity.family !== "alibaba" || label.identity.deviceName !== b.deviceName) {
    throw stepFailed("label", `the label of chip ${b.chipId} names another device`);
  }
  demo.secrets.push(formatPop(label.pop));
  await lineStarting(b.child, "READY air-device ", 30_000);
  const air = demo.platform.air.air;
  const state = await provisionOverAir(air, label.identity.deviceName, label.pop, demo.files.wifi, demo.random);
  b.wifi = state === "connected" ? SSID : `not joined (${state})`;
  return label.shelfCode;
}

async function entry(): Promise<void> {
  const printed: string[] = [];
  const log: Log = (line) => {
    printed.push(line);
    process.stdout.write(`${line}\n`);
  };
  if (spawnSync("socat", ["-V"]).status !== 0) {
    log(
      "demo FAILED: demo.step_failed: socat is missing (the boards' serial ports are socat PTY pairs): install socat",
    );
    process.exitCode = 1;
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), "triadkit-demo-"));
  const children = new Children(dir);
  process.once("exit", () => children.killAllNow());
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      log(`demo: ${signal}, stopping`);
      void children
        .stopAll()
        .then(() => rm(dir, { recursive: true, force: true }))
        .finally(() => process.exit(1));
    });
  }
  try {
    await main(children, dir, log, printed);
  } catch (err) {
    const cause = isTriadkitError(err) ? err.context?.["cause"] : undefined;
    const message = isTriadkitError(err) ? err.message : `${String(err)} (internal.unexpected)`;
    log(`demo FAILED: ${message}${typeof cause === "string" ? `; the child said ${cause}` : ""}`);
    process.exitCode = 1;
  } finally {
    await children.stopAll();
    await rm(dir, { recursive: true, force: true });
  }
}

await entry();
