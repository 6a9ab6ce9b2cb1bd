import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatTable } from "../cli/bindings-command.js";
import type { CliIo } from "../cli/io.js";
import { main } from "../cli/main.js";
import { SqliteDeviceRegistry } from "../emulator/sqlite-registry.js";
import { fleet, heartbeat, report, rig, sheet, simOf, who } from "./__tests__/fixtures.js";

const [alice, bob, carol] = fleet(3, 21);
if (alice === undefined || bob === undefined || carol === undefined) throw new Error("fleet");
let dir: string;
let db: string;

function capture(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (l) => stdout.push(l),
    err: (l) => stderr.push(l),
    shutdownSignal: () => new Promise(() => {}),
  };
}

async function run(...args: string[]) {
  const io = capture();
  const code = await main(["node", "triadkit-sim", ...args], io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "triadkit-bindings-cli-"));
  db = join(dir, "platform.db");
  const r = rig({ expectedCsv: sheet([alice, bob]), db });
  r.monitor.handleBindingEvent(who(alice), heartbeat(simOf(alice), 1));
  r.monitor.handleIdentityReport(who(bob), report({ ...simOf(bob), iccid: carol.iccid, imsi: carol.imsi }));
  r.monitor.handleIdentityReport(who(carol), report(simOf(carol)));
  await r.monitor.close();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("triadkit-sim bindings", () => {
  it("lists every device's state as a table", async () => {
    const { code, stdout } = await run("bindings", "--db", db);
    expect(code).toBe(0);
    expect(stdout[0]).toMatch(
      /^PRODUCT_KEY\s+DEVICE_NAME\s+STATE\s+IMEI\s+ICCID\s+IMSI\s+LAST_HEARTBEAT\s+SUSPENDED\s+REASON$/,
    );
    expect(stdout).toHaveLength(4);
    const byName = (d: { triad: { deviceName: string } }) => stdout.find((l) => l.includes(d.triad.deviceName)) ?? "";
    expect(byName(alice)).toMatch(/\sbound\s/);
    expect(byName(alice)).toContain(alice.iccid);
    expect(byName(bob)).toMatch(/\smismatch\s/);
    expect(byName(carol)).toMatch(/\sunregistered\s/);
  });

  it("filters by --state and prints JSON lines with --json", async () => {
    const { code, stdout } = await run("bindings", "--db", db, "--state", "mismatch", "--json");
    expect(code).toBe(0);
    expect(stdout.map((l) => JSON.parse(l))).toMatchObject([
      { deviceName: bob.triad.deviceName, state: "mismatch", imei: bob.imei, iccid: carol.iccid, suspended: false },
    ]);
  });

  it("lists alerts with --alerts (and --open)", async () => {
    const table = await run("bindings", "--db", db, "--alerts");
    expect(table.code).toBe(0);
    expect(table.stdout[0]).toMatch(/^ID\s+PRODUCT_KEY/);
    expect(table.stdout).toHaveLength(3);
    const json = await run("bindings", "--db", db, "--alerts", "--open", "--json", "--state", "unregistered");
    expect(json.stdout.map((l) => JSON.parse(l).deviceName)).toEqual([carol.triad.deviceName]);
  });

  it("prints only the header when nothing matches (exit 0)", async () => {
    const { code, stdout } = await run("bindings", "--db", db, "--state", "silent");
    expect(code).toBe(0);
    expect(stdout).toHaveLength(1);
  });

  it("exit 2 for usage errors: no --db, an unknown state", async () => {
    expect((await run("bindings")).code).toBe(2);
    expect((await run("bindings", "--db", db, "--state", "lost")).code).toBe(2);
  });

  it("exit 1 for a missing file or one without binding tables", async () => {
    const missing = await run("bindings", "--db", join(dir, "nope.db"));
    expect(missing.code).toBe(1);
    expect(missing.stderr.join("\n")).toContain("cannot open");
    const registryOnly = join(dir, "registry.db");
    new SqliteDeviceRegistry(registryOnly).close();
    const empty = await run("bindings", "--db", registryOnly);
    expect(empty.code).toBe(1);
    expect(empty.stderr.join("\n")).toContain("no binding monitor tables");
  });

  it("formatTable aligns columns and leaves the last one unpadded", () => {
    expect(formatTable(["A", "BB", "C"], [["xxx", "y", "z z"]])).toEqual(["A    BB  C", "xxx  y   z z"]);
  });
});
