import { expectTriadkitErrorAsync, isTriadkitError } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { type AtModemOptions, createAtModem, iccidCommandsFor } from "./at-modem.js";
import { detectDialect, extractIccid, extractImei, parseCrsm, parseCsq } from "./at-parse.js";
import { MemorySerialLink } from "./memory-serial-link.js";
import type { Modem } from "./modem.js";
import { type AtPeerScript, ScriptedAtPeer } from "./scripted-at-peer.js";

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const ok = (...lines: string[]) => [...lines, "OK"];

const BASE = {
  ATE0: ok(),
  "AT+CMEE=1": ok(),
  ATI: ok("Quectel", "EC200U", "Revision: EC200UCNAAR02A01M08"),
  "AT+QSIMSTAT=1": ok(),
  "AT+CGSN": ok("490154203237518"),
  "AT+QCCID": ok("+QCCID: 89860621330066521767"),
  "AT+CIMI": ok("460060086257148"),
  "AT+CPIN?": ok("+CPIN: READY"),
  "AT+CSQ": ok("+CSQ: 24,99"),
  AT: ok(),
};

async function open(
  script: Record<string, unknown> = {},
  options: Partial<AtModemOptions> & { echo?: boolean; unknown?: null } = {},
) {
  const [host, device] = MemorySerialLink.pair();
  const peer = new ScriptedAtPeer(device, {
    script: { ...BASE, ...script } as AtPeerScript,
    echo: options.echo ?? false,
    ...(options.unknown === null ? { unknown: null } : {}),
  });
  const clock = options.clock ?? new ManualClock();
  const modem = await createAtModem({ link: host, clock, dialect: options.dialect ?? "auto", ...options });
  return { modem, peer, host, device, clock };
}

describe("createAtModem", () => {
  it("initialises with ATE0 and AT+CMEE=1, detects the dialect from ATI and enables QSIMSTAT on Quectel", async () => {
    const { modem, peer } = await open();
    expect(peer.commands).toEqual(["ATE0", "AT+CMEE=1", "ATI", "AT+QSIMSTAT=1"]);
    expect(modem.dialect).toBe("quectel");
    expect(modem.module).toEqual({ dialect: "quectel", vendor: "quectel", model: "EC200U" });
  });

  it("works with a modem that boots with echo on", async () => {
    const { modem, peer } = await open({}, { echo: true });
    expect((await modem.readIdentity()).imei).toBe("490154203237518");
    expect(modem.stats.echoes).toBe(1); // only ATE0 itself was echoed
    expect(peer.commands[0]).toBe("ATE0");
  });

  it("an explicit dialect skips ATI at start; QSIMSTAT only on Quectel", async () => {
    const { modem, peer } = await open({ "AT+CICCID": ok("+ICCID: 898600700907A6019125") }, { dialect: "simcom" });
    expect(peer.commands).toEqual(["ATE0", "AT+CMEE=1"]);
    expect((await modem.readIdentity()).iccid).toBe("898600700907A6019125");
  });

  it("falls back to AT+CGMI/AT+CGMM when ATI is refused", async () => {
    const { modem } = await open({
      ATI: ["ERROR"],
      "AT+CGMI": ok("SIMCOM INCORPORATED"),
      "AT+CGMM": ok("SIMCOM_SIM7600E-H"),
    });
    expect(modem.module).toEqual({ dialect: "simcom", vendor: "simcom", model: "SIM7600E-H" });
  });

  it("tolerates ERROR to the init commands", async () => {
    const { modem } = await open({ ATE0: ["ERROR"], "AT+CMEE=1": ["+CME ERROR: 4"], "AT+QSIMSTAT=1": ["ERROR"] });
    expect((await modem.signal()).csq).toBe(24);
  });

  it("rejects with at.timeout when the modem is silent, and leaves the link open", async () => {
    const [host, device] = MemorySerialLink.pair();
    new ScriptedAtPeer(device, { script: () => null });
    const clock = new ManualClock();
    let error: unknown;
    const p = createAtModem({ link: host, clock }).catch((e: unknown) => {
      error = e;
    });
    for (let t = 0; t < 20_000 && error === undefined; t += 100) {
      clock.advance(100);
      await flush();
    }
    await p;
    expect(isTriadkitError(error, "at.timeout")).toBe(true);
    expect(host.isOpen).toBe(true);
  });
});

describe("dialect detection and command tables", () => {
  it("recognises the vendors from their ATI banners", () => {
    expect(detectDialect(["Quectel", "EC20F", "Revision: EC20CEFAGR06A05M4G"]).dialect).toBe("quectel");
    expect(detectDialect(["Quectel", "BC95HB-02-STD_850"])).toEqual({
      dialect: "quectel",
      vendor: "quectel",
      model: "BC95HB-02-STD",
    });
    expect(detectDialect(["SIM800 R14.18"])).toEqual({ dialect: "sim800", vendor: "simcom", model: "SIM800" });
    expect(detectDialect(["SIM868 R14.18"]).dialect).toBe("sim800");
    expect(detectDialect(["Manufacturer: SIMCOM INCORPORATED", "Model: SIMCOM_SIM7600E-H"]).dialect).toBe("simcom");
    expect(detectDialect(["China Mobile", "ML307R"])).toEqual({
      dialect: "ml307",
      vendor: "china_mobile",
      model: "ML307R",
    });
    expect(detectDialect(["OneMO"]).dialect).toBe("ml307");
    expect(detectDialect(["Fibocom", "L610"])).toEqual({ dialect: "generic", vendor: "fibocom", model: "L610" });
    expect(detectDialect(["Some Modem Inc."]).dialect).toBe("generic");
    expect(detectDialect([]).dialect).toBe("generic");
  });

  it("picks the ICCID commands per dialect (CRSM comes after all of them)", () => {
    const cmds = (d: Parameters<typeof iccidCommandsFor>[0], m?: string) =>
      iccidCommandsFor(d, m).map((c) => c.command);
    expect(cmds("quectel")).toEqual(["AT+QCCID"]);
    expect(cmds("quectel", "BC95HB-02-STD")).toEqual(["AT+NCCID", "AT+QCCID"]);
    expect(cmds("quectel", "BC26")).toEqual(["AT+QCCID", "AT+NCCID"]);
    expect(cmds("simcom")).toEqual(["AT+CICCID", "AT+CCID"]);
    expect(cmds("sim800")).toEqual(["AT+CCID"]);
    expect(cmds("ml307")).toEqual(["AT+MCCID"]);
    expect(cmds("generic")).toEqual(["AT+CCID", "AT+ICCID"]);
  });

  it("parsers accept the optional space, quotes and lower case", () => {
    expect(extractIccid(['+CCID: "89860621330066521767"'])).toBe("89860621330066521767");
    expect(extractIccid(["+ICCID:898600d6991330004146"])).toBe("898600d6991330004146");
    expect(extractIccid(["8986000000000000000F"])).toBe("8986000000000000000F");
    expect(extractIccid(["Quectel", "+QCCID: 898604071118C0501150"])).toBe("898604071118C0501150");
    expect(extractIccid(["12345678901234567890"])).toBeUndefined();
    expect(extractImei(['+CGSN: "490154203237518"'])).toBe("490154203237518");
    expect(extractImei(["+CGSN:490154203237518"])).toBe("490154203237518");
    expect(parseCsq(["+CSQ:31,0"])).toEqual({ rssi: 31, ber: 0 });
    expect(parseCrsm(["+CRSM: 106,130"])).toEqual({ sw1: 106, sw2: 130, data: "" });
  });
});

describe("AtModem.readIdentity", () => {
  it("reads, validates and attributes the identity (operator from the IMSI)", async () => {
    const { modem } = await open();
    expect(await modem.readIdentity()).toEqual({
      imei: "490154203237518",
      iccid: "89860621330066521767",
      imsi: "460060086257148",
      operator: "china_unicom",
      dialect: "quectel",
      firmware: "Quectel EC200U Revision: EC200UCNAAR02A01M08",
      warnings: [],
    });
  });

  it("takes the operator from the ICCID when the IMSI's is unknown, and keeps the warnings", async () => {
    const { modem } = await open({ "AT+CIMI": ok("310150123456789") });
    const id = await modem.readIdentity();
    expect(id.operator).toBe("china_unicom");
    expect(id.warnings.map((w) => w.code)).toEqual(["id.imsi_not_china"]);
  });

  it("warns when the ICCID and IMSI operators differ", async () => {
    const { modem } = await open({ "AT+CIMI": ok("460040181839878") });
    const id = await modem.readIdentity();
    expect(id.operator).toBe("china_mobile");
    expect(id.warnings.map((w) => w.code)).toEqual(["id.iccid_imsi_operator_mismatch"]);
  });

  it("an IMEI that fails validation → modem.bad_identity with the identifier's code", async () => {
    const { modem } = await open({ "AT+CGSN": ok("490154203237519") });
    const err = await expectTriadkitErrorAsync(() => modem.readIdentity(), "modem.bad_identity");
    expect(err.context).toEqual({ field: "imei", idCode: "id.imei_check_digit" });
  });

  it("no IMEI at all → modem.bad_identity after AT+CGSN, AT+CGSN=1 and AT+GSN", async () => {
    const { modem, peer } = await open({ "AT+CGSN": ok() });
    const err = await expectTriadkitErrorAsync(() => modem.readIdentity(), "modem.bad_identity");
    expect(err.context).toEqual({ field: "imei" });
    expect(peer.commands.filter((c) => c.includes("GSN"))).toEqual(["AT+CGSN", "AT+CGSN=1", "AT+GSN"]);
  });

  it("a bad dialect ICCID answer is replaced by the CRSM read; both bad → modem.bad_identity", async () => {
    const crsm = '+CRSM: 144,0,"98683081462002318379"';
    const good = await open({ "AT+QCCID": ok("+QCCID: 89860318640220133898"), "AT+CRSM=176,12258,0,0,10": ok(crsm) });
    expect((await good.modem.readIdentity()).iccid).toBe("89860318640220133897");

    const bad = await open({ "AT+QCCID": ok("+QCCID: 89860318640220133898") });
    const err = await expectTriadkitErrorAsync(() => bad.modem.readIdentity(), "modem.bad_identity");
    expect(err.context).toEqual({ field: "iccid", idCode: "id.iccid_check_digit" });
  });

  it("a CRSM status other than 144,0 is not used", async () => {
    const { modem } = await open({
      "AT+QCCID": ["ERROR"],
      "AT+CRSM=176,12258,0,0,10": ok('+CRSM: 148,4,"98683081462002318379"'),
    });
    const err = await expectTriadkitErrorAsync(() => modem.readIdentity(), "modem.bad_identity");
    expect(err.context).toEqual({ field: "iccid", simState: "ready" });
  });

  it("IMSI is required: no SIM → modem.no_sim; SIM present but silent → modem.bad_identity", async () => {
    const noSim = await open({ "AT+CIMI": ["+CME ERROR: 10"], "AT+CPIN?": ["+CME ERROR: 10"] });
    const e1 = await expectTriadkitErrorAsync(() => noSim.modem.readIdentity(), "modem.no_sim");
    expect(e1.context).toEqual({ field: "imsi", simState: "not_inserted" });

    const notInserted = await open({ "AT+CIMI": ["ERROR"], "AT+CPIN?": ok("+CPIN: NOT INSERTED") });
    await expectTriadkitErrorAsync(() => notInserted.modem.readIdentity(), "modem.no_sim");

    const cpinError = await open({ "AT+CIMI": ["+CME ERROR: 10"], "AT+CPIN?": ["ERROR"] });
    await expectTriadkitErrorAsync(() => cpinError.modem.readIdentity(), "modem.no_sim");

    const locked = await open({ "AT+CIMI": ["+CME ERROR: 11"], "AT+CPIN?": ok("+CPIN: SIM PIN") });
    const e2 = await expectTriadkitErrorAsync(() => locked.modem.readIdentity(), "modem.bad_identity");
    expect(e2.context).toEqual({ field: "imsi", simState: "pin_required" });

    const silent = await open({ "AT+CIMI": ok() });
    const e3 = await expectTriadkitErrorAsync(() => silent.modem.readIdentity(), "modem.bad_identity");
    expect(e3.context).toEqual({ field: "imsi", simState: "ready" });

    const garbage = await open({ "AT+CIMI": ok("46006008625714X") });
    await expectTriadkitErrorAsync(() => garbage.modem.readIdentity(), "modem.bad_identity");
  });

  it("an explicitly given Quectel dialect still finds a BC95 by its ATI and uses AT+NCCID", async () => {
    const { modem, peer } = await open(
      { ATI: ok("Quectel", "BC95HB-02-STD_850"), "AT+NCCID": ok("+NCCID:898604A52121C0114673"), "AT+QCCID": ["ERROR"] },
      { dialect: "quectel" },
    );
    expect((await modem.readIdentity()).iccid).toBe("898604A52121C0114673");
    expect(peer.commands).toContain("AT+NCCID");
    expect(peer.commands).not.toContain("AT+QCCID");
  });

  it("firmware falls back to AT+CGMR when ATI is refused", async () => {
    const { modem } = await open(
      { ATI: ["ERROR"], "AT+CGMR": ok("+CGMR: EC200UCNAAR02A01M08") },
      { dialect: "quectel" },
    );
    expect((await modem.readIdentity()).firmware).toBe("EC200UCNAAR02A01M08");
  });
});

describe("AtModem.signal and simState", () => {
  it("converts CSQ to dBm; 99 → undefined", async () => {
    for (const [rssi, dbm] of [
      [0, -113],
      [1, -111],
      [24, -65],
      [31, -51],
      [99, undefined],
    ] as const) {
      const { modem } = await open({ "AT+CSQ": ok(`+CSQ: ${rssi},99`) });
      expect(await modem.signal()).toEqual({ csq: rssi, rssiDbm: dbm });
    }
  });

  it("a CSQ out of range or missing → at.bad_response", async () => {
    for (const reply of [ok("+CSQ: 45,0"), ok(), ok("+CSQ: x,y")]) {
      const { modem } = await open({ "AT+CSQ": reply });
      await expectTriadkitErrorAsync(() => modem.signal(), "at.bad_response");
    }
  });

  it("maps AT+CPIN? answers and CME codes to SimState", async () => {
    const cases: [string[], string][] = [
      [ok("+CPIN: READY"), "ready"],
      [ok("+CPIN:READY"), "ready"],
      [ok("+CPIN: SIM PIN"), "pin_required"],
      [ok("+CPIN: SIM PUK"), "puk_required"],
      [ok("+CPIN: PH-SIM PIN"), "pin_required"],
      [ok("+CPIN: NOT READY"), "not_ready"],
      [ok("+CPIN: NOT INSERTED"), "not_inserted"],
      [ok("+CPIN: SOMETHING ELSE"), "unknown"],
      [ok(), "unknown"],
      [["+CME ERROR: 10"], "not_inserted"],
      [["+CME ERROR: 11"], "pin_required"],
      [["+CME ERROR: 12"], "puk_required"],
      [["+CME ERROR: 14"], "not_ready"],
      [["+CME ERROR: 13"], "unknown"],
      [["ERROR"], "unknown"],
    ];
    for (const [reply, state] of cases) {
      const { modem } = await open({ "AT+CPIN?": reply });
      expect(await modem.simState(), reply.join("|")).toBe(state);
    }
  });
});

describe("AtModem events", () => {
  async function withEvents(script: Record<string, unknown> = {}) {
    const opened = await open(script);
    const events: string[] = [];
    const modem: Modem = opened.modem;
    modem.on("simRemoved", () => events.push("removed"));
    modem.on("simInserted", () => events.push("inserted"));
    modem.on("urc", (line) => events.push(`urc ${line}`));
    return { ...opened, events };
  }

  it("QSIMSTAT and CPIN URCs become simRemoved / simInserted, without duplicates", async () => {
    const { peer, events } = await withEvents();
    for (const line of ["+QSIMSTAT: 1,0", "+CPIN: NOT READY", "+QSIMSTAT: 1,1", "+CPIN: READY", "+QSIMSTAT: 1,2"]) {
      await peer.urc(line);
    }
    await flush();
    expect(events).toEqual([
      "urc +QSIMSTAT: 1,0",
      "removed",
      "urc +CPIN: NOT READY",
      "urc +QSIMSTAT: 1,1",
      "inserted",
      "urc +CPIN: READY",
      "urc +QSIMSTAT: 1,2",
    ]);
  });

  it("+CPIN: SIM REMOVED then +CPIN: READY → removed, inserted; READY alone → nothing", async () => {
    const { peer, events } = await withEvents();
    await peer.urc("+CPIN: READY");
    await peer.urc("+CPIN: SIM REMOVED");
    await peer.urc("+CPIN:READY");
    await flush();
    expect(events.filter((e) => !e.startsWith("urc"))).toEqual(["removed", "inserted"]);
  });

  it("a URC in the middle of AT+CSQ fires its event and the signal is still right", async () => {
    const { modem, events } = await withEvents({
      "AT+CSQ": "\r\n+QSIMSTAT: 1,0\r\n\r\n+CSQ: 24,99\r\n\r\nOK\r\n",
    });
    expect(await modem.signal()).toEqual({ csq: 24, rssiDbm: -65 });
    expect(events).toEqual(["urc +QSIMSTAT: 1,0", "removed"]);
  });

  it("a polled 'not inserted' arms simInserted for the next +CPIN: READY", async () => {
    const { modem, peer, events } = await withEvents({ "AT+CPIN?": ok("+CPIN: NOT INSERTED") });
    expect(await modem.simState()).toBe("not_inserted");
    await peer.urc("+CPIN: READY");
    await flush();
    expect(events).toEqual(["urc +CPIN: READY", "inserted"]);
  });

  it("off() removes a listener; a throwing listener does not break the modem", async () => {
    const { modem, peer } = await open();
    const seen: string[] = [];
    const listener = (line: string) => seen.push(line);
    modem.on("urc", listener);
    modem.on("simRemoved", () => {
      throw new Error("listener bug");
    });
    await peer.urc("+QSIMSTAT: 1,0");
    await flush();
    modem.off("urc", listener);
    await peer.urc("+QSIMSTAT: 1,1");
    await flush();
    expect(seen).toEqual(["+QSIMSTAT: 1,0"]);
    expect((await modem.signal()).csq).toBe(24);
  });
});

describe("AtModem.close", () => {
  it("rejects pending commands with at.closed and closes the link", async () => {
    const { modem, host } = await open({ "AT+CSQ": null });
    const pending = expectTriadkitErrorAsync(() => modem.signal(), "at.closed");
    await flush();
    await modem.close();
    await pending;
    await expectTriadkitErrorAsync(() => modem.readIdentity(), "at.closed");
    expect(host.isOpen).toBe(false);
  });
});
