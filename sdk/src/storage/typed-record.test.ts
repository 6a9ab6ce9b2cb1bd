import { expectTriadkitError, expectTriadkitErrorAsync, fromUtf8, utf8 } from "@triadkit/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemoryFlashStore } from "./memory-flash-store.js";
import { defineRecord } from "./typed-record.js";

interface WifiV3 {
  ssid: string;
  psk: string;
  hidden: boolean;
}

function parseWifi(value: unknown): WifiV3 {
  const v = value as Partial<WifiV3> | null;
  if (typeof v?.ssid !== "string" || typeof v.psk !== "string" || typeof v.hidden !== "boolean") {
    throw new Error("not a wifi record");
  }
  return { ssid: v.ssid, psk: v.psk, hidden: v.hidden };
}

const wifi = defineRecord<WifiV3>({
  key: "wifi",
  version: 3,
  schema: parseWifi,
  migrate: {
    1: (old) => ({ ssid: (old as { name: string }).name, psk: (old as { password: string }).password }),
    2: (old) => ({ ...(old as object), hidden: false }),
  },
});

describe("defineRecord", () => {
  it("saves {v, data} JSON and loads it back", async () => {
    const store = new MemoryFlashStore();
    expect(await wifi.load(store)).toBeUndefined();
    await wifi.save(store, { ssid: "lab", psk: "p", hidden: true });
    expect(fromUtf8((await store.read("wifi")) as Uint8Array)).toBe(
      '{"v":3,"data":{"ssid":"lab","psk":"p","hidden":true}}',
    );
    expect(await wifi.load(store)).toEqual({ ssid: "lab", psk: "p", hidden: true });
    await wifi.remove(store);
    expect(await store.read("wifi")).toBeUndefined();
  });

  it("migrates older versions step by step, without writing back", async () => {
    const store = new MemoryFlashStore();
    await store.write("wifi", utf8('{"v":1,"data":{"name":"old","password":"pw"}}'));
    expect(await wifi.load(store)).toEqual({ ssid: "old", psk: "pw", hidden: false });
    expect(fromUtf8((await store.read("wifi")) as Uint8Array)).toContain('"v":1');
    await store.write("wifi", utf8('{"v":2,"data":{"ssid":"s","psk":"k"}}'));
    expect(await wifi.load(store)).toEqual({ ssid: "s", psk: "k", hidden: false });
  });

  it("refuses newer versions and versions without a migration path with store.unsupported_version", () => {
    let err = expectTriadkitError(() => wifi.decode(utf8('{"v":4,"data":{}}')), "store.unsupported_version");
    expect(err.context).toEqual({ key: "wifi", version: 4, supported: 3 });
    const noPath = defineRecord({ key: "x", version: 3, migrate: { 2: (o) => o } });
    err = expectTriadkitError(() => noPath.decode(utf8('{"v":1,"data":1}')), "store.unsupported_version");
    expect(err.context).toEqual({ key: "x", version: 1 });
    expect(noPath.decode(utf8('{"v":2,"data":1}'))).toBe(1);
  });

  it("reports undecodable data as store.corrupt_record with the cause attached", () => {
    const cases = [
      new Uint8Array([0xff, 0xfe]),
      utf8("{"),
      utf8("[]"),
      utf8("null"),
      utf8('{"v":3}'),
      utf8('{"v":0,"data":1}'),
      utf8('{"v":"3","data":1}'),
      utf8('{"v":3,"data":{"ssid":1}}'),
      utf8('{"v":1,"data":null}'), // the migration throws
    ];
    for (const bytes of cases) {
      const err = expectTriadkitError(() => wifi.decode(bytes), "store.corrupt_record");
      expect(err.context).toMatchObject({ key: "wifi" });
    }
    const err = expectTriadkitError(() => wifi.decode(utf8('{"v":3,"data":{"ssid":1}}')), "store.corrupt_record");
    expect((err.cause as Error).message).toBe("not a wifi record");
  });

  it("never crashes on random bytes: decodes or throws a store error", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.json().map(utf8)), (bytes) => {
        try {
          wifi.decode(bytes);
        } catch (err) {
          expect((err as { code?: string }).code).toMatch(/^store\.(corrupt_record|unsupported_version)$/);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("refuses to save what would not load back", async () => {
    const store = new MemoryFlashStore();
    await expectTriadkitErrorAsync(() => wifi.save(store, { ssid: 1 } as unknown as WifiV3), "config.invalid");
    const loose = defineRecord<unknown>({ key: "loose", version: 1 });
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    for (const value of [undefined, cyclic, 10n, () => 1]) {
      await expectTriadkitErrorAsync(() => loose.save(store, value), "config.invalid");
    }
    expect(await store.keys()).toEqual([]);
    await loose.save(store, null);
    expect(await loose.load(store)).toBeNull();
  });

  it("is limited by the store's value size", async () => {
    const store = new MemoryFlashStore({ maxValueBytes: 40 });
    const blob = defineRecord<string>({ key: "blob", version: 1 });
    await blob.save(store, "x".repeat(20));
    await expectTriadkitErrorAsync(() => blob.save(store, "x".repeat(40)), "store.record_too_large");
  });

  it("validates its definition", () => {
    expectTriadkitError(() => defineRecord({ key: "Bad", version: 1 }), "store.bad_key");
    for (const version of [0, 1.5, 70_000])
      expectTriadkitError(() => defineRecord({ key: "k", version }), "config.invalid");
    expectTriadkitError(() => defineRecord({ key: "k", version: 2, migrate: { 2: (o) => o } }), "config.invalid");
    expectTriadkitError(() => defineRecord({ key: "k", version: 2, migrate: { 0: (o) => o } }), "config.invalid");
    expectTriadkitError(
      () => defineRecord({ key: "k", version: 2, migrate: { 1: "x" as unknown as (o: unknown) => unknown } }),
      "config.invalid",
    );
  });
});
