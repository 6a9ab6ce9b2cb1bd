import { decodeEfIccid, expectTriadkitError } from "@triadkit/protocol";
import { ManualClock, type ModemDialect } from "@triadkit/sdk";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import {
  atOk,
  cmeError,
  createVirtualModemPair,
  delayed,
  encodeEfIccid,
  modemBehaviour,
  RawAtHost,
  type VirtualModem,
  type VirtualModemOptions,
} from "./index.js";

const IMEI = "490154203237518";
const ICCID = "89860318640220133897"; // China Telecom, Luhn-valid
const IMSI = "460115956795568";
const CARD2 = { iccid: "89860621330066521767", imsi: "460060086257148" }; // China Unicom

const open: { modem: VirtualModem; host: RawAtHost }[] = [];

function start(options: Partial<VirtualModemOptions> & { dialect: ModemDialect }) {
  const { modem, hostLink } = createVirtualModemPair({ imei: IMEI, iccid: ICCID, imsi: IMSI, ...options });
  const host = new RawAtHost(hostLink);
  open.push({ modem, host });
  return { modem, host, hostLink };
}

afterEach(async () => {
  for (const { modem, host } of open.splice(0)) {
    host.dispose();
    await modem.close();
  }
});

/** Answer of `line` without echo framing: `["info", …, "OK"]`. */
function lines(raw: string): string[] {
  return raw.split(/\r\n?/).filter((l) => l.length > 0);
}

describe("VirtualModem: framing, echo, CMEE", () => {
  it("echoes the command line (with its \\r) before the answer, and stops after ATE0", async () => {
    const { host } = start({ dialect: "quectel" });
    expect(await host.command("AT+CGSN")).toBe(`AT+CGSN\r\r\n${IMEI}\r\n\r\nOK\r\n`);
    expect(await host.command("ATE0")).toBe("ATE0\r\r\nOK\r\n");
    expect(await host.command("AT+CGSN")).toBe(`\r\n${IMEI}\r\n\r\nOK\r\n`);
    expect(await host.command("ATE1")).toBe("\r\nOK\r\n");
    expect(await host.command("at")).toBe("at\r\r\nOK\r\n");
  });

  it("starts without echo when told, and ATZ restores the power-on settings", async () => {
    const { host, modem } = start({ dialect: "generic", echo: false, cmee: 0 });
    expect(await host.command("AT+CMEE=2;E1")).toBe("\r\nOK\r\n");
    expect(modem.state).toMatchObject({ echo: true, cmee: 2 });
    expect(await host.command("ATZ")).toBe("ATZ\r\r\nOK\r\n");
    expect(modem.state).toMatchObject({ echo: false, cmee: 0 });
  });

  it("formats CME errors per AT+CMEE (0 ERROR, 1 numeric, 2 verbose)", async () => {
    const { host } = start({ dialect: "quectel", echo: false, simPresent: false });
    expect(lines(await host.command("AT+CIMI"))).toEqual(["+CME ERROR: 10"]); // default CMEE=1
    expect(lines(await host.command("AT+CMEE=2"))).toEqual(["OK"]);
    expect(lines(await host.command("AT+CIMI"))).toEqual(["+CME ERROR: SIM not inserted"]);
    expect(lines(await host.command("AT+CMEE?"))).toEqual(["+CMEE: 2", "OK"]);
    expect(lines(await host.command("AT+CMEE=0"))).toEqual(["OK"]);
    expect(lines(await host.command("AT+CIMI"))).toEqual(["ERROR"]);
    expect(lines(await host.command("AT+CMEE=7"))).toEqual(["ERROR"]);
  });

  it("answers several commands on one line in order, stopping at the first error", async () => {
    const { host } = start({ dialect: "quectel", echo: false });
    expect(await host.command("AT+CGSN;+CIMI")).toBe(`\r\n${IMEI}\r\n\r\n${IMSI}\r\n\r\nOK\r\n`);
    expect(await host.command("AT+CGSN;+NOPE;+CIMI")).toBe(`\r\n${IMEI}\r\n\r\nERROR\r\n`);
    expect(await host.command("AT + cgsn")).toBe(`\r\n${IMEI}\r\n\r\nOK\r\n`); // case and spaces do not matter
  });

  it("answers ERROR to unknown and malformed commands, ignores lines without AT, handles \\r\\n and backspace", async () => {
    const { host, modem } = start({ dialect: "generic", echo: false });
    expect(lines(await host.command("AT+QCCID"))).toEqual(["ERROR"]); // not a generic command
    expect(lines(await host.command('AT+CPIN="12'))).toEqual(["ERROR"]); // unclosed quote
    expect(lines(await host.command("AT!"))).toEqual(["ERROR"]);
    await host.write("hello\r");
    await host.write("AT+CGSX\bN\r\n");
    expect(lines(await host.until(/OK\r\n/))).toEqual([IMEI, "OK"]);
    await host.write(`AT${"X".repeat(2000)}\r`);
    expect(lines(await host.until(/ERROR\r\n/))).toEqual(["ERROR"]);
    expect(modem.received).toContain("hello");
  });
});

describe("VirtualModem: identity per dialect", () => {
  const table: [ModemDialect, string, string[]][] = [
    ["generic", "AT+CRSM=176,12258,0,0,10", [`+CRSM: 144,0,"${encodeEfIccid(ICCID)}"`]],
    ["quectel", "AT+QCCID", [`+QCCID: ${ICCID}`]],
    ["simcom", "AT+CICCID", [`+ICCID: ${ICCID}`]],
    ["sim800", "AT+CCID", [ICCID]],
    ["ml307", "AT+MCCID", [`+MCCID: ${ICCID}`]],
  ];
  it.each(table)("%s: %s, AT+CGSN, AT+CIMI, AT+CPIN?, AT+CSQ, AT+CRSM", async (dialect, iccidCommand, iccidLines) => {
    const { host } = start({ dialect, echo: false, csq: 17 });
    expect(lines(await host.command(iccidCommand))).toEqual([...iccidLines, "OK"]);
    expect(lines(await host.command("AT+CGSN"))).toEqual([IMEI, "OK"]);
    expect(lines(await host.command("AT+GSN"))).toEqual([IMEI, "OK"]);
    expect(lines(await host.command("AT+CGSN=1"))).toEqual([`+CGSN: ${IMEI}`, "OK"]);
    expect(lines(await host.command("AT+CIMI"))).toEqual([IMSI, "OK"]);
    expect(lines(await host.command("AT+CPIN?"))).toEqual(["+CPIN: READY", "OK"]);
    expect(lines(await host.command("AT+CSQ"))).toEqual(["+CSQ: 17,99", "OK"]);
    const crsm = lines(await host.command("AT+CRSM=176,12258,0,0,10"));
    expect(crsm).toEqual([`+CRSM: 144,0,"98683081462002318379"`, "OK"]); // the reference's sample
    // Each dialect answers only its own ICCID command.
    for (const [other, command] of table) {
      if (other !== dialect && other !== "generic") expect(lines(await host.command(command))).toEqual(["ERROR"]);
    }
  });

  it("ATI / AT+CGMI / AT+CGMM / AT+CGMR per dialect", async () => {
    const ati = async (dialect: ModemDialect, extra: Partial<VirtualModemOptions> = {}) => {
      const { host } = start({ dialect, echo: false, ...extra });
      return {
        ati: await host.command("ATI"),
        ids: [
          ...lines(await host.command("AT+CGMI")),
          ...lines(await host.command("AT+CGMM")),
          ...lines(await host.command("AT+CGMR")),
        ],
      };
    };
    const quectel = await ati("quectel");
    expect(quectel.ati).toBe("\r\nQuectel\r\nEC200U\r\nRevision: EC200UCNAAR02A01M08\r\n\r\nOK\r\n");
    expect(quectel.ids).toEqual(["Quectel", "OK", "EC200U", "OK", "EC200UCNAAR02A01M08", "OK"]);
    const simcom = await ati("simcom");
    expect(lines(simcom.ati).slice(0, 2)).toEqual(["Manufacturer: SIMCOM INCORPORATED", "Model: SIMCOM_SIM7600CE"]);
    expect(simcom.ati).toContain(`IMEI: ${IMEI}`);
    expect(simcom.ids[4]).toMatch(/^\+CGMR: /);
    expect(lines((await ati("sim800")).ati)).toEqual(["SIM800 R14.18", "OK"]);
    expect(lines((await ati("ml307")).ati).slice(0, 2)).toEqual(["China Mobile", "ML307R"]);
    expect(lines((await ati("quectel", { model: "EC25" })).ati)[1]).toBe("EC25");
  });

  it("pads a 19-digit ICCID to 20 nibbles on Quectel and in EF_ICCID, not elsewhere", async () => {
    const iccid = "8986000000000000000"; // 19 characters
    const q = start({ dialect: "quectel", echo: false, iccid });
    expect(lines(await q.host.command("AT+QCCID"))).toEqual(["+QCCID: 8986000000000000000F", "OK"]);
    expect(lines(await q.host.command("AT+CRSM=176,12258,0,0,10"))).toEqual([
      '+CRSM: 144,0,"986800000000000000F0"',
      "OK",
    ]);
    const s = start({ dialect: "simcom", echo: false, iccid: "898600700907a6019125" });
    expect(lines(await s.host.command("AT+CICCID"))).toEqual(["+ICCID: 898600700907A6019125", "OK"]);
  });

  it("AT+CRSM: other files, other instructions, offsets", async () => {
    const { host } = start({ dialect: "generic", echo: false });
    expect(lines(await host.command("AT+CRSM=176,28423,0,0,9"))).toEqual(["+CRSM: 106,130", "OK"]);
    expect(lines(await host.command("AT+CRSM=242"))).toEqual(["+CRSM: 109,0", "OK"]);
    expect(lines(await host.command("AT+CRSM=176,12258,0,5,5"))).toEqual(['+CRSM: 144,0,"2002318379"', "OK"]);
    expect(lines(await host.command("AT+CRSM=read"))).toEqual(["ERROR"]);
  });
});

describe("encodeEfIccid", () => {
  it("is the inverse of protocol's decodeEfIccid, padding with F", () => {
    expect(encodeEfIccid("89860318640220133897")).toBe("98683081462002318379");
    expect(encodeEfIccid("8986000000000000000")).toBe("986800000000000000F0");
    fc.assert(
      fc.property(fc.stringMatching(/^89[0-9A-F]{16,18}$/), (iccid) => {
        expect(decodeEfIccid(encodeEfIccid(iccid))).toBe(iccid.padEnd(20, "F"));
      }),
    );
    expectTriadkitError(() => encodeEfIccid("89".repeat(11)), "id.bad_iccid");
    expectTriadkitError(() => encodeEfIccid("89-86"), "id.bad_iccid");
  });
});

describe("VirtualModem: SIM states", () => {
  it.each<ModemDialect>(["generic", "quectel", "simcom", "sim800", "ml307"])(
    "%s without a SIM: CME 10 on CIMI/ICCID/CPIN?/CRSM, the IMEI and CSQ still answer",
    async (dialect) => {
      const { host } = start({ dialect, echo: false, simPresent: false });
      const iccidCommand = {
        generic: "AT+CRSM=176,12258,0,0,10",
        quectel: "AT+QCCID",
        simcom: "AT+CICCID",
        sim800: "AT+CCID",
        ml307: "AT+MCCID",
      }[dialect];
      for (const command of ["AT+CIMI", "AT+CPIN?", "AT+CRSM=176,12258,0,0,10", iccidCommand]) {
        expect(lines(await host.command(command))).toEqual(["+CME ERROR: 10"]);
      }
      expect(lines(await host.command("AT+CGSN"))).toEqual([IMEI, "OK"]);
      expect(lines(await host.command("AT+CSQ"))).toEqual(["+CSQ: 20,99", "OK"]);
      await host.command("AT+CMEE=0");
      expect(lines(await host.command(iccidCommand))).toEqual(["ERROR"]);
    },
  );

  it("a PIN-locked card: ICCID readable, IMSI not; wrong PINs lead to PUK; PUK sets a new PIN", async () => {
    const { host, modem } = start({ dialect: "quectel", echo: false, simLock: "pin", simPin: "4321" });
    expect(lines(await host.command("AT+CPIN?"))).toEqual(["+CPIN: SIM PIN", "OK"]);
    expect(lines(await host.command("AT+QCCID"))).toEqual([`+QCCID: ${ICCID}`, "OK"]);
    expect(lines(await host.command("AT+CIMI"))).toEqual(["+CME ERROR: 11"]);
    for (let i = 0; i < 3; i++) expect(lines(await host.command('AT+CPIN="0000"'))).toEqual(["+CME ERROR: 16"]);
    expect(lines(await host.command("AT+CPIN?"))).toEqual(["+CPIN: SIM PUK", "OK"]);
    expect(lines(await host.command("AT+CIMI"))).toEqual(["+CME ERROR: 12"]);
    expect(lines(await host.command('AT+CPIN="12345678","5555"'))).toEqual(["OK"]);
    expect(lines(await host.command("AT+CIMI"))).toEqual([IMSI, "OK"]);
    expect(lines(await host.command('AT+CPIN="5555"'))).toEqual(["+CME ERROR: 3"]); // already ready
    expect(modem.state.sim.card.pin).toBe("5555");
  });

  it("quectel: swapSim sends +QSIMSTAT (when enabled) and +CPIN URCs, and the new card answers", async () => {
    const { host, modem } = start({ dialect: "quectel", echo: false });
    expect(lines(await host.command("AT+QSIMSTAT?"))).toEqual(["+QSIMSTAT: 0,1", "OK"]);
    await modem.swapSim(CARD2);
    expect(lines(await host.collect(20))).toEqual(["+CPIN: NOT READY", "+CPIN: READY"]);
    expect(lines(await host.command("AT+QSIMSTAT=1"))).toEqual(["OK"]);
    await modem.swapSim({ iccid: ICCID, imsi: IMSI });
    expect(lines(await host.collect(20))).toEqual([
      "+QSIMSTAT: 1,0",
      "+CPIN: NOT READY",
      "+QSIMSTAT: 1,1",
      "+CPIN: READY",
    ]);
    await modem.swapSim(CARD2);
    host.clear();
    expect(lines(await host.command("AT+QCCID"))).toEqual([`+QCCID: ${CARD2.iccid}`, "OK"]);
    expect(lines(await host.command("AT+CIMI"))).toEqual([CARD2.imsi, "OK"]);
  });

  it.each<ModemDialect>(["generic", "simcom", "sim800", "ml307"])(
    "%s: removeSim/insertSim send +CPIN: SIM REMOVED / +CPIN: READY",
    async (dialect) => {
      const { host, modem } = start({ dialect, echo: false });
      await modem.removeSim();
      expect(await host.collect(20)).toBe("\r\n+CPIN: SIM REMOVED\r\n");
      expect(lines(await host.command("AT+CPIN?"))).toEqual(["+CME ERROR: 10"]);
      await modem.removeSim(); // no card: nothing happens
      await modem.insertSim({ ...CARD2, lock: "pin" });
      expect(await host.collect(20)).toBe("\r\n+CPIN: SIM PIN\r\n");
      await expect(modem.insertSim()).rejects.toMatchObject({ code: "config.invalid" });
      await modem.swapSim({ iccid: ICCID, imsi: IMSI });
      expect(lines(await host.collect(20))).toEqual(["+CPIN: SIM REMOVED", "+CPIN: READY"]);
    },
  );

  it("setSignal changes AT+CSQ; sendUrc and injectGarbage write raw", async () => {
    const { host, modem } = start({ dialect: "sim800", echo: false });
    modem.setSignal(99);
    expect(lines(await host.command("AT+CSQ"))).toEqual(["+CSQ: 99,99", "OK"]);
    modem.setSignal(31, 0);
    expect(lines(await host.command("AT+CSQ"))).toEqual(["+CSQ: 31,0", "OK"]);
    expect(() => modem.setSignal(-1)).toThrow(/config.invalid/);
    await modem.sendUrc("RING");
    await modem.injectGarbage(new Uint8Array([0xff, 0x00, 0x41]));
    expect(await host.collect(20)).toBe("\r\nRING\r\n\xff\x00A");
  });
});

describe("VirtualModem: overrides and faults", () => {
  it("asks behaviours newest first, falls through on undefined, and removes them again", async () => {
    const { host, modem } = start({ dialect: "quectel", echo: false });
    const seen: string[] = [];
    modem.addBehaviour(modemBehaviour("AT+QCCID", () => atOk("+QCCID: OLDER")));
    const remove = modem.addBehaviour(
      modemBehaviour(/^AT\+Q/, ({ command }) => {
        seen.push(command);
        return undefined; // observe only
      }),
      modemBehaviour("at+qccid", () => atOk("+QCCID: NEWEST")),
    );
    expect(lines(await host.command("AT+QCCID"))).toEqual(["+QCCID: NEWEST", "OK"]);
    expect(seen).toEqual(["AT+QCCID"]);
    remove();
    expect(lines(await host.command("AT+QCCID"))).toEqual(["+QCCID: OLDER", "OK"]);
  });

  it("times: a one-off fault, then the default again; custom final result codes", async () => {
    const { host, modem } = start({ dialect: "quectel", echo: false });
    modem.addBehaviour(modemBehaviour("AT+CIMI", () => cmeError(14), { times: 1 }));
    expect(lines(await host.command("AT+CIMI"))).toEqual(["+CME ERROR: 14"]);
    expect(lines(await host.command("AT+CIMI"))).toEqual([IMSI, "OK"]);
    modem.addBehaviour(modemBehaviour("AT+CSQ", () => ({ reply: ["+CSQ: 5,5"], final: "+CMS ERROR: 500" })));
    expect(lines(await host.command("AT+CSQ"))).toEqual(["+CSQ: 5,5", "+CMS ERROR: 500"]);
    modem.addBehaviour(
      modemBehaviour("AT+CGSN", () => {
        throw new Error("bug in a test behaviour");
      }),
    );
    expect(lines(await host.command("AT+CGSN"))).toEqual(["ERROR"]);
  });

  it("timeout: no answer at all (the echo still comes); the next command is answered", async () => {
    const { host, modem } = start({ dialect: "quectel" });
    modem.addBehaviour(modemBehaviour("AT+QCCID", () => ({ timeout: true }), { times: 1 }));
    await expect(host.command("AT+QCCID", 100)).rejects.toMatchObject({ code: "at.timeout" });
    expect(host.pending).toBe("AT+QCCID\r");
    expect(lines(await host.command("AT+QCCID"))).toEqual(["AT+QCCID", `+QCCID: ${ICCID}`, "OK"]);
  });

  it("garble: raw bytes instead of the answer", async () => {
    const { host, modem } = start({ dialect: "simcom", echo: false });
    modem.addBehaviour(modemBehaviour("AT+CICCID", () => ({ garble: new Uint8Array([0x2b, 0x49, 0xfe, 0x0d]) })));
    await host.write("AT+CICCID\r");
    expect(await host.collect(20)).toBe("+I\xfe\r");
  });

  it("delayMs/then and slow(ms) run on the injected clock", async () => {
    const clock = new ManualClock();
    const { host, modem } = start({ dialect: "ml307", clock });
    modem.addBehaviour(modemBehaviour("AT+MCCID", () => delayed(3_000, atOk("+MCCID: LATE"))));
    await host.write("AT+MCCID\r");
    expect(await host.collect(10)).toBe("AT+MCCID\r");
    clock.advance(2_999);
    expect(await host.collect(10)).toBe("");
    clock.advance(1);
    expect(lines(await host.collect(10))).toEqual(["+MCCID: LATE", "OK"]);
    modem.slow(500);
    await host.write("AT+CGSN\r");
    expect(await host.collect(10)).toBe("AT+CGSN\r");
    clock.advance(500);
    expect(lines(await host.collect(10))).toEqual([IMEI, "OK"]);
    modem.slow(0);
    expect(lines(await host.command("AT"))).toEqual(["AT", "OK"]);
  });

  it("silent(on): nothing echoed, answered or reported until silent(false)", async () => {
    const { host, modem } = start({ dialect: "quectel" });
    modem.silent(true);
    await host.write("AT+CGSN\r");
    await modem.sendUrc("+CPIN: READY");
    await modem.removeSim();
    expect(await host.collect(30)).toBe("");
    modem.silent(false);
    expect(lines(await host.command("AT+CPIN?"))).toEqual(["AT+CPIN?", "+CME ERROR: 10"]);
  });

  it("behaviours see params and may drive faults (a command that pulls the SIM)", async () => {
    const { host, modem } = start({ dialect: "quectel", echo: false, qsimstatUrc: true });
    modem.addBehaviour(
      modemBehaviour(/^AT\+TEST=(\d+)$/, async (ctx) => {
        await ctx.modem.removeSim();
        return atOk(`params=${ctx.params.join("|")} match=${ctx.match?.[1]}`);
      }),
    );
    expect(lines(await host.command("AT+TEST=42"))).toEqual([
      "+QSIMSTAT: 1,0",
      "+CPIN: NOT READY",
      "params=42 match=42",
      "OK",
    ]);
  });
});

describe("VirtualModem: robustness", () => {
  it("never crashes on random command lines and still answers AT afterwards", async () => {
    const { host, modem } = start({ dialect: "quectel", echo: false });
    const commandish = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc
        .tuple(
          fc.constantFrom("AT", "at", "AT+", "AT+C", "AT+Q", "ATE", "ATS", "AT&", "AT+CPIN=", "AT+CRSM=", "AT+CMEE="),
          fc.string({ unit: "binary-ascii", maxLength: 40 }),
        )
        .map(([a, b]) => a + b),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(commandish, { maxLength: 5 }), async (inputs) => {
        for (const input of inputs) await host.write(`${input}\r`);
        await modem.idle();
        modem.restoreSettings();
        modem.state.echo = false;
        modem.slow(0);
        if (!modem.state.sim.present) await modem.insertSim();
        modem.state.sim.lock = "ready";
        await host.collect(0);
        expect(lines(await host.command("AT"))).toEqual(["OK"]);
      }),
      { numRuns: 150 },
    );
  });
});
