/** Contract (schema v2): device links with sealed PoPs, the factory anchor, link status with transitions. */
import { expectTriadkitError, expectTriadkitErrorAsync } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { obtainFactoryAnchor } from "../keys/factory-anchor.js";
import { rotatePoolKey } from "../keys/pool-keys.js";
import { genieOrder, genieRows, SOURCE } from "./__tests__/fixtures.js";
import type { ContractContext } from "./ledger.contract.js";
import type { FactoryAnchorRecord, NewDeviceLink } from "./types.js";

export function devicesContract(ctx: () => ContractContext): void {
  async function pool(count: number): Promise<string[]> {
    const { ledger, keyring, actor } = ctx();
    await ledger.addWorkOrder(genieOrder("WO-D"), actor);
    const rows = genieRows(keyring, "d", 0, count);
    const session = await ledger.beginImport("WO-D", SOURCE, actor);
    expect(await session.add(rows)).toEqual([]);
    await session.commit();
    return rows.map((r) => r.id);
  }

  function link(triadId: string, chipId: string, popByte = 7): NewDeviceLink {
    const { keyring } = ctx();
    return {
      chipId,
      wifiMac: "0c0000000001",
      bleMac: "1c0000000001",
      model: "TK-SPK-1",
      firmware: "1.4.0",
      recordHash: new Uint8Array(32).fill(0xab),
      writtenAt: 1_790_000_000_000,
      modem: { imei: "490154203237518" },
      sealedPop: keyring.sealPop(triadId, new Uint8Array(16).fill(popByte)),
      popSalt: new Uint8Array(16).fill(1),
    };
  }

  describe("device links (schema v2)", () => {
    it("links a reserved triad to a chip, with its PoP sealed, and finds it by chip id", async () => {
      const { ledger, keyring, actor } = ctx();
      await pool(2);
      const t = await ledger.reserve("WO-D", actor);
      const stored = await ledger.linkDevice(t.id, link(t.id, "c0ffee01"), actor);
      expect(stored).toMatchObject({ triadId: t.id, chipId: "c0ffee01", status: "active", fixture: "F1" });
      expect(stored.modem).toEqual({ imei: "490154203237518" });
      expect(await ledger.deviceLink(t.id)).toEqual(stored);
      expect((await ledger.deviceLinksByChip("c0ffee01")).map((l) => l.triadId)).toEqual([t.id]);
      expect(await ledger.deviceLinksByChip("c0ffee99")).toEqual([]);
      expect(keyring.openPop(t.id, stored.sealedPop)).toEqual(new Uint8Array(16).fill(7));
      const entries = await ledger.auditEntries(ledger.stationId, 0, 1000);
      const e = entries.find((x) => x.action === "device.link");
      expect(JSON.parse(e?.details ?? "{}")).toMatchObject({ chipId: "c0ffee01", recordHash: "ab".repeat(32) });
      expect(e?.details).not.toContain("0707070707");
    });

    it("seals PoPs per triad and apart from secrets: a moved or mistyped ciphertext does not open", async () => {
      const { ledger, keyring } = ctx();
      const [a, b] = await pool(2);
      const sealed = keyring.sealPop(a as string, new Uint8Array(16).fill(3));
      expectTriadkitError(() => keyring.openPop(b as string, sealed), "keys.decrypt_failed");
      expectTriadkitError(() => keyring.open(a as string, sealed), "keys.decrypt_failed");
      const t = await ledger.getTriad(a as string);
      expectTriadkitError(() => keyring.openPop(a as string, t?.sealedSecret as Uint8Array), "keys.decrypt_failed");
      expectTriadkitError(() => keyring.openAnchorSeed(sealed), "keys.decrypt_failed");
    });

    it("never gives a triad to a second chip, nor a chip a second active triad", async () => {
      const { ledger, actor } = ctx();
      const [first] = await pool(3);
      await expectTriadkitErrorAsync(
        () => ledger.linkDevice(first as string, link(first as string, "c0ffee01"), actor),
        "ledger.bad_transition", // still available
      );
      const t = await ledger.reserve("WO-D", actor);
      await ledger.linkDevice(t.id, link(t.id, "c0ffee01"), actor);
      const again = await ledger.linkDevice(t.id, link(t.id, "c0ffee01", 9), actor); // a new record, same chip
      expect(again.status).toBe("active");
      await expectTriadkitErrorAsync(
        () => ledger.linkDevice(t.id, link(t.id, "c0ffee02"), actor),
        "factory.record_mismatch",
      );
      const u = await ledger.reserve("WO-D", actor);
      await expectTriadkitErrorAsync(
        () => ledger.linkDevice(u.id, link(u.id, "c0ffee01"), actor),
        "factory.record_mismatch",
      );
      // Reworked: the old triad void and its link voided in one step; then the chip takes a fresh triad.
      await ledger.transition(t.id, { to: "void", actor, reason: "rework: revoked", linkStatus: "voided" });
      expect((await ledger.deviceLink(t.id))?.status).toBe("voided");
      await ledger.linkDevice(u.id, link(u.id, "c0ffee01"), actor);
      expect((await ledger.deviceLinksByChip("c0ffee01")).map((l) => [l.triadId, l.status])).toEqual([
        [t.id, "voided"],
        [u.id, "active"],
      ]);
      await expectTriadkitErrorAsync(
        () => ledger.linkDevice(t.id, link(t.id, "c0ffee01"), actor),
        "ledger.bad_transition",
      );
    });

    it("refuses link fields no device reports", async () => {
      const { ledger, actor } = ctx();
      await pool(1);
      const t = await ledger.reserve("WO-D", actor);
      await expectTriadkitErrorAsync(() => ledger.linkDevice(t.id, link(t.id, "NOT-HEX"), actor), "config.invalid");
      await expectTriadkitErrorAsync(
        () => ledger.linkDevice(t.id, { ...link(t.id, "c0ffee01"), recordHash: new Uint8Array(3) }, actor),
        "config.invalid",
      );
    });

    it("scrap marks the link with the void; quarantined → verified needs a human decision", async () => {
      const { ledger, actor } = ctx();
      await pool(2);
      const t = await ledger.reserve("WO-D", actor);
      await ledger.linkDevice(t.id, link(t.id, "c0ffee01"), actor);
      await ledger.transition(t.id, { to: "written", actor });
      await ledger.transition(t.id, { to: "quarantined", actor, reason: "verify timed out" });
      await expectTriadkitErrorAsync(() => ledger.transition(t.id, { to: "verified", actor }), "ledger.bad_transition");
      const human = { operator: "lead", reason: "re-verified on the rework bench" };
      expect((await ledger.transition(t.id, { to: "verified", actor, humanDecision: human })).state).toBe("verified");
      await ledger.transition(t.id, { to: "void", actor, reason: "board cracked", linkStatus: "scrapped" });
      expect((await ledger.deviceLink(t.id))?.status).toBe("scrapped");
    });

    it("marks a link off its device without touching the triad", async () => {
      const { ledger, actor } = ctx();
      const [first] = await pool(2);
      await expectTriadkitErrorAsync(
        () => ledger.setDeviceLinkStatus(first as string, "voided", "x", actor),
        "ledger.unknown_triad",
      );
      const t = await ledger.reserve("WO-D", actor);
      await ledger.linkDevice(t.id, link(t.id, "c0ffee01"), actor);
      await ledger.transition(t.id, { to: "quarantined", actor, reason: "station stopped mid-burn" });
      const l = await ledger.setDeviceLinkStatus(t.id, "voided", "chip came back blank", actor);
      expect(l.status).toBe("voided");
      expect((await ledger.getTriad(t.id))?.state).toBe("quarantined");
      const last = (await ledger.auditEntries(ledger.stationId, 0, 1000)).at(-1);
      expect(JSON.parse(last?.details ?? "{}")).toMatchObject({ status: "voided", from: "active", chipId: "c0ffee01" });
    });
  });

  describe("factory anchor", () => {
    it("is created once per pool, sealed, and signs with the stored key", async () => {
      const { ledger, keyring, actor, random, now } = ctx();
      expect(await ledger.factoryAnchor()).toBeUndefined();
      await expectTriadkitErrorAsync(
        () => obtainFactoryAnchor(ledger, keyring, actor, { random, now, create: false }),
        "keys.wrong_key",
      );
      const a = await obtainFactoryAnchor(ledger, keyring, actor, { random, now, create: true });
      const b = await obtainFactoryAnchor(ledger, keyring, actor, { random, now, create: true });
      expect(b.publicKey).toEqual(a.publicKey);
      const stored = (await ledger.factoryAnchor()) as FactoryAnchorRecord;
      expect(await ledger.createFactoryAnchor({ ...stored, publicKey: new Uint8Array(32) }, actor)).toBe(false);
      expect((await ledger.factoryAnchor())?.publicKey).toEqual(a.publicKey);
      expect(a.sign("unlock", "c0ffee01", new Uint8Array(16))).toHaveLength(64);
      const actions = (await ledger.auditEntries(ledger.stationId, 0, 1000)).map((e) => e.action);
      expect(actions.filter((x) => x === "anchor.create")).toHaveLength(1);
    });

    it("keys rotate re-seals every PoP and the anchor seed", async () => {
      const { ledger, keyring, actor, random, now, fixture } = ctx();
      await pool(1);
      const anchor = await obtainFactoryAnchor(ledger, keyring, actor, { random, now, create: true });
      const t = await ledger.reserve("WO-D", actor);
      await ledger.linkDevice(t.id, link(t.id, "c0ffee01", 5), actor);
      const r = await rotatePoolKey(ledger, keyring, fixture.stationKey, actor, { random, now });
      expect(r).toMatchObject({ resealed: 1, resealedPops: 1 });
      const l = await ledger.deviceLink(t.id);
      expectTriadkitError(() => keyring.openPop(t.id, l?.sealedPop as Uint8Array), "keys.unknown_key_version");
      expect(r.keyring.openPop(t.id, l?.sealedPop as Uint8Array)).toEqual(new Uint8Array(16).fill(5));
      const after = await obtainFactoryAnchor(ledger, r.keyring, actor, { random, now, create: false });
      expect(after.publicKey).toEqual(anchor.publicKey);
      expect(after.sign("factory_reset", "c0ffee01", new Uint8Array(16))).toHaveLength(64);
    });
  });
}
