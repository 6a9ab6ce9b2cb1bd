/** Contract (schema v3): smart-shelf brands, stores, device codes with history, chip assignment, activation. */
import { expectTriadkitErrorAsync } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { genieOrder, genieRows, SOURCE } from "./__tests__/fixtures.js";
import type { ContractContext } from "./ledger.contract.js";
import type { ShelfImportRow } from "./shelf.js";
import type { NewDeviceLink } from "./types.js";

const SHEET = { via: "import", fileName: "shelf.xlsx", sha256: "cd".repeat(32) } as const;

function rows(brand: string, storeId: number, codes: readonly string[], from = 2): ShelfImportRow[] {
  return codes.map((deviceCode, i) => ({ row: from + i, brand, storeId, deviceCode, deviceName: `shelf-${i + 1}` }));
}

export function shelfContract(ctx: () => ContractContext): void {
  async function auditOf(action: string) {
    const { ledger } = ctx();
    return (await ledger.auditEntries(ledger.stationId, 0, 10_000)).filter((e) => e.action === action);
  }

  function link(triadId: string, chipId: string, shelf?: NewDeviceLink["shelf"]): NewDeviceLink {
    const { keyring } = ctx();
    return {
      chipId,
      wifiMac: "0c0000000001",
      model: "TK-SPK-1",
      firmware: "1.4.0",
      recordHash: new Uint8Array(32).fill(0xab),
      writtenAt: 1_790_000_000_000,
      sealedPop: keyring.sealPop(triadId, new Uint8Array(16).fill(7)),
      popSalt: new Uint8Array(16).fill(1),
      ...(shelf === undefined ? {} : { shelf }),
    };
  }

  async function triads(count: number): Promise<void> {
    const { ledger, keyring, actor } = ctx();
    await ledger.addWorkOrder(genieOrder("WO-S", { brand: "Acme" }), actor);
    const session = await ledger.beginImport("WO-S", SOURCE, actor);
    expect(await session.add(genieRows(keyring, "s", 0, count))).toEqual([]);
    await session.commit();
  }

  describe("smart-shelf codes (schema v3)", () => {
    it("imports brands, stores and device codes in one audited step, pending activation and unassigned", async () => {
      const { ledger, actor } = ctx();
      const r = await ledger.importShelfDevices(
        [
          ...rows("Acme", 184454101, ["8F6A77C73E", "8F6A77C73F"]),
          { row: 4, brand: "Acme", storeId: 184454102, storeName: "杭州店", deviceCode: "X-1" },
        ],
        SHEET,
        actor,
      );
      expect(r).toMatchObject({ ok: true, imported: 3, newBrands: ["Acme"], newStores: [184454101, 184454102] });
      const d = await ledger.shelfDevice("8F6A77C73E");
      expect(d).toMatchObject({
        brand: "Acme",
        storeId: 184454101,
        deviceName: "shelf-1",
        status: "pending_activation",
      });
      expect(d?.chipId).toBeUndefined();
      expect(await ledger.shelfStores("Acme")).toMatchObject([
        { storeId: 184454101 },
        { storeId: 184454102, name: "杭州店" },
      ]);
      expect(await ledger.shelfCodeHistory("X-1")).toMatchObject([
        { code: "X-1", source: "import", note: "shelf.xlsx row 4" },
      ]);
      expect(await ledger.availableShelfDevices({ brand: "Acme" })).toBe(3);
      expect(await ledger.availableShelfDevices({ storeId: 184454102 })).toBe(1);
      const [entry] = await auditOf("shelf.import");
      expect(JSON.parse(entry?.details ?? "{}")).toMatchObject({
        via: "import",
        fileName: "shelf.xlsx",
        rows: 3,
        deviceCodes: ["8F6A77C73E", "8F6A77C73F", "X-1"],
      });
    });

    it("is all or nothing: bad values, repeated or known codes and a store under two brands refuse every row", async () => {
      const { ledger, actor } = ctx();
      await ledger.importShelfDevices(rows("Acme", 100, ["KNOWN"]), SHEET, actor);
      const r = await ledger.importShelfDevices(
        [
          { row: 2, brand: "Acme", storeId: 101, deviceCode: "GOOD-1" },
          { row: 3, brand: "Acme", storeId: 101, deviceCode: "GOOD-1" },
          { row: 4, brand: "Acme", storeId: 101, deviceCode: "KNOWN" },
          { row: 5, brand: "Other", storeId: 100, deviceCode: "C5" },
          { row: 6, brand: "Acme", storeId: 0, deviceCode: "C6" },
          { row: 7, brand: "Acme", storeId: 1.5, deviceCode: "C7" },
          { row: 8, brand: "Acme", storeId: 102, deviceCode: "with space" },
          { row: 9, brand: " ", storeId: 102, deviceCode: "C9" },
          { row: 10, brand: "Other", storeId: 101, deviceCode: "C10" },
        ],
        SHEET,
        actor,
      );
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.issues.map((i) => [i.row, i.field, i.code])).toEqual([
        [3, "deviceCode", "shelf.duplicate_code"],
        [4, "deviceCode", "shelf.code_exists"],
        [5, "storeId", "shelf.store_conflict"],
        [6, "storeId", "shelf.bad_value"],
        [7, "storeId", "shelf.bad_value"],
        [8, "deviceCode", "shelf.bad_value"],
        [9, "brand", "shelf.bad_value"],
        [10, "storeId", "shelf.store_conflict"],
      ]);
      expect(await ledger.shelfDevice("GOOD-1")).toBeUndefined();
      expect(await ledger.listShelfDevices()).toHaveLength(1);
      expect(await auditOf("shelf.import")).toHaveLength(1);
    });

    it("assigns the earliest unassigned code of the brand or store to a chip, once per chip, never twice", async () => {
      const { ledger, actor } = ctx();
      await ledger.importShelfDevices(
        [...rows("Acme", 1, ["A1", "A2"]), ...rows("Acme", 2, ["B1"], 4), ...rows("Zed", 3, ["Z1"], 5)],
        SHEET,
        actor,
      );
      const a = await ledger.assignShelfDevice("c0ffee01", { brand: "Acme" }, actor);
      expect(a).toMatchObject({ deviceCode: "A1", chipId: "c0ffee01", status: "pending_activation" });
      expect((await ledger.assignShelfDevice("c0ffee01", { brand: "Acme" }, actor)).deviceCode).toBe("A1");
      expect((await ledger.assignShelfDevice("c0ffee02", { storeId: 2 }, actor)).deviceCode).toBe("B1");
      await expectTriadkitErrorAsync(
        () => ledger.assignShelfDevice("c0ffee01", { brand: "Zed" }, actor),
        "shelf.chip_assigned",
      );
      expect((await ledger.assignShelfDevice("c0ffee03", { brand: "Acme" }, actor)).deviceCode).toBe("A2");
      await expectTriadkitErrorAsync(
        () => ledger.assignShelfDevice("c0ffee04", { brand: "Acme" }, actor),
        "shelf.no_code",
      );
      await expectTriadkitErrorAsync(
        () => ledger.assignShelfDevice("c0ffee04", { brand: "Nope" }, actor),
        "shelf.no_code",
      );
      await expectTriadkitErrorAsync(
        () => ledger.assignShelfDevice("NOT-HEX", { brand: "Zed" }, actor),
        "shelf.bad_value",
      );
      expect((await ledger.shelfDeviceOfChip("c0ffee03"))?.deviceCode).toBe("A2");
      expect(await ledger.listShelfDevices({ assigned: false })).toMatchObject([{ deviceCode: "Z1" }]);
      expect(await auditOf("shelf.assign")).toHaveLength(3);
    });

    it("links the held code to the triad in the same step as the device link; another chip's code is refused", async () => {
      const { ledger, actor } = ctx();
      await triads(3);
      await ledger.importShelfDevices(rows("Acme", 7, ["S1", "S2"]), SHEET, actor);
      await ledger.assignShelfDevice("c0ffee01", { brand: "Acme" }, actor);
      const t = await ledger.reserve("WO-S", actor);
      await expectTriadkitErrorAsync(
        () => ledger.linkDevice(t.id, link(t.id, "c0ffee01", { storeId: 7, deviceCode: "S2" }), actor),
        "shelf.chip_assigned",
      );
      expect(await ledger.deviceLink(t.id)).toBeUndefined(); // nothing of the refused step stayed
      await expectTriadkitErrorAsync(
        () => ledger.linkDevice(t.id, link(t.id, "c0ffee01", { storeId: 7, deviceCode: "NOPE" }), actor),
        "shelf.unknown_code",
      );
      await ledger.linkDevice(t.id, link(t.id, "c0ffee01", { storeId: 7, deviceCode: "S1" }), actor);
      expect(await ledger.shelfDevice("S1")).toMatchObject({ chipId: "c0ffee01", triadId: t.id });
      const [entry] = (await auditOf("device.link")).slice(-1);
      expect(JSON.parse(entry?.details ?? "{}")).toMatchObject({ shelf: { storeId: 7, deviceCode: "S1" } });
    });

    it("activates with the time and the evidence, once", async () => {
      const { ledger, actor } = ctx();
      await ledger.importShelfDevices(rows("Acme", 7, ["S1"]), SHEET, actor);
      await ledger.assignShelfDevice("c0ffee01", { brand: "Acme" }, actor);
      const evidence = {
        source: "top:taobao.smartstore.device.get",
        observedAt: 1_790_000_100_000,
        details: { status: "ONLINE_WITH_CONTENT" },
      };
      const d = await ledger.activateShelfDevice("S1", evidence, actor);
      expect(d).toMatchObject({ status: "activated", activatedAt: 1_790_000_100_000, activation: evidence });
      const again = await ledger.activateShelfDevice("S1", { ...evidence, observedAt: 1 }, actor);
      expect(again.activatedAt).toBe(1_790_000_100_000);
      expect(await auditOf("shelf.activate")).toHaveLength(1);
      await expectTriadkitErrorAsync(() => ledger.activateShelfDevice("NOPE", evidence, actor), "shelf.unknown_code");
      expect(await ledger.listShelfDevices({ status: ["activated"] })).toHaveLength(1);
    });

    it("keeps every code a device had; an old code is never reused and still finds the device", async () => {
      const { ledger, actor } = ctx();
      await ledger.importShelfDevices(rows("Acme", 7, ["OLD", "OTHER"]), SHEET, actor);
      await ledger.assignShelfDevice("c0ffee01", { brand: "Acme" }, actor);
      await ledger.activateShelfDevice("OLD", { source: "test", observedAt: 5 }, actor);
      const d = await ledger.changeShelfCode("OLD", "NEW-1", "platform", "console re-issued", actor);
      expect(d).toMatchObject({ deviceCode: "NEW-1", chipId: "c0ffee01", status: "activated" });
      expect((await ledger.shelfDevice("OLD"))?.deviceCode).toBe("NEW-1");
      const history = await ledger.shelfCodeHistory("NEW-1");
      expect(history.map((h) => [h.code, h.source, h.validTo === undefined])).toEqual([
        ["OLD", "import", false],
        ["NEW-1", "platform", true],
      ]);
      await expectTriadkitErrorAsync(
        () => ledger.changeShelfCode("NEW-1", "OTHER", "line", undefined, actor),
        "shelf.code_exists",
      );
      await expectTriadkitErrorAsync(
        () => ledger.changeShelfCode("NEW-1", "OLD", "line", undefined, actor),
        "shelf.code_exists",
      );
      await expectTriadkitErrorAsync(
        () => ledger.changeShelfCode("OLD", "NEW-2", "line", undefined, actor),
        "shelf.unknown_code",
      );
      const r = await ledger.importShelfDevices(rows("Acme", 7, ["OLD"]), SHEET, actor);
      expect(r.ok ? [] : r.issues.map((i) => i.code)).toEqual(["shelf.code_exists"]);
      const [entry] = await auditOf("shelf.code_change");
      expect(JSON.parse(entry?.details ?? "{}")).toMatchObject({ from: "OLD", to: "NEW-1", source: "platform" });
    });

    it("a scrapped board gives its pending code back; a human release needs the board off it first", async () => {
      const { ledger, actor } = ctx();
      await triads(3);
      await ledger.importShelfDevices(rows("Acme", 7, ["S1", "S2"]), SHEET, actor);
      await ledger.assignShelfDevice("c0ffee01", { brand: "Acme" }, actor);
      const t = await ledger.reserve("WO-S", actor);
      await ledger.linkDevice(t.id, link(t.id, "c0ffee01", { storeId: 7, deviceCode: "S1" }), actor);
      const human = { operator: "lead", reason: "board repurposed" };
      await expectTriadkitErrorAsync(() => ledger.releaseShelfDevice("S1", human, actor), "ledger.bad_transition");
      await ledger.transition(t.id, { to: "void", actor, reason: "cracked", linkStatus: "scrapped" });
      expect(await ledger.shelfDevice("S1")).toMatchObject({ status: "pending_activation" });
      expect((await ledger.shelfDevice("S1"))?.chipId).toBeUndefined();
      // A code held by a chip that was never burnt goes back by a human decision.
      await ledger.assignShelfDevice("c0ffee02", { brand: "Acme" }, actor);
      expect((await ledger.shelfDeviceOfChip("c0ffee02"))?.deviceCode).toBe("S1");
      const back = await ledger.releaseShelfDevice("S1", human, actor);
      expect(back.chipId).toBeUndefined();
      const [entry] = await auditOf("shelf.release");
      expect(JSON.parse(entry?.details ?? "{}")).toMatchObject({ chipId: "c0ffee02", humanDecision: human });
    });

    it("adds one code typed on the line", async () => {
      const { ledger, actor } = ctx();
      const r = await ledger.importShelfDevices(
        [{ row: 0, brand: "Acme", storeId: 9, deviceCode: "SCAN-1" }],
        { via: "line" },
        actor,
      );
      expect(r.ok).toBe(true);
      expect(await ledger.shelfCodeHistory("SCAN-1")).toMatchObject([{ source: "line" }]);
      const [entry] = await auditOf("shelf.import");
      expect(entry?.identity).toBe("shelf:9/SCAN-1");
    });
  });
}
