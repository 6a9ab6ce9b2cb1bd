import { join } from "node:path";
import { TriadkitError } from "@triadkit/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { useTempDir } from "../import/__tests__/helpers.js";
import { openStation, type Station } from "../ledger/open-station.js";
import { refreshShelfStatus, type ShelfStateSource } from "./shelf-status.js";

const tmp = useTempDir();
let station: Station | undefined;
afterEach(async () => {
  await station?.close();
  station = undefined;
});

async function shelved(): Promise<Station> {
  station = await openStation({ dbPath: join(tmp.dir, "ledger.db") });
  const actor = station.actor("li.wei");
  const codes = ["ON", "OFF", "NEVER", "UNKNOWN", "SPARE"];
  await station.ledger.importShelfDevices(
    codes.map((deviceCode, i) => ({ row: i + 2, brand: "Acme", storeId: 7, deviceCode })),
    { via: "line" },
    actor,
  );
  for (const [i, code] of codes.slice(0, 4).entries()) {
    const d = await station.ledger.assignShelfDevice(`c0ffee0${i}`, { brand: "Acme" }, actor);
    expect(d.deviceCode).toBe(code);
  }
  return station;
}

function source(
  answers: Record<string, () => Promise<{ status?: string; statusTimeMs?: number }>>,
): ShelfStateSource & {
  asked: string[];
} {
  const asked: string[] = [];
  return {
    name: "test:device.get",
    asked,
    deviceState: (code) => {
      asked.push(code);
      const a = answers[code];
      return a === undefined ? Promise.resolve({}) : a();
    },
  };
}

describe("shelf status", () => {
  it("asks for every burnt pending code; ONLINE_WITH_CONTENT becomes activated with the evidence", async () => {
    const s = await shelved();
    const src = source({
      ON: async () => ({ status: "ONLINE_WITH_CONTENT", statusTimeMs: 1_790_000_000_000 }),
      OFF: async () => ({ status: "OFFLINE", statusTimeMs: 1_790_000_000_000 }),
      UNKNOWN: async () => {
        throw new TriadkitError("top.error_response", "Remote service error", { code: 15, subCode: "isv.not-found" });
      },
    });
    const entries = await refreshShelfStatus(s.ledger, src, s.actor("li.wei"), { now: () => 1_790_000_100_000 });
    expect(src.asked).toEqual(["ON", "OFF", "NEVER", "UNKNOWN"]); // SPARE is on no board
    expect(entries.map((e) => [e.deviceCode, e.after, e.error?.code ?? null])).toEqual([
      ["ON", "activated", null],
      ["OFF", "pending_activation", null],
      ["NEVER", "pending_activation", null],
      ["UNKNOWN", "pending_activation", "top.error_response"],
    ]);
    const on = await s.ledger.shelfDevice("ON");
    expect(on).toMatchObject({ status: "activated", activatedAt: 1_790_000_000_000 });
    expect(on?.activation).toMatchObject({ source: "test:device.get", details: { status: "ONLINE_WITH_CONTENT" } });
    // Asked again: only the pending ones.
    const again = source({});
    await refreshShelfStatus(s.ledger, again, s.actor("li.wei"), { now: Date.now });
    expect(again.asked).toEqual(["OFF", "NEVER", "UNKNOWN"]);
  });

  it("stops at an error that every device would get (session, signature, the endpoint)", async () => {
    const s = await shelved();
    const expired = new TriadkitError("top.session_expired", "authorise again");
    const src = source({ ON: () => Promise.reject(expired) });
    await expect(refreshShelfStatus(s.ledger, src, s.actor("li.wei"), { now: Date.now })).rejects.toBe(expired);
    const sig = new TriadkitError("top.error_response", "Invalid signature", { code: 25 });
    await expect(
      refreshShelfStatus(s.ledger, source({ ON: () => Promise.reject(sig) }), s.actor("x"), { now: Date.now }),
    ).rejects.toBe(sig);
    expect((await s.ledger.shelfDevice("ON"))?.status).toBe("pending_activation");
  });
});
