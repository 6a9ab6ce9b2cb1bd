/**
 * The factory verify answer is useless as a login: a device's verify MAC (HMAC under a key derived for verify
 * only, over a labelled input) offered as the MQTT password to the running platform emulator is refused with
 * CONNACK 5 (`triad.bad_signature`) in every case, hex case and truncation, while the genuine signConnect password
 * of the same triad logs in.
 */
import { randomBytes } from "node:crypto";
import { PlatformEmulator, SqliteDeviceRegistry } from "@triadkit/firmware-sim";
import {
  computeVerifyMac,
  type FactoryRecord,
  factoryRecordHash,
  type SignMethod,
  signConnect,
  toHex,
  type WireStyle,
} from "@triadkit/protocol";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ClientPool, collect, newTriad } from "./emulator-harness.js";

const bytes = (n: number) => new Uint8Array(randomBytes(n));
const registry = new SqliteDeviceRegistry();
const triad = newTriad();
const pool = new ClientPool();
let emulator: PlatformEmulator;

const record: FactoryRecord = {
  v: 1,
  triad: { family: "alibaba", ...triad },
  pop: { v: 1, salt: bytes(16), key: bytes(32) },
  anchor: { poolId: "pool-login", publicKey: bytes(32) },
  stationId: "st-login",
  workOrderId: "WO-LOGIN",
  triadId: `t${toHex(bytes(12))}`,
  writtenAt: Date.now(),
};
const chipId = toHex(bytes(8));
const mac = computeVerifyMac(triad.deviceSecret, bytes(16), bytes(16), chipId, factoryRecordHash(record));

beforeAll(async () => {
  registry.add(triad);
  emulator = await PlatformEmulator.start({ registry });
});
afterEach(() => pool.endAll());
afterAll(async () => {
  await emulator.close();
  registry.close();
});

/** Each password a verify MAC could be turned into, with a sign method whose length it has. */
const hex = toHex(mac);
const candidates = (["node", "c"] as WireStyle[]).flatMap((style) =>
  [hex, hex.toUpperCase()].flatMap((text) =>
    (
      [
        ["hmacsha256", text],
        ["hmacsha1", text.slice(0, 40)],
        ["hmacmd5", text.slice(0, 32)],
      ] as [SignMethod, string][]
    ).map(([signMethod, password]) => ({ style, signMethod, password, upper: text !== hex })),
  ),
);

describe("a verify MAC is not an MQTT password", () => {
  it.each(candidates)("$style / $signMethod (upper case: $upper) is refused with CONNACK 5", async (c) => {
    const rejected = collect(emulator, "rejected");
    const real = signConnect({
      triad,
      style: c.style,
      signMethod: c.signMethod,
      secureMode: 3,
      timestampMs: Date.now(),
    });
    expect(await pool.refusal(emulator.url, { ...real, password: c.password })).toBe(5);
    expect(rejected.map(([r]) => r.code)).toEqual(["triad.bad_signature"]);
  });

  it("while the genuine password of the same triad logs in", async () => {
    const online = collect(emulator, "online");
    await pool.connect(emulator.url, signConnect({ triad, secureMode: 3, timestampMs: Date.now() }));
    await expect.poll(() => online.map(([id]) => id.deviceName)).toContain(triad.deviceName);
  });
});
