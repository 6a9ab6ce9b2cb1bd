/** Contract: sealed secrets and pool keys, the audit chain as seen through the Ledger interface. */
import { expectTriadkitError, expectTriadkitErrorAsync } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { checkpointSignatureValid } from "../audit/encoding.js";
import { verifyAudit } from "../audit/verify.js";
import { grantStation, openPoolKeyring, rotatePoolKey } from "../keys/pool-keys.js";
import { deriveStationKey } from "../keys/station-key.js";
import { genieIdentity, genieOrder, genieRows, knownSecret, SOURCE, sealedRow } from "./__tests__/fixtures.js";
import type { ContractContext } from "./ledger.contract.js";
import type { SealedRow } from "./types.js";

export function keysAuditContract(ctx: () => ContractContext): void {
  async function imported(count: number, tag = "k"): Promise<SealedRow[]> {
    const { ledger, keyring, actor } = ctx();
    if ((await ledger.getWorkOrder("WO-1")) === undefined) await ledger.addWorkOrder(genieOrder("WO-1"), actor);
    const rows = genieRows(keyring, tag, 0, count);
    const session = await ledger.beginImport("WO-1", SOURCE, actor);
    expect(await session.add(rows)).toEqual([]);
    await session.commit();
    return rows;
  }

  const verify = () => {
    const { fixture, ledger } = ctx();
    return verifyAudit({
      source: ledger,
      keys: fixture.stationKey,
      ...(fixture.headFile === undefined ? {} : { headFile: fixture.headFile }),
    });
  };

  describe("keys", () => {
    it("stores secrets sealed; the keyring opens a reserved triad's secret", async () => {
      const { ledger, keyring, actor } = ctx();
      await imported(2);
      const t = await ledger.reserve("WO-1", actor);
      expect(keyring.open(t.id, t.sealedSecret)).toBe(knownSecret("k", 0));
      expect(Buffer.from(t.sealedSecret).toString("latin1")).not.toContain(knownSecret("k", 0));
    });

    it("another station's key opens nothing until it is granted", async () => {
      const { ledger, keyring, actor, now, random } = ctx();
      await imported(1);
      const other = deriveStationKey("st-other", random.bytes(32));
      await expectTriadkitErrorAsync(() => openPoolKeyring(ledger, other, actor, { now, random }), "keys.wrong_key");
      await grantStation(ledger, keyring, other, actor, { now });
      const theirs = await openPoolKeyring(ledger, other, actor, { now, random });
      const t = (await ledger.listTriads())[0];
      expect(theirs.open(t?.id as string, t?.sealedSecret as Uint8Array)).toBe(knownSecret("k", 0));
      expect(theirs.fingerprint("x")).toBe(keyring.fingerprint("x"));
      expect((await ledger.stations()).map((s) => s.stationId)).toContain("st-other");
    });

    it("revokes another station: its wraps dropped (audit keys.revoke), it can no longer open the pool", async () => {
      const { ledger, keyring, fixture, actor, now, random } = ctx();
      await imported(1);
      const other = deriveStationKey("st-other", random.bytes(32));
      await grantStation(ledger, keyring, other, actor, { now }, { line: "L2" });
      await expectTriadkitErrorAsync(() => ledger.revokeStation(fixture.stationKey.stationId, actor), "config.invalid");
      await expectTriadkitErrorAsync(() => ledger.revokeStation("st-never", actor), "keys.wrong_key");
      expect(await ledger.revokeStation("st-other", actor)).toEqual([keyring.keyVersion]);
      expect((await ledger.poolKeys()).map((w) => w.stationId)).toEqual([fixture.stationKey.stationId]);
      await expectTriadkitErrorAsync(() => openPoolKeyring(ledger, other, actor, { now, random }), "keys.wrong_key");
      await expectTriadkitErrorAsync(() => ledger.revokeStation("st-other", actor), "keys.wrong_key");
      expect((await ledger.stations()).map((s) => s.stationId)).toContain("st-other"); // its chain stays checkable
      const entries = await ledger.auditEntries(fixture.stationKey.stationId, 0, 100);
      const grant = entries.find((e) => e.action === "keys.grant");
      expect(JSON.parse(grant?.details ?? "{}")).toMatchObject({ stationId: "st-other", line: "L2" });
      const revoke = entries.find((e) => e.action === "keys.revoke");
      expect(JSON.parse(revoke?.details ?? "{}")).toEqual({ stationId: "st-other", keyVersions: [keyring.keyVersion] });
      expect((await verify()).ok).toBe(true);
    });

    it("rotates: every secret re-sealed under a new version, duplicates still caught, stale keyrings refused", async () => {
      const { ledger, keyring, fixture, actor, now, random } = ctx();
      await imported(3);
      const other = deriveStationKey("st-other", random.bytes(32));
      await grantStation(ledger, keyring, other, actor, { now });
      const r = await rotatePoolKey(ledger, keyring, fixture.stationKey, actor, { now, random });
      expect(r).toMatchObject({ resealed: 3, stationsToRegrant: ["st-other"] });
      expect(r.keyring.keyVersion).toBe(keyring.keyVersion + 1);
      expect((await ledger.poolKeys()).map((w) => [w.version, w.stationId])).toEqual([
        [2, fixture.stationKey.stationId],
      ]);
      for (const t of await ledger.listTriads()) {
        expect(r.keyring.open(t.id, t.sealedSecret)).toMatch(/^[0-9a-f]{32}$/);
        expectTriadkitError(() => keyring.open(t.id, t.sealedSecret), "keys.unknown_key_version");
      }
      // The old keyring can no longer feed an import.
      const s1 = await ledger.beginImport("WO-1", SOURCE, actor);
      await expectTriadkitErrorAsync(
        () => s1.add([sealedRow(keyring, genieIdentity(99), knownSecret("k", 99), 2)]),
        "keys.stale_key_version",
      );
      // A secret imported before the rotation is still recognised as a duplicate.
      const s2 = await ledger.beginImport("WO-1", SOURCE, actor);
      const issues = await s2.add([sealedRow(r.keyring, genieIdentity(98), knownSecret("k", 1), 2)]);
      expect(issues.map((i) => i.code)).toEqual(["import.duplicate_secret"]);
      await s2.abort();
      await expectTriadkitErrorAsync(
        () => rotatePoolKey(ledger, keyring, fixture.stationKey, actor, { now, random }),
        "keys.stale_key_version",
      );
      expect((await verify()).ok).toBe(true);
    });
  });

  describe("audit", () => {
    it("keeps a chain that verifies, with signed checkpoints, and no secret anywhere in it", async () => {
      const { ledger, actor } = ctx();
      const rows = await imported(6, "audit");
      for (let i = 0; i < 4; i++) {
        const t = await ledger.reserve("WO-1", actor);
        await ledger.transition(t.id, { to: "written", actor });
        if (i % 2 === 0) await ledger.transition(t.id, { to: "quarantined", actor, reason: "verify failed" });
      }
      await ledger.appendAudit(actor, { action: "export", details: { file: "out.csv", rows: 4 } });
      const cp = await ledger.checkpoint();
      expect(checkpointSignatureValid(cp, ctx().fixture.stationKey.publicKey)).toBe(true);
      const result = await verify();
      expect(result).toMatchObject({ ok: true, problems: [], checkpoints: 1 });
      expect(result.entries).toBeGreaterThan(10);
      const entries = await ledger.auditEntries(ledger.stationId, 0, 1000);
      expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
      const text = JSON.stringify(entries.map((e) => ({ ...e, prevMac: 0, mac: 0 })));
      for (let i = 0; i < rows.length; i++) expect(text).not.toContain(knownSecret("audit", i));
    });

    it("refuses audit details that name a secret", async () => {
      const { ledger, actor } = ctx();
      await expectTriadkitErrorAsync(
        () => ledger.appendAudit(actor, { action: "export", details: { rows: [{ deviceSecret: "x" }] } }),
        "config.invalid",
      );
    });
  });
}
