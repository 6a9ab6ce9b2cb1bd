import { encodeFactoryRecord, factoryRecordHash, isTriadkitError, toHex } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { popVerifierRecord, triadRecord } from "../device-records.js";
import { MemoryFlashStore } from "../storage/memory-flash-store.js";
import { TEST_SECRET, testRecord } from "./__tests__/factory-test-client.js";
import {
  decodeFactoryEnvelope,
  encodeFactoryEnvelope,
  FACTORY_RECORD_KEY,
  FactoryCredentialStore,
  factoryRecordProblem,
} from "./credential-store.js";
import { loadDeviceCredentials } from "./device-credentials.js";

describe("FactoryCredentialStore", () => {
  it("keeps the record and the lock flag in one envelope under factory.record", async () => {
    const flash = new MemoryFlashStore();
    const creds = await FactoryCredentialStore.open(flash);
    expect(await creds.snapshot()).toEqual({ state: "blank" });
    const record = testRecord();
    const written = await creds.write(record);
    expect(written).toEqual({ ok: true, recordHash: factoryRecordHash(record), unchanged: false });
    const raw = (await flash.read(FACTORY_RECORD_KEY)) as Uint8Array;
    expect([...raw.subarray(0, 2)]).toEqual([0x01, 0x00]); // envelope v1, unlocked
    expect(raw.subarray(2)).toEqual(encodeFactoryRecord(record));
    expect(await flash.keys()).toEqual([FACTORY_RECORD_KEY]);

    expect(await creds.lock()).toEqual({ ok: true, state: "locked" });
    const locked = (await flash.read(FACTORY_RECORD_KEY)) as Uint8Array;
    expect([...locked.subarray(0, 2)]).toEqual([0x01, 0x01]);
    expect(locked.subarray(2)).toEqual(raw.subarray(2));
    expect(await creds.snapshot()).toEqual({ state: "locked", record, recordHash: factoryRecordHash(record) });

    expect(await creds.write(record)).toMatchObject({ ok: false, code: "locked" });
    expect(await creds.unlock()).toEqual({ ok: true, state: "provisioned" });
    expect(await creds.write(testRecord({ triadId: "other" }))).toMatchObject({ ok: false, code: "not_blank" });
    await creds.clear();
    expect(await creds.state()).toBe("blank");
    expect(await creds.record()).toBeUndefined();
    expect(await creds.lock()).toMatchObject({ ok: false, code: "no_record" });
  });

  it("a reopened store sees exactly what was written", async () => {
    const flash = new MemoryFlashStore();
    await (await FactoryCredentialStore.open(flash)).write(testRecord());
    await (await FactoryCredentialStore.open(flash)).lock();
    const again = await FactoryCredentialStore.open(flash.reopen());
    expect(await again.state()).toBe("locked");
    expect(await again.record()).toEqual(testRecord());
  });

  it("refuses bad records without quoting values", async () => {
    const creds = new FactoryCredentialStore(new MemoryFlashStore());
    const bad = testRecord({
      triad: { family: "alibaba", productKey: "a1", deviceName: "x", deviceSecret: TEST_SECRET },
    });
    const result = await creds.write(bad);
    expect(result).toMatchObject({ ok: false, code: "bad_record" });
    expect(JSON.stringify(result)).not.toContain(TEST_SECRET);
    const ff = testRecord({ anchor: { poolId: "p", publicKey: new Uint8Array(32).fill(0xff) } });
    expect(factoryRecordProblem(ff)).toMatch(/anchor/);
    expect(factoryRecordProblem(testRecord())).toBeUndefined();
    const small = new FactoryCredentialStore(new MemoryFlashStore({ maxValueBytes: 64 }));
    expect(await small.write(testRecord())).toMatchObject({ ok: false, code: "bad_record" });
  });

  it("refuses envelopes it cannot read: newer (unsupported_version) or damaged (corrupt_record)", async () => {
    const good = encodeFactoryEnvelope(testRecord(), false);
    const newer = Uint8Array.from(good);
    newer[0] = 2;
    const flag = Uint8Array.from(good);
    flag[1] = 0x03;
    for (const bytes of [newer, flag]) {
      expect(() => decodeFactoryEnvelope(bytes)).toThrowError(
        expect.objectContaining({ code: "store.unsupported_version" }),
      );
    }
    for (const bytes of [new Uint8Array(0), Uint8Array.of(1, 0), good.subarray(0, good.length - 3)]) {
      let err: unknown;
      try {
        decodeFactoryEnvelope(bytes);
      } catch (e) {
        err = e;
      }
      expect(isTriadkitError(err, "store.corrupt_record")).toBe(true);
    }
    const flash = new MemoryFlashStore();
    await flash.write(FACTORY_RECORD_KEY, newer);
    await expect(FactoryCredentialStore.open(flash)).rejects.toMatchObject({ code: "store.unsupported_version" });
  });
});

describe("loadDeviceCredentials", () => {
  const legacyTriad = {
    productKey: "a1LegacyPK1",
    deviceName: "legacy-01",
    deviceSecret: "Abcdefghijklmnopqrstuvwxyz012345",
  };

  it("nothing stored: none", async () => {
    expect(await loadDeviceCredentials(new MemoryFlashStore())).toEqual({ source: "none", factoryState: "blank" });
  });

  it("falls back to the legacy triad and PoP records", async () => {
    const flash = new MemoryFlashStore();
    await triadRecord.save(flash, legacyTriad);
    await popVerifierRecord.save(flash, { salt: "00".repeat(16), key: "11".repeat(32) });
    const creds = await loadDeviceCredentials(flash);
    expect(creds).toMatchObject({
      source: "legacy",
      factoryState: "blank",
      triad: legacyTriad,
      identity: { family: "alibaba", productKey: "a1LegacyPK1", deviceName: "legacy-01" },
    });
    expect(toHex(creds.popVerifier?.key as Uint8Array)).toBe("11".repeat(32));
  });

  it("prefers the factory record whole: its triad and its PoP verifier", async () => {
    const flash = new MemoryFlashStore();
    await triadRecord.save(flash, legacyTriad);
    await popVerifierRecord.save(flash, { salt: "00".repeat(16), key: "11".repeat(32) });
    const record = testRecord();
    await (await FactoryCredentialStore.open(flash)).write(record);
    const creds = await loadDeviceCredentials(flash);
    expect(creds).toMatchObject({
      source: "factory",
      factoryState: "provisioned",
      triad: { productKey: "a1FactTest1", deviceName: "fixture-0001", deviceSecret: TEST_SECRET },
      popVerifier: { v: 1, salt: record.pop.salt, key: record.pop.key },
    });
    expect(creds.genie).toBeUndefined();
  });

  it("exposes a Genie record without an MQTT triad", async () => {
    const flash = new MemoryFlashStore();
    const genie = {
      family: "genie",
      productId: 12345,
      mac: "28fa7a000001",
      secret: "0123456789abcdef0123456789abcdef",
    } as const;
    await (await FactoryCredentialStore.open(flash)).write(testRecord({ triad: genie }));
    const creds = await loadDeviceCredentials(flash);
    expect(creds.triad).toBeUndefined();
    expect(creds.genie).toEqual({ productId: 12345, mac: "28fa7a000001", secret: genie.secret });
    expect(creds.identity).toEqual({ family: "genie", productId: 12345, mac: "28fa7a000001" });
  });
});
