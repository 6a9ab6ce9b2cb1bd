import { derivePopKey, type FactoryRecord, factoryRecordHash } from "@triadkit/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { knownSecret } from "../ledger/__tests__/fixtures.js";
import { FakeDevice } from "./__tests__/fake-device.js";
import { type BurnHarness, burnHarness, plug, TAG } from "./__tests__/harness.js";
import { processDevice } from "./burn-device.js";
import { FactoryClient } from "./factory-client.js";

let h: BurnHarness;
afterEach(async () => {
  await h?.close();
});

function client(device: FakeDevice, timeoutMs = 150): FactoryClient {
  return new FactoryClient({ link: plug(device), random: h.ctx.random, timeoutMs, where: "F1" });
}

async function counts() {
  return (await h.station.ledger.counts()).total;
}

describe("burning one device", () => {
  it("reserve → link → write → verify → lock → verified, with the PoP sealed and no secret in the audit", async () => {
    h = await burnHarness(3);
    const dev = new FakeDevice({ chipId: "c0ffee0001" });
    const out = await processDevice(h.ctx, client(dev), "F1", h.order);
    expect(out).toMatchObject({ result: "pass", action: "burnt", chipId: "c0ffee0001", fixture: "F1" });
    expect(out.device).toEqual({ model: "TK-SPK-1", firmware: "1.4.0" });
    expect(dev.state).toBe("locked");
    const record = dev.record as FactoryRecord;
    const t = await h.station.ledger.getTriad(out.triad?.id as string);
    expect(t?.state).toBe("verified");
    expect(record.triad).toMatchObject({ family: "genie", secret: knownSecret(TAG, 0) });
    expect(record.anchor.publicKey).toEqual(h.ctx.anchor.publicKey);
    const link = await h.station.ledger.deviceLink(t?.id as string);
    expect(link).toMatchObject({ chipId: "c0ffee0001", status: "active", fixture: "F1" });
    expect(link?.recordHash).toEqual(factoryRecordHash(record));
    const pop = h.station.keyring.openPop(t?.id as string, link?.sealedPop as Uint8Array);
    expect(derivePopKey(pop, record.pop.salt)).toEqual(record.pop.key);
    const entries = await h.station.ledger.auditEntries(h.station.stationId, 0, 1000);
    const steps = entries.filter((e) => e.triadId === t?.id).map((e) => e.action);
    expect(steps).toEqual(["reserve", "device.link", "write", "verify"]);
    const text = JSON.stringify(entries) + JSON.stringify(out);
    expect(text).not.toContain(knownSecret(TAG, 0));
    expect(text).not.toContain(Buffer.from(pop).toString("hex"));
    expect(await counts()).toMatchObject({ available: 2, verified: 1 });
  });

  it("refuses a device of another model or older firmware before reserving anything", async () => {
    h = await burnHarness(2);
    const wrongModel = await processDevice(
      h.ctx,
      client(new FakeDevice({ chipId: "c0ffee0002", model: "X" })),
      "F1",
      h.order,
    );
    expect(wrongModel).toMatchObject({ result: "fail", code: "factory.model_mismatch", chipId: "c0ffee0002" });
    const old = new FakeDevice({ chipId: "c0ffee0003", firmware: "1.1.9" });
    expect(await processDevice(h.ctx, client(old), "F1", h.order)).toMatchObject({ code: "factory.firmware_too_old" });
    expect(old.requests).toEqual(["hello"]);
    expect(await counts()).toMatchObject({ available: 2, reserved: 0 });
  });

  it("quarantines the triad when the device answers verify with a wrong MAC", async () => {
    h = await burnHarness(2);
    const dev = new FakeDevice({ chipId: "c0ffee0004" }).behave((req, d) => {
      if (req.t !== "verify") return undefined;
      const good = d.standard(req);
      return good.t === "verified" ? { ...good, mac: new Uint8Array(32).fill(1) } : good;
    });
    const out = await processDevice(h.ctx, client(dev), "F1", h.order);
    expect(out).toMatchObject({ result: "fail", action: "quarantined", code: "factory.verify_failed" });
    const t = await h.station.ledger.getTriad(out.triad?.id as string);
    expect(t?.state).toBe("quarantined");
    expect(t?.reason).toContain("verify");
    expect(dev.locked).toBe(false);
  });

  it("settles a lost write answer by asking hello, and writes again to a device that stayed blank", async () => {
    h = await burnHarness(3, { retries: 1 });
    let lost = 0;
    const dev = new FakeDevice({ chipId: "c0ffee0005" }).behave((req, d) => {
      if (req.t !== "write_record" || lost++ > 0) return undefined;
      d.standard(req); // stored, but the answer is lost
      return "silent";
    });
    expect(await processDevice(h.ctx, client(dev), "F1", h.order)).toMatchObject({ result: "pass", action: "burnt" });
    let dropped = 0;
    const blank = new FakeDevice({ chipId: "c0ffee0006" }).behave((req) =>
      req.t === "write_record" && dropped++ === 0 ? "silent" : undefined,
    );
    expect(await processDevice(h.ctx, client(blank), "F1", h.order)).toMatchObject({ result: "pass" });
    expect(blank.requests.filter((r) => r === "write_record")).toHaveLength(2);
    expect(await counts()).toMatchObject({ available: 1, verified: 2, quarantined: 0 });
  });

  it("quarantines when the device stops answering after the write", async () => {
    h = await burnHarness(2, { retries: 1 });
    const dev = new FakeDevice({ chipId: "c0ffee0007" }).behave((req) => (req.t === "verify" ? "silent" : undefined));
    const out = await processDevice(h.ctx, client(dev), "F1", h.order);
    expect(out).toMatchObject({ result: "fail", action: "quarantined", code: "factory.timeout" });
    expect(dev.requests.filter((r) => r === "verify")).toHaveLength(2);
  });

  it("recognises a device that holds its verified triad: never burnt twice", async () => {
    h = await burnHarness(3);
    const dev = new FakeDevice({ chipId: "c0ffee0008" });
    const first = await processDevice(h.ctx, client(dev), "F1", h.order);
    const again = await processDevice(h.ctx, client(dev), "F1", h.order);
    expect(again).toMatchObject({ result: "pass", action: "already", triad: first.triad });
    expect(dev.requests.filter((r) => r === "write_record")).toHaveLength(1);
    expect(await counts()).toMatchObject({ available: 2, verified: 1 });
  });

  it("a blank chip whose triad never landed gets a fresh one; the old one is quarantined", async () => {
    h = await burnHarness(3);
    const dev = new FakeDevice({ chipId: "c0ffee0009" }).behave((req) =>
      req.t === "write_record" ? "silent" : undefined,
    );
    const c = client(dev, 100);
    const failed = await processDevice({ ...h.ctx, retries: 0 }, c, "F1", h.order);
    expect(failed).toMatchObject({ result: "fail", action: "quarantined" });
    dev.behaviours.length = 0;
    const ok = await processDevice(h.ctx, c, "F1", h.order);
    expect(ok).toMatchObject({ result: "pass", action: "burnt" });
    expect(ok.triad?.id).not.toBe(failed.triad?.id);
    const links = await h.station.ledger.deviceLinksByChip("c0ffee0009");
    expect(links.map((l) => l.status)).toEqual(["voided", "active"]);
  });

  it("refuses a device holding another pool's triad without touching the ledger", async () => {
    h = await burnHarness(2);
    const other = await burnHarness(2, { from: 100 });
    const dev = new FakeDevice({ chipId: "c0ffee000a" });
    const otherCtx = other.ctx;
    expect(
      await processDevice(otherCtx, new FactoryClient({ link: plug(dev), random: otherCtx.random }), "F9", other.order),
    ).toMatchObject({ result: "pass" });
    await other.close();
    const out = await processDevice(h.ctx, client(dev), "F1", h.order);
    expect(out).toMatchObject({ result: "fail", action: "refused", code: "factory.record_mismatch" });
    expect(h.alerts.map((a) => a.code)).toEqual(["factory.record_mismatch"]);
    expect(await counts()).toMatchObject({ available: 2, quarantined: 0 });
  });
});
