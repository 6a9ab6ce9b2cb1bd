import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectTriadkitErrorAsync } from "@triadkit/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acceptRestoredHead } from "./accept-head.js";
import { openStation } from "./open-station.js";

let dir: string;
let dbPath: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "triadkit-accept-"));
  dbPath = join(dir, "ledger.db");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("audit accept-head with a missing head file", () => {
  it("needs an explicit fence, quarantines that many available triads per work order, then verifies", async () => {
    const s = await openStation({ dbPath, operator: "installer" });
    const actor = s.actor("installer");
    await s.ledger.addWorkOrder({ id: "WO-1", product: "a1B2c3D4e5F", model: "M", minFirmware: "1.0.0" }, actor);
    const session = await s.ledger.beginImport("WO-1", { fileName: "x.csv", sha256: "0".repeat(64) }, actor);
    const rows = [1, 2, 3].map((i) => {
      const id = `t${String(i).padStart(24, "0")}`;
      const secret = `S${i}`.padEnd(32, "q");
      return {
        id,
        sourceRow: i + 1,
        identity: { family: "alibaba" as const, productKey: "a1B2c3D4e5F", deviceName: `dev-000${i}` },
        sealedSecret: s.keyring.seal(id, secret),
        secretFingerprint: s.keyring.fingerprint(secret),
      };
    });
    expect(await session.add(rows)).toEqual([]);
    await session.commit();
    rmSync(s.headFile as string);
    expect((await s.verifyAudit()).problems.map((p) => p.code)).toEqual(["audit.head_missing"]);
    await expectTriadkitErrorAsync(() => acceptRestoredHead(s, actor, { reason: "moved" }), "config.invalid");
    const r = await acceptRestoredHead(s, actor, { reason: "head file lost when the PC was replaced", fence: 2 });
    expect(r.fenced).toHaveLength(2);
    expect((await s.ledger.counts()).total).toMatchObject({ available: 1, quarantined: 2 });
    expect(await s.verifyAudit()).toMatchObject({ ok: true });
    const last = (await s.ledger.auditEntries(s.stationId, r.seq - 1, 1))[0];
    expect(last?.action).toBe("audit.accept_head");
    expect(JSON.parse(last?.details ?? "{}")).toMatchObject({ headMissing: true, fence: 2, fenced: 2 });
    await s.close();
  });
});
