/** The SDK's real AT driver (`createAtModem`) against the virtual modem, for every dialect. */
import { type AtModem, createAtModem, type ModemDialect } from "@triadkit/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { createVirtualModemPair, modemBehaviour } from "./index.js";

const IMEI = "352099001761481";
const UNICOM = { iccid: "89860621330066521767", imsi: "460060086257148" };
const TELECOM = { iccid: "89860318640220133897", imsi: "460115956795568" };

const open: AtModem[] = [];
afterEach(async () => {
  for (const m of open.splice(0)) await m.close();
});

async function connect(dialect: ModemDialect, extra: { simPresent?: boolean } = {}) {
  const { modem, hostLink } = createVirtualModemPair({ dialect, imei: IMEI, ...UNICOM, csq: 17, ...extra });
  const driver = await createAtModem({ link: hostLink }); // dialect: auto, from ATI
  open.push(driver);
  return { modem, driver };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

describe.each<ModemDialect>(["generic", "quectel", "simcom", "sim800", "ml307"])(
  "AtModem ↔ VirtualModem (%s)",
  (dialect) => {
    it("detects the dialect and reads a valid identity, SIM state and signal", async () => {
      const { driver, modem } = await connect(dialect);
      expect(driver.dialect).toBe(dialect);
      const id = await driver.readIdentity();
      expect(id).toMatchObject({ imei: IMEI, ...UNICOM, operator: "china_unicom", dialect });
      expect(id.firmware).toContain(modem.state.model.replace(/^SIMCOM_/, ""));
      expect(await driver.simState()).toBe("ready");
      expect(await driver.signal()).toEqual({ csq: 17, rssiDbm: -79 });
      expect(modem.state).toMatchObject({ echo: false, cmee: 1, qsimstatUrc: dialect === "quectel" });
    });

    it("sees a SIM swap as removed + inserted events and reads the new card; no SIM → modem.no_sim", async () => {
      const { driver, modem } = await connect(dialect);
      await driver.readIdentity();
      const events: string[] = [];
      driver.on("simRemoved", () => events.push("removed")).on("simInserted", () => events.push("inserted"));
      await modem.swapSim(TELECOM);
      await tick();
      expect(events).toEqual(["removed", "inserted"]);
      expect(await driver.readIdentity()).toMatchObject({ ...TELECOM, operator: "china_telecom" });
      await modem.removeSim();
      await tick();
      expect(events).toEqual(["removed", "inserted", "removed"]);
      expect(await driver.simState()).toBe("not_inserted");
      await expect(driver.readIdentity()).rejects.toMatchObject({ code: "modem.no_sim" });
    });
  },
);

describe("AtModem ↔ VirtualModem faults", () => {
  it("falls back to AT+CRSM when the ICCID command fails, and reports a bad IMEI as modem.bad_identity", async () => {
    const { driver, modem } = await connect("quectel");
    const seen: string[] = [];
    modem.addBehaviour(
      modemBehaviour(/^AT\+/, ({ command }) => {
        seen.push(command);
        return undefined;
      }),
      modemBehaviour("AT+QCCID", () => ({ error: 13 })),
    );
    expect((await driver.readIdentity()).iccid).toBe(UNICOM.iccid);
    expect(seen).toContain("AT+CRSM=176,12258,0,0,10");
    modem.state.imei = "352099001761482";
    await expect(driver.readIdentity()).rejects.toMatchObject({ code: "modem.bad_identity" });
  });
});
