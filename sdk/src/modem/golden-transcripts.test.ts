import { expectTriadkitErrorAsync } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { createAtModem } from "./at-modem.js";
import { parseQsimstat } from "./at-parse.js";
import { GOLDEN_TRANSCRIPTS, type GoldenTranscript } from "./golden-transcripts.data.js";
import { MemorySerialLink } from "./memory-serial-link.js";
import { ScriptedAtPeer } from "./scripted-at-peer.js";

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const ICCID_COMMANDS = /^AT\+(?:QCCID|NCCID|CICCID|CCID|ICCID|MCCID|CRSM=)/;

async function play(t: GoldenTranscript) {
  const [host, device] = MemorySerialLink.pair();
  // Unscripted commands answer ERROR, as a module does for commands it does not know.
  const peer = new ScriptedAtPeer(device, { script: t.script });
  const modem = await createAtModem({ link: host, dialect: t.dialect, clock: new ManualClock() });
  return { modem, peer };
}

describe("golden transcripts: real module responses through the driver", () => {
  it("every transcript quotes its real lines verbatim in its script", () => {
    for (const t of GOLDEN_TRANSCRIPTS) {
      const all = Object.values(t.script).flatMap((lines) => lines ?? []);
      if (t.expect.op === "urc") all.push(t.expect.urc);
      for (const q of t.quoted) {
        if (q.includes("<imei>")) continue; // a shape, not a value
        expect(
          all.some((line) => line.includes(q)),
          `${t.name}: ${q}`,
        ).toBe(true);
      }
    }
  });

  for (const t of GOLDEN_TRANSCRIPTS) {
    it(`${t.name} (${t.source})`, async () => {
      const { modem, peer } = await play(t);
      const e = t.expect;
      switch (e.op) {
        case "identity": {
          const id = await modem.readIdentity();
          expect({
            imei: id.imei,
            iccid: id.iccid,
            imsi: id.imsi,
            operator: id.operator,
            dialect: id.dialect,
          }).toEqual({ imei: e.imei, iccid: e.iccid, imsi: e.imsi, operator: e.operator, dialect: e.dialect });
          expect(id.warnings.map((w) => w.code)).toEqual(e.warnings);
          if (e.firmware !== undefined) expect(id.firmware).toBe(e.firmware);
          if (e.iccidCommands !== undefined) {
            expect(peer.commands.filter((c) => ICCID_COMMANDS.test(c))).toEqual(e.iccidCommands);
          }
          break;
        }
        case "identity_error": {
          const err = await expectTriadkitErrorAsync(() => modem.readIdentity(), e.code as "modem.no_sim");
          if (e.context !== undefined) expect(err.context).toMatchObject(e.context);
          break;
        }
        case "signal":
          expect(await modem.signal()).toEqual(e.signal);
          break;
        case "simState":
          expect(await modem.simState()).toBe(e.state);
          break;
        case "qsimstat": {
          const res = await modem.send("AT+QSIMSTAT?");
          expect(res.lines).toHaveLength(1);
          expect(parseQsimstat(res.lines[0] as string)).toEqual({ enabled: e.enabled, inserted: e.inserted });
          break;
        }
        case "urc": {
          const events: string[] = [];
          modem.on("urc", (line) => events.push(`urc:${line}`));
          modem.on("simRemoved", () => events.push("simRemoved"));
          modem.on("simInserted", () => events.push("simInserted"));
          await peer.urc(e.urc);
          await flush();
          expect(events).toEqual(e.events);
          break;
        }
      }
      await modem.close();
    });
  }
});
