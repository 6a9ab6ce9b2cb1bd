import { type FactoryRecord, factoryRecordHash } from "@triadkit/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { FakeDevice } from "./__tests__/fake-device.js";
import { type BurnHarness, burnHarness, plug } from "./__tests__/harness.js";
import { processDevice } from "./burn-device.js";
import { runBurnSession } from "./burn-session.js";
import type { DeviceOutcome } from "./device-steps.js";
import { FactoryClient } from "./factory-client.js";
import { reworkDevice, scrapChip } from "./rework.js";

let h: BurnHarness;
afterEach(async () => {
  await h?.close();
});

const chip = (i: number) => `5e1f00${String(i).padStart(4, "0")}`;

async function codes(brand: string, storeId: number, list: readonly string[]): Promise<void> {
  const actor = h.station.actor("tester");
  const r = await h.station.ledger.importShelfDevices(
    list.map((deviceCode, i) => ({ row: i + 2, brand, storeId, deviceCode })),
    { via: "line" },
    actor,
  );
  expect(r.ok).toBe(true);
}

function client(device: FakeDevice): FactoryClient {
  return new FactoryClient({ link: plug(device), random: h.ctx.random, timeoutMs: 150, where: "F1" });
}

describe("burn --shelf", () => {
  it("writes the next unassigned code of the brand into the record and links it, pending activation", async () => {
    h = await burnHarness(3);
    await codes("Acme", 184454101, ["8F6A77C73E", "8F6A77C73F"]);
    const ctx = { ...h.ctx, shelf: { brand: "Acme" } };
    const dev = new FakeDevice({ chipId: chip(1) });
    const out = await processDevice(ctx, client(dev), "F1", h.order);
    expect(out).toMatchObject({
      result: "pass",
      action: "burnt",
      shelf: { storeId: 184454101, deviceCode: "8F6A77C73E" },
    });
    const record = dev.record as FactoryRecord;
    expect(record.shelf).toEqual({ storeId: 184454101, deviceCode: "8F6A77C73E" });
    const link = await h.station.ledger.deviceLink(out.triad?.id as string);
    expect(link?.recordHash).toEqual(factoryRecordHash(record)); // the shelf is inside the verified record
    expect(await h.station.ledger.shelfDevice("8F6A77C73E")).toMatchObject({
      status: "pending_activation",
      chipId: chip(1),
      triadId: out.triad?.id,
    });
    const steps = (await h.station.ledger.auditEntries(h.station.stationId, 0, 1000)).map((e) => e.action);
    expect(steps.slice(-5)).toEqual(["shelf.assign", "reserve", "device.link", "write", "verify"]);
  });

  it("no code left fails cleanly before any triad is reserved; a store selects its own codes", async () => {
    h = await burnHarness(3);
    await codes("Acme", 1, ["A1"]);
    await codes("Acme", 2, ["B1"]);
    const byStore = { ...h.ctx, shelf: { storeId: 2 } };
    expect(await processDevice(byStore, client(new FakeDevice({ chipId: chip(2) })), "F1", h.order)).toMatchObject({
      result: "pass",
      shelf: { storeId: 2, deviceCode: "B1" },
    });
    const dev = new FakeDevice({ chipId: chip(3) });
    const none = await processDevice(byStore, client(dev), "F1", h.order);
    expect(none).toMatchObject({ result: "fail", action: "refused", code: "shelf.no_code" });
    expect(none.triad).toBeUndefined();
    expect(dev.requests).toEqual(["hello"]);
    expect((await h.station.ledger.counts()).total).toMatchObject({ available: 2, verified: 1, reserved: 0 });
    const other = await processDevice({ ...h.ctx, shelf: { brand: "Nobody" } }, client(dev), "F1", h.order);
    expect(other.code).toBe("shelf.no_code");
  });

  it("parallel fixtures never share a code; a reworked board keeps its code, a scrapped one gives it back", async () => {
    h = await burnHarness(6);
    await codes("Acme", 7, ["S1", "S2", "S3"]);
    const ctx = { ...h.ctx, shelf: { brand: "Acme" } };
    const boards = [1, 2, 3].map((i) => new FakeDevice({ chipId: chip(10 + i) }));
    const outcomes: DeviceOutcome[] = [];
    await runBurnSession({
      ctx,
      ports: boards.map((b, i) => ({ fixture: `F${i + 1}`, link: plug(b) })),
      workOrder: h.order,
      watch: false,
      timeoutMs: 150,
      onOutcome: (o) => outcomes.push(o),
    });
    expect(outcomes.every((o) => o.result === "pass")).toBe(true);
    expect(new Set(outcomes.map((o) => o.shelf?.deviceCode))).toEqual(new Set(["S1", "S2", "S3"]));

    const [b1, , b3] = boards as [FakeDevice, FakeDevice, FakeDevice];
    const before = b1.record?.shelf;
    await reworkDevice(ctx, client(b1), "F1", { chipId: chip(11), reason: "wrong enclosure", mode: "revoke" });
    const again = await processDevice(ctx, client(b1), "F1", h.order);
    expect(again).toMatchObject({ result: "pass", shelf: before });
    expect(b1.record?.shelf).toEqual(before);

    const code3 = b3.record?.shelf?.deviceCode as string;
    await scrapChip(h.station.ledger, h.station.actor("tester"), chip(13), "cracked PCB");
    expect((await h.station.ledger.shelfDevice(code3))?.chipId).toBeUndefined();
    const fresh = new FakeDevice({ chipId: chip(14) });
    expect((await processDevice(ctx, client(fresh), "F1", h.order)).shelf?.deviceCode).toBe(code3);
  });

  it("a failed burn keeps the code with the chip (in doubt); the same board burnt again gets the same code", async () => {
    h = await burnHarness(3);
    await codes("Acme", 7, ["S1", "S2"]);
    const ctx = { ...h.ctx, shelf: { brand: "Acme" } };
    const dev = new FakeDevice({ chipId: chip(20) }).behave((req, d) => {
      if (req.t !== "verify") return undefined;
      const good = d.standard(req);
      return good.t === "verified" ? { ...good, mac: new Uint8Array(32).fill(1) } : good;
    });
    const out = await processDevice(ctx, client(dev), "F1", h.order);
    expect(out).toMatchObject({ result: "fail", action: "quarantined", shelf: { deviceCode: "S1" } });
    expect((await h.station.ledger.shelfDevice("S1"))?.chipId).toBe(chip(20));
    expect(await h.station.ledger.availableShelfDevices({ brand: "Acme" })).toBe(1);
  });
});
