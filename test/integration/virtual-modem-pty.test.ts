/**
 * The virtual modem over a real socat PTY pair, answered through the real `serialport` package from the host side
 * with raw AT — first served in-process, then by the `triadkit-sim modem` CLI as a child process.
 */
import { spawn } from "node:child_process";
import { serveModemOnPty } from "@triadkit/firmware-sim";
import { createAtModem, NodeSerialLink } from "@triadkit/sdk";
import { SerialPort } from "serialport";
import { describe, expect, it } from "vitest";
import { firstLine, root, simBin, startSim } from "../helpers/sim-cli.js";

const IMEI = "352099001761481";
const ICCID = "89860621330066521767"; // China Unicom
const IMSI = "460060086257148";

/** A raw AT host on the real serialport package. */
async function openHost(path: string) {
  const port = new SerialPort({ path, baudRate: 115_200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  let text = "";
  port.on("data", (chunk: Buffer) => {
    text += chunk.toString("latin1");
  });
  const until = async (pattern: RegExp): Promise<string> => {
    await expect.poll(() => pattern.test(text), { timeout: 5_000 }).toBe(true);
    const m = pattern.exec(text) as RegExpExecArray;
    const out = text.slice(0, m.index + m[0].length);
    text = text.slice(m.index + m[0].length);
    return out;
  };
  return {
    /** Sends `line\r`; resolves with the answer up to its final result code. */
    async command(line: string): Promise<string> {
      text = "";
      await new Promise<void>((resolve, reject) => port.write(`${line}\r`, (err) => (err ? reject(err) : resolve())));
      return until(/\r\n(?:OK|ERROR|\+CME ERROR: [^\r]*)\r\n/);
    },
    until,
    close: () => new Promise<void>((resolve) => port.close(() => resolve())),
  };
}

/** Runs `triadkit-sim <args>` to completion. */
async function runSim(args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [simBin, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const status = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { status, stdout, stderr };
}

describe("virtual modem on a PTY (serialport on both ends)", () => {
  it("answers raw AT, reports a SIM swap, and survives the host reopening the port", async () => {
    const served = await serveModemOnPty({ dialect: "quectel", imei: IMEI, iccid: ICCID, imsi: IMSI, csq: 25 });
    try {
      expect(served.path).toMatch(/^\/dev\/pts\/\d+$/);
      const host = await openHost(served.path);
      expect(await host.command("AT")).toBe("AT\r\r\nOK\r\n");
      expect(await host.command("ATE0")).toBe("ATE0\r\r\nOK\r\n");
      expect(await host.command("ATI")).toBe("\r\nQuectel\r\nEC200U\r\nRevision: EC200UCNAAR02A01M08\r\n\r\nOK\r\n");
      expect(await host.command("AT+CGSN")).toBe(`\r\n${IMEI}\r\n\r\nOK\r\n`);
      expect(await host.command("AT+QCCID")).toBe(`\r\n+QCCID: ${ICCID}\r\n\r\nOK\r\n`);
      expect(await host.command("AT+CIMI")).toBe(`\r\n${IMSI}\r\n\r\nOK\r\n`);
      expect(await host.command("AT+CSQ")).toBe("\r\n+CSQ: 25,99\r\n\r\nOK\r\n");
      expect(await host.command("AT+QSIMSTAT=1")).toBe("\r\nOK\r\n");

      await served.modem.swapSim({ iccid: "89860318640220133897", imsi: "460115956795568" });
      expect(await host.until(/\+CPIN: READY\r\n/)).toBe(
        "\r\n+QSIMSTAT: 1,0\r\n\r\n+CPIN: NOT READY\r\n\r\n+QSIMSTAT: 1,1\r\n\r\n+CPIN: READY\r\n",
      );
      await host.close();

      const again = await openHost(served.path);
      expect(await again.command("AT+QCCID")).toBe("\r\n+QCCID: 89860318640220133897\r\n\r\nOK\r\n"); // still ATE0
      await served.modem.removeSim();
      await again.until(/\+CPIN: NOT READY\r\n/);
      expect(await again.command("AT+CIMI")).toBe("\r\n+CME ERROR: 10\r\n");
      await again.close();
    } finally {
      await served.close();
    }
  });
});

describe("triadkit-sim modem", () => {
  it("prints PTY <path>, answers AT+CGSN through serialport, logs traffic with --verbose, exits 0 on SIGTERM", async () => {
    const run = startSim([
      "modem",
      "--dialect",
      "simcom",
      "--imei",
      IMEI,
      "--iccid",
      ICCID,
      "--imsi",
      IMSI,
      "--csq",
      "12",
      "--verbose",
    ]);
    try {
      const line = await firstLine(run, "PTY ");
      expect(line).toMatch(/^PTY \/dev\/pts\/\d+$/);
      expect(run.stdout()).toBe(`${line}\n`); // stdout carries only the PTY line
      const host = await openHost(line.slice("PTY ".length));
      expect(await host.command("AT+CGSN")).toBe(`AT+CGSN\r\r\n${IMEI}\r\n\r\nOK\r\n`);
      expect(await host.command("AT+CICCID")).toBe(`AT+CICCID\r\r\n+ICCID: ${ICCID}\r\n\r\nOK\r\n`);
      expect(await host.command("AT+CSQ")).toBe("AT+CSQ\r\r\n+CSQ: 12,99\r\n\r\nOK\r\n");
      await host.close();
      await expect.poll(run.stderr).toContain('AT< "AT+CGSN\\r"');
      expect(run.stderr()).toContain(`AT> "\\r\\n${IMEI}\\r\\n\\r\\nOK\\r\\n"`); // the echo is a write of its own
    } finally {
      run.child.kill("SIGTERM");
    }
    expect(await run.exit).toBe(0);
  });

  it("refuses a bad IMEI, ICCID, IMSI or dialect with exit 2", { timeout: 40_000 }, async () => {
    const base = { dialect: "quectel", imei: IMEI, iccid: ICCID, imsi: IMSI };
    const cases: [Partial<typeof base>, string][] = [
      [{ imei: "352099001761482" }, "--imei"], // check digit
      [{ iccid: "12345" }, "--iccid"],
      [{ imsi: "46006abc" }, "--imsi"],
      [{ dialect: "nokia" }, "--dialect"],
    ];
    const results = await Promise.all(
      cases.map(async ([change, option]) => {
        const o = { ...base, ...change };
        const args = ["modem", "--dialect", o.dialect, "--imei", o.imei, "--iccid", o.iccid, "--imsi", o.imsi];
        return { option, ...(await runSim(args)) };
      }),
    );
    for (const { option, status, stdout, stderr } of results) {
      expect(status, `${option}: ${stderr}`).toBe(2);
      expect(stderr).toContain(option);
      expect(stdout).toBe("");
    }
  });
});

describe("the SDK's AT driver against the virtual modem over a real PTY, every dialect", () => {
  const card = { imei: "490154203237518", iccid: "89860621330066521767", imsi: "460060086257148" };
  for (const dialect of ["generic", "quectel", "simcom", "sim800", "ml307"] as const) {
    it(`${dialect}: dialect detected from ATI, identity read through serialport`, async () => {
      const served = await serveModemOnPty({ dialect, ...card });
      try {
        const modem = await createAtModem({ link: await NodeSerialLink.open(served.path) });
        try {
          const identity = await modem.readIdentity();
          expect(identity).toMatchObject({ ...card, dialect, operator: "china_unicom" });
          expect((await modem.signal()).rssiDbm).toBeLessThan(0);
        } finally {
          await modem.close();
        }
      } finally {
        await served.close();
      }
    });
  }
});
