import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expectTriadkitError } from "@triadkit/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acquireFixtureLock } from "./fixture-lock.js";
import { isUnstablePort, loadStationConfig, parseStationConfig, pickFixtures } from "./station-config.js";
import { checkDeviceFitsOrder, compareFirmware } from "./work-order-check.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tk-setup-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("work order check", () => {
  it("compares firmware numerically, part by part", () => {
    expect(compareFirmware("1.10.0", "1.9.3")).toBe(1);
    expect(compareFirmware("1.4", "1.4.0")).toBe(0);
    expect(compareFirmware("v2.0.1-rc1", "2.0.1")).toBe(0);
    expect(compareFirmware("1.2.9", "1.2.10")).toBe(-1);
    expect(compareFirmware("beta", "1.0")).toBeUndefined();
  });

  it("refuses another model and older or unreadable firmware", () => {
    const order = {
      id: "WO",
      product: "p",
      family: "alibaba",
      model: "M1",
      minFirmware: "1.2.0",
      createdAt: 0,
    } as const;
    checkDeviceFitsOrder(order, { model: "M1", firmware: "1.2.0", chipId: "c0ffee00" });
    expectTriadkitError(
      () => checkDeviceFitsOrder(order, { model: "M2", firmware: "9", chipId: "c" }),
      "factory.model_mismatch",
    );
    expectTriadkitError(
      () => checkDeviceFitsOrder(order, { model: "M1", firmware: "1.1.99", chipId: "c" }),
      "factory.firmware_too_old",
    );
    expectTriadkitError(
      () => checkDeviceFitsOrder(order, { model: "M1", firmware: "dev", chipId: "c" }),
      "factory.firmware_too_old",
    );
  });
});

describe("station config", () => {
  it("maps fixture names to ports with a default baud rate", () => {
    const c = parseStationConfig(
      JSON.stringify({
        fixtures: {
          A1: { port: "/dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0-port0" },
          A2: { port: "/dev/serial/by-id/usb-FTDI-if00-port0", baudRate: 921600, description: "left" },
        },
      }),
    );
    expect(c.fixtures).toEqual([
      { name: "A1", port: "/dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0-port0", baudRate: 115200 },
      { name: "A2", port: "/dev/serial/by-id/usb-FTDI-if00-port0", baudRate: 921600, description: "left" },
    ]);
    expect(pickFixtures(c, ["A2"]).map((f) => f.name)).toEqual(["A2"]);
    expectTriadkitError(() => pickFixtures(c, ["B9"]), "station.unknown_fixture");
    expect(isUnstablePort("/dev/ttyUSB0")).toBe(true);
    expect(isUnstablePort(c.fixtures[0]?.port as string)).toBe(false);
  });

  it("names the bad field; a missing default file is no fixtures, a missing --config file an error", () => {
    const bad = (json: unknown) =>
      expectTriadkitError(() => parseStationConfig(JSON.stringify(json)), "station.bad_config");
    expect(bad({ fixtures: { A: { port: "ttyUSB0" } } }).context).toMatchObject({ field: "fixtures.A.port" });
    expect(bad({ fixtures: { "bad name": { port: "/dev/x" } } }).message).toContain("bad name");
    bad({ fixtures: { A: { port: "/dev/x" }, B: { port: "/dev/x" } } });
    bad({ fixtures: { A: { port: "/dev/x", baudRate: 12 } } });
    bad({ fixtures: {}, extra: 1 });
    expectTriadkitError(() => parseStationConfig("{"), "station.bad_config");
    expect(loadStationConfig({ dbPath: join(dir, "none.db") })).toEqual({ fixtures: [] });
    expectTriadkitError(
      () => loadStationConfig({ dbPath: "x", explicitPath: join(dir, "nope.json") }),
      "station.bad_config",
    );
    writeFileSync(join(dir, "s.db.fixtures.json"), JSON.stringify({ fixtures: { F: { port: "/dev/null" } } }));
    expect(loadStationConfig({ dbPath: join(dir, "s.db") }).fixtures).toHaveLength(1);
  });
});

describe("fixtures lock", () => {
  it("one owner at a time; the refusal names its pid; released on release", () => {
    const path = join(dir, "s.db.fixtures.lock");
    const lock = acquireFixtureLock(path, "test A");
    const e = expectTriadkitError(() => acquireFixtureLock(path, "test B"), "station.fixture_locked");
    expect(e.message).toContain(`pid ${process.pid}`);
    expect(e.context).toMatchObject({ pid: process.pid });
    lock.release();
    lock.release();
    acquireFixtureLock(path, "test B").release();
  });

  // The child keeps its lock object referenced: a dropped FixtureLock is garbage, and collecting it closes the
  // connection and so releases the lock (which once made this test flaky).
  it("a SIGKILLed owner leaves no stale lock behind", async () => {
    const path = join(dir, "s.db.fixtures.lock");
    const here = fileURLToPath(new URL("./fixture-lock.ts", import.meta.url));
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "--conditions=source",
        "-e",
        `const { acquireFixtureLock } = await import(${JSON.stringify(here)}); const held = acquireFixtureLock(${JSON.stringify(path)}, "child"); console.log("LOCKED"); setInterval(() => held.path, 1000);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env } },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on("data", (d: Buffer) => d.toString().includes("LOCKED") && resolve());
      child.once("exit", (code) => reject(new Error(`child exited ${code}`)));
    });
    const e = expectTriadkitError(() => acquireFixtureLock(path, "parent"), "station.fixture_locked");
    expect(e.context).toMatchObject({ pid: child.pid });
    const gone = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await gone;
    acquireFixtureLock(path, "parent").release();
  });
});
